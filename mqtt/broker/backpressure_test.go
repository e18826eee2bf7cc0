package broker

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
	"testing"
	"time"

	"snbridge/mqtt/packet"
	"snbridge/mqtt/store"
)

// A subscriber that reads slowly, publishers with many QoS 1 messages in flight each, a tiny
// queue: every acknowledged message is delivered, in each publisher's order, and nothing is
// dropped. A QoS 0 flood to the same subscriber still drops and counts.
func TestSlowSubscriberHoldsPublishers(t *testing.T) {
	b, addr := startBroker(t, Options{MaxQueued: 4, MaxInflight: 2, AdmissionWait: time.Minute})
	sub := dialRaw(t, addr)
	sub.connect(&packet.Connect{ClientID: "slow", CleanSession: true})
	sub.send(&packet.Subscribe{PacketID: 1, Subscriptions: []packet.Subscription{{Filter: "load/#", QoS: 1}}})
	sub.expect()

	const publishers, per = 4, 300 // more in flight than maxHeldAcks: the read loops pause
	type result struct {
		acked map[uint16]bool
		err   error
	}
	results := make(chan result, publishers)
	for p := range publishers {
		go func() {
			nc, err := net.Dial("tcp", addr)
			if err != nil {
				results <- result{err: err}
				return
			}
			defer nc.Close()
			w := bufio.NewWriter(nc)
			r := packet.NewReader(nc, 0)
			buf, _ := packet.Append(nil, &packet.Connect{ProtocolName: "MQTT", ProtocolLevel: 4, ClientID: fmt.Sprint("pub", p), CleanSession: true})
			w.Write(buf)
			w.Flush()
			nc.SetReadDeadline(time.Now().Add(30 * time.Second))
			if _, err := r.ReadPacket(); err != nil {
				results <- result{err: err}
				return
			}
			go func() { // all at once, without waiting for acknowledgements
				var out []byte
				for i := 1; i <= per; i++ {
					out, _ = packet.Append(out[:0], &packet.Publish{QoS: 1, Topic: fmt.Sprint("load/", p), PacketID: uint16(i), Payload: []byte(fmt.Sprint(p, "/", i))})
					w.Write(out)
				}
				w.Flush()
			}()
			acked := make(map[uint16]bool)
			for len(acked) < per {
				pk, err := r.ReadPacket()
				if err != nil {
					results <- result{acked: acked, err: err}
					return
				}
				if a, ok := pk.(*packet.Puback); ok {
					acked[a.PacketID] = true
				}
			}
			results <- result{acked: acked}
		}()
	}

	next := make([]int, publishers) // per publisher, the next message number expected
	for i := range next {
		next[i] = 1
	}
	for n := 0; n < publishers*per; n++ {
		p, ok := sub.expect().(*packet.Publish)
		if !ok {
			t.Fatalf("subscriber got %T", p)
		}
		var from, i int
		fmt.Sscanf(string(p.Payload), "%d/%d", &from, &i)
		if i != next[from] {
			t.Fatalf("from publisher %d got message %d, want %d (dropped %d)", from, i, next[from], b.stats.pubDropped.Load())
		}
		next[from]++
		if n%50 == 0 {
			time.Sleep(5 * time.Millisecond) // slow reader: the queue fills
		}
		sub.send(&packet.Puback{PacketID: p.PacketID})
	}
	for range publishers {
		r := <-results
		if r.err != nil || len(r.acked) != per {
			t.Fatalf("publisher: %d of %d acknowledged, err %v", len(r.acked), per, r.err)
		}
	}
	if n := b.stats.pubDropped.Load(); n != 0 {
		t.Fatalf("%d messages dropped", n)
	}

	// A QoS 0 flood is not held: beyond a full queue it is dropped and counted.
	pub := dialRaw(t, addr)
	pub.connect(&packet.Connect{ClientID: "flood", CleanSession: true})
	for i := 1; i <= 6; i++ { // the subscriber no longer acknowledges: 2 in flight, 4 queued
		pub.send(&packet.Publish{QoS: 1, Topic: "load/q", PacketID: uint16(i)})
		if _, ok := pub.expect().(*packet.Puback); !ok {
			t.Fatal("no PUBACK while the queue has room")
		}
	}
	before := b.stats.pubDropped.Load()
	for i := 0; i < 50; i++ {
		pub.send(&packet.Publish{Topic: "load/flood", Payload: []byte("x")})
	}
	pub.send(&packet.Publish{QoS: 1, Topic: "other", PacketID: 2})
	pub.expect()
	if n := b.stats.pubDropped.Load() - before; n != 50 {
		t.Fatalf("QoS 0 flood to a full queue: %d dropped, want 50", n)
	}
}

// rawQoS1 publishes QoS 1 to topic, the packet id as payload.
func rawQoS1(c *rawClient, topic string, pid uint16) {
	c.send(&packet.Publish{QoS: 1, Topic: topic, PacketID: pid, Payload: []byte(fmt.Sprint(pid))})
}

// expectNoPacket asserts that nothing arrives within d.
func (c *rawClient) expectNoPacket(d time.Duration) {
	c.t.Helper()
	c.nc.SetReadDeadline(time.Now().Add(d))
	p, err := c.r.ReadPacket()
	var ne net.Error
	if err == nil {
		c.t.Fatalf("unexpected %T %+v", p, p)
	}
	if !errors.As(err, &ne) || !ne.Timeout() {
		c.t.Fatalf("read: %v", err)
	}
	c.r = packet.NewReader(c.nc, 0) // the old one keeps the timeout; no bytes were there
}

