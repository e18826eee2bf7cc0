package packet

// Pingreq is the PINGREQ packet (§3.12); it has no variable header or payload.
type Pingreq struct{}

// Pingresp is the PINGRESP packet (§3.13).
type Pingresp struct{}

// Disconnect is the DISCONNECT packet (§3.14): the client's clean goodbye; the will is discarded
// [MQTT-3.14.4-3].
type Disconnect struct{}

// Type is PINGREQ.
func (*Pingreq) Type() Type { return PINGREQ }

// Type is PINGRESP.
func (*Pingresp) Type() Type { return PINGRESP }

// Type is DISCONNECT.
func (*Disconnect) Type() Type { return DISCONNECT }

func emptyBody(t Type, body []byte) error {
	if len(body) != 0 {
		return malformed(t, "§"+emptySection[t-PINGREQ], "remaining length "+itoa(len(body))+", want 0")
	}
	return nil
}

var emptySection = [...]string{"3.12", "3.13", "3.14"}

func (*Pingreq) encodedLen() (int, error)    { return 0, nil }
func (*Pingresp) encodedLen() (int, error)   { return 0, nil }
func (*Disconnect) encodedLen() (int, error) { return 0, nil }

func (*Pingreq) flags() byte    { return 0 }
func (*Pingresp) flags() byte   { return 0 }
func (*Disconnect) flags() byte { return 0 }

func (*Pingreq) appendBody(dst []byte) []byte    { return dst }
func (*Pingresp) appendBody(dst []byte) []byte   { return dst }
func (*Disconnect) appendBody(dst []byte) []byte { return dst }

func (*Pingreq) decode(_ byte, body []byte, _ *decodeMode) error {
	return emptyBody(PINGREQ, body)
}
func (*Pingresp) decode(_ byte, body []byte, _ *decodeMode) error {
	return emptyBody(PINGRESP, body)
}
func (*Disconnect) decode(_ byte, body []byte, _ *decodeMode) error {
	return emptyBody(DISCONNECT, body)
}
