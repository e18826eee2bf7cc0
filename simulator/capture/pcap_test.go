package capture

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"net/netip"
	"testing"
	"time"
)

// pcapFile builds a classic pcap file in memory.
type pcapFile struct {
	order binary.ByteOrder
	nanos bool
	b     bytes.Buffer
}

func newPcap(order binary.ByteOrder, nanos bool, link uint32) *pcapFile {
	f := &pcapFile{order: order, nanos: nanos}
	magic := uint32(0xa1b2c3d4)
	if nanos {
		magic = 0xa1b23c4d
	}
	h := make([]byte, 24)
	order.PutUint32(h[0:], magic)
	order.PutUint16(h[4:], 2)
	order.PutUint16(h[6:], 4)
	order.PutUint32(h[16:], 65535)
	order.PutUint32(h[20:], link)
	f.b.Write(h)
	return f
}

func (f *pcapFile) record(ts time.Time, frame []byte, orig int) {
	h := make([]byte, 16)
	f.order.PutUint32(h[0:], uint32(ts.Unix()))
	frac := uint32(ts.Nanosecond() / 1000)
	if f.nanos {
		frac = uint32(ts.Nanosecond())
	}
	f.order.PutUint32(h[4:], frac)
	f.order.PutUint32(h[8:], uint32(len(frame)))
	f.order.PutUint32(h[12:], uint32(orig))
	f.b.Write(h)
	f.b.Write(frame)
}

func udpHdr(sport, dport uint16, payload []byte) []byte {
	u := make([]byte, 8, 8+len(payload))
	binary.BigEndian.PutUint16(u[0:], sport)
	binary.BigEndian.PutUint16(u[2:], dport)
	binary.BigEndian.PutUint16(u[4:], uint16(8+len(payload)))
	return append(u, payload...)
}

func ipv4Pkt(src, dst [4]byte, proto byte, l4 []byte, frag uint16) []byte {
	p := make([]byte, 20, 20+len(l4))
	p[0] = 0x45
	binary.BigEndian.PutUint16(p[2:], uint16(20+len(l4)))
	binary.BigEndian.PutUint16(p[6:], frag)
	p[8], p[9] = 64, proto
	copy(p[12:], src[:])
	copy(p[16:], dst[:])
	return append(p, l4...)
}

func ipv6Pkt(src, dst netip.Addr, next byte, l4 []byte) []byte {
	p := make([]byte, 40, 40+len(l4))
	p[0] = 0x60
	binary.BigEndian.PutUint16(p[4:], uint16(len(l4)))
	p[6], p[7] = next, 64
	s, d := src.As16(), dst.As16()
	copy(p[8:], s[:])
	copy(p[24:], d[:])
	return append(p, l4...)
}

func ether(etype uint16, vlan bool, l3 []byte) []byte {
	e := make([]byte, 12, 18+len(l3))
	if vlan {
		e = binary.BigEndian.AppendUint16(e, 0x8100)
		e = binary.BigEndian.AppendUint16(e, 42)
	}
	e = binary.BigEndian.AppendUint16(e, etype)
	return append(e, l3...)
}

var (
	ts     = time.Date(2026, 11, 25, 12, 30, 0, 123456000, time.UTC)
	conn   = []byte{0x09, 0x04, 0x04, 0x01, 0x00, 0x3C, 'a', 'b', 'c'}
	connak = []byte{0x03, 0x05, 0x00}
	v6a    = netip.MustParseAddr("fd00::1")
	v6b    = netip.MustParseAddr("fd00::2")
)

