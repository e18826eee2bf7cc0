package store

import (
	"reflect"
	"testing"
)

// FuzzDecodeMessage: any bytes read back from the file give a message or an error, never a
// panic; what decodes re-encodes to a record that decodes the same.
func FuzzDecodeMessage(f *testing.F) {
	f.Add(appendMessage(nil, &fullMsg, true), false)
	f.Add(appendMessage(nil, &qos1Msg, false), true)
	f.Add([]byte{1, 0, 0, 0, 0}, true)
	f.Add([]byte{1, 2, 0, 1, 0x80, 0x80, 0x01, 'x'}, false)
	f.Fuzz(func(t *testing.T, v []byte, retained bool) {
		topic := ""
		if retained {
			topic = "retained/topic"
		}
		m, err := decodeMessage(v, topic)
		if err != nil {
			return
		}
		again, err := decodeMessage(appendMessage(nil, &m, !retained), topic)
		if err != nil || !reflect.DeepEqual(again, m) {
			t.Fatalf("%+v re-encoded decodes as %+v, %v", m, again, err)
		}
	})
}
