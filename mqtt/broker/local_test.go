package broker

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"snbridge/mqtt/packet"
	"snbridge/mqtt/store"
	"snbridge/mqtt/topic"
)

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for i := 0; i < 500; i++ {
		if cond() {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("timed out waiting for %s", what)
}

func publishSync(t *testing.T, c *LocalClient, m Message) {
	t.Helper()
	done := make(chan error, 1)
	c.Publish(m, func(err error) { done <- err })
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Publish: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Publish: done not called")
	}
}

func TestLocalAndPahoBothWays(t *testing.T) {
	b, addr := startBroker(t, Options{})
	rec := &localRecorder{}
	lc, present, err := b.ConnectLocal(LocalOptions{ClientID: "sensor-1", CleanSession: true}, rec)
	if err != nil || present {
		t.Fatalf("ConnectLocal: %v present=%v", err, present)
	}
	if g, err := lc.Subscribe("to/sensor", 2); err != nil || g != 2 {
		t.Fatalf("Subscribe = %d %v", g, err)
	}
	prec := newReceived()
	p := newPaho(t, addr, "app", true)
	must(t, p.Subscribe("from/sensor", 1, prec.handler))

	publishSync(t, lc, Message{Topic: "from/sensor", Payload: []byte("21.5"), QoS: 1})
	if m := prec.wait(t, 1)[0]; string(m.Payload()) != "21.5" || m.Qos() != 1 {
		t.Fatalf("paho got %q at QoS %d", m.Payload(), m.Qos())
	}
	must(t, p.Publish("to/sensor", 2, false, "on"))
	waitFor(t, "local delivery", func() bool { m, _ := rec.got(); return len(m) == 1 })
	msgs, pids := rec.got()
	if msgs[0].Topic != "to/sensor" || string(msgs[0].Payload) != "on" || msgs[0].QoS != 2 || pids[0] == 0 {
		t.Fatalf("local got %+v pid %d", msgs[0], pids[0])
	}
	if lc.Pending() != 1 {
		t.Fatalf("Pending = %d before Ack, want 1", lc.Pending())
	}
	lc.Ack(pids[0])
	if lc.Pending() != 0 {
		t.Fatalf("Pending = %d after Ack", lc.Pending())
	}
	lc.Disconnect()
	if _, err := lc.Subscribe("x", 0); !errors.Is(err, ErrClosed) {
		t.Fatalf("Subscribe after Disconnect: %v", err)
	}
}

