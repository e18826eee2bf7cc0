package topic

import (
	"errors"
	"strings"
	"unicode/utf8"
)

// MaxLength is the longest topic name or filter in bytes: its length is a two-byte prefix on the
// wire (MQTT 3.1.1 §1.5.3).
const MaxLength = 65535

// Errors of ValidateName and ValidateFilter; each names the rule it enforces.
var (
	ErrEmpty           = errors.New("topic: empty topic or filter [MQTT-4.7.3-1]")
	ErrTooLong         = errors.New("topic: longer than 65535 bytes")
	ErrNullCharacter   = errors.New("topic: contains U+0000 [MQTT-4.7.3-2]")
	ErrInvalidUTF8     = errors.New("topic: not valid UTF-8 [MQTT-1.5.3-1]")
	ErrWildcardInName  = errors.New("topic: wildcard in a topic name [MQTT-3.3.2-2]")
	ErrMultiLevelPlace = errors.New("topic: '#' must be the last character and occupy a whole level [MQTT-4.7.1-2]")
	ErrSingleLevelUse  = errors.New("topic: '+' must occupy a whole level [MQTT-4.7.1-3]")
)

func checkCommon(s string) error {
	if s == "" {
		return ErrEmpty
	}
	if len(s) > MaxLength {
		return ErrTooLong
	}
	if strings.IndexByte(s, 0) >= 0 {
		return ErrNullCharacter
	}
	if !utf8.ValidString(s) {
		return ErrInvalidUTF8
	}
	return nil
}

// ValidateName reports whether name may be the topic of a PUBLISH: at least one character
// [MQTT-4.7.3-1], no wildcard [MQTT-3.3.2-2], no U+0000, valid UTF-8, at most 65535 bytes.
func ValidateName(name string) error {
	if err := checkCommon(name); err != nil {
		return err
	}
	if strings.ContainsAny(name, "+#") {
		return ErrWildcardInName
	}
	return nil
}

// ValidateFilter reports whether filter may be subscribed to: as ValidateName, but '+' may fill
// a whole level [MQTT-4.7.1-3] and '#' may be the last level [MQTT-4.7.1-2].
func ValidateFilter(filter string) error {
	if err := checkCommon(filter); err != nil {
		return err
	}
	for i := 0; i < len(filter); i++ {
		c := filter[i]
		if c != '+' && c != '#' {
			continue
		}
		startsLevel := i == 0 || filter[i-1] == '/'
		endsLevel := i == len(filter)-1 || filter[i+1] == '/'
		if c == '+' && !(startsLevel && endsLevel) {
			return ErrSingleLevelUse
		}
		if c == '#' && !(startsLevel && i == len(filter)-1) {
			return ErrMultiLevelPlace
		}
	}
	return nil
}

// IsWildcard reports whether filter contains '+' or '#'.
func IsWildcard(filter string) bool { return strings.ContainsAny(filter, "+#") }

// Matches reports whether the topic name matches the filter, with the '$' rule [MQTT-4.7.2-1].
// Both are assumed valid.
func Matches(filter, name string) bool {
	if len(name) > 0 && name[0] == '$' && len(filter) > 0 && (filter[0] == '+' || filter[0] == '#') {
		return false
	}
	for {
		fl, frest, fmore := cut(filter)
		if fl == "#" {
			return true
		}
		nl, nrest, nmore := cut(name)
		if fl != "+" && fl != nl {
			return false
		}
		if !fmore && !nmore {
			return true
		}
		if !nmore {
			// "sport/#" also matches "sport" [MQTT-4.7.1-2].
			return frest == "#"
		}
		if !fmore {
			return false
		}
		filter, name = frest, nrest
	}
}

// cut splits s at its first '/': the level, the rest, and whether there was a separator.
func cut(s string) (level, rest string, more bool) {
	if i := strings.IndexByte(s, '/'); i >= 0 {
		return s[:i], s[i+1:], true
	}
	return s, "", false
}
