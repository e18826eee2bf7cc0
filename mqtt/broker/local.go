package broker

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"

	"snbridge/mqtt/store"
	"snbridge/mqtt/topic"
)

// LocalOptions describe an in-process client's session, as a CONNECT would.
type LocalOptions struct {
	ClientID     string
	CleanSession bool
	Username     string // for ACLs; "" = anonymous local client
	Will         *Will
	QueueQoS0    bool // keep QoS 0 messages for this session while suspended/offline (MQTT-SN §6.14); stored with a persistent session
	MaxInflight  int  // deliveries outstanding before the broker holds further ones; 0 = broker default
}

// LocalHandler receives what the broker sends to an in-process client. Deliver is called from
// broker goroutines, with the client's session locked: it must not block and must not call
// back into the broker; the receiver queues it. The Payload is shared with other subscribers:
// read it, never modify it. PacketID is non-zero for QoS 1/2 and is what Ack takes. Closed
// likewise must not block.
type LocalHandler interface {
	Deliver(m Message, packetID uint16)
	Closed(reason error) // taken over by another connection with the same client id, or broker shutdown
}

// LocalReleaser is a LocalHandler whose client takes QoS 2 deliveries in two steps, as an MQTT
// client does: it calls LocalClient.Received on the PUBREC, then Ack on the PUBCOMP. On a
// reconnect or Resume the broker then resends a received delivery as Release(packetID) — the
// PUBREL — instead of the PUBLISH [MQTT-4.4.0-1].
type LocalReleaser interface {
	Release(packetID uint16)
}

// LocalClient is an in-process client: a session of the broker without a socket (the MQTT-SN
// gateway's sensors, the bridge). Its methods are safe for concurrent use. After Disconnect,
// Lost, a takeover or a shutdown, its methods fail with ErrClosed.
type LocalClient struct {
	b      *Broker
	s      *session
	h      LocalHandler
	id     string
	user   string
	closed atomic.Bool
}

var (
	errEmptyLocalID  = errors.New("broker: an in-process client needs a client id")
	errBrokerDataKey = errors.New("broker: session data keys starting with 0x00 are the broker's own")
)

// ConnectLocal attaches a session exactly as a TCP CONNECT would (takeover, clean-session,
// session-present, will), without a socket. Queued messages of a persistent session are
// delivered through h.Deliver right away.
func (b *Broker) ConnectLocal(opts LocalOptions, h LocalHandler) (*LocalClient, bool, error) {
	if opts.ClientID == "" {
		return nil, false, errEmptyLocalID
	}
	if b.isClosed() {
		return nil, false, ErrServerClosed
	}
	if opts.Will != nil {
		if err := topic.ValidateName(opts.Will.Topic); err != nil {
			return nil, false, err
		}
	}
	c := &LocalClient{b: b, h: h, id: opts.ClientID, user: opts.Username}
	b.connMu.Lock()
	b.locals[c] = struct{}{}
	b.connMu.Unlock()
	s, present, old, err := b.attach(attachOptions{
		clientID: opts.ClientID, clean: opts.CleanSession, username: opts.Username,
		will: opts.Will, queueQoS0: opts.QueueQoS0, maxInflight: opts.MaxInflight,
	}, c)
	if old != nil {
		old.closeSink(ErrTakenOver)
	}
	if err != nil {
		b.connMu.Lock()
		delete(b.locals, c)
		b.connMu.Unlock()
		return nil, false, fmt.Errorf("broker: the session could not be stored: %w", err)
	}
	c.s = s
	return c, present, nil
}

// The sink methods.

func (c *LocalClient) attached(bool) {}

func (c *LocalClient) publish(d delivery) bool {
	c.h.Deliver(Message{Topic: d.msg.topic, Payload: d.msg.payload, QoS: d.qos, Retain: d.retain, Dup: d.dup}, d.pid)
	return true
}

// pubrel resends PUBREL for a QoS 2 delivery the client marked Received, to a handler that
// takes it (LocalReleaser); the delivery stays in flight until Ack.
func (c *LocalClient) pubrel(pid uint16) {
	if r, ok := c.h.(LocalReleaser); ok {
		r.Release(pid)
	}
}

