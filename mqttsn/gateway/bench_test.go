package gateway

import (
	"net"
	"net/netip"
	"testing"

	"snbridge/mqttsn/packet"
)

// benchClient is a gateway with one shard and one sensor connected on it, with topic id 1
// registered; the sensor's datagrams go to 127.0.0.1:9 and are dropped there.
func benchClient(b *testing.B) (*Gateway, *transport, netip.AddrPort, *shard) {
	pc, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { pc.Close() })
	g := New(Config{Shards: 1}, &nopBroker{})
	tr := newTransport(pc)
	ap := netip.MustParseAddrPort("127.0.0.1:9")
	key := peerKey{t: tr, ap: ap}
	sh := g.shards[0]
	g.routes.Store(key, sh)
	sh.handle(&inbound{key: key, msg: &packet.Connect{CleanSession: true, ProtocolID: 1, Duration: 600, ClientID: "bench"}})
	sh.handle(&inbound{key: key, msg: &packet.Register{MsgID: 1, TopicName: "bench/topic"}})
	sh.outbox.flush()
	return g, tr, ap, sh
}

// BenchmarkUplinkQoS0 measures a connected sensor's QoS 0 PUBLISH from the read loop's routing
// to the broker call (nopBroker), without the socket, one datagram per batch.
func BenchmarkUplinkQoS0(b *testing.B) {
	g, tr, ap, sh := benchClient(b)
	dg, _ := packet.Marshal(&packet.Publish{TopicID: 1, Data: make([]byte, 32)})
	h := g.newHandOff()
	b.ReportAllocs()
	for b.Loop() {
		g.dispatch(tr, ap, nil, dg, h)
		h.flush()
		sh.handleBatch(<-sh.in)
	}
}

// BenchmarkUplinkQoS1 measures a connected sensor's QoS 1 PUBLISH from the read loop's routing
// through the broker's acceptance (nopBroker, at once) to its PUBACK, written to the socket in
// batches of ioBatch as a busy shard writes them.
func BenchmarkUplinkQoS1(b *testing.B) {
	g, tr, ap, sh := benchClient(b)
	var dgs [][]byte
	for id := range ioBatch {
		dg, _ := packet.Marshal(&packet.Publish{QoS: packet.QoS1, TopicID: 1, MsgID: uint16(id + 1), Data: make([]byte, 32)})
		dgs = append(dgs, dg)
	}
	h := g.newHandOff()
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		g.dispatch(tr, ap, nil, dgs[i], h)
		h.flush()
		sh.handleBatch(<-sh.in)
		sh.drainEvents()
		if i++; i == ioBatch {
			sh.outbox.flush()
			i = 0
		}
	}
}
