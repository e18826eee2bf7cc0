package packet_test

import (
	"bytes"
	"errors"
	"reflect"
	"testing"

	"snbridge/mqttsn/mqttsntest"
	"snbridge/mqttsn/packet"
)

var decodeSentinels = []error{
	packet.ErrTooShort, packet.ErrLengthMismatch, packet.ErrBadLength,
	packet.ErrUnknownType, packet.ErrMalformed,
}

// FuzzDecode: Decode never panics, fails only with a *DecodeError wrapping a sentinel, and what it
// accepts re-encodes to a canonical datagram that decodes to the same message and re-encodes to
// the same bytes.
func FuzzDecode(f *testing.F) {
	for _, fx := range mqttsntest.Golden {
		f.Add(fx.Bytes)
	}
	for _, fx := range mqttsntest.DecodeOnly {
		f.Add(fx.Bytes)
	}
	for _, fx := range mqttsntest.Malformed {
		f.Add(fx.Bytes)
	}
	f.Fuzz(func(t *testing.T, datagram []byte) {
		orig := bytes.Clone(datagram)
		m, err := packet.Decode(datagram)
		if !bytes.Equal(orig, datagram) {
			t.Fatalf("Decode modified its input")
		}
		if err != nil {
			var de *packet.DecodeError
			if !errors.As(err, &de) {
				t.Fatalf("error %T %v is not a *DecodeError", err, err)
			}
			if !isOneOf(err, decodeSentinels) {
				t.Fatalf("error %v wraps no decode sentinel", err)
			}
			if m != nil {
				t.Fatalf("message %#v returned with error %v", m, err)
			}
			return
		}
		enc, err := packet.Marshal(m)
		if err != nil {
			t.Fatalf("decoded %#v from % X but cannot encode it: %v", m, datagram, err)
		}
		m2, err := packet.Decode(enc)
		if err != nil {
			t.Fatalf("re-encoded % X (from % X) does not decode: %v", enc, datagram, err)
		}
		if !reflect.DeepEqual(m, m2) {
			t.Fatalf("unstable: % X → %#v → % X → %#v", datagram, m, enc, m2)
		}
		enc2, err := packet.Marshal(m2)
		if err != nil || !bytes.Equal(enc, enc2) {
			t.Fatalf("not canonical: % X then % X (%v)", enc, enc2, err)
		}
		// The canonical form is never longer than the input, except for the pre-1.2 two-octet
		// WILLTOPICRESP/WILLMSGRESP, answered in the three-octet form (erratum E29).
		preV12Resp := len(datagram) == 2 && (m.Type() == packet.TypeWillTopicResp || m.Type() == packet.TypeWillMsgResp)
		if len(enc) > len(datagram) && !preV12Resp {
			t.Fatalf("canonical % X longer than input % X", enc, datagram)
		}
	})
}

// FuzzEncapsulated: AppendEncapsulated and DecapsulateForwarder are inverses for every input the
// encoder accepts, and the encoder's refusals are ErrInvalid or ErrTooLong.
func FuzzEncapsulated(f *testing.F) {
	f.Add(uint8(0), []byte{0x12, 0x34}, []byte{0x03, 0x05, 0x00})
	f.Add(uint8(1), []byte{0x00, 0x13, 0xA2, 0x00, 0x40, 0xA1, 0xB2, 0xC3}, []byte{0x02, 0x16})
	f.Add(uint8(3), []byte{7}, []byte{0x01, 0x00, 0x04, 0x16})
	f.Add(uint8(9), []byte{}, []byte{0x04, 0xFE, 0x00, 0x01})
	f.Fuzz(func(t *testing.T, radius uint8, nodeID, inner []byte) {
		env, err := packet.AppendEncapsulated(nil, radius, nodeID, inner)
		if err != nil {
			if !errors.Is(err, packet.ErrInvalid) && !errors.Is(err, packet.ErrTooLong) {
				t.Fatalf("AppendEncapsulated error %v wraps neither ErrInvalid nor ErrTooLong", err)
			}
			if env != nil {
				t.Fatalf("nil dst became % X on error", env)
			}
			return
		}
		r, id, in, err := packet.DecapsulateForwarder(env)
		if err != nil {
			t.Fatalf("DecapsulateForwarder(% X): %v", env, err)
		}
		if r != radius || !bytes.Equal(id, nodeID) || !bytes.Equal(in, inner) {
			t.Fatalf("round trip: %d % X % X → % X → %d % X % X", radius, nodeID, inner, env, r, id, in)
		}
		m, err := packet.Decode(env)
		if err != nil {
			t.Fatalf("Decode(% X): %v", env, err)
		}
		want := &packet.Encapsulated{Radius: radius, NodeID: nodeID, Inner: inner}
		if !reflect.DeepEqual(m, want) {
			t.Fatalf("Decode(% X) = %#v, want %#v", env, m, want)
		}
	})
}

func isOneOf(err error, targets []error) bool {
	for _, t := range targets {
		if errors.Is(err, t) {
			return true
		}
	}
	return false
}
