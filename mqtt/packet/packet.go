package packet

import "strconv"

// Type is the MQTT control packet type, the high nibble of the fixed header's first byte
// (MQTT 3.1.1 §2.2.1).
type Type byte

// The fourteen control packet types of MQTT 3.1.1; 0 and 15 are reserved.
const (
	CONNECT     Type = 1
	CONNACK     Type = 2
	PUBLISH     Type = 3
	PUBACK      Type = 4
	PUBREC      Type = 5
	PUBREL      Type = 6
	PUBCOMP     Type = 7
	SUBSCRIBE   Type = 8
	SUBACK      Type = 9
	UNSUBSCRIBE Type = 10
	UNSUBACK    Type = 11
	PINGREQ     Type = 12
	PINGRESP    Type = 13
	DISCONNECT  Type = 14
)

var typeNames = [...]string{
	CONNECT: "CONNECT", CONNACK: "CONNACK", PUBLISH: "PUBLISH", PUBACK: "PUBACK",
	PUBREC: "PUBREC", PUBREL: "PUBREL", PUBCOMP: "PUBCOMP", SUBSCRIBE: "SUBSCRIBE",
	SUBACK: "SUBACK", UNSUBSCRIBE: "UNSUBSCRIBE", UNSUBACK: "UNSUBACK", PINGREQ: "PINGREQ",
	PINGRESP: "PINGRESP", DISCONNECT: "DISCONNECT",
}

// String returns the packet type's name as the standard spells it, or "Type(n)" for the
// reserved values.
func (t Type) String() string {
	if int(t) < len(typeNames) && typeNames[t] != "" {
		return typeNames[t]
	}
	return "Type(" + strconv.Itoa(int(t)) + ")"
}

// QoS levels. A QoS is a plain byte so that it converts freely to and from the broker's types;
// 3 is malformed on the wire [MQTT-3.3.1-4].
const (
	QoS0 byte = 0 // at most once
	QoS1 byte = 1 // at least once
	QoS2 byte = 2 // exactly once
)

// Packet is one MQTT control packet: a pointer to one of the structs of this package
// (*Connect, *Connack, *Publish, ...). Encode it with Append; decode with Decode or a Reader.
type Packet interface {
	// Type is the control packet type.
	Type() Type

	// encodedLen validates the packet for sending and returns its remaining length.
	encodedLen() (int, error)
	// flags is the low nibble of the fixed header.
	flags() byte
	// appendBody appends the variable header and payload; encodedLen has said they are valid.
	appendBody(dst []byte) []byte
	// decode overwrites the packet with the one in body; the fixed header flags are checked.
	decode(flags byte, body []byte, m *decodeMode) error
}
