package packet

// Append appends the encoding of p to dst and returns the extended buffer. It validates p as a
// receiver would and returns an *Error (dst unchanged) for a packet that may not be sent. With
// enough capacity in dst it allocates nothing.
func Append(dst []byte, p Packet) ([]byte, error) {
	if p == nil {
		return dst, malformed(0, "", "nil packet")
	}
	n, err := p.encodedLen()
	if err != nil {
		return dst, err
	}
	if n > MaxRemainingLength {
		return dst, malformed(p.Type(), "§2.2.3", "remaining length "+itoa(n)+" exceeds 268435455")
	}
	dst = append(dst, byte(p.Type())<<4|p.flags())
	dst = appendRemainingLength(dst, n)
	return p.appendBody(dst), nil
}

// Size returns the number of bytes Append would write for p, or the error it would return.
func Size(p Packet) (int, error) {
	if p == nil {
		return 0, malformed(0, "", "nil packet")
	}
	n, err := p.encodedLen()
	if err != nil {
		return 0, err
	}
	if n > MaxRemainingLength {
		return 0, malformed(p.Type(), "§2.2.3", "remaining length "+itoa(n)+" exceeds 268435455")
	}
	return 1 + remainingLengthSize(n) + n, nil
}

// Decode decodes one packet from its fixed header's first byte and its body (the bytes after the
// remaining length). Byte slices of the result (payloads, passwords) are copies: body may be
// reused afterwards. A CONNECT of another protocol level returns the *Connect read so far with an
// error wrapping ErrUnsupportedLevel; every other error wraps ErrMalformed.
func Decode(fixedHeader byte, body []byte) (Packet, error) {
	p, err := newPacket(fixedHeader)
	if err != nil {
		return nil, err
	}
	err = p.decode(fixedHeader&0x0f, body, &copyMode)
	if err != nil && !isUnsupportedLevel(err) {
		return nil, err
	}
	return p, err
}

// copyMode is Decode's: every byte slice is copied. Never modified.
var copyMode decodeMode

// decodeMode says how a decoder may share memory with the body it reads.
type decodeMode struct {
	alias  bool        // byte slices (payloads, password) alias the body instead of copying it
	topics *topicCache // interns PUBLISH topic names; nil: a new string each time
}

// bytes returns b as the mode asks; empty is always nil, so decoding is deterministic.
func (m *decodeMode) bytes(b []byte) []byte {
	if len(b) == 0 {
		return nil
	}
	if m.alias {
		return b
	}
	return cloneBytes(b)
}

// newPacket returns a zero packet of the fixed header's type after checking its flag bits.
func newPacket(fixedHeader byte) (Packet, error) {
	t := Type(fixedHeader >> 4)
	if err := checkFlags(t, fixedHeader&0x0f); err != nil {
		return nil, err
	}
	switch t {
	case CONNECT:
		return new(Connect), nil
	case CONNACK:
		return new(Connack), nil
	case PUBLISH:
		return new(Publish), nil
	case PUBACK:
		return new(Puback), nil
	case PUBREC:
		return new(Pubrec), nil
	case PUBREL:
		return new(Pubrel), nil
	case PUBCOMP:
		return new(Pubcomp), nil
	case SUBSCRIBE:
		return new(Subscribe), nil
	case SUBACK:
		return new(Suback), nil
	case UNSUBSCRIBE:
		return new(Unsubscribe), nil
	case UNSUBACK:
		return new(Unsuback), nil
	case PINGREQ:
		return new(Pingreq), nil
	case PINGRESP:
		return new(Pingresp), nil
	case DISCONNECT:
		return new(Disconnect), nil
	}
	panic("unreachable: checkFlags refuses reserved types")
}

// checkFlags checks the fixed header's flag bits against Table 2.2. PUBLISH flags are checked by
// its decoder.
func checkFlags(t Type, f byte) error {
	switch t {
	case 0, 15:
		return malformed(0, "§2.2.1", "reserved control packet type "+itoa(int(t)))
	case PUBLISH:
		return nil
	case PUBREL:
		if f != 0x2 {
			return malformed(t, "MQTT-3.6.1-1", "fixed header flags must be 0010")
		}
	case SUBSCRIBE:
		if f != 0x2 {
			return malformed(t, "MQTT-3.8.1-1", "fixed header flags must be 0010")
		}
	case UNSUBSCRIBE:
		if f != 0x2 {
			return malformed(t, "MQTT-3.10.1-1", "fixed header flags must be 0010")
		}
	default:
		if f != 0 {
			return malformed(t, "MQTT-2.2.2-1", "reserved fixed header flags must be 0000")
		}
	}
	return nil
}

func isUnsupportedLevel(err error) bool {
	e, ok := err.(*Error)
	return ok && e.kind == ErrUnsupportedLevel
}
