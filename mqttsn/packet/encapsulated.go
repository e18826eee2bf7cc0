package packet

import "errors"

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
// inner message without allocating; nodeID and inner alias datagram. The inner message must be one
// complete MQTT-SN message whose Length matches its size; it is not otherwise decoded, and a nested
// envelope is rejected (ErrMalformed). Reserved Ctrl bits are ignored.
func DecapsulateForwarder(datagram []byte) (radius uint8, nodeID, inner []byte, err error) {
	t, envLen, _, err := ParseHeader(datagram)
	if err != nil {
		return 0, nil, nil, err
	}
	if t != TypeEncapsulated {
		return 0, nil, nil, decodeErr(TypeEncapsulated, "MsgType", 1, ErrWrongType, "got "+t.String())
	}
	if envLen == 3 {
		return 0, nil, nil, decodeErr(t, "NodeId", 3, ErrMalformed, "empty wireless node id")
	}
	inner = datagram[envLen:]
	if len(inner) == 0 {
		return 0, nil, nil, decodeErr(t, "Inner", envLen, ErrTooShort, "no encapsulated message")
	}
	it, _, _, err := ParseHeader(inner)
	if err != nil {
		var de *DecodeError
		if errors.As(err, &de) {
			return 0, nil, nil, &DecodeError{Type: t, Field: "Inner." + de.Field, Offset: envLen + de.Offset, Err: de.Err, Detail: de.Detail}
		}
		return 0, nil, nil, err
	}
	if it == TypeEncapsulated {
		return 0, nil, nil, decodeErr(t, "Inner", envLen, ErrMalformed, "nested forwarder envelope")
	}
	return datagram[2] & 0x03, datagram[3:envLen], inner, nil
}

// AppendEncapsulated appends a forwarder envelope around inner (one complete encoded message) to
// dst, as a gateway does when it answers a forwarded client. radius must fit in 2 bits, nodeID
// must hold 1 to MaxNodeIDLen octets.
func AppendEncapsulated(dst []byte, radius uint8, nodeID, inner []byte) ([]byte, error) {
	switch {
	case radius > 3:
		return dst, encodeErr(TypeEncapsulated, ErrInvalid, "radius "+itoa(int(radius))+" does not fit in 2 bits")
	case len(nodeID) == 0:
		return dst, encodeErr(TypeEncapsulated, ErrInvalid, "empty wireless node id")
	case len(nodeID) > MaxNodeIDLen:
		return dst, encodeErr(TypeEncapsulated, ErrTooLong, "wireless node id of "+itoa(len(nodeID))+" octets")
	}
	if it, _, _, err := ParseHeader(inner); err != nil {
		return dst, encodeErr(TypeEncapsulated, ErrInvalid, "inner message: "+err.Error())
	} else if it == TypeEncapsulated {
		return dst, encodeErr(TypeEncapsulated, ErrInvalid, "nested forwarder envelope")
	}
	dst = append(dst, byte(3+len(nodeID)), byte(TypeEncapsulated), radius)
	return append(append(dst, nodeID...), inner...), nil
}

// Type returns TypeEncapsulated.
func (*Encapsulated) Type() MsgType { return TypeEncapsulated }

// Append implements Message: `Len FE Ctrl NodeId.. | inner message`.
func (m *Encapsulated) Append(dst []byte) ([]byte, error) {
	return AppendEncapsulated(dst, m.Radius, m.NodeID, m.Inner)
}

// Unmarshal implements Message (see DecapsulateForwarder).
func (m *Encapsulated) Unmarshal(datagram []byte) error {
	r, id, inner, err := DecapsulateForwarder(datagram)
	if err != nil {
		return err
	}
	*m = Encapsulated{Radius: r, NodeID: id, Inner: inner}
	return nil
}
