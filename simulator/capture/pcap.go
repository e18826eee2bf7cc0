package capture

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"time"
)

// Link-layer types of the classic pcap header that Reader understands.
const (
	LinkNull     = 0   // BSD loopback: 4-octet address family in the writer's byte order
	LinkEthernet = 1   // Ethernet II, with 802.1Q / 802.1ad tags
	LinkRaw      = 101 // raw IPv4 or IPv6
	LinkLinuxSLL = 113 // Linux cooked capture (tcpdump -i any)
	LinkIPv4     = 228
	LinkIPv6     = 229
)

// maxRecord bounds a record's captured length, so a corrupt file cannot make Reader allocate
// gigabytes.
const maxRecord = 256 * 1024

// Errors of a pcap file.
var (
	ErrNotPcap   = errors.New("capture: not a classic pcap file (bad magic number)")
	ErrLinkType  = errors.New("capture: unsupported link type")
	ErrTruncated = errors.New("capture: file truncated inside a record")
	ErrRecord    = errors.New("capture: corrupt record header")
)

// Datagram is one UDP datagram found in a capture.
type Datagram struct {
	Time     time.Time
	Src, Dst netip.AddrPort
	Payload  []byte // valid until the next call of Next
}

// Reader reads UDP datagrams from a classic libpcap file (not pcapng): microsecond or
// nanosecond timestamps, either byte order, Ethernet / Linux cooked / raw IP / loopback links,
// IPv4 and IPv6. Frames that are not UDP, IP fragments and frames cut short by the snap length
// are skipped and counted.
type Reader struct {
	r        io.Reader
	order    binary.ByteOrder
	nanos    bool
	link     uint32
	hdr      [16]byte
	buf      []byte
	skipped  int
	Snaplen  uint32
	LinkType uint32
}

// NewReader reads the file header.
func NewReader(r io.Reader) (*Reader, error) {
	var h [24]byte
	if _, err := io.ReadFull(r, h[:]); err != nil {
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			return nil, ErrNotPcap
		}
		return nil, err
	}
	pr := &Reader{r: r}
	switch binary.LittleEndian.Uint32(h[:4]) {
	case 0xa1b2c3d4:
		pr.order = binary.LittleEndian
	case 0xa1b23c4d:
		pr.order, pr.nanos = binary.LittleEndian, true
	case 0xd4c3b2a1:
		pr.order = binary.BigEndian
	case 0x4d3cb2a1:
		pr.order, pr.nanos = binary.BigEndian, true
	default:
		return nil, ErrNotPcap
	}
	pr.Snaplen = pr.order.Uint32(h[16:])
	pr.LinkType = pr.order.Uint32(h[20:]) & 0x0FFFFFFF // upper bits: FCS info
	switch pr.LinkType {
	case LinkNull, LinkEthernet, LinkRaw, LinkLinuxSLL, LinkIPv4, LinkIPv6:
	default:
		return nil, fmt.Errorf("%w %d (want Ethernet, Linux cooked, raw IP or loopback)", ErrLinkType, pr.LinkType)
	}
	pr.link = pr.LinkType
	return pr, nil
}

// Skipped is the number of records that held no whole UDP datagram.
func (pr *Reader) Skipped() int { return pr.skipped }

// Next returns the next UDP datagram, io.EOF at the clean end of the file.
func (pr *Reader) Next() (Datagram, error) {
	for {
		if _, err := io.ReadFull(pr.r, pr.hdr[:]); err != nil {
			if errors.Is(err, io.ErrUnexpectedEOF) {
				return Datagram{}, ErrTruncated
			}
			return Datagram{}, err
		}
		sec, frac := pr.order.Uint32(pr.hdr[0:]), pr.order.Uint32(pr.hdr[4:])
		incl, orig := pr.order.Uint32(pr.hdr[8:]), pr.order.Uint32(pr.hdr[12:])
		if incl > maxRecord || (pr.nanos && frac >= 1e9) || (!pr.nanos && frac >= 1e6) {
			return Datagram{}, fmt.Errorf("%w: captured length %d, fraction %d", ErrRecord, incl, frac)
		}
		if cap(pr.buf) < int(incl) {
			pr.buf = make([]byte, incl)
		}
		frame := pr.buf[:incl]
		if _, err := io.ReadFull(pr.r, frame); err != nil {
			return Datagram{}, ErrTruncated
		}
		ts := time.Unix(int64(sec), int64(frac)*1000)
		if pr.nanos {
			ts = time.Unix(int64(sec), int64(frac))
		}
		if incl < orig {
			pr.skipped++ // cut by the snap length: the datagram is incomplete
			continue
		}
		d, ok := pr.decode(frame)
		if !ok {
			pr.skipped++
			continue
		}
		d.Time = ts
		return d, nil
	}
}

