package topics

import (
	"errors"
	"strings"
)

// IDType is the TopicIdType of the MQTT-SN flags octet (§5.3.4, Table 4); the values are the
// wire values.
type IDType uint8

const (
	Normal     IDType = 0 // a normal topic id (PUBLISH) or a topic name (SUBSCRIBE, UNSUBSCRIBE)
	Predefined IDType = 1 // a predefined topic id
	Short      IDType = 2 // a two-character short topic name carried in the TopicId field
	Reserved   IDType = 3 // reserved by the spec
)

func (t IDType) String() string {
	switch t {
	case Normal:
		return "normal"
	case Predefined:
		return "predefined"
	case Short:
		return "short"
	}
	return "reserved"
}

// Errors of the registry. Each maps to a return code in the session.
var (
	ErrWildcard   = errors.New("topics: topic name contains a wildcard")
	ErrEmptyName  = errors.New("topics: empty topic name")
	ErrExhausted  = errors.New("topics: no topic id left for this client")
	ErrUnknownID  = errors.New("topics: unknown topic id")
	ErrReserved   = errors.New("topics: reserved topic id type")
	ErrShortName  = errors.New("topics: a short topic name is exactly two characters")
	ErrBadEncoded = errors.New("topics: malformed serialised registry")
)

// ShortName returns the two-character name carried in a short-topic TopicId field.
func ShortName(id uint16) string { return string([]byte{byte(id >> 8), byte(id)}) }

// ShortID returns the TopicId field for a two-character short name (E4: exactly two octets).
func ShortID(name string) (uint16, bool) {
	if len(name) != 2 {
		return 0, false
	}
	return uint16(name[0])<<8 | uint16(name[1]), true
}

// HasWildcard reports whether a topic name contains an MQTT wildcard and so is a filter.
func HasWildcard(name string) bool { return strings.ContainsAny(name, "+#") }

// validName checks a name that is to receive an id: not empty, no wildcard (§6.10), no NUL.
func validName(name string) error {
	switch {
	case name == "":
		return ErrEmptyName
	case HasWildcard(name):
		return ErrWildcard
	case strings.IndexByte(name, 0) >= 0:
		return errors.New("topics: topic name contains U+0000")
	}
	return nil
}
