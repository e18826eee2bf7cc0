package gateway

import (
	"context"
	"net"
	"sync"
	"testing"

	"snbridge/mqttsn/packet"
)

// countingHandler records what an application receives, without ever blocking the broker.
type countingHandler struct {
	mu       sync.Mutex
	payloads map[string]int
}

func (h *countingHandler) Deliver(m Message, _ uint16) {
	h.mu.Lock()
	h.payloads[m.Topic+" "+string(m.Payload)]++
	h.mu.Unlock()
}

func (h *countingHandler) Closed(error)   {}
func (h *countingHandler) Release(uint16) {}

func (h *countingHandler) count() (distinct, total int) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, n := range h.payloads {
		total += n
	}
	return len(h.payloads), total
}

// A burst from many sensors at once reaches the gateway in batches (recvmmsg on Linux) and its
// answers leave in batches (sendmmsg): every sensor still gets each of its answers
// and the broker gets every message once.
func TestBurstFromManySensorsIsAnsweredInFull(t *testing.T) {
	const sensors, each = 24, 6
	b := newFakeBroker()
	app := &countingHandler{payloads: map[string]int{}}
	ac, _, _ := b.Connect(ConnectOptions{ClientID: "app", CleanSession: true, MaxInflight: 1000}, app)
	ac.Subscribe("burst/#", 0)
	tg := startGateway(t, Config{Shards: 3}, b)
	_ = tg.pc.(*net.UDPConn).SetReadBuffer(1 << 20)

	ss := make([]*sensor, sensors)
	for i := range ss {
		ss[i] = newSensor(t, tg.addr)
		ss[i].send(&packet.Connect{CleanSession: true, ProtocolID: 1, Duration: 60, ClientID: "burst-" + itoa(i)})
	}
	for _, s := range ss {
		s.expect(&packet.Connack{})
	}
	for i, s := range ss {
		s.send(&packet.Register{MsgID: 1, TopicName: "burst/" + itoa(i)})
	}
	for _, s := range ss {
		s.expect(&packet.Regack{TopicID: 1, MsgID: 1})
	}
	for k := range each {
		for _, s := range ss {
			s.send(&packet.Publish{QoS: 1, TopicID: 1, MsgID: uint16(2 + k), Data: []byte(itoa(k))})
		}
	}
	for i, s := range ss {
		acked := map[uint16]bool{}
		for range each {
			p, ok := s.expect(nil).(*packet.Puback)
			if !ok || p.TopicID != 1 || p.ReturnCode != packet.Accepted || acked[p.MsgID] {
				t.Fatalf("sensor %d: got %+v after PUBACKs %v", i, p, acked)
			}
			acked[p.MsgID] = true
		}
	}
	if distinct, total := app.count(); distinct != sensors*each || total != sensors*each {
		t.Errorf("the application received %d messages (%d distinct), want %d", total, distinct, sensors*each)
	}
	if st := tg.g.Stats(); st.Received != sensors*(2+each) || st.Sent != sensors*(2+each) || st.InboundDropped != 0 || st.SendErrors != 0 {
		t.Errorf("stats %+v", st)
	}
}

// On a dual-stack socket (":0") the gateway answers IPv4 sensors and IPv6 sensors alike.
func TestDualStackTransportAnswersIPv4AndIPv6Sensors(t *testing.T) {
	pc, err := net.ListenPacket("udp", ":0")
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	g := New(Config{}, newFakeBroker())
	done := make(chan error, 1)
	go func() { done <- g.Serve(context.Background(), pc) }()
	defer func() {
		g.Shutdown(context.Background())
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
	}()
	port := pc.LocalAddr().(*net.UDPAddr).Port
	for i, loopback := range []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback} {
		c, err := net.ListenUDP("udp", &net.UDPAddr{IP: loopback})
		if err != nil {
			t.Fatalf("%v: %v", loopback, err)
		}
		defer c.Close()
		s := &sensor{t: t, conn: c, gw: &net.UDPAddr{IP: loopback, Port: port}}
		s.connect("dual-"+itoa(i), true, 60)
		s.send(&packet.Pingreq{})
		s.expect(&packet.Pingresp{})
	}
}

// A datagram longer than MaxPacketSize plus the largest forwarder envelope is cut short by the
// read; it is dropped and counted as oversized, and the datagrams around it are served.
func TestTruncatedDatagramIsCountedOversized(t *testing.T) {
	cfg := Config{}
	cfg.MaxPacketSize = 64
	tg := startGateway(t, cfg, newFakeBroker())
	s := newSensor(t, tg.addr)
	s.connect("big", true, 60)
	big := make([]byte, 2000)
	big[0], big[1], big[2], big[3] = 0x01, 2000>>8, 2000&0xFF, byte(packet.TypePublish)
	s.sendRaw(big)
	s.send(&packet.Pingreq{})
	s.expect(&packet.Pingresp{})
	waitStats(t, tg.g, func(st Stats) bool { return st.Oversized == 1 && st.Malformed == 0 })
}

// A shard's queue holds InboundQueue datagrams; a batch that does not fit is dropped whole and
// counted, and the queue takes batches again once the shard has handled its backlog.
func TestFullInboundQueueDropsAndCountsTheBatch(t *testing.T) {
	g := New(Config{Shards: 1, InboundQueue: 4}, newFakeBroker())
	sh := g.shards[0]
	h := g.newHandOff()
	batch := func(n int) *inBatch {
		b := h.batch()
		for range n {
			b.add(inbound{}, []byte{0x00}) // malformed: handled without a peer to answer
		}
		return b
	}
	sh.enqueue(batch(3))
	sh.enqueue(batch(2))
	if st := g.Stats(); st.InboundDropped != 2 {
		t.Fatalf("dropped %d datagrams, want 2", st.InboundDropped)
	}
	sh.handleBatch(<-sh.in)
	sh.outbox.flush()
	sh.enqueue(batch(4))
	if st := g.Stats(); st.InboundDropped != 2 || len(sh.in) != 1 {
		t.Fatalf("after the backlog: dropped %d, %d batches queued", st.InboundDropped, len(sh.in))
	}
	sh.handleBatch(<-sh.in)
}
