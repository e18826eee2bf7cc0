// Package gwbench is the load generator of `make bench-gateway`: MQTT-SN clients over UDP
// publishing through a gateway to one MQTT subscriber over TCP, and swarms of clients that only
// connect.
//
//   - Flow: Clients MQTT-SN clients (one UDP socket each) CONNECT, REGISTER a topic of their own
//     and PUBLISH Messages payloads of Payload octets at QoS 0 (paced to Rate messages/s in
//     total, or as fast as they can) or QoS 1 (one PUBLISH in flight per client, §6.6); one MQTT
//     client subscribed to all their topics counts what arrives. Every payload carries its send
//     time, its client and its sequence number: latency is measured on one clock (everything
//     runs in this process), loss and duplicates per message.
//   - Connect: Clients clients CONNECT (clean session) through Workers concurrent workers,
//     either one UDP socket per client or, with Forwarder, behind the forwarder encapsulation
//     (0xFE, §5.5) — many wireless node ids per socket, so 100 000 clients need neither 100 000
//     sockets nor a raised ulimit. The clients stay connected until the Swarm is closed, so the
//     gateway's memory per idle client can be read meanwhile (RSS, from /proc).
//
// It speaks MQTT-SN with mqttsn/packet and MQTT with mqtt/packet directly, not through client
// libraries, so that the generator costs little beside the gateway on a small machine. It is a
// test tool (DESIGN.md §3: imported by tests, the simulator and cmd only).
package gwbench
