//go:build !linux

package gateway

import (
	"net"
	"net/netip"
)

// Outside Linux a UDP transport reads and writes one datagram per system call; the shards still
// get their datagrams, and write theirs, grouped by read batch and by drain.

type udpBatch struct{}

func newUDPBatch(*net.UDPConn) udpBatch { return udpBatch{} }

type udpReader struct {
	conn *net.UDPConn
	buf  []byte
	n    int
	from netip.AddrPort
}

// newUDPReader reads whole datagrams, whatever their size: one buffer is enough.
func newUDPReader(t *transport, _ int) *udpReader {
	return &udpReader{conn: t.udp, buf: make([]byte, 65536)}
}

// read blocks until a datagram is there; it reads one.
func (r *udpReader) read() (int, error) {
	n, from, err := r.conn.ReadFromUDPAddrPort(r.buf)
	if err != nil {
		return 0, err
	}
	r.n, r.from = n, netip.AddrPortFrom(from.Addr().Unmap(), from.Port())
	return 1, nil
}

// datagram 0 of the last read: its bytes (valid until the next read) and its sender; it is
// never truncated.
func (r *udpReader) datagram(int) (dg []byte, from netip.AddrPort, truncated bool) {
	return r.buf[:r.n], r.from, false
}

type udpWriter struct{}

// write sends ds, all for transport t, one by one.
func (udpWriter) write(g *Gateway, t *transport, ds []outDatagram) (sent, failed int) {
	for i := range ds {
		if g.writeTo(t, ds[i].ap, nil, ds[i].buf) != nil {
			failed++
		} else {
			sent++
		}
	}
	return sent, failed
}
