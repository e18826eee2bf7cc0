package packet

import (
	"errors"
	"strconv"
)

// Sentinel errors. Every decoding error wraps ErrMalformed except ErrUnsupportedLevel and
// ErrTooLarge, so a broker can tell which CONNACK (if any) to answer before closing.
var (
	// ErrMalformed is wrapped by every error about a malformed packet; the server closes the
	// network connection [MQTT-4.8.0-1].
	ErrMalformed = errors.New("mqtt: malformed packet")
	// ErrUnsupportedLevel is a CONNECT whose protocol level is not 4: the server answers
	// CONNACK 0x01 and closes [MQTT-3.1.2-2].
	ErrUnsupportedLevel = errors.New("mqtt: unsupported protocol level [MQTT-3.1.2-2]")
	// ErrTooLarge is a remaining length above the Reader's maximum packet size.
	ErrTooLarge = errors.New("mqtt: packet larger than the maximum packet size")
	// ErrNotImplemented is returned while the codec is being written.
	ErrNotImplemented = errors.New("mqtt: not implemented")
)

func itoa(n int) string { return strconv.Itoa(n) }