// heldSetup: a subscriber that reads but does not acknowledge, with a window of 1 and a queue
// of 1, and a publisher whose third QoS 1 message is held.
func heldSetup(t *testing.T, opts Options, persistent bool) (*Broker, *rawClient, *rawClient) {
	opts.MaxQueued, opts.MaxInflight = 1, 1
	b, addr := startBroker(t, opts)
	sub := dialRaw(t, addr)
	sub.connect(&packet.Connect{ClientID: "sub", CleanSession: !persistent})
	sub.send(&packet.Subscribe{PacketID: 1, Subscriptions: []packet.Subscription{{Filter: "t", QoS: 1}}})
	sub.expect()
	pub := dialRaw(t, addr)
	pub.connect(&packet.Connect{ClientID: "pub", CleanSession: true})
	for pid := uint16(1); pid <= 3; pid++ {
		rawQoS1(pub, "t", pid)
	}
	for pid := uint16(1); pid <= 2; pid++ { // 1 in flight, 2 queued
		if a, ok := pub.expect().(*packet.Puback); !ok || a.PacketID != pid {
			t.Fatalf("want PUBACK %d, got %+v", pid, a)
		}
	}
	return b, sub, pub
}

// The held message's PUBACK waits until the subscriber makes room, then it is delivered.
func TestHeldAckWaitsForRoom(t *testing.T) {
	b, sub, pub := heldSetup(t, Options{AdmissionWait: time.Minute}, false)
	pub.expectNoPacket(300 * time.Millisecond)
	p := sub.expect().(*packet.Publish)
	sub.send(&packet.Puback{PacketID: p.PacketID})
	if a, ok := pub.expect().(*packet.Puback); !ok || a.PacketID != 3 {
		t.Fatalf("want PUBACK 3, got %+v", a)
	}
	for want := 2; want <= 3; want++ {
		p := sub.expect().(*packet.Publish)
		if string(p.Payload) != fmt.Sprint(want) {
			t.Fatalf("delivered %q, want %d", p.Payload, want)
		}
		sub.send(&packet.Puback{PacketID: p.PacketID})
	}
	if n := b.stats.pubDropped.Load(); n != 0 {
		t.Fatalf("%d dropped", n)
	}
}

// A subscriber that never makes room: after AdmissionWait the message is dropped and counted,
// and the publisher acknowledged.
func TestHeldAckExpires(t *testing.T) {
	b, _, pub := heldSetup(t, Options{AdmissionWait: 200 * time.Millisecond}, false)
	if a, ok := pub.expect().(*packet.Puback); !ok || a.PacketID != 3 {
		t.Fatalf("want PUBACK 3, got %+v", a)
	}
	if n := b.stats.pubDropped.Load(); n != 1 {
		t.Fatalf("dropped = %d, want 1", n)
	}
}

// A subscriber that disconnects: its persistent session goes offline with a full queue, so the
// held message is dropped at once (the offline policy) and the publisher acknowledged.
func TestHeldAckSubscriberGone(t *testing.T) {
	b, sub, pub := heldSetup(t, Options{AdmissionWait: time.Minute, Store: store.NewMemory()}, true)
	pub.expectNoPacket(200 * time.Millisecond)
	sub.send(&packet.Disconnect{})
	if a, ok := pub.expect().(*packet.Puback); !ok || a.PacketID != 3 {
		t.Fatalf("want PUBACK 3, got %+v", a)
	}
	if n := b.stats.pubDropped.Load(); n != 1 {
		t.Fatalf("dropped = %d, want 1", n)
	}
}

// An in-process publisher's done is held the same way, and a later acknowledgement of the
// same connection stays behind it.
func TestLocalPublishDoneHeld(t *testing.T) {
	b, _ := New(Options{MaxQueued: 1, MaxInflight: 1, AdmissionWait: time.Minute, Logger: testLogger(t)})
	defer b.Shutdown(context.Background())
	rec := &localRecorder{}
	sub, _, _ := b.ConnectLocal(LocalOptions{ClientID: "sub", CleanSession: true}, rec)
	sub.Subscribe("t", 1)
	pub, _, _ := b.ConnectLocal(LocalOptions{ClientID: "pub", CleanSession: true}, &localRecorder{})
	publishSync(t, pub, Message{Topic: "t", Payload: []byte("1"), QoS: 1})
	publishSync(t, pub, Message{Topic: "t", Payload: []byte("2"), QoS: 1})
	var mu sync.Mutex
	var doneErr error
	called := false
	pub.Publish(Message{Topic: "t", Payload: []byte("3"), QoS: 1}, func(err error) {
		mu.Lock()
		called, doneErr = true, err
		mu.Unlock()
	})
	isCalled := func() bool { mu.Lock(); defer mu.Unlock(); return called }
	if isCalled() || sub.Pending() != 3 {
		t.Fatalf("done called %v with the subscriber's queue full; pending %d", isCalled(), sub.Pending())
	}
	_, pids := rec.got()
	sub.Ack(pids[0])
	waitFor(t, "done", isCalled)
	if doneErr != nil {
		t.Fatalf("done(%v)", doneErr)
	}
	if n := b.stats.pubDropped.Load(); n != 0 {
		t.Fatalf("%d dropped", n)
	}
	// Shutdown answers a held publisher with ErrServerClosed.
	pub.Publish(Message{Topic: "t", Payload: []byte("4"), QoS: 1}, nil)
	errc := make(chan error, 1)
	pub.Publish(Message{Topic: "t", Payload: []byte("5"), QoS: 1}, func(err error) { errc <- err })
	b.Shutdown(context.Background())
	if err := <-errc; !errors.Is(err, ErrServerClosed) {
		t.Fatalf("held done at shutdown: %v", err)
	}
}