func TestLocalSuspendQueuesAllQoSAndResumeDelivers(t *testing.T) {
	b, err := New(Options{Logger: testLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	rec := &localRecorder{}
	lc, _, _ := b.ConnectLocal(LocalOptions{ClientID: "sleeper", CleanSession: true, QueueQoS0: true, MaxInflight: 2}, rec)
	lc.Subscribe("s/#", 2)
	pub, _, _ := b.ConnectLocal(LocalOptions{ClientID: "pub", CleanSession: true}, &localRecorder{})
	lc.Suspend()
	for i := 0; i < 6; i++ {
		publishSync(t, pub, Message{Topic: "s/x", Payload: []byte(fmt.Sprint(i)), QoS: byte(i % 3)})
	}
	if m, _ := rec.got(); len(m) != 0 {
		t.Fatalf("delivered while suspended: %v", m)
	}
	if lc.Pending() != 6 {
		t.Fatalf("Pending = %d while suspended, want 6", lc.Pending())
	}
	lc.Resume()
	// QoS 0, 1, 2 fill the window of 2; QoS 0 #3 needs no window; #4 waits for an ack.
	msgs, pids := rec.got()
	if len(msgs) != 4 {
		t.Fatalf("after Resume got %d, want 4 (window of 2 QoS 1/2 messages)", len(msgs))
	}
	for len(msgs) < 6 {
		for i, pid := range pids {
			if pid != 0 {
				lc.Ack(pid)
				pids[i] = 0
			}
		}
		m, p := rec.got()
		if len(m) == len(msgs) {
			t.Fatalf("stuck at %d messages", len(m))
		}
		msgs = m
		pids = append(pids, p[len(pids):]...)
	}
	for i, m := range msgs {
		if string(m.Payload) != fmt.Sprint(i) || m.QoS != byte(i%3) {
			t.Fatalf("message %d = %+v: order or QoS wrong", i, m)
		}
	}
	for i, pid := range pids {
		if pid != 0 {
			lc.Ack(pid)
			pids[i] = 0
		}
	}
	if lc.Pending() != 0 {
		t.Fatalf("Pending = %d after acking everything", lc.Pending())
	}
	b.Shutdown(context.Background())
	if c := rec.closedWith(); len(c) != 1 || !errors.Is(c[0], ErrServerClosed) {
		t.Fatalf("Closed calls on shutdown: %v", c)
	}
}

func TestLocalInflightRedeliveredWithDupOnResume(t *testing.T) {
	b, _ := New(Options{Logger: testLogger(t)})
	defer b.Shutdown(context.Background())
	rec := &localRecorder{}
	lc, _, _ := b.ConnectLocal(LocalOptions{ClientID: "s", CleanSession: false}, rec)
	lc.Subscribe("t", 1)
	pub, _, _ := b.ConnectLocal(LocalOptions{ClientID: "pub", CleanSession: true}, &localRecorder{})
	publishSync(t, pub, Message{Topic: "t", Payload: []byte("a"), QoS: 1})
	lc.Suspend()
	lc.Resume()
	msgs, pids := rec.got()
	if len(msgs) != 2 || msgs[0].Dup || !msgs[1].Dup || pids[0] != pids[1] {
		t.Fatalf("got %+v %v, want the unacked message again with DUP and the same id", msgs, pids)
	}
}

func TestLocalWillAndData(t *testing.T) {
	b, _ := New(Options{Logger: testLogger(t)})
	defer b.Shutdown(context.Background())
	rec := &localRecorder{}
	w, _, _ := b.ConnectLocal(LocalOptions{ClientID: "w", CleanSession: true}, rec)
	w.Subscribe("will/#", 0)

	a, _, _ := b.ConnectLocal(LocalOptions{ClientID: "a", CleanSession: true, Will: &Will{Topic: "will/a", Payload: []byte("a")}}, &localRecorder{})
	a.Disconnect()
	c, _, _ := b.ConnectLocal(LocalOptions{ClientID: "c", CleanSession: true, Will: &Will{Topic: "will/c", Payload: []byte("old")}}, &localRecorder{})
	c.SetWill(&Will{Topic: "will/c", Payload: []byte("new")})
	if err := c.PutData("topics", []byte{1, 2}); err != nil {
		t.Fatal(err)
	}
	if v, ok := c.Data("topics"); !ok || string(v) != "\x01\x02" {
		t.Fatalf("Data = %v %v", v, ok)
	}
	c.PutData("topics", nil)
	if _, ok := c.Data("topics"); ok {
		t.Fatal("nil PutData did not delete")
	}
	c.Lost()
	d, _, _ := b.ConnectLocal(LocalOptions{ClientID: "d", CleanSession: true, Will: &Will{Topic: "will/d"}}, &localRecorder{})
	d.SetWill(nil)
	d.Lost()
	msgs, _ := rec.got()
	if len(msgs) != 1 || msgs[0].Topic != "will/c" || string(msgs[0].Payload) != "new" {
		t.Fatalf("wills published: %+v; want only c's updated will", msgs)
	}
}

func TestLocalTakeoverAndSessionPresent(t *testing.T) {
	b, addr := startBroker(t, Options{})
	first := &localRecorder{}
	lc, present, _ := b.ConnectLocal(LocalOptions{ClientID: "dev", CleanSession: false}, first)
	if present {
		t.Fatal("present on first connect")
	}
	lc.Subscribe("dev/in", 1)
	lc.PutData("k", []byte("v"))
	lc.Suspend()
	second := &localRecorder{}
	lc2, present, _ := b.ConnectLocal(LocalOptions{ClientID: "dev", CleanSession: false}, second)
	if !present {
		t.Fatal("session present not reported")
	}
	if c := first.closedWith(); len(c) != 1 || !errors.Is(c[0], ErrTakenOver) {
		t.Fatalf("first handler Closed: %v", c)
	}
	if v, ok := lc2.Data("k"); !ok || string(v) != "v" {
		t.Fatal("adapter data lost across reconnect")
	}
	lc.Resume() // a stale client changes nothing
	p := newPaho(t, addr, "p", true)
	must(t, p.Publish("dev/in", 1, false, "x"))
	waitFor(t, "delivery to the new client", func() bool { m, _ := second.got(); return len(m) == 1 })
	if m, _ := first.got(); len(m) != 0 {
		t.Fatal("the taken-over client still receives")
	}
	// A TCP client with the same id takes the session over from the local one.
	c := dialRaw(t, addr)
	if ack := c.connect(&packet.Connect{ClientID: "dev", CleanSession: false}); !ack.SessionPresent {
		t.Fatal("TCP takeover: session not present")
	}
	waitFor(t, "Closed", func() bool { return len(second.closedWith()) == 1 })
}

type denyTopics struct{ AllowAll }

func (denyTopics) CanPublish(_, _, t string) bool   { return t != "secret" }
func (denyTopics) CanSubscribe(_, _, f string) bool { return f != "secret" }

func TestLocalRefusals(t *testing.T) {
	b, _ := New(Options{Auth: denyTopics{}, Logger: testLogger(t)})
	defer b.Shutdown(context.Background())
	lc, _, _ := b.ConnectLocal(LocalOptions{ClientID: "x", CleanSession: true}, &localRecorder{})
	if g, err := lc.Subscribe("a/#/b", 1); g != 0x80 || !errors.Is(err, topic.ErrMultiLevelPlace) {
		t.Fatalf("invalid filter: %d %v", g, err)
	}
	if g, err := lc.Subscribe("secret", 1); g != 0x80 || !errors.Is(err, ErrNotAuthorized) {
		t.Fatalf("denied filter: %d %v", g, err)
	}
	errc := make(chan error, 2)
	lc.Publish(Message{Topic: "secret", QoS: 1}, func(err error) { errc <- err })
	lc.Publish(Message{Topic: "a/+"}, func(err error) { errc <- err })
	if err := <-errc; !errors.Is(err, ErrNotAuthorized) {
		t.Fatalf("denied publish: %v", err)
	}
	if err := <-errc; !errors.Is(err, topic.ErrWildcardInName) {
		t.Fatalf("wildcard publish: %v", err)
	}
	if _, _, err := b.ConnectLocal(LocalOptions{}, &localRecorder{}); err == nil {
		t.Fatal("empty client id accepted")
	}
}

// Offline queue overflow: the oldest QoS 0 goes first, then new messages are dropped and counted.
func TestOfflineQueueOverflowPolicy(t *testing.T) {
	b, _ := New(Options{MaxQueued: 3, Logger: testLogger(t)})
	defer b.Shutdown(context.Background())
	rec := &localRecorder{}
	lc, _, _ := b.ConnectLocal(LocalOptions{ClientID: "s", CleanSession: false, QueueQoS0: true}, rec)
	lc.Subscribe("q", 1)
	lc.Suspend()
	pub, _, _ := b.ConnectLocal(LocalOptions{ClientID: "p", CleanSession: true}, &localRecorder{})
	for i, q := range []byte{0, 1, 0, 1, 1, 1} {
		publishSync(t, pub, Message{Topic: "q", Payload: []byte(fmt.Sprint(i)), QoS: q})
	}
	lc.Resume()
	msgs, pids := rec.got()
	var got string
	for _, m := range msgs {
		got += string(m.Payload)
	}
	for _, p := range pids {
		lc.Ack(p)
	}
	// 0,1,2 queued; 3 drops QoS 0 "0"; 4 drops QoS 0 "2"; 5 is dropped (full of QoS 1).
	if got != "134" {
		t.Fatalf("delivered %q, want \"134\"", got)
	}
	if n := b.stats.pubDropped.Load(); n != 3 {
		t.Fatalf("dropped counter = %d, want 3", n)
	}
}

// A connected client that reads slowly: QoS 0 beyond the outbound queue is dropped and counted,
// the client stays connected and still gets its QoS 1 messages. (QoS 1/2 beyond MaxQueued hold
// the publisher instead: backpressure_test.go.)
func TestSlowConsumerDropsQoS0(t *testing.T) {
	b, addr := startBroker(t, Options{OutboundQueue: 10, MaxQueued: 10, MaxInflight: 2})
	c := dialRaw(t, addr)
	c.connect(&packet.Connect{ClientID: "slow", CleanSession: true})
	c.send(&packet.Subscribe{PacketID: 1, Subscriptions: []packet.Subscription{{Filter: "big", QoS: 1}}})
	c.expect()
	pub := newPaho(t, addr, "pub", true)
	payload := make([]byte, 64<<10)
	for i := 0; i < 200; i++ {
		pub.Publish("big", 0, false, payload)
	}
	must(t, pub.Publish("big", 1, false, "sync"))
	waitFor(t, "QoS 0 drops", func() bool { return b.stats.pubDropped.Load() > 0 })
	for {
		p, ok := c.expect().(*packet.Publish)
		if ok && p.QoS == 1 {
			if string(p.Payload) != "sync" {
				t.Fatalf("QoS 1 message %q, want sync", p.Payload)
			}
			break
		}
	}
}

// A client that does not read its socket at all is disconnected once a write has been blocked
// for WriteTimeout, an abnormal end that publishes its will; others are not affected.
func TestClientNotReadingIsDisconnected(t *testing.T) {
	_, addr := startBroker(t, Options{WriteTimeout: 300 * time.Millisecond})
	wills := newReceived()
	watcher := newPaho(t, addr, "watcher", true)
	must(t, watcher.Subscribe("will/#", 0, wills.handler))
	c := dialRaw(t, addr)
	c.connect(&packet.Connect{ClientID: "deaf", CleanSession: true, Will: &packet.Will{Topic: "will/deaf", Payload: []byte("cut")}})
	c.send(&packet.Subscribe{PacketID: 1, Subscriptions: []packet.Subscription{{Filter: "big", QoS: 0}}})
	c.expect()
	pub := newPaho(t, addr, "pub", true)
	payload := make([]byte, 256<<10)
	for i := 0; i < 100; i++ {
		must(t, pub.Publish("big", 0, false, payload))
	}
	must(t, pub.Publish("sync", 1, false, "")) // every QoS 0 publish above has been routed
	// The socket buffers hold a few MiB of the 25 MiB: the broker's write blocks, and 300 ms
	// later it gives up on the client. Only then does the test read.
	time.Sleep(time.Second)
	c.expectClosed()
	if m := wills.wait(t, 1)[0]; m.Topic() != "will/deaf" {
		t.Fatalf("got %s, want the slow consumer's will", m.Topic())
	}
	must(t, pub.Publish("other", 1, false, "still fine"))
}

// The same with small messages, written directly until the socket is full: the rest waits for
// a write loop, which gives up on the client after WriteTimeout.
func TestClientNotReadingSmallMessages(t *testing.T) {
	// The write timeout is long enough for the publisher below to overflow the outbound queue
	// first even on a loaded machine; the deaf client is then closed by the timeout.
	b, addr := startBroker(t, Options{WriteTimeout: time.Second})
	c := dialRaw(t, addr)
	c.connect(&packet.Connect{ClientID: "deaf", CleanSession: true})
	c.send(&packet.Subscribe{PacketID: 1, Subscriptions: []packet.Subscription{{Filter: "small", QoS: 0}}})
	c.expect()
	pub, _, _ := b.ConnectLocal(LocalOptions{ClientID: "pub", CleanSession: true}, &localRecorder{})
	payload := make([]byte, 2048)
	// Up to 400 MiB, far more than any socket buffer; stops at the first counted drop.
	for i := 0; i < 200_000 && b.stats.pubDropped.Load() == 0; i++ {
		pub.Publish(Message{Topic: "small", Payload: payload}, nil)
	}
	if b.stats.pubDropped.Load() == 0 {
		t.Fatal("nothing dropped for a client that does not read")
	}
	time.Sleep(1500 * time.Millisecond) // the blocked write times out meanwhile
	c.expectClosed()
}

// A subscriber that keeps up loses nothing, however many QoS 0 messages pass through a small
// outbound queue.
func TestQoS0KeptUpNothingDropped(t *testing.T) {
	b, addr := startBroker(t, Options{OutboundQueue: 10})
	c := dialRaw(t, addr)
	c.connect(&packet.Connect{ClientID: "sub", CleanSession: true})
	c.send(&packet.Subscribe{PacketID: 1, Subscriptions: []packet.Subscription{{Filter: "k", QoS: 0}}})
	c.expect()
	pub, _, _ := b.ConnectLocal(LocalOptions{ClientID: "pub", CleanSession: true}, &localRecorder{})
	for i := 0; i < 200; i++ {
		pub.Publish(Message{Topic: "k", Payload: []byte(fmt.Sprint(i))}, nil)
		p, ok := c.expect().(*packet.Publish)
		if !ok || string(p.Payload) != fmt.Sprint(i) {
			t.Fatalf("message %d: %#v (dropped %d)", i, p, b.stats.pubDropped.Load())
		}
	}
}

// A large in-flight window: packet ids stay unique among the messages in flight, acks in any
// order complete them, and the queue drains in order.
func TestLargeInflightWindow(t *testing.T) {
	b, _ := New(Options{MaxQueued: 10_000, Logger: testLogger(t)})
	defer b.Shutdown(context.Background())
	rec := &localRecorder{}
	lc, _, _ := b.ConnectLocal(LocalOptions{ClientID: "big", CleanSession: true, MaxInflight: 1000}, rec)
	lc.Subscribe("w", 1)
	lc.Suspend()
	pub, _, _ := b.ConnectLocal(LocalOptions{ClientID: "p", CleanSession: true}, &localRecorder{})
	for i := 0; i < 3000; i++ {
		publishSync(t, pub, Message{Topic: "w", Payload: []byte(fmt.Sprint(i)), QoS: 1})
	}
	lc.Resume()
	acked := 0
	for round := 0; acked < 3000 && round < 10; round++ {
		msgs, pids := rec.got()
		inFlight := map[uint16]bool{}
		for _, pid := range pids[acked:] {
			if inFlight[pid] {
				t.Fatalf("packet id %d used twice in flight", pid)
			}
			inFlight[pid] = true
		}
		if n := len(pids) - acked; n != 1000 {
			t.Fatalf("round %d: %d in flight, want the window of 1000", round, n)
		}
		// Acknowledge the batch backwards, the worst order.
		for i := len(pids) - 1; i >= acked; i-- {
			lc.Ack(pids[i])
		}
		for i := acked; i < len(msgs); i++ {
			if string(msgs[i].Payload) != fmt.Sprint(i) {
				t.Fatalf("message %d is %q", i, msgs[i].Payload)
			}
		}
		acked = len(pids)
	}
	if acked != 3000 || lc.Pending() != 0 {
		t.Fatalf("acked %d, pending %d", acked, lc.Pending())
	}
}

// releaseRecorder is a localRecorder that is also a LocalReleaser.
type releaseRecorder struct {
	localRecorder
	released []uint16
}

func (r *releaseRecorder) Release(pid uint16) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.released = append(r.released, pid)
}

func (r *releaseRecorder) releases() []uint16 {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]uint16(nil), r.released...)
}

