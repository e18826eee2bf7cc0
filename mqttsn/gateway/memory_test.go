package gateway

import (
	"net"
	"net/netip"
	"runtime"
	"testing"

	"snbridge/mqttsn/packet"
)

// nopBroker attaches everyone to one shared session that does nothing: what remains is the
// gateway's own cost per client.
type nopBroker struct{ s nopSession }

func (b *nopBroker) Connect(ConnectOptions, Handler) (BrokerSession, bool, error) {
	return &b.s, false, nil
}

type nopSession struct{}

func (*nopSession) Publish(_ Message, done func(error)) {
	if done != nil {
		done(nil)
	}
}
func (*nopSession) Subscribe(string, byte) (byte, error)         { return 0, nil }
func (*nopSession) Unsubscribe(string) error                     { return nil }
func (*nopSession) Ack(uint16)                                   {}
func (*nopSession) Received(uint16)                              {}
func (*nopSession) Pending() int                                 { return 0 }
func (*nopSession) SetWill(*Will)                                {}
func (*nopSession) PutData(_ string, _ []byte, done func(error)) { done(nil) }
func (*nopSession) Data(string) ([]byte, bool)                   { return nil, false }
func (*nopSession) Suspend()                                     {}
func (*nopSession) Resume()                                      {}
func (*nopSession) Disconnect()                                  {}
func (*nopSession) Lost()                                        {}

// connectIdle connects n clients straight into the shards (no read loop) and returns the heap
// growth per client.
func connectIdle(t testing.TB, n int) float64 {
	pc, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	g := New(Config{MaxClients: n + 1}, &nopBroker{})
	tr := newTransport(pc)
	ids := make([]string, n)
	for i := range ids {
		ids[i] = "sensor-" + string(rune('a'+i%26)) + itoa(i)
	}
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	for i, id := range ids {
		ap := netip.AddrPortFrom(netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)}), 40000)
		key := peerKey{t: tr, ap: ap}
		sh := g.shardFor(id)
		g.routes.Store(key, sh)
		sh.handle(&inbound{key: key, msg: &packet.Connect{CleanSession: true, ProtocolID: 1, Duration: 600, ClientID: id}})
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	if got := g.Stats().Clients; got != int64(n) {
		t.Fatalf("%d clients connected, want %d", got, n)
	}
	runtime.KeepAlive(g)
	return float64(after.HeapAlloc-before.HeapAlloc) / float64(n)
}

func itoa(i int) string {
	b := []byte{}
	for {
		b = append([]byte{byte('0' + i%10)}, b...)
		if i /= 10; i == 0 {
			return string(b)
		}
	}
}

// TestIdleClientMemory checks issue 4's budget: an idle connected sensor costs at most 2 KiB
// (here without the broker's own session, which the broker accounts for).
func TestIdleClientMemory(t *testing.T) {
	per := connectIdle(t, 20000)
	t.Logf("%.0f bytes per idle connected client", per)
	if per > 2048 {
		t.Errorf("%.0f bytes per idle client, budget 2048", per)
	}
}

// BenchmarkIdleClientMemory connects 100 000 idle clients; run it with -benchtime=1x.
func BenchmarkIdleClientMemory(b *testing.B) {
	for b.Loop() {
		b.ReportMetric(connectIdle(b, 100000), "B/client")
	}
}
