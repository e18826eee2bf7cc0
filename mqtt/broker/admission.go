package broker

import (
	"sync"
	"sync/atomic"
	"time"

	"snbridge/mqtt/store"
)

// Backpressure (package doc, Limits and overflow policies): a QoS 1/2 PUBLISH routed to a
// connected session whose queue is full waits beside that queue, and its publisher's
// acknowledgement waits with it, until the session has room, instead of being dropped after
// the publisher was told it was accepted.

// admission is one held PUBLISH. Its acknowledgement (PUBACK, PUBREC, or an in-process
// publisher's done) goes out once every session it waits for has queued the message and the
// publisher's own store write is durable; after Options.AdmissionWait the sessions still full
// drop it (counted) and the acknowledgement goes out anyway.
type admission struct {
	b       *Broker
	waits   atomic.Int32 // sessions yet to admit it, +1 until the publisher's write is durable
	done    atomic.Bool  // ack has been called
	waiters []*session   // the sessions it waits for; written by the routing goroutine only, before start
	ack     func(error)  // the acknowledgement; a non-nil error means none is to be sent
	timer   *time.Timer  // guarded by b.admMu
}

// waiter is a message held for a connected session whose queue is full.
type waiter struct {
	d *delivery
	a *admission
}

func newAdmission(b *Broker) *admission {
	a := &admission{b: b}
	a.waits.Store(1)
	return a
}

// start arms the admission wait; a.ack must be set.
func (a *admission) start() {
	b := a.b
	b.admMu.Lock()
	if b.admClosed {
		b.admMu.Unlock()
		a.finish(ErrServerClosed)
		return
	}
	if b.admissions == nil {
		b.admissions = make(map[*admission]struct{})
	}
	b.admissions[a] = struct{}{}
	a.timer = time.AfterFunc(b.opts.AdmissionWait, a.expire)
	b.admMu.Unlock()
}

// committed is called once the publisher's store write is durable (or failed).
func (a *admission) committed(err error) {
	if err != nil {
		a.finish(err)
		return
	}
	a.release()
}

// release counts one wait as over: a session admitted the message (or dropped it), or the
// publisher's write is durable.
func (a *admission) release() {
	if a.waits.Add(-1) == 0 {
		a.finish(nil)
	}
}

// finish acknowledges once; it may run with a session locked (see LocalClient.Publish).
func (a *admission) finish(err error) {
	if !a.done.CompareAndSwap(false, true) {
		return
	}
	b := a.b
	b.admMu.Lock()
	if a.timer != nil {
		a.timer.Stop()
	}
	delete(b.admissions, a)
	b.admMu.Unlock()
	a.ack(err)
}

// expire ends the wait: sessions still full drop the message, as for an offline session.
func (a *admission) expire() {
	for _, s := range a.waiters {
		if a.done.Load() {
			return
		}
		s.mu.Lock()
		s.dropWaiting(a, "queue full for longer than the admission wait")
		s.mu.Unlock()
	}
}

// abortAdmissions answers every held publisher with ErrServerClosed: no acknowledgement is
// sent, and the messages stay where they are (stored ones are restored after a restart).
func (b *Broker) abortAdmissions() {
	b.admMu.Lock()
	b.admClosed = true
	held := make([]*admission, 0, len(b.admissions))
	for a := range b.admissions {
		held = append(held, a)
	}
	b.admMu.Unlock()
	for _, a := range held {
		a.finish(ErrServerClosed)
	}
}

// hold keeps d, which the full queue cannot take, beside it with the publisher's admission
// (created on the first session that holds). s.mu is held.
func (s *session) hold(d *delivery, batch *store.Batch, held **admission) {
	a := *held
	if a == nil {
		a = newAdmission(s.b)
		*held = a
	}
	a.waits.Add(1)
	a.waiters = append(a.waiters, s)
	s.record(d, batch)
	s.waiting = append(s.waiting, waiter{d: d, a: a})
}

// admitOne moves the oldest held message into the queue, which has room for it.
func (s *session) admitOne() {
	w := s.waiting[0]
	s.waiting[0] = waiter{}
	s.waiting = s.waiting[1:]
	if len(s.waiting) == 0 {
		s.waiting = nil
	}
	s.queue = append(s.queue, w.d)
	w.a.release()
}

// dropWaiting drops the held messages of only (all when nil), counted and logged, and lets
// their publishers' acknowledgements go. s.mu is held.
func (s *session) dropWaiting(only *admission, why string) {
	kept := s.waiting[:0]
	for _, w := range s.waiting {
		if only != nil && w.a != only {
			kept = append(kept, w)
			continue
		}
		s.unstore(w.d)
		s.countDrop(w.d, why)
		w.a.release()
	}
	clear(s.waiting[len(kept):])
	s.waiting = kept
	if len(s.waiting) == 0 {
		s.waiting = nil
	}
}

// heldAcks keeps a connection's acknowledgements in order [MQTT-4.6.0-2..3] while one of them
// waits for an admission: from then on every acknowledgement queues here, and goes out once it
// and all before it are ready. The read loop stops reading while maxHeldAcks are queued, so
// that TCP flow control holds the publisher back.
type heldAcks struct {
	mu    sync.Mutex
	items []*heldAck
	n     atomic.Int32  // len(items), read by the read loop without mu
	room  chan struct{} // capacity 1: n went down; made by the read loop
}

type heldAck struct {
	p     outPacket
	ready bool
}

// maxHeldAcks bounds the acknowledgements held for one connection before its read loop waits.
const maxHeldAcks = 64

// ackHeld is ack for a PUBLISH held by a (nil: none of its own), sent once the write of batch
// (nil: none) and every write submitted before it are durable, a admitted, and the
// acknowledgements before it sent.
func (c *conn) ackHeld(p outPacket, batch *store.Batch, a *admission) {
	h := &heldAck{p: p}
	q := &c.held
	q.mu.Lock()
	if q.room == nil {
		q.room = make(chan struct{}, 1)
	}
	q.items = append(q.items, h)
	q.n.Add(1)
	q.mu.Unlock()
	ready := func(err error) { c.heldReady(h, err) }
	if a != nil {
		a.ack = ready
		a.start()
		ready = a.committed
	}
	if c.b.commits == nil {
		ready(nil)
		return
	}
	var ops *store.Batch
	if batch != nil && batch.Len() > 0 {
		ops = batch
	}
	c.b.commits.submit(ops, ready) // in order behind acknowledgements waiting for the store
}

// heldReady marks h ready and sends the acknowledgements at the head that are.
func (c *conn) heldReady(h *heldAck, err error) {
	if err != nil {
		if err != ErrServerClosed {
			c.b.log.Error("store: commit failed; not acknowledging", "client", c.clientID, "err", err)
		}
		c.close(err)
		return
	}
	q := &c.held
	q.mu.Lock()
	h.ready = true
	n := 0
	for n < len(q.items) && q.items[n].ready {
		c.push(q.items[n].p)
		n++
	}
	if n > 0 {
		clear(q.items[:n])
		q.items = q.items[n:]
		if len(q.items) == 0 {
			q.items = nil
		}
		q.n.Add(-int32(n))
		select {
		case q.room <- struct{}{}:
		default:
		}
	}
	q.mu.Unlock()
}

// waitHeld is the read loop waiting while too many acknowledgements are held.
func (c *conn) waitHeld() {
	c.flushInline()
	for c.held.n.Load() >= maxHeldAcks {
		select {
		case <-c.held.room:
		case <-c.closing:
			return
		}
	}
}