// A QoS 2 delivery the client marked Received is resent as PUBREL (Release), not PUBLISH, on
// Resume and on a reconnect of the persistent session, until Ack [MQTT-4.4.0-1].
func TestLocalReceivedQoS2IsReleasedNotRedelivered(t *testing.T) {
	b, _ := New(Options{Logger: testLogger(t)})
	defer b.Shutdown(context.Background())
	rec := &releaseRecorder{}
	lc, _, _ := b.ConnectLocal(LocalOptions{ClientID: "s", CleanSession: false}, rec)
	lc.Subscribe("t", 2)
	pub, _, _ := b.ConnectLocal(LocalOptions{ClientID: "pub", CleanSession: true}, &localRecorder{})
	publishSync(t, pub, Message{Topic: "t", Payload: []byte("once"), QoS: 2})
	_, pids := rec.got()
	if len(pids) != 1 {
		t.Fatalf("deliveries %v", pids)
	}
	lc.Received(pids[0])
	lc.Suspend()
	lc.Resume()
	lc.Disconnect()
	rec2 := &releaseRecorder{}
	lc2, present, _ := b.ConnectLocal(LocalOptions{ClientID: "s", CleanSession: false}, rec2)
	if !present {
		t.Fatal("session not present")
	}
	if m, _ := rec.got(); len(m) != 1 {
		t.Fatalf("PUBLISH resent after PUBREC: %+v", m)
	}
	if m, _ := rec2.got(); len(m) != 0 {
		t.Fatalf("PUBLISH resent on reconnect after PUBREC: %+v", m)
	}
	if r, r2 := rec.releases(), rec2.releases(); len(r) != 1 || r[0] != pids[0] || len(r2) != 1 || r2[0] != pids[0] {
		t.Fatalf("releases %v then %v, want [%d] each", r, r2, pids[0])
	}
	if lc2.Pending() != 1 {
		t.Fatalf("Pending %d before Ack", lc2.Pending())
	}
	lc2.Ack(pids[0])
	if lc2.Pending() != 0 {
		t.Fatalf("Pending %d after Ack", lc2.Pending())
	}
}

