package gateway

import (
	"errors"
	"strings"
	"sync"
)

// fakeBroker is an in-memory broker with the contract's semantics, simply: topic matching with
// + and #, per-client queues kept while a session is suspended or offline (persistent), an
// in-flight window, retained messages, wills, session data. It is shared by gateways to play a
// restart.
type fakeBroker struct {
	mu       sync.Mutex
	sessions map[string]*fakeSession
	retained map[string]Message
	nextPID  uint16
	// slowStore: PutData completes only on finishStores (unstored holds the callbacks).
	slowStore bool
	unstored  []func(error)
}

type queued struct {
	m   Message
	pid uint16 // non-zero: a resend of an in-flight delivery
}

type fakeSession struct {
	id          string
	clean       bool
	h           Handler // nil while offline
	gen         int
	suspended   bool
	queueQoS0   bool
	maxInflight int
	subs        map[string]byte
	queue       []queued
	inflight    map[uint16]Message
	handing     int // dequeued, Deliver not yet returned: still Pending (the contract)
	data        map[string][]byte
	will        *Will
}

var errTakeover = errors.New("fake: taken over")

func newFakeBroker() *fakeBroker {
	return &fakeBroker{sessions: map[string]*fakeSession{}, retained: map[string]Message{}}
}

type fakeConn struct {
	b   *fakeBroker
	s   *fakeSession
	gen int
}

func (b *fakeBroker) Connect(o ConnectOptions, h Handler) (BrokerSession, bool, error) {
	b.mu.Lock()
	s := b.sessions[o.ClientID]
	var old Handler
	if s != nil && s.h != nil {
		old = s.h
	}
	present := s != nil && !o.CleanSession
	if !present {
		s = &fakeSession{id: o.ClientID, subs: map[string]byte{}, inflight: map[uint16]Message{}, data: map[string][]byte{}}
		b.sessions[o.ClientID] = s
	}
	s.clean, s.h, s.suspended, s.will = o.CleanSession, h, false, o.Will
	s.queueQoS0, s.maxInflight = o.QueueQoS0, max(o.MaxInflight, 1)
	s.gen++
	// Unacknowledged deliveries are sent again on a new connection [MQTT-4.4.0-1].
	s.requeueInflight()
	c := &fakeConn{b: b, s: s, gen: s.gen}
	b.mu.Unlock()
	if old != nil {
		old.Closed(errTakeover)
	}
	b.flush(s)
	return c, present, nil
}

// requeueInflight puts unacknowledged deliveries first, with DUP and their packet ids, as the
// broker does on a new connection and on Resume (call with b.mu held).
func (s *fakeSession) requeueInflight() {
	var again []queued
	for pid, m := range s.inflight {
		m.Dup = true
		again = append(again, queued{m, pid})
	}
	clear(s.inflight)
	s.queue = append(again, s.queue...)
}

// live reports whether c is still the session's current attachment (call with b.mu held).
func (c *fakeConn) live() bool { return c.s.gen == c.gen && c.s.h != nil }

func match(filter, topic string) bool {
	f, t := strings.Split(filter, "/"), strings.Split(topic, "/")
	for i, p := range f {
		if p == "#" {
			return true
		}
		if i >= len(t) || (p != "+" && p != t[i]) {
			return false
		}
	}
	return len(f) == len(t)
}

// route queues m for every matching subscription (call with b.mu held); returns who to flush.
func (b *fakeBroker) route(m Message) []*fakeSession {
	if m.Retain {
		b.retained[m.Topic] = m
	}
	var to []*fakeSession
	for _, s := range b.sessions {
		best, ok := -1, false
		for f, q := range s.subs {
			if match(f, m.Topic) && int(q) > best {
				best, ok = int(q), true
			}
		}
		if !ok {
			continue
		}
		d := m
		d.QoS, d.Retain, d.Dup = min(m.QoS, byte(best)), false, false
		if s.h == nil && d.QoS == 0 && !s.queueQoS0 {
			continue
		}
		s.queue = append(s.queue, queued{m: d})
		to = append(to, s)
	}
	return to
}

// flush delivers what s may receive now.
func (b *fakeBroker) flush(s *fakeSession) {
	type out struct {
		m   Message
		pid uint16
	}
	b.mu.Lock()
	var send []out
	h := s.h
	for h != nil && !s.suspended && len(s.queue) > 0 {
		m, pid := s.queue[0].m, s.queue[0].pid
		if m.QoS > 0 {
			if pid == 0 && len(s.inflight) >= s.maxInflight {
				break
			}
			if pid == 0 {
				b.nextPID++
				if b.nextPID == 0 {
					b.nextPID = 1
				}
				pid = b.nextPID
			}
			s.inflight[pid] = m
		}
		s.queue = s.queue[1:]
		send = append(send, out{m, pid})
	}
	s.handing += len(send)
	b.mu.Unlock()
	for _, o := range send {
		h.Deliver(o.m, o.pid)
		b.mu.Lock()
		s.handing--
		b.mu.Unlock()
	}
}

// publish is what an MQTT application (or a BrokerSession) does.
func (b *fakeBroker) publish(m Message) {
	b.mu.Lock()
	to := b.route(m)
	b.mu.Unlock()
	for _, s := range to {
		b.flush(s)
	}
}

func (c *fakeConn) Publish(m Message, done func(error)) {
	c.b.publish(m)
	if done != nil {
		go done(nil) // "may be called from another goroutine"
	}
}

