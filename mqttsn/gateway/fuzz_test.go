package gateway

import (
	"net"
	"net/netip"
	"testing"

	"snbridge/mqttsn/mqttsntest"
)

// FuzzDispatch feeds arbitrary datagrams from a few peers through routing, the stateless
// answers and the shards' sessions. Nothing may panic (recovered panics are counted too).
func FuzzDispatch(f *testing.F) {
	for _, fx := range mqttsntest.Golden {
		f.Add(fx.Bytes, uint8(0))
	}
	for _, fx := range mqttsntest.Malformed {
		f.Add(fx.Bytes, uint8(1))
	}
	pc, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		f.Fatal(err)
	}
	defer pc.Close()
	f.Fuzz(func(t *testing.T, dg []byte, peer uint8) {
		g := New(Config{Shards: 2}, newFakeBroker())
		tr := newTransport(pc)
		ap := netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), 9)
		// A connected client first, so that session paths are reached too.
		h := g.newHandOff()
		g.dispatch(tr, ap, nil, mqttsntest.Bytes("CONNECT clean keepalive=60 id=abc"), h)
		h.flush()
		g.dispatch(tr, netip.AddrPortFrom(ap.Addr(), 9+uint16(peer%3)), nil, dg, h)
		h.flush()
		for _, sh := range g.shards {
			for len(sh.in) > 0 {
				sh.handleBatch(<-sh.in)
			}
			sh.drainEvents()
			sh.outbox.flush()
		}
		if n := g.Stats().InternalErrors; n != 0 {
			t.Fatalf("%d internal errors", n)
		}
	})
}
