//go:build linux

package gateway

import (
	"net"
	"net/netip"
	"syscall"

	"golang.org/x/net/ipv4"
	"golang.org/x/net/ipv6"
)

// On Linux a UDP transport reads with recvmmsg and writes with sendmmsg (x/net's ReadBatch and
// WriteBatch): one system call for up to ioBatch datagrams.

// batchConn is an *ipv4.PacketConn or an *ipv6.PacketConn: the same batch calls either way.
type batchConn interface {
	ReadBatch(ms []ipv4.Message, flags int) (int, error)
	WriteBatch(ms []ipv4.Message, flags int) (int, error)
}

type udpBatch struct{ conn batchConn }

func newUDPBatch(c *net.UDPConn) udpBatch {
	if a, ok := c.LocalAddr().(*net.UDPAddr); ok && a.IP.To4() == nil {
		return udpBatch{ipv6.NewPacketConn(c)} // also a dual-stack socket ("::" or ":port")
	}
	return udpBatch{ipv4.NewPacketConn(c)}
}

// udpReader reads a batch of datagrams from one UDP transport.
type udpReader struct {
	conn batchConn
	ms   []ipv4.Message
}

// newUDPReader reads datagrams of up to size octets; longer ones are reported truncated.
func newUDPReader(t *transport, size int) *udpReader {
	r := &udpReader{conn: t.batch.conn, ms: make([]ipv4.Message, ioBatch)}
	for i := range r.ms {
		r.ms[i].Buffers = [][]byte{make([]byte, size)}
	}
	return r
}

// read blocks until at least one datagram is there and returns how many it read.
func (r *udpReader) read() (int, error) {
	return r.conn.ReadBatch(r.ms, 0)
}

// datagram i of the last read: its bytes (valid until the next read), its sender, and whether
// it was longer than the buffer.
func (r *udpReader) datagram(i int) (dg []byte, from netip.AddrPort, truncated bool) {
	m := &r.ms[i]
	if a, ok := m.Addr.(*net.UDPAddr); ok {
		from = a.AddrPort()
		from = netip.AddrPortFrom(from.Addr().Unmap(), from.Port())
	}
	m.Addr = nil
	return m.Buffers[0][:m.N], from, m.Flags&syscall.MSG_TRUNC != 0
}

// udpWriter is a shard's sendmmsg state: the messages and their addresses, reused.
type udpWriter struct {
	ms    []ipv4.Message
	bufs  [][1][]byte
	addrs []net.UDPAddr
	ips   [][16]byte
}

// write sends ds, all for transport t, in as few system calls as it can. A datagram the kernel
// refuses is counted failed and skipped, as one WriteTo failing would be.
func (w *udpWriter) write(g *Gateway, t *transport, ds []outDatagram) (sent, failed int) {
	if w.ms == nil {
		w.ms = make([]ipv4.Message, ioBatch)
		w.bufs = make([][1][]byte, ioBatch)
		w.addrs = make([]net.UDPAddr, ioBatch)
		w.ips = make([][16]byte, ioBatch)
	}
	ms := w.ms[:len(ds)]
	for i := range ds {
		ip, a := ds[i].ap.Addr(), &w.addrs[i]
		if ip.Is4() {
			*(*[4]byte)(w.ips[i][:4]) = ip.As4()
			a.IP = w.ips[i][:4]
		} else {
			w.ips[i] = ip.As16()
			a.IP = w.ips[i][:]
		}
		a.Port, a.Zone = int(ds[i].ap.Port()), ip.Zone()
		w.bufs[i][0] = ds[i].buf
		ms[i] = ipv4.Message{Buffers: w.bufs[i][:], Addr: a}
	}
	for len(ms) > 0 {
		n, err := t.batch.conn.WriteBatch(ms, 0)
		if err != nil || n <= 0 {
			failed++ // the first datagram of ms was refused
			ms = ms[1:]
			continue
		}
		sent += n
		ms = ms[n:]
	}
	for i := range ds {
		w.bufs[i][0] = nil
	}
	return sent, failed
}