func (c *LocalClient) closeSink(reason error) {
	if c.closed.CompareAndSwap(false, true) {
		c.forget()
		c.h.Closed(reason)
	}
}

func (c *LocalClient) forget() {
	c.b.connMu.Lock()
	delete(c.b.locals, c)
	c.b.connMu.Unlock()
}

func (c *LocalClient) shutdown() { c.closeSink(ErrServerClosed) }

var batchPool = sync.Pool{New: func() any { return new(store.Batch) }}
var matchPool = sync.Pool{New: func() any { s := make([]topic.Subscriber[*session], 0, 16); return &s }}

// Publish hands a message to the broker. done (may be nil) is called once the message is
// accepted: for QoS 1/2 with the store on, once it is durable, and once every connected
// subscriber whose queue was full has taken it or Options.AdmissionWait has passed
// (backpressure, package doc). done may be called from another goroutine, possibly with a
// session locked: like LocalHandler.Deliver it must not block and must not call back into the
// broker. ACL denial: done(ErrNotAuthorized); shutdown while held: done(ErrServerClosed).
func (c *LocalClient) Publish(m Message, done func(error)) {
	if done == nil {
		done = func(error) {}
	}
	if c.closed.Load() {
		done(ErrClosed)
		return
	}
	if err := topic.ValidateName(m.Topic); err != nil {
		done(err)
		return
	}
	if m.QoS > 2 {
		done(errors.New("broker: QoS above 2"))
		return
	}
	b := c.b
	b.stats.pubReceived.Add(1)
	if !b.canPublish(c.user, c.id, m.Topic) {
		b.stats.pubDropped.Add(1)
		done(ErrNotAuthorized)
		return
	}
	msg := newMessage(m.Topic, m.Payload, m.QoS, m.Retain)
	batch := batchPool.Get().(*store.Batch)
	batch.Reset()
	buf := matchPool.Get().(*[]topic.Subscriber[*session])
	var held *admission
	var hold **admission
	if m.QoS > 0 {
		hold = &held
	}
	b.route(msg, batch, buf, hold)
	matchPool.Put(buf)
	switch {
	case held != nil:
		held.ack = done
		held.start()
		if batch.Len() > 0 {
			b.commits.submit(batch, held.committed)
		} else {
			held.release()
		}
	case batch.Len() == 0:
		done(nil)
	case m.QoS == 0:
		b.commitLazy(batch)
		done(nil)
	default:
		b.commits.submit(batch, done)
	}
	clear(batch.Ops)
	batchPool.Put(batch)
}

// Subscribe subscribes the session to filter; a refusal (invalid filter, ACL) returns 0x80 and
// the reason. Retained messages matching the filter are delivered afterwards.
func (c *LocalClient) Subscribe(filter string, qos byte) (byte, error) {
	if c.closed.Load() {
		return 0x80, ErrClosed
	}
	granted, err := c.b.subscribe(c.s, filter, qos)
	if err != nil {
		return granted, err
	}
	c.b.sendRetained(c.s, filter, granted)
	return granted, nil
}

// Unsubscribe removes the session's subscription to filter (none: no error).
func (c *LocalClient) Unsubscribe(filter string) error {
	if c.closed.Load() {
		return ErrClosed
	}
	c.b.unsubscribe(c.s, filter)
	return nil
}

// Ack completes a QoS 1 or QoS 2 delivery; the next queued message may follow.
func (c *LocalClient) Ack(packetID uint16) {
	if c.closed.Load() {
		return
	}
	c.s.complete(packetID, 0)
}

// Received marks QoS 2 delivery packetID as received by the client (its PUBREC): later
// resends of it are Release calls, not deliveries. Only for a handler that is a LocalReleaser.
// For a stored delivery the received state is written behind the writes already queued (lazily:
// the caller sends its PUBREL at once; a crash in between resends the PUBLISH once more).
func (c *LocalClient) Received(packetID uint16) {
	if c.closed.Load() {
		return
	}
	if _, ok := c.h.(LocalReleaser); ok {
		var batch store.Batch
		c.s.received(packetID, &batch)
		c.b.commitLazy(&batch)
	}
}