func readAll(t *testing.T, data []byte) ([]Datagram, *Reader) {
	t.Helper()
	r, err := NewReader(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	var out []Datagram
	for {
		d, err := r.Next()
		if errors.Is(err, io.EOF) {
			return out, r
		}
		if err != nil {
			t.Fatal(err)
		}
		d.Payload = append([]byte(nil), d.Payload...)
		out = append(out, d)
	}
}

func TestEthernetIPv4AndVLANIPv6(t *testing.T) {
	f := newPcap(binary.LittleEndian, false, LinkEthernet)
	f.record(ts, ether(0x0800, false, ipv4Pkt([4]byte{10, 0, 0, 5}, [4]byte{10, 0, 0, 1}, 17, udpHdr(40000, 1884, conn), 0)), 0)
	tcp := ether(0x0800, false, ipv4Pkt([4]byte{10, 0, 0, 5}, [4]byte{10, 0, 0, 1}, 6, make([]byte, 20), 0))
	f.record(ts, tcp, len(tcp))
	frag := ether(0x0800, false, ipv4Pkt([4]byte{10, 0, 0, 5}, [4]byte{10, 0, 0, 1}, 17, udpHdr(1, 2, conn), 0x2000))
	f.record(ts, frag, len(frag))
	arp := ether(0x0806, false, make([]byte, 28))
	f.record(ts, arp, len(arp))
	f.record(ts.Add(time.Millisecond), ether(0x86dd, true, ipv6Pkt(v6b, v6a, 17, udpHdr(1884, 40000, connak))), 0)
	// The records above were written with orig 0 by mistake-proofing: fix orig to incl below.
	data := fixOrig(f)
	got, r := readAll(t, data)
	if len(got) != 2 || r.Skipped() != 3 {
		t.Fatalf("got %d datagrams, skipped %d", len(got), r.Skipped())
	}
	if got[0].Src.String() != "10.0.0.5:40000" || got[0].Dst.String() != "10.0.0.1:1884" || !bytes.Equal(got[0].Payload, conn) || !got[0].Time.Equal(ts) {
		t.Errorf("first: %+v", got[0])
	}
	if got[1].Src.String() != "[fd00::2]:1884" || got[1].Dst.String() != "[fd00::1]:40000" || !bytes.Equal(got[1].Payload, connak) {
		t.Errorf("second: %+v", got[1])
	}
}

// fixOrig rewrites every record's original length to its captured length where it is 0.
func fixOrig(f *pcapFile) []byte {
	b := f.b.Bytes()
	for off := 24; off+16 <= len(b); {
		incl := f.order.Uint32(b[off+8:])
		if f.order.Uint32(b[off+12:]) == 0 {
			f.order.PutUint32(b[off+12:], incl)
		}
		off += 16 + int(incl)
	}
	return b
}

func TestBigEndianNanosecondRawAndCooked(t *testing.T) {
	f := newPcap(binary.BigEndian, true, LinkRaw)
	p := ipv4Pkt([4]byte{127, 0, 0, 1}, [4]byte{127, 0, 0, 1}, 17, udpHdr(5000, 1884, conn), 0)
	f.record(ts.Add(789), p, len(p))
	got, _ := readAll(t, f.b.Bytes())
	if len(got) != 1 || !got[0].Time.Equal(ts.Add(789)) || !bytes.Equal(got[0].Payload, conn) {
		t.Fatalf("raw: %+v", got)
	}

	f = newPcap(binary.LittleEndian, false, LinkLinuxSLL)
	sll := append(make([]byte, 14), 0x86, 0xdd)
	sll = append(sll, ipv6Pkt(v6a, v6b, 17, udpHdr(1, 2, connak))...)
	f.record(ts, sll, len(sll))
	got, _ = readAll(t, f.b.Bytes())
	if len(got) != 1 || got[0].Dst.Port() != 2 {
		t.Fatalf("cooked: %+v", got)
	}
}

func TestIPv6ExtensionHeaderAndSnapLength(t *testing.T) {
	f := newPcap(binary.LittleEndian, false, LinkIPv6)
	hop := append([]byte{17, 0, 0, 0, 0, 0, 0, 0}, udpHdr(9, 10, conn)...)
	p := ipv6Pkt(v6a, v6b, 0, hop)
	f.record(ts, p, len(p))
	f.record(ts, p[:len(p)-2], len(p)) // cut by the snap length
	got, r := readAll(t, f.b.Bytes())
	if len(got) != 1 || got[0].Src.Port() != 9 || r.Skipped() != 1 {
		t.Fatalf("got %+v skipped %d", got, r.Skipped())
	}
}

func TestBadFiles(t *testing.T) {
	if _, err := NewReader(bytes.NewReader([]byte("hello, this is not a capture"))); !errors.Is(err, ErrNotPcap) {
		t.Errorf("text: %v", err)
	}
	if _, err := NewReader(bytes.NewReader(nil)); !errors.Is(err, ErrNotPcap) {
		t.Errorf("empty: %v", err)
	}
	f := newPcap(binary.LittleEndian, false, 147) // a user DLT
	if _, err := NewReader(bytes.NewReader(f.b.Bytes())); !errors.Is(err, ErrLinkType) {
		t.Errorf("link 147: %v", err)
	}

	f = newPcap(binary.LittleEndian, false, LinkEthernet)
	fr := ether(0x0800, false, ipv4Pkt([4]byte{1, 2, 3, 4}, [4]byte{5, 6, 7, 8}, 17, udpHdr(1, 2, conn), 0))
	f.record(ts, fr, len(fr))
	full := f.b.Bytes()
	r, _ := NewReader(bytes.NewReader(full[:len(full)-3]))
	if _, err := r.Next(); !errors.Is(err, ErrTruncated) {
		t.Errorf("truncated record: %v", err)
	}
	huge := append([]byte(nil), full[:24+16]...)
	binary.LittleEndian.PutUint32(huge[24+8:], 1<<30)
	r, _ = NewReader(bytes.NewReader(huge))
	if _, err := r.Next(); !errors.Is(err, ErrRecord) {
		t.Errorf("1 GiB record: %v", err)
	}
}

func FuzzReader(f *testing.F) {
	p := newPcap(binary.LittleEndian, false, LinkEthernet)
	fr := ether(0x86dd, true, ipv6Pkt(v6a, v6b, 17, udpHdr(1, 2, conn)))
	p.record(ts, fr, len(fr))
	f.Add(p.b.Bytes())
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := NewReader(bytes.NewReader(data))
		if err != nil {
			return
		}
		for range 100 {
			d, err := r.Next()
			if err != nil {
				return
			}
			if len(d.Payload) > len(data) {
				t.Fatalf("payload %d bytes from a %d-byte file", len(d.Payload), len(data))
			}
		}
	})
}
