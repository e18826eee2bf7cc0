package packet

import (
	"errors"
	"fmt"
)

// Sentinel errors. Every decoding failure is a *DecodeError wrapping one of the first six, so
// callers can test with errors.Is; encoders wrap ErrInvalid or ErrTooLong.
var (
	// ErrTooShort: the datagram (or a message body) ends before a mandatory field.
	ErrTooShort = errors.New("message too short")
	// ErrLengthMismatch: the Length field disagrees with the size of the datagram (erratum E30).
	ErrLengthMismatch = errors.New("length field does not match datagram size")
	// ErrBadLength: the Length field holds an impossible value (0x00, or a long form below 4) or a
	// body size the message type does not allow.
	ErrBadLength = errors.New("invalid length")
	// ErrUnknownType: a reserved MsgType (0x03, 0x11, 0x19, 0x1E–0xFD, 0xFF).
	ErrUnknownType = errors.New("reserved message type")
	// ErrWrongType: Unmarshal was given a datagram of another message type.
	ErrWrongType = errors.New("unexpected message type")
	// ErrMalformed: a field holds a value its message does not allow.
	ErrMalformed = errors.New("malformed field")

	// ErrInvalid: a message value cannot be encoded (e.g. QoS 3, reserved TopicIdType).
	ErrInvalid = errors.New("invalid message")
	// ErrTooLong: the encoded message would exceed 65535 octets (or, for the forwarder
	// envelope, the node id exceeds 252 octets).
	ErrTooLong = errors.New("message too long")
)

// DecodeError describes why a datagram was rejected.
type DecodeError struct {
	Type   MsgType // message type; TypeUnknown when the header could not be read
	Field  string  // field at fault, e.g. "Length", "Flags", "TopicId"
	Offset int     // octet offset of that field in the datagram
	Err    error   // one of the sentinel errors above
	Detail string  // optional human detail
}

// Error implements error.
func (e *DecodeError) Error() string {
	var s string
	if e.Type == TypeUnknown {
		s = fmt.Sprintf("mqtt-sn: decode: %s at offset %d: %v", e.Field, e.Offset, e.Err)
	} else {
		s = fmt.Sprintf("mqtt-sn: decode %s: %s at offset %d: %v", e.Type, e.Field, e.Offset, e.Err)
	}
	if e.Detail != "" {
		s += " (" + e.Detail + ")"
	}
	return s
}

// Unwrap returns the sentinel.
func (e *DecodeError) Unwrap() error { return e.Err }

func decodeErr(t MsgType, field string, off int, err error, detail string) *DecodeError {
	return &DecodeError{Type: t, Field: field, Offset: off, Err: err, Detail: detail}
}

func encodeErr(t MsgType, err error, detail string) error {
	return fmt.Errorf("mqtt-sn: encode %s: %w: %s", t, err, detail)
}
