// Package forwarder puts many simulated sensors behind one UDP socket, as an MQTT-SN forwarder
// does (§5.5): each sensor gets a net.PacketConn of its own (a Node) whose datagrams travel to
// the gateway wrapped in an encapsulation envelope (message 0xFE) carrying the sensor's wireless
// node id; the gateway's answers, wrapped the same way, are handed back to the node they name.
//
// A node's inbox is bounded (InboxSize); a full inbox drops, as a full socket buffer would.
package forwarder