// A handler that cannot take a PUBREL keeps getting the PUBLISH: Received is ignored for it.
func TestLocalReceivedWithoutReleaserRedelivers(t *testing.T) {
	b, _ := New(Options{Logger: testLogger(t)})
	defer b.Shutdown(context.Background())
	rec := &localRecorder{}
	lc, _, _ := b.ConnectLocal(LocalOptions{ClientID: "s", CleanSession: false}, rec)
	lc.Subscribe("t", 2)
	pub, _, _ := b.ConnectLocal(LocalOptions{ClientID: "pub", CleanSession: true}, &localRecorder{})
	publishSync(t, pub, Message{Topic: "t", Payload: []byte("x"), QoS: 2})
	_, pids := rec.got()
	lc.Received(pids[0])
	lc.Suspend()
	lc.Resume()
	if m, p := rec.got(); len(m) != 2 || !m[1].Dup || p[1] != pids[0] {
		t.Fatalf("got %+v %v, want the PUBLISH again", m, p)
	}
}

// gatedStore holds every durable Commit, once the test has set a gate, until it opens it.
type gatedStore struct {
	store.Store
	gate atomic.Pointer[chan struct{}]
}

func (g *gatedStore) Commit(b *store.Batch) error {
	if gate := g.gate.Load(); gate != nil {
		<-*gate
	}
	return g.Store.Commit(b)
}