func (c *fakeConn) Subscribe(f string, q byte) (byte, error) {
	c.b.mu.Lock()
	if !c.live() {
		c.b.mu.Unlock()
		return 0x80, errors.New("fake: detached")
	}
	c.s.subs[f] = q
	for _, m := range c.b.retained {
		if match(f, m.Topic) {
			d := m
			d.QoS = min(m.QoS, q)
			c.s.queue = append(c.s.queue, queued{m: d})
		}
	}
	c.b.mu.Unlock()
	c.b.flush(c.s)
	return q, nil
}

func (c *fakeConn) Unsubscribe(f string) error {
	c.b.mu.Lock()
	defer c.b.mu.Unlock()
	delete(c.s.subs, f)
	return nil
}

// Received: this fake resends the PUBLISH of a QoS 2 delivery in flight, received or not.
func (c *fakeConn) Received(uint16) {}

func (c *fakeConn) Ack(pid uint16) {
	c.b.mu.Lock()
	if c.live() {
		delete(c.s.inflight, pid)
	}
	c.b.mu.Unlock()
	c.b.flush(c.s)
}

func (c *fakeConn) Pending() int {
	c.b.mu.Lock()
	defer c.b.mu.Unlock()
	return len(c.s.queue) + len(c.s.inflight) + c.s.handing
}

func (c *fakeConn) SetWill(w *Will) {
	c.b.mu.Lock()
	defer c.b.mu.Unlock()
	c.s.will = w
}

func (c *fakeConn) PutData(k string, v []byte, done func(error)) {
	c.b.mu.Lock()
	c.s.data[k] = append([]byte(nil), v...)
	if c.b.slowStore {
		c.b.unstored = append(c.b.unstored, done)
		c.b.mu.Unlock()
		return
	}
	c.b.mu.Unlock()
	done(nil)
}

// holdStores makes PutData writes wait, as on a slow disk, until finishStores.
func (b *fakeBroker) holdStores() {
	b.mu.Lock()
	b.slowStore = true
	b.mu.Unlock()
}

// finishStores completes the writes held so far, in order, and stops holding new ones. It
// reports how many there were.
func (b *fakeBroker) finishStores() int {
	b.mu.Lock()
	dones := b.unstored
	b.unstored, b.slowStore = nil, false
	b.mu.Unlock()
	for _, done := range dones {
		done(nil)
	}
	return len(dones)
}

// storesHeld is the number of PutData writes waiting.
func (b *fakeBroker) storesHeld() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.unstored)
}

func (c *fakeConn) Data(k string) ([]byte, bool) {
	c.b.mu.Lock()
	defer c.b.mu.Unlock()
	v, ok := c.s.data[k]
	return v, ok && len(v) > 0
}

func (c *fakeConn) Suspend() {
	c.b.mu.Lock()
	defer c.b.mu.Unlock()
	if c.live() {
		c.s.suspended = true
	}
}

func (c *fakeConn) Resume() {
	c.b.mu.Lock()
	if c.live() && c.s.suspended {
		c.s.suspended = false
		c.s.requeueInflight()
	}
	c.b.mu.Unlock()
	c.b.flush(c.s)
}

func (c *fakeConn) end(lost bool) {
	c.b.mu.Lock()
	if !c.live() {
		c.b.mu.Unlock()
		return
	}
	c.s.h = nil
	var will *Will
	if lost {
		will = c.s.will
	}
	if c.s.clean {
		delete(c.b.sessions, c.s.id)
	}
	c.b.mu.Unlock()
	if will != nil {
		c.b.publish(Message{Topic: will.Topic, Payload: will.Payload, QoS: will.QoS, Retain: will.Retain})
	}
}

func (c *fakeConn) Disconnect() { c.end(false) }
func (c *fakeConn) Lost()       { c.end(true) }

// app is an MQTT application attached to the fake broker, receiving on a channel.
type app struct {
	c  BrokerSession
	ch chan Message
}

type chanHandler chan Message

func (h chanHandler) Deliver(m Message, _ uint16) { h <- m }
func (h chanHandler) Closed(error)                {}
func (h chanHandler) Release(uint16)              {}

func newApp(b *fakeBroker, id string, filters ...string) *app {
	ch := make(chanHandler, 100)
	c, _, _ := b.Connect(ConnectOptions{ClientID: id, CleanSession: true, MaxInflight: 100}, ch)
	for _, f := range filters {
		c.Subscribe(f, 2)
	}
	return &app{c: c, ch: ch}
}

// DetachedData and LoseDetached make the fake a DetachedSessions.
func (b *fakeBroker) DetachedData(key string) map[string][]byte {
	b.mu.Lock()
	defer b.mu.Unlock()
	out := map[string][]byte{}
	for id, s := range b.sessions {
		if v, ok := s.data[key]; ok && len(v) > 0 && s.h == nil && !s.clean {
			out[id] = v
		}
	}
	return out
}

func (b *fakeBroker) LoseDetached(clientID, key string, value []byte, will *Will) bool {
	b.mu.Lock()
	s := b.sessions[clientID]
	if s == nil || s.h != nil || s.clean || string(s.data[key]) != string(value) || len(value) == 0 {
		b.mu.Unlock()
		return false
	}
	delete(s.data, key)
	b.mu.Unlock()
	if will != nil {
		b.publish(Message{Topic: will.Topic, Payload: will.Payload, QoS: will.QoS, Retain: will.Retain})
	}
	return true
}

var _ DetachedSessions = (*fakeBroker)(nil)
