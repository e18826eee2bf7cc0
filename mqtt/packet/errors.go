package packet

import (
	"errors"
	"strconv"
	"strings"
)

// Sentinel errors. Errors about a malformed packet are *Error values that wrap ErrMalformed; a
// CONNECT of another protocol level wraps ErrUnsupportedLevel instead, so a broker can tell which
// CONNACK (if any) to answer before closing the connection.
var (
	// ErrMalformed is wrapped by every error about a malformed packet: the receiver closes the
	// network connection [MQTT-4.8.0-1].
	ErrMalformed = errors.New("malformed packet")
	// ErrUnsupportedLevel is a CONNECT whose protocol level is not 4 (or an MQTT 3.1 "MQIsdp"
	// CONNECT): the server answers CONNACK 0x01 and closes [MQTT-3.1.2-2].
	ErrUnsupportedLevel = errors.New("unsupported protocol level")
	// ErrTooLarge is a remaining length above the Reader's maximum packet size.
	ErrTooLarge = errors.New("packet larger than the maximum packet size")
)

// Error is a packet that breaks a rule of the standard, found while decoding or refused while
// encoding. errors.Is(err, ErrMalformed) holds for all of them except those that wrap
// ErrUnsupportedLevel.
type Error struct {
	Packet Type   // the packet type, 0 if the fixed header was unreadable
	Rule   string // the rule broken: "MQTT-3.1.2-3", or a section such as "§2.2.3"
	Reason string // what was wrong, in words
	kind   error  // ErrMalformed or ErrUnsupportedLevel
}

func (e *Error) Error() string {
	s := "mqtt: "
	if e.kind == ErrUnsupportedLevel {
		s += "unsupported protocol level"
	} else {
		s += "malformed"
	}
	if e.Packet != 0 {
		s += " " + e.Packet.String()
	}
	s += ": " + e.Reason
	if e.Rule != "" {
		if strings.HasPrefix(e.Rule, "§") {
			s += " (" + e.Rule + ")"
		} else {
			s += " [" + e.Rule + "]"
		}
	}
	return s
}

// Unwrap returns ErrMalformed or ErrUnsupportedLevel.
func (e *Error) Unwrap() error { return e.kind }

func malformed(t Type, rule, reason string) error {
	return &Error{Packet: t, Rule: rule, Reason: reason, kind: ErrMalformed}
}

func itoa(n int) string { return strconv.Itoa(n) }

// withRule names the rule a truncated field breaks.
func withRule(err error, rule string) error {
	if e, ok := err.(*Error); ok && e.Rule == "" {
		e.Rule = rule
	}
	return err
}

// quote quotes s for an error message, with invalid bytes escaped.
func quote(s string) string { return strconv.Quote(s) }