// Pending is the number of deliveries queued or in flight, not yet acknowledged.
func (c *LocalClient) Pending() int { return c.s.pending() }

// SetWill replaces the will; nil deletes it (MQTT-SN WILLTOPICUPD/WILLMSGUPD).
func (c *LocalClient) SetWill(w *Will) {
	c.s.mu.Lock()
	if c.s.owner == c {
		c.s.will = w
	}
	c.s.mu.Unlock()
}

// PutData keeps adapter state with the session (MQTT-SN topic registry, sleep state); for a
// persistent session it is durable when PutData returns. An empty value deletes the key. Keys
// starting with 0x00 are the broker's own: errBrokerDataKey.
func (c *LocalClient) PutData(key string, value []byte) error {
	var batch store.Batch
	if err := c.putData(key, value, &batch); err != nil || batch.Len() == 0 {
		return err
	}
	return c.b.commitDurable(&batch) // behind earlier PutDataAsync writes of the same key
}

// PutDataAsync is PutData without waiting for the disk: Data sees the value at once, and the
// write joins the committer's next group commit, behind every write submitted before it (the
// committer is FIFO). done is called exactly once: when the write is durable or has failed,
// from the committer's goroutine — or before PutDataAsync returns when there is nothing to
// write (no store, a session not kept) or the call is refused (ErrClosed, errBrokerDataKey).
func (c *LocalClient) PutDataAsync(key string, value []byte, done func(error)) {
	var batch store.Batch
	if err := c.putData(key, value, &batch); err != nil || batch.Len() == 0 {
		done(err)
		return
	}
	c.b.commits.submit(&batch, done)
}

// putData sets key in the session's data and adds the store write, if any, to batch.
func (c *LocalClient) putData(key string, value []byte, batch *store.Batch) error {
	if c.closed.Load() {
		return ErrClosed
	}
	if strings.HasPrefix(key, "\x00") {
		return errBrokerDataKey
	}
	s := c.s
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(value) == 0 {
		delete(s.data, key)
		if s.stored() {
			batch.DeleteData(s.id, key)
		}
		return nil
	}
	if s.data == nil {
		s.data = make(map[string][]byte)
	}
	v := append([]byte(nil), value...)
	s.data[key] = v
	if s.stored() {
		batch.PutData(s.id, key, v)
	}
	return nil
}

// Data returns the value PutData kept under key (a copy).
func (c *LocalClient) Data(key string) ([]byte, bool) {
	c.s.mu.Lock()
	defer c.s.mu.Unlock()
	v, ok := c.s.data[key]
	if !ok {
		return nil, false
	}
	return append([]byte(nil), v...), true
}

// Suspend takes the client offline but keeps its session, even a clean one, and queues its
// messages (QoS 0 too with QueueQoS0): a sensor asleep. The will stays armed.
func (c *LocalClient) Suspend() {
	s := c.s
	s.mu.Lock()
	if s.owner == c && !s.gone {
		s.out = nil
		s.suspended = true
		s.dropWaiting(nil, "client suspended with its queue full")
	}
	s.mu.Unlock()
}

// Resume delivers what was queued while suspended, in-flight messages first with DUP.
func (c *LocalClient) Resume() {
	s := c.s
	s.mu.Lock()
	if s.owner == c && !s.gone && s.out == nil {
		s.out = c
		s.suspended = false
		s.resend()
		s.fill()
	}
	s.mu.Unlock()
}

// Disconnect is a normal disconnect: no will; a clean session is discarded.
func (c *LocalClient) Disconnect() { c.end(false) }

// Lost is an abnormal end: the will is published; a clean session is discarded.
func (c *LocalClient) Lost() { c.end(true) }

func (c *LocalClient) end(abnormal bool) {
	if !c.closed.CompareAndSwap(false, true) {
		return
	}
	c.forget()
	c.b.detach(c.s, c, abnormal)
}
