package packet_test

import (
	"bytes"
	"errors"
	"io"
	"reflect"
	"testing"

	"snbridge/mqtt/packet"
)

// roundTrip checks that an accepted packet encodes, and decodes back to itself.
func roundTrip(t *testing.T, p packet.Packet) {
	t.Helper()
	b, err := packet.Append(nil, p)
	if err != nil {
		t.Fatalf("decoded %#v but Append refuses it: %v", p, err)
	}
	if n, err := packet.Size(p); err != nil || n != len(b) {
		t.Fatalf("Size = %d, %v; Append wrote %d", n, err, len(b))
	}
	r := packet.NewReader(bytes.NewReader(b), 0)
	q, err := r.ReadPacket()
	if err != nil {
		t.Fatalf("re-decoding % x: %v", b, err)
	}
	if !reflect.DeepEqual(p, q) {
		t.Fatalf("decode→encode→decode changed\n%#v\nto\n%#v", p, q)
	}
	if c, err := packet.Append(nil, q); err != nil || !bytes.Equal(b, c) {
		t.Fatalf("second encoding differs: % x vs % x (%v)", b, c, err)
	}
}

func FuzzDecode(f *testing.F) {
	f.Fuzz(func(t *testing.T, header byte, body []byte) {
		p, err := packet.Decode(header, body)
		if err != nil {
			if p != nil && !errors.Is(err, packet.ErrUnsupportedLevel) {
				t.Fatalf("a packet with error %v", err)
			}
			if !errors.Is(err, packet.ErrMalformed) && !errors.Is(err, packet.ErrUnsupportedLevel) {
				t.Fatalf("error %v wraps neither ErrMalformed nor ErrUnsupportedLevel", err)
			}
			return
		}
		roundTrip(t, p)
	})
}

func FuzzReadPacket(f *testing.F) {
	f.Fuzz(func(t *testing.T, stream []byte) {
		r := packet.NewReader(bytes.NewReader(stream), 4096)
		reused := packet.NewReader(bytes.NewReader(stream), 4096)
		for range 100 {
			p, err := r.ReadPacket()
			q, errReused := reused.ReadReused()
			if (err == nil) != (errReused == nil) || (err != nil && err.Error() != errReused.Error()) {
				t.Fatalf("ReadPacket: %v; ReadReused: %v", err, errReused)
			}
			if err == nil && !reflect.DeepEqual(p, q) {
				t.Fatalf("ReadPacket %#v, ReadReused %#v", p, q)
			}
			if err == io.EOF || errors.Is(err, packet.ErrTooLarge) || err == io.ErrUnexpectedEOF {
				return
			}
			if err != nil {
				if !errors.Is(err, packet.ErrMalformed) && !errors.Is(err, packet.ErrUnsupportedLevel) {
					t.Fatalf("unexpected error %v", err)
				}
				continue
			}
			roundTrip(t, p)
		}
	})
}