// decode strips the link layer, then IP, then UDP.
func (pr *Reader) decode(f []byte) (Datagram, bool) {
	switch pr.link {
	case LinkEthernet:
		if len(f) < 14 {
			return Datagram{}, false
		}
		etype := binary.BigEndian.Uint16(f[12:])
		f = f[14:]
		for etype == 0x8100 || etype == 0x88a8 { // VLAN tags
			if len(f) < 4 {
				return Datagram{}, false
			}
			etype = binary.BigEndian.Uint16(f[2:])
			f = f[4:]
		}
		switch etype {
		case 0x0800:
			return ipv4(f)
		case 0x86dd:
			return ipv6(f)
		}
		return Datagram{}, false
	case LinkLinuxSLL:
		if len(f) < 16 {
			return Datagram{}, false
		}
		etype := binary.BigEndian.Uint16(f[14:])
		f = f[16:]
		switch etype {
		case 0x0800:
			return ipv4(f)
		case 0x86dd:
			return ipv6(f)
		}
		return Datagram{}, false
	case LinkNull:
		if len(f) < 4 {
			return Datagram{}, false
		}
		f = f[4:] // the family is in the writer's byte order; the IP version nibble says enough
	case LinkIPv4:
		return ipv4(f)
	case LinkIPv6:
		return ipv6(f)
	}
	if len(f) == 0 {
		return Datagram{}, false
	}
	switch f[0] >> 4 {
	case 4:
		return ipv4(f)
	case 6:
		return ipv6(f)
	}
	return Datagram{}, false
}

func ipv4(p []byte) (Datagram, bool) {
	if len(p) < 20 || p[0]>>4 != 4 {
		return Datagram{}, false
	}
	ihl := int(p[0]&0x0F) * 4
	total := int(binary.BigEndian.Uint16(p[2:]))
	if ihl < 20 || total < ihl || total > len(p) || p[9] != 17 {
		return Datagram{}, false
	}
	if frag := binary.BigEndian.Uint16(p[6:]); frag&0x3FFF != 0 { // MF set or offset non-zero
		return Datagram{}, false
	}
	src := netip.AddrFrom4([4]byte(p[12:16]))
	dst := netip.AddrFrom4([4]byte(p[16:20]))
	return udp(p[ihl:total], src, dst)
}

func ipv6(p []byte) (Datagram, bool) {
	if len(p) < 40 || p[0]>>4 != 6 {
		return Datagram{}, false
	}
	plen := int(binary.BigEndian.Uint16(p[4:]))
	next := p[6]
	src := netip.AddrFrom16([16]byte(p[8:24]))
	dst := netip.AddrFrom16([16]byte(p[24:40]))
	if 40+plen > len(p) {
		return Datagram{}, false
	}
	body := p[40 : 40+plen]
	for range 8 { // extension headers, bounded
		switch next {
		case 17:
			return udp(body, src, dst)
		case 0, 43, 60: // hop-by-hop, routing, destination options
			if len(body) < 8 {
				return Datagram{}, false
			}
			n := (int(body[1]) + 1) * 8
			if n > len(body) {
				return Datagram{}, false
			}
			next, body = body[0], body[n:]
		default: // fragment (44) and anything else: not a whole UDP datagram
			return Datagram{}, false
		}
	}
	return Datagram{}, false
}

func udp(p []byte, src, dst netip.Addr) (Datagram, bool) {
	if len(p) < 8 {
		return Datagram{}, false
	}
	n := int(binary.BigEndian.Uint16(p[4:]))
	if n < 8 || n > len(p) {
		return Datagram{}, false
	}
	return Datagram{
		Src:     netip.AddrPortFrom(src, binary.BigEndian.Uint16(p[0:])),
		Dst:     netip.AddrPortFrom(dst, binary.BigEndian.Uint16(p[2:])),
		Payload: p[8:n],
	}, true
}
