package packet

// Encapsulated is a message relayed by a forwarder (§5.5): the envelope (Ctrl octet and wireless
// node id) around one complete MQTT-SN datagram, Inner. NodeID and Inner alias the decoded
// datagram. Its Length field counts only the envelope (3 + len(NodeID), at most 255).
type Encapsulated struct {
	Radius uint8 // Ctrl bits 1–0: broadcast radius (gateway → forwarder); other bits reserved
	NodeID []byte
	Inner  []byte // a complete MQTT-SN message with its own Length field
}

// MaxNodeIDLen is the longest wireless node id the one-octet envelope Length can carry.
const MaxNodeIDLen = 252

// DecapsulateForwarder splits a forwarder datagram (MsgType 0xFE) into its radius, node id and
// inner message without allocating. The inner message's Length must match its size; it is not
// decoded (a nested 0xFE is rejected).
func DecapsulateForwarder(datagram []byte) (radius uint8, nodeID, inner []byte, err error) {
	return 0, nil, nil, errNotImplemented
}

// AppendEncapsulated appends a forwarder envelope around inner (a complete encoded message) to
// dst, as the gateway does when it answers a forwarded client.
func AppendEncapsulated(dst []byte, radius uint8, nodeID, inner []byte) ([]byte, error) {
	return dst, errNotImplemented
}