// PutDataAsync returns before the disk does; Data sees the value at once, and done reports the
// write only once the store has committed it.
func TestLocalPutDataAsync(t *testing.T) {
	st := &gatedStore{Store: store.NewMemory()}
	b, _ := startBroker(t, Options{Store: st})
	lc, _, _ := b.ConnectLocal(LocalOptions{ClientID: "sensor", CleanSession: false}, &localRecorder{})
	gate := make(chan struct{})
	st.gate.Store(&gate)
	done := make(chan error, 1)
	lc.PutDataAsync("k", []byte("v"), func(err error) { done <- err })
	if v, ok := lc.Data("k"); !ok || string(v) != "v" {
		t.Fatalf("Data before the write is durable = %q %v", v, ok)
	}
	select {
	case err := <-done:
		t.Fatalf("done(%v) before the store committed", err)
	case <-time.After(50 * time.Millisecond):
	}
	close(gate)
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("done not called after the commit")
	}

	clean, _, _ := b.ConnectLocal(LocalOptions{ClientID: "clean", CleanSession: true}, &localRecorder{})
	called := false
	clean.PutDataAsync("k", []byte("v"), func(err error) { called = err == nil })
	if !called {
		t.Fatal("nothing to write for a clean session: done not called before PutDataAsync returned")
	}
	clean.Disconnect()
	var refused error
	clean.PutDataAsync("k", []byte("v"), func(err error) { refused = err })
	if !errors.Is(refused, ErrClosed) {
		t.Fatalf("PutDataAsync on a detached client: done(%v), want ErrClosed", refused)
	}
}
