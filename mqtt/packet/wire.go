package packet

import (
	"bytes"
	"strings"
	"unicode/utf8"
)

// MaxRemainingLength is the largest remaining length four bytes can encode (§2.2.3).
const MaxRemainingLength = 268_435_455

// appendRemainingLength appends n (≤ MaxRemainingLength) in the variable-length encoding of
// §2.2.3: seven bits a byte, least significant first, the high bit saying "more follows".
func appendRemainingLength(dst []byte, n int) []byte {
	for n >= 0x80 {
		dst = append(dst, byte(n)|0x80)
		n >>= 7
	}
	return append(dst, byte(n))
}

// remainingLengthSize is the number of bytes appendRemainingLength writes for n.
func remainingLengthSize(n int) int {
	switch {
	case n < 1<<7:
		return 1
	case n < 1<<14:
		return 2
	case n < 1<<21:
		return 3
	}
	return 4
}

// parseRemainingLength reads the remaining length at the start of b. It returns the value and
// the number of bytes used; used 0 means b ends before the encoding does. A fifth byte is an
// error (§2.2.3: at most four bytes).
func parseRemainingLength(b []byte) (n, used int, err error) {
	shift := 0
	for i := 0; i < 4; i++ {
		if i >= len(b) {
			return 0, 0, nil
		}
		n |= int(b[i]&0x7f) << shift
		if b[i] < 0x80 {
			return n, i + 1, nil
		}
		shift += 7
	}
	return 0, 0, malformed(0, "§2.2.3", "remaining length longer than 4 bytes")
}

// checkString applies the rules for UTF-8 encoded strings of §1.5.3 to s, a field about to be
// encoded.
func checkString(t Type, field, s string) error {
	if len(s) > 0xffff {
		return malformed(t, "§1.5.3", field+" longer than 65535 bytes")
	}
	if !utf8.ValidString(s) {
		return malformed(t, "MQTT-1.5.3-1", field+" is not well-formed UTF-8")
	}
	if strings.IndexByte(s, 0) >= 0 {
		return malformed(t, "MQTT-1.5.3-2", field+" contains U+0000")
	}
	return nil
}

// checkWireString is checkString for a field being decoded (a two-byte length bounds it).
func checkWireString(t Type, field string, b []byte) error {
	if !utf8.Valid(b) {
		return malformed(t, "MQTT-1.5.3-1", field+" is not well-formed UTF-8")
	}
	if bytes.IndexByte(b, 0) >= 0 {
		return malformed(t, "MQTT-1.5.3-2", field+" contains U+0000")
	}
	return nil
}

// checkTopicName applies the rules for a topic name (PUBLISH, will topic) after the string
// rules: at least one character [MQTT-4.7.3-1], no wildcard characters [MQTT-3.3.2-2].
func checkTopicName(t Type, field, s string) error {
	if err := checkString(t, field, s); err != nil {
		return err
	}
	return checkTopicChars(t, field, len(s) == 0, strings.ContainsAny(s, "+#"))
}

func checkWireTopicName(t Type, field string, b []byte) error {
	if err := checkWireString(t, field, b); err != nil {
		return err
	}
	return checkTopicChars(t, field, len(b) == 0, bytes.ContainsAny(b, "+#"))
}

func checkTopicChars(t Type, field string, empty, wildcard bool) error {
	if empty {
		return malformed(t, "MQTT-4.7.3-1", field+" is empty")
	}
	if wildcard {
		return malformed(t, "MQTT-3.3.2-2", field+" contains a wildcard character")
	}
	return nil
}

// checkFilter applies the codec's part of the topic filter rules: a valid string of at least one
// character [MQTT-4.7.3-1]. Wildcard placement is checked by mqtt/topic, so that a broker may
// answer 0x80 for a bad filter instead of closing the connection.
func checkFilter(t Type, s string) error {
	if err := checkString(t, "topic filter", s); err != nil {
		return err
	}
	if len(s) == 0 {
		return malformed(t, "MQTT-4.7.3-1", "topic filter is empty")
	}
	return nil
}

func appendUint16(dst []byte, v uint16) []byte { return append(dst, byte(v>>8), byte(v)) }

func appendString(dst []byte, s string) []byte {
	dst = appendUint16(dst, uint16(len(s)))
	return append(dst, s...)
}

func appendBytes(dst []byte, b []byte) []byte {
	dst = appendUint16(dst, uint16(len(b)))
	return append(dst, b...)
}

// reader walks a packet body. Every read checks the length first.
type reader struct {
	t Type
	b []byte
}

func (r *reader) uint16(field string) (uint16, error) {
	if len(r.b) < 2 {
		return 0, malformed(r.t, "", "body ends inside the "+field)
	}
	v := uint16(r.b[0])<<8 | uint16(r.b[1])
	r.b = r.b[2:]
	return v, nil
}

func (r *reader) byte(field string) (byte, error) {
	if len(r.b) < 1 {
		return 0, malformed(r.t, "", "body ends before the "+field)
	}
	v := r.b[0]
	r.b = r.b[1:]
	return v, nil
}

// bytes reads a two-byte length and that many bytes, aliasing the body.
func (r *reader) bytes(field string) ([]byte, error) {
	n, err := r.uint16(field + " length")
	if err != nil {
		return nil, err
	}
	if int(n) > len(r.b) {
		return nil, malformed(r.t, "", field+" length "+itoa(int(n))+" exceeds the "+itoa(len(r.b))+" bytes left")
	}
	v := r.b[:n:n]
	r.b = r.b[n:]
	return v, nil
}

// string reads a UTF-8 encoded string (§1.5.3), validated, as a new string.
func (r *reader) string(field string) (string, error) {
	b, err := r.bytes(field)
	if err != nil {
		return "", err
	}
	if err := checkWireString(r.t, field, b); err != nil {
		return "", err
	}
	return string(b), nil
}

func (r *reader) packetID() (uint16, error) {
	id, err := r.uint16("packet identifier")
	if err != nil {
		return 0, err
	}
	if id == 0 {
		return 0, malformed(r.t, "MQTT-2.3.1-1", "packet identifier is 0")
	}
	return id, nil
}

func (r *reader) end() error {
	if len(r.b) != 0 {
		return malformed(r.t, "", itoa(len(r.b))+" unexpected bytes after the last field")
	}
	return nil
}

func cloneBytes(b []byte) []byte {
	if len(b) == 0 {
		return nil
	}
	return append([]byte(nil), b...)
}
