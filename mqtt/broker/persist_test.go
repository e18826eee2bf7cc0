package broker

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
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
	// In the original order: the QoS 1 message in flight again with its packet id and DUP
	// [MQTT-4.4.0-1], the PUBREC'd QoS 2 message as PUBREL, the queue as PUBLISH.
	got = nil
	for i := 0; i < 5; i++ {
		switch p := c2.expect().(type) {
		case *packet.Pubrel:
			got = append(got, fmt.Sprintf("PUBREL %d", p.PacketID))
			c2.send(&packet.Pubcomp{PacketID: p.PacketID})
		case *packet.Publish:
			got = append(got, p.Topic+"="+string(p.Payload))
			if p.Topic == "p/r" && (p.PacketID != p1.PacketID || !p.Dup) {
				t.Fatalf("in-flight p/r resent with id %d dup %v, want id %d with DUP", p.PacketID, p.Dup, p1.PacketID)
			}
			c2.send(&packet.Puback{PacketID: p.PacketID})
		}
	}
	want := fmt.Sprintf("[p/r=retained PUBREL %d p/x=0 p/x=1 p/x=2]", p2.PacketID)
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
// after it: acknowledged again, not routed again [MQTT-4.3.3-2]. After PUBREL the id is free,
// even if a crash lost its lazy delete: a PUBLISH with DUP 0 is a new message.
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

	b2, addr2 := restart()
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
	// The id's delete is lazy: say a crash lost it.
	written := make(chan error, 1)
	b2.commits.submit(nil, func(err error) { written <- err })
	<-written
	var lost store.Batch
	lost.PutData("pub", qos2InKey(5), []byte{1})
	st.Commit(&lost)

	b3, addr3 := restart() // id 5 was released: a new message (DUP 0) may use it
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

// PUBREL answers a PUBREC only once the PUBREC'd state is durable: after a crash the flow goes
// on with PUBREL, not with the PUBLISH again [MQTT-4.3.3-1].
func TestPubrelWaitsForDurableReceived(t *testing.T) {
	g := &gateStore{Store: store.NewMemory(), open: true, waiting: make(chan struct{}, 10), release: make(chan struct{})}
	b, addr := startBroker(t, Options{Store: g})
	sub := dialRaw(t, addr)
	sub.connect(&packet.Connect{ClientID: "sub", CleanSession: false})
	sub.send(&packet.Subscribe{PacketID: 1, Subscriptions: []packet.Subscription{{Filter: "q", QoS: 2}}})
	sub.expect()
	pub, _, _ := b.ConnectLocal(LocalOptions{ClientID: "pub", CleanSession: true}, &localRecorder{})
	publishSync(t, pub, Message{Topic: "q", Payload: []byte("x"), QoS: 2})
	p := sub.expect().(*packet.Publish)
	g.mu.Lock()
	g.open = false
	g.mu.Unlock()
	sub.send(&packet.Pubrec{PacketID: p.PacketID})
	<-g.waiting
	sub.expectNoPacket(100 * time.Millisecond)
	close(g.release)
	if r, ok := sub.expect().(*packet.Pubrel); !ok || r.PacketID != p.PacketID {
		t.Fatalf("want PUBREL %d, got %+v", p.PacketID, r)
	}
}

// A QoS 2 delivery sent from the queue and unacknowledged when the broker stops comes again
// after the restart with the packet id it had, so the subscriber, which may have PUBREC'd it,
// does not take it for a new message [MQTT-4.3.3-2].
func TestQueuedDeliveryKeepsItsPacketID(t *testing.T) {
	st := store.NewMemory() // what was committed, as a file keeps it across kill -9
	b, addr := startBroker(t, Options{Store: st, MaxInflight: 1})
	sub := dialRaw(t, addr)
	sub.connect(&packet.Connect{ClientID: "sub", CleanSession: false})
	sub.send(&packet.Subscribe{PacketID: 1, Subscriptions: []packet.Subscription{{Filter: "q", QoS: 2}}})
	sub.expect()
	pub, _, _ := b.ConnectLocal(LocalOptions{ClientID: "pub", CleanSession: true}, &localRecorder{})
	publishSync(t, pub, Message{Topic: "q", Payload: []byte("first"), QoS: 2})
	publishSync(t, pub, Message{Topic: "q", Payload: []byte("second"), QoS: 2}) // queued: window of 1
	first := sub.expect().(*packet.Publish)
	sub.send(&packet.Pubrec{PacketID: first.PacketID})
	sub.expect()
	sub.send(&packet.Pubcomp{PacketID: first.PacketID})
	second := sub.expect().(*packet.Publish)
	if string(second.Payload) != "second" || second.PacketID == first.PacketID {
		t.Fatalf("second delivery %+v", second)
	}
	sub.nc.Close()

	_, addr2 := startBroker(t, Options{Store: st, MaxInflight: 1})
	sub = dialRaw(t, addr2)
	sub.connect(&packet.Connect{ClientID: "sub", CleanSession: false})
	p := sub.expect().(*packet.Publish)
	if string(p.Payload) != "second" || p.PacketID != second.PacketID {
		t.Fatalf("after restart got %q id %d, want %q id %d", p.Payload, p.PacketID, "second", second.PacketID)
	}
}

