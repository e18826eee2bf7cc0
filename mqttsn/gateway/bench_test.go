package gateway

import (
	"net"
	"net/netip"
	"testing"

	"snbridge/mqttsn/packet"
)

// BenchmarkUplinkQoS0 measures a connected sensor's QoS 0 PUBLISH from the read loop's routing
// to the broker call (nopBroker), without the socket.
func BenchmarkUplinkQoS0(b *testing.B) {
	pc, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		b.Fatal(err)
	}
	defer pc.Close()
	g := New(Config{Shards: 1}, &nopBroker{})
	tr := &transport{conn: pc, udp: pc}
	ap := netip.MustParseAddrPort("127.0.0.1:9")
	key := peerKey{t: tr, ap: ap}
	sh := g.shards[0]
	g.routes.Store(key, sh)
	sh.handle(inbound{key: key, msg: &packet.Connect{CleanSession: true, ProtocolID: 1, Duration: 600, ClientID: "bench"}})
	sh.handle(inbound{key: key, msg: &packet.Register{MsgID: 1, TopicName: "bench/topic"}})
	dg, _ := packet.Marshal(&packet.Publish{TopicID: 1, Data: make([]byte, 32)})
	b.ReportAllocs()
	for b.Loop() {
		g.dispatch(tr, ap, nil, dg)
		sh.handle(<-sh.in)
	}
}
