package packet

import "errors"

// Message is one MQTT-SN message. The concrete types are the pointer types of this package
// (*Publish, *Connect, …).
//
// Byte-slice fields of a decoded message (Publish.Data, WillMsg.Payload, GWInfo.GatewayAddr,
// Encapsulated.NodeID …) alias the datagram they were decoded from: copy them before reusing the
// datagram buffer. String fields are copies.
type Message interface {
	// Type returns the MsgType octet of the message.
	Type() MsgType
	// Append appends the encoded message to dst, choosing the 1-octet Length form when the total
	// is at most 255 octets and the 3-octet form otherwise. On error dst is returned unchanged.
	Append(dst []byte) ([]byte, error)
	// Unmarshal decodes one complete datagram of this message's type into the receiver,
	// overwriting every field.
	Unmarshal(datagram []byte) error
}

var errNotImplemented = errors.New("not implemented")

// ParseHeader reads the Length and MsgType of a datagram (§5.2). total is the message length the
// Length field announces, header the size of Length+MsgType (2 or 4). It checks that total equals
// len(datagram); for an Encapsulated message (whose Length covers only the envelope) it checks
// only that the envelope fits.
func ParseHeader(datagram []byte) (t MsgType, total, header int, err error) {
	return 0, 0, 0, errNotImplemented
}

// Decode decodes one datagram into a newly allocated message value. Reserved message types yield
// ErrUnknownType. See Message for aliasing.
func Decode(datagram []byte) (Message, error) {
	return nil, errNotImplemented
}

// Append appends the encoding of m to dst (same as m.Append(dst)).
func Append(dst []byte, m Message) ([]byte, error) {
	return m.Append(dst)
}

// Marshal returns the encoding of m in a new slice.
func Marshal(m Message) ([]byte, error) {
	return m.Append(nil)
}
