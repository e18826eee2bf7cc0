package broker

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"snbridge/mqtt/packet"
	"snbridge/mqtt/store"
)

// Everything a persistent session has survives a restart on the same store: subscriptions,
// queued and PUBREC'd messages, adapter data, retained messages.
func TestRestoreFromStore(t *testing.T) {
	dir := t.TempDir()
	st, err := store.Open(dir, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	b, addr := startBroker(t, Options{Store: st})
	c := dialRaw(t, addr)
	c.connect(&packet.Connect{ClientID: "tcp", CleanSession: false})
	c.send(&packet.Subscribe{PacketID: 1, Subscriptions: []packet.Subscription{{Filter: "p/#", QoS: 2}}})
	c.expect()
	lc, _, _ := b.ConnectLocal(LocalOptions{ClientID: "sensor", CleanSession: false}, &localRecorder{})
	lc.Subscribe("p/+", 1)
	lc.PutData("registry", []byte("p/1=1"))
	lc.Suspend()

	pub := dialRaw(t, addr)
	pub.connect(&packet.Connect{ClientID: "pub", CleanSession: true})
	pub.send(&packet.Publish{Topic: "p/r", QoS: 1, PacketID: 1, Retain: true, Payload: []byte("retained")})
	pub.expect()
	// The TCP subscriber gets it in flight and PUBRECs a QoS 2 one.
	p1 := c.expect().(*packet.Publish)
	pub.send(&packet.Publish{Topic: "p/q2", QoS: 2, PacketID: 2, Payload: []byte("two")})
	pub.expect()
	p2 := c.expect().(*packet.Publish)
	c.send(&packet.Pubrec{PacketID: p2.PacketID})
	c.expect()
	c.nc.Close()
	for i := 0; i < 3; i++ {
		pub.send(&packet.Publish{Topic: "p/x", QoS: 1, PacketID: uint16(10 + i), Payload: []byte(fmt.Sprint(i))})
		pub.expect()
	}
	_ = p1
	if err := b.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}

	st2, err := store.Open(dir, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st2.Close()
	b2, addr2 := startBroker(t, Options{Store: st2})
	if b2.RetainedCount() != 1 {
		t.Fatalf("retained after restart: %d", b2.RetainedCount())
	}
	rec := &localRecorder{}
	lc2, present, _ := b2.ConnectLocal(LocalOptions{ClientID: "sensor", CleanSession: false}, rec)
	if !present {
		t.Fatal("local session not present after restart")
	}
	if v, ok := lc2.Data("registry"); !ok || string(v) != "p/1=1" {
		t.Fatalf("data after restart: %q %v", v, ok)
	}
	msgs, _ := rec.got()
	var got []string
	for _, m := range msgs {
		got = append(got, m.Topic+"="+string(m.Payload))
	}
	if fmt.Sprint(got) != "[p/r=retained p/q2=two p/x=0 p/x=1 p/x=2]" {
		t.Fatalf("local session queue after restart: %v", got)
	}
	c2 := dialRaw(t, addr2)
	if ack := c2.connect(&packet.Connect{ClientID: "tcp", CleanSession: false}); !ack.SessionPresent {
		t.Fatal("tcp session not present after restart")
	}
	// The PUBREC'd QoS 2 message comes back as PUBREL, the rest as PUBLISH in order.
	got = nil
	for i := 0; i < 5; i++ {
		switch p := c2.expect().(type) {
		case *packet.Pubrel:
			got = append(got, fmt.Sprintf("PUBREL %d", p.PacketID))
			c2.send(&packet.Pubcomp{PacketID: p.PacketID})
		case *packet.Publish:
			got = append(got, p.Topic+"="+string(p.Payload))
			c2.send(&packet.Puback{PacketID: p.PacketID})
		}
	}
	want := fmt.Sprintf("[PUBREL %d p/r=retained p/x=0 p/x=1 p/x=2]", p2.PacketID)
	if fmt.Sprint(got) != want {
		t.Fatalf("tcp session after restart: %v, want %v", got, want)
	}
	// Subscriptions were restored too.
	if b2.SubscriptionCount() != 2 {
		t.Fatalf("subscriptions after restart: %d", b2.SubscriptionCount())
	}
}

// gateStore holds every Commit until released, to show that acknowledgements wait for it.
type gateStore struct {
	store.Store
	mu      sync.Mutex
	open    bool
	waiting chan struct{}
	release chan struct{}
}

func (g *gateStore) Commit(b *store.Batch) error {
	g.mu.Lock()
	open := g.open
	g.mu.Unlock()
	if !open && b.Len() > 0 {
		g.waiting <- struct{}{}
		<-g.release
	}
	return g.Store.Commit(b)
}

func TestAckOnlyOnceDurable(t *testing.T) {
	g := &gateStore{Store: store.NewMemory(), open: true, waiting: make(chan struct{}, 10), release: make(chan struct{})}
	b, addr := startBroker(t, Options{Store: g})
	sub := dialRaw(t, addr)
	sub.connect(&packet.Connect{ClientID: "offline", CleanSession: false})
	sub.send(&packet.Subscribe{PacketID: 1, Subscriptions: []packet.Subscription{{Filter: "d", QoS: 1}}})
	sub.expect()
	sub.send(&packet.Disconnect{})
	sub.expectClosed()
	g.mu.Lock()
	g.open = false
	g.mu.Unlock()

	c := dialRaw(t, addr)
	c.connect(&packet.Connect{ClientID: "pub", CleanSession: true})
	c.send(&packet.Publish{Topic: "d", QoS: 1, PacketID: 1, Payload: []byte("x")})
	c.send(&packet.Publish{Topic: "nobody", QoS: 1, PacketID: 2, Payload: []byte("y")})
	<-g.waiting
	c.nc.SetReadDeadline(time.Now().Add(100 * time.Millisecond))
	if p, err := c.r.ReadPacket(); err == nil {
		t.Fatalf("got %#v before the store committed", p)
	}
	c.r = packet.NewReader(c.nc, 0) // the timed-out read left nothing behind
	// The connection keeps being read meanwhile.
	c.send(&packet.Pingreq{})
	close(g.release)
	var order []packet.Type
	var ids []uint16
	for i := 0; i < 3; i++ {
		p := c.expect()
		order = append(order, p.Type())
		if a, ok := p.(*packet.Puback); ok {
			ids = append(ids, a.PacketID)
		}
	}
	if fmt.Sprint(ids) != "[1 2]" {
		t.Fatalf("PUBACKs %v, want in PUBLISH order [1 2] [MQTT-4.6.0-2]", ids)
	}
	// PINGRESP is not held behind the commit: it may come before, between or after the PUBACKs.
	if n := strings.Count(fmt.Sprint(order), "PINGRESP"); n != 1 {
		t.Fatalf("packets %v, want one PINGRESP among the PUBACKs", order)
	}
	_ = b
}

// An inbound QoS 2 PUBLISH of a persistent session, PUBREC'd before a restart, resent with DUP
// after it: acknowledged again, not routed again [MQTT-4.3.3-2]. After PUBREL the id is free.
func TestInboundQoS2SurvivesRestart(t *testing.T) {
	st := store.NewMemory() // it keeps what was committed, as a file would across kill -9
	restart := func() (*Broker, string) { return startBroker(t, Options{Store: st}) }
	b1, addr1 := restart()
	sub, _, _ := b1.ConnectLocal(LocalOptions{ClientID: "sub", CleanSession: false}, &localRecorder{})
	sub.Subscribe("q", 2)
	sub.Disconnect()
	c := dialRaw(t, addr1)
	c.connect(&packet.Connect{ClientID: "pub", CleanSession: false})
	c.send(&packet.Publish{Topic: "q", QoS: 2, PacketID: 5, Payload: []byte("once")})
	if r, ok := c.expect().(*packet.Pubrec); !ok || r.PacketID != 5 {
		t.Fatalf("want PUBREC 5, got %+v", r)
	}
	c.nc.Close() // the client goes before PUBREL; the broker "crashes"

	_, addr2 := restart()
	c = dialRaw(t, addr2)
	if ack := c.connect(&packet.Connect{ClientID: "pub", CleanSession: false}); !ack.SessionPresent {
		t.Fatal("publisher's session not present after restart")
	}
	c.send(&packet.Publish{Topic: "q", QoS: 2, PacketID: 5, Dup: true, Payload: []byte("once")})
	if r, ok := c.expect().(*packet.Pubrec); !ok || r.PacketID != 5 {
		t.Fatalf("want PUBREC 5 for the resent PUBLISH, got %+v", r)
	}
	c.send(&packet.Pubrel{PacketID: 5})
	if r, ok := c.expect().(*packet.Pubcomp); !ok || r.PacketID != 5 {
		t.Fatalf("want PUBCOMP 5, got %+v", r)
	}
	c.nc.Close()

	b3, addr3 := restart() // id 5 was released: a new message may use it
	c = dialRaw(t, addr3)
	c.connect(&packet.Connect{ClientID: "pub", CleanSession: false})
	c.send(&packet.Publish{Topic: "q", QoS: 2, PacketID: 5, Payload: []byte("next")})
	c.expect()
	c.send(&packet.Pubrel{PacketID: 5})
	c.expect()
	rec := &localRecorder{}
	sub3, _, _ := b3.ConnectLocal(LocalOptions{ClientID: "sub", CleanSession: false}, rec)
	defer sub3.Disconnect()
	waitFor(t, "two messages", func() bool { m, _ := rec.got(); return len(m) >= 2 })
	msgs, pids := rec.got()
	var got []string
	for i, m := range msgs {
		got = append(got, string(m.Payload))
		sub3.Ack(pids[i])
	}
	if fmt.Sprint(got) != "[once next]" {
		t.Fatalf("subscriber got %v, want [once next]", got)
	}
}