// pidHandler keeps the packet ids delivered to an in-process client.
type pidHandler struct {
	mu   sync.Mutex
	pids []uint16
}

func (h *pidHandler) Deliver(_ Message, pid uint16) {
	h.mu.Lock()
	h.pids = append(h.pids, pid)
	h.mu.Unlock()
}
func (h *pidHandler) Closed(error) {}

// The packet id a stored delivery's sequence number gives is not taken while another delivery
// holds it in flight: one left unacknowledged while 65 535 others pass keeps its id alone.
func TestSequencePacketIDsStayUnique(t *testing.T) {
	b, err := New(Options{Store: store.NewMemory(), Logger: testLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Shutdown(context.Background())
	h := &pidHandler{}
	sub, _, _ := b.ConnectLocal(LocalOptions{ClientID: "sub", CleanSession: false, MaxInflight: 2}, h)
	sub.Subscribe("q", 1)
	pub, _, _ := b.ConnectLocal(LocalOptions{ClientID: "pub", CleanSession: true}, &localRecorder{})
	for i := 0; i <= 65536; i++ {
		pub.Publish(Message{Topic: "q", QoS: 1}, nil)
		h.mu.Lock()
		last := h.pids[len(h.pids)-1]
		h.mu.Unlock()
		if i > 0 {
			if last == h.pids[0] {
				t.Fatalf("message %d got packet id %d, still in flight for message 0", i, last)
			}
			sub.Ack(last) // message 0 is never acknowledged
		}
	}
}

// A QoS 2 PUBLISH resent on a new connection while the first one's write is not yet durable is
// acknowledged only after that write: the PUBREL that follows cannot delete the remembered id
// before it is stored.
func TestResentQoS2WaitsForFirstWrite(t *testing.T) {
	g := &gateStore{Store: store.NewMemory(), open: true, waiting: make(chan struct{}, 10), release: make(chan struct{})}
	_, addr := startBroker(t, Options{Store: g})
	sub := dialRaw(t, addr)
	sub.connect(&packet.Connect{ClientID: "sub", CleanSession: false})
	sub.send(&packet.Subscribe{PacketID: 1, Subscriptions: []packet.Subscription{{Filter: "q", QoS: 2}}})
	sub.expect()
	sub.send(&packet.Disconnect{})
	sub.expectClosed()
	first := dialRaw(t, addr)
	first.connect(&packet.Connect{ClientID: "pub", CleanSession: false})
	g.mu.Lock()
	g.open = false
	g.mu.Unlock()
	var releaseOnce sync.Once
	release := func() { releaseOnce.Do(func() { close(g.release) }) }
	t.Cleanup(release) // a failure must not leave the committer blocked

	first.send(&packet.Publish{Topic: "q", QoS: 2, PacketID: 5, Payload: []byte("x")})
	<-g.waiting
	again := dialRaw(t, addr) // takes the session over
	again.connect(&packet.Connect{ClientID: "pub", CleanSession: false})
	again.send(&packet.Publish{Topic: "q", QoS: 2, PacketID: 5, Dup: true, Payload: []byte("x")})
	again.expectNoPacket(100 * time.Millisecond)
	release()
	if r, ok := again.expect().(*packet.Pubrec); !ok || r.PacketID != 5 {
		t.Fatalf("want PUBREC 5, got %+v", r)
	}
}

// A persistent subscriber that acknowledges a message before the write that stored it is on
// disk (it was sent at once, on routing) leaves nothing in the store: the delete is written
// after that write, not before, where the write would bring the message back.
func TestCompletedBeforeDurableLeavesNothingStored(t *testing.T) {
	g := &gateStore{Store: store.NewMemory(), open: true, waiting: make(chan struct{}, 10), release: make(chan struct{})}
	b, addr := startBroker(t, Options{Store: g})
	sub := dialRaw(t, addr)
	sub.connect(&packet.Connect{ClientID: "sub", CleanSession: false})
	sub.send(&packet.Subscribe{PacketID: 1, Subscriptions: []packet.Subscription{{Filter: "q", QoS: 1}}})
	sub.expect()
	pub := dialRaw(t, addr)
	pub.connect(&packet.Connect{ClientID: "pub", CleanSession: true})
	g.mu.Lock()
	g.open = false
	g.mu.Unlock()
	var releaseOnce sync.Once
	release := func() { releaseOnce.Do(func() { close(g.release) }) }
	t.Cleanup(release)

	pub.send(&packet.Publish{Topic: "q", QoS: 1, PacketID: 1, Payload: []byte("x")})
	<-g.waiting // the write that stores it is on its way to the disk
	p := sub.expect().(*packet.Publish)
	sub.send(&packet.Puback{PacketID: p.PacketID})
	sub.send(&packet.Pingreq{}) // PINGRESP: the PUBACK has been handled
	sub.expect()
	release()
	pub.expect()
	written := make(chan error, 1)
	b.commits.submit(nil, func(err error) { written <- err }) // behind the lazy delete
	if err := <-written; err != nil {
		t.Fatal(err)
	}
	if n := g.Stats().Messages; n != 0 {
		t.Fatalf("%d messages stored after the subscriber acknowledged everything", n)
	}
}

// holdOneStore holds the first durable Commit after hold is called, until release.
type holdOneStore struct {
	store.Store
	armed   atomic.Bool
	reached chan struct{}
	gate    chan struct{}
	once    sync.Once
}

func (h *holdOneStore) hold() {
	h.reached, h.gate = make(chan struct{}), make(chan struct{})
	h.armed.Store(true)
}

func (h *holdOneStore) release() { h.once.Do(func() { close(h.gate) }) }

func (h *holdOneStore) Commit(b *store.Batch) error {
	if h.armed.CompareAndSwap(true, false) {
		close(h.reached)
		<-h.gate
	}
	return h.Store.Commit(b)
}

// A clean takeover deletes the stored session behind the writes already queued for its client
// id (adapter data, a message routed to it): none of them lands after the delete, so the
// session does not come back on the next restart. The takeover's CONNACK waits for the delete.
func TestCleanTakeoverDeletesAfterQueuedWrites(t *testing.T) {
	st := &holdOneStore{Store: store.NewMemory()}
	b, _ := startBroker(t, Options{Store: st})
	old, _, err := b.ConnectLocal(LocalOptions{ClientID: "sensor"}, &localRecorder{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := old.Subscribe("t/#", 1); err != nil {
		t.Fatal(err)
	}
	if err := old.PutData("k", []byte("v")); err != nil {
		t.Fatal(err)
	}
	old.Suspend()
	pub, _, _ := b.ConnectLocal(LocalOptions{ClientID: "pub", CleanSession: true}, &localRecorder{})

	st.hold()
	t.Cleanup(st.release) // before the broker's Shutdown, should the test fail while holding
	dataDone := make(chan error, 1)
	old.PutDataAsync("k2", []byte("v2"), func(err error) { dataDone <- err })
	select {
	case <-st.reached:
	case <-time.After(5 * time.Second):
		t.Fatal("the committer did not commit the adapter data")
	}
	pubDone := make(chan error, 1)
	pub.Publish(Message{Topic: "t/1", Payload: []byte("m"), QoS: 1}, func(err error) { pubDone <- err })

	rec := &localRecorder{}
	taken := make(chan bool, 1)
	go func() {
		_, present, err := b.ConnectLocal(LocalOptions{ClientID: "sensor", CleanSession: true}, rec)
		if err != nil {
			t.Error(err)
		}
		taken <- present
	}()
	select {
	case present := <-taken:
		t.Error("clean takeover answered before the writes queued before it were durable")
		taken <- present
	case <-time.After(100 * time.Millisecond):
	}
	st.release()
	for _, ch := range []chan error{dataDone, pubDone} {
		select {
		case err := <-ch:
			if err != nil {
				t.Fatal(err)
			}
		case <-time.After(5 * time.Second):
			t.Fatal("queued write not committed")
		}
	}
	select {
	case present := <-taken:
		if present {
			t.Fatal("clean takeover: session present")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("clean takeover did not finish")
	}
	if err := b.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}

	var left []string
	err = st.Store.Load(store.Visitor{
		Session: func(s store.Session) error {
			left = append(left, fmt.Sprintf("session %s %v", s.ClientID, s.Subscriptions))
			return nil
		},
		Message: func(id string, _ uint64, m store.Message) error {
			left = append(left, fmt.Sprintf("message for %s on %s", id, m.Topic))
			return nil
		},
		Data: func(id, key string, _ []byte) error {
			left = append(left, fmt.Sprintf("data %s %s", id, key))
			return nil
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(left) > 0 {
		t.Fatalf("stored after the clean takeover: %v", left)
	}

	b2, _ := startBroker(t, Options{Store: st.Store})
	again := &localRecorder{}
	lc, present, err := b2.ConnectLocal(LocalOptions{ClientID: "sensor"}, again)
	if err != nil {
		t.Fatal(err)
	}
	if present {
		t.Fatal("after a restart the discarded session is present again")
	}
	if _, ok := lc.Data("k2"); ok {
		t.Fatal("after a restart the discarded session's data is back")
	}
	if n := lc.Pending(); n != 0 {
		t.Fatalf("after a restart %d messages of the discarded session are back", n)
	}
}
