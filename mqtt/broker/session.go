package broker

import (
	"strconv"
	"strings"
	"sync"

	"snbridge/mqtt/store"
)

// message is an application message as routed: shared, never modified, by every subscriber
// it is delivered to.
type message struct {
	topic   string
	payload []byte
	qos     byte
	retain  bool
	inline  [inlinePayload]byte // small payloads live here: one allocation per message
}

const inlinePayload = 64

// newMessage copies payload into a new message.
func newMessage(topic string, payload []byte, qos byte, retain bool) *message {
	m := &message{topic: topic, qos: qos, retain: retain}
	if len(payload) <= inlinePayload {
		m.payload = m.inline[:len(payload):len(payload)]
		copy(m.payload, payload)
	} else {
		m.payload = append([]byte(nil), payload...)
	}
	return m
}

// delivery is one message on its way to one session at the QoS granted to it.
type delivery struct {
	msg      *message
	qos      byte
	retain   bool   // the RETAIN flag as sent: set only for retained messages sent on subscribe [MQTT-3.3.1-8]
	pid      uint16 // non-zero once in flight
	dup      bool
	received bool   // QoS 2: PUBREC seen, PUBREL sent
	seq      uint64 // key in the store; 0 when not stored
}

// sink is where a session's packets go while a client is attached: a network connection or an
// in-process client. Its methods are called with the session locked and must not block.
type sink interface {
	// attached is called first when the sink becomes the session's (a TCP sink sends CONNACK).
	attached(sessionPresent bool)
	// publish sends a PUBLISH; false means a QoS 0 message was dropped (queue full).
	publish(d delivery) bool
	// pubrel sends PUBREL for a QoS 2 delivery whose PUBREC was received.
	pubrel(pid uint16)
	// closeSink ends the client (taken over, broker shutdown); called without locks held.
	closeSink(reason error)
}

// session is the broker's state of one client id, attached to a sink or offline.
type session struct {
	b  *Broker
	id string

	// The fields below are guarded by mu.
	mu          sync.Mutex
	persistent  bool // CleanSession 0: kept while offline, stored
	suspended   bool // an in-process client asleep: kept and queued even if clean
	gone        bool // discarded; a late sink detaching finds nothing to do
	out         sink // attached sink; nil while offline or suspended
	owner       sink // the client the session belongs to, attached or suspended
	username    string
	subs        map[string]byte
	inflight    []*delivery // in send order, at most maxInflight except after a restore
	queue       []*delivery // FIFO waiting for the window or for the client
	waiting     []waiter    // beyond a full queue while connected, publishers held (admission.go)
	queued0     int         // QoS 0 messages in queue
	maxInflight int
	queueQoS0   bool
	nextPID     uint16
	nextSeq     uint64
	pidsUsed    *[1024]uint64   // ids in flight, kept once the window passes 64
	qos2In      map[uint16]bool // inbound QoS 2 packet ids awaiting PUBREL [MQTT-4.3.3-2]; true: restored from the store
	data        map[string][]byte
	will        *Will
	dropped     int64
}

func newSession(b *Broker, id string) *session {
	return &session{b: b, id: id, subs: make(map[string]byte), maxInflight: b.opts.MaxInflight, nextSeq: 1}
}

// keeps reports whether messages are queued while no sink is attached.
func (s *session) keeps() bool { return s.persistent || s.suspended }

func (s *session) stored() bool { return s.persistent && s.b.store != nil }

func (d *delivery) storeMsg() store.Message {
	return store.Message{Topic: d.msg.topic, Payload: d.msg.payload, QoS: d.qos, Retain: d.retain, PacketID: d.pid, Dup: d.dup, Received: d.received}
}

// deliver hands the message to the session at the given QoS. Store writes for persistent
// sessions are appended to batch (nil: not stored). A QoS 1/2 message that a connected
// session's full queue cannot take is held there with *held (created if nil), when held is
// non-nil: the publisher's acknowledgement waits for it.
func (s *session) deliver(m *message, qos byte, retain bool, batch *store.Batch, held **admission) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.gone {
		return
	}
	st := &s.b.stats
	if qos == 0 {
		if s.out != nil && len(s.queue) == 0 {
			if !s.out.publish(delivery{msg: m, retain: retain}) {
				st.pubDropped.Add(1)
			}
			return
		}
		if s.out == nil && !(s.keeps() && s.queueQoS0) {
			return // QoS 0 is not queued for offline sessions unless asked (MQTT-SN §6.14)
		}
		var qb *store.Batch
		if s.queueQoS0 {
			qb = batch // a sleeping MQTT-SN sensor's buffer survives a restart, QoS 0 too (§6.14)
		}
		s.enqueue(&delivery{msg: m, retain: retain}, qb, nil)
		return
	}
	d := &delivery{msg: m, qos: qos, retain: retain}
	if s.out != nil && len(s.queue) == 0 && len(s.inflight) < s.maxInflight {
		// Stored with its packet id and DUP: restored after a crash, it is resent first, as in
		// flight [MQTT-4.4.0-1].
		stored := s.stored() && batch != nil
		if stored {
			d.seq = s.nextSeq
			s.nextSeq++
		}
		s.send(d)
		if stored {
			m := d.storeMsg()
			m.Dup = true
			batch.PutMessage(s.id, d.seq, m)
		}
		return
	}
	if s.out == nil && !s.keeps() {
		return
	}
	s.enqueue(d, batch, held)
}

// record gives d a store record in batch if the session is stored.
func (s *session) record(d *delivery, batch *store.Batch) {
	if s.stored() && batch != nil {
		d.seq = s.nextSeq
		s.nextSeq++
		batch.PutMessage(s.id, d.seq, d.storeMsg())
	}
}

// enqueue appends to the queue, applying the overflow policy at MaxQueued: drop the oldest
// queued QoS 0 message; failing that, hold a QoS 1/2 message of a connected session with its
// publisher (held non-nil, backpressure), or drop the new message (QoS 0 or, counted and
// logged, QoS 1/2).
func (s *session) enqueue(d *delivery, batch *store.Batch, held **admission) {
	if len(s.queue) >= s.b.opts.MaxQueued || len(s.waiting) > 0 {
		dropped := false
		if s.queued0 > 0 && len(s.waiting) == 0 {
			for i, q := range s.queue {
				if q.qos == 0 {
					s.unstore(q)
					s.queue = append(s.queue[:i], s.queue[i+1:]...)
					s.queued0--
					break
				}
			}
		} else if d.qos > 0 && held != nil && s.out != nil && s.b.opts.AdmissionWait > 0 {
			s.hold(d, batch, held)
			return
		} else {
			dropped = true
		}
		if dropped {
			s.countDrop(d, "queue full")
			return
		}
		s.b.stats.pubDropped.Add(1)
	}
	if d.qos == 0 {
		s.queued0++
	}
	s.record(d, batch)
	s.queue = append(s.queue, d)
}

// countDrop counts a dropped new message; QoS 1/2 drops are logged at the first and every
// 1000th.
func (s *session) countDrop(d *delivery, why string) {
	s.b.stats.pubDropped.Add(1)
	s.dropped++
	if d.qos > 0 && (s.dropped == 1 || s.dropped%1000 == 0) {
		s.b.log.Warn(why+": dropping QoS 1/2 message", "client", s.id, "topic", d.msg.topic, "max_queued", s.b.opts.MaxQueued, "dropped_total", s.dropped)
	}
}

// unstore deletes the store record of a message dropped by the overflow policy, or of a
// queued QoS 0 message sent (only a QueueQoS0 session's QoS 0 messages have one).
func (s *session) unstore(d *delivery) {
	if d.seq != 0 && s.b.store != nil {
		var b store.Batch
		b.DeleteMessage(s.id, d.seq)
		s.b.commitLazy(&b)
	}
}

// send puts a QoS 1/2 delivery in flight with its packet id (pidFor).
func (s *session) send(d *delivery) {
	d.pid = s.pidFor(d)
	s.markPID(d.pid, true)
	s.inflight = append(s.inflight, d)
	s.out.publish(*d)
}

// pidFor picks d's packet id. A stored delivery takes the id its sequence number gives, so that
// after a crash it goes out again with the id it may already have had, and a QoS 2 subscriber
// that PUBREC'd it acknowledges it again instead of delivering it twice [MQTT-4.3.3-2]. Only
// when that id is in flight (an unacknowledged message overtaken by 65 535 others) is another
// one taken, and stored (lazily).
func (s *session) pidFor(d *delivery) uint16 {
	if d.seq == 0 {
		return s.allocPID()
	}
	if pid := seqPID(d.seq); s.pidFree(pid) {
		return pid
	}
	d.pid = s.allocPID()
	var b store.Batch
	b.PutMessage(s.id, d.seq, d.storeMsg())
	s.b.commitLazy(&b)
	return d.pid
}

// seqPID is the packet id of the delivery stored under seq: 1..65535 in turn.
func seqPID(seq uint64) uint16 { return uint16((seq-1)%65535) + 1 }

// allocPID returns a packet id not in flight, the next in turn.
func (s *session) allocPID() uint16 {
	for {
		s.nextPID++
		if s.nextPID == 0 {
			s.nextPID = 1
		}
		if s.pidFree(s.nextPID) {
			return s.nextPID
		}
	}
}

// pidFree reports whether pid is not in flight. Small windows are scanned; a large one (a
// configured max_inflight in the thousands) keeps a bitmap of the ids in use.
func (s *session) pidFree(pid uint16) bool {
	if s.pidsUsed == nil && len(s.inflight) > 64 {
		s.pidsUsed = new([1024]uint64)
		for _, d := range s.inflight {
			s.markPID(d.pid, true)
		}
	}
	if s.pidsUsed != nil {
		return s.pidsUsed[pid>>6]&(1<<(pid&63)) == 0
	}
	for _, d := range s.inflight {
		if d.pid == pid {
			return false
		}
	}
	return true
}

func (s *session) markPID(pid uint16, used bool) {
	if s.pidsUsed == nil || pid == 0 {
		return
	}
	if used {
		s.pidsUsed[pid>>6] |= 1 << (pid & 63)
	} else {
		s.pidsUsed[pid>>6] &^= 1 << (pid & 63)
	}
}

// fill moves queued messages into flight while the window allows, in order.
func (s *session) fill() {
	for s.out != nil && len(s.queue) > 0 {
		d := s.queue[0]
		if d.qos > 0 && len(s.inflight) >= s.maxInflight {
			return
		}
		s.queue[0] = nil
		s.queue = s.queue[1:]
		if len(s.waiting) > 0 {
			s.admitOne()
		}
		if len(s.queue) == 0 {
			s.queue = s.queue[:0:0]
		}
		if d.qos == 0 {
			s.queued0--
			if !s.out.publish(*d) {
				s.b.stats.pubDropped.Add(1)
			}
			s.unstore(d)
			continue
		}
		s.send(d)
	}
}

// resend redelivers what is in flight, with DUP [MQTT-4.4.0-1], after a reconnect or a Resume.
func (s *session) resend() {
	for _, d := range s.inflight {
		if d.received {
			s.out.pubrel(d.pid)
			continue
		}
		if d.pid == 0 {
			d.pid = s.pidFor(d)
			s.markPID(d.pid, true)
		}
		d.dup = true
		s.out.publish(*d)
	}
}

// complete ends the delivery with packet id pid (PUBACK, PUBCOMP, or an in-process Ack) and
// reports whether there was one; want is the QoS expected, 0 for any.
func (s *session) complete(pid uint16, want byte) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, d := range s.inflight {
		if d.pid != pid || (want != 0 && d.qos != want) {
			continue
		}
		if i == 0 { // acknowledgements mostly come in order: O(1)
			s.inflight[0] = nil
			s.inflight = s.inflight[1:]
		} else {
			copy(s.inflight[i:], s.inflight[i+1:])
			s.inflight[len(s.inflight)-1] = nil
			s.inflight = s.inflight[:len(s.inflight)-1]
		}
		s.markPID(pid, false)
		if d.seq != 0 && s.b.store != nil {
			var b store.Batch
			b.DeleteMessage(s.id, d.seq)
			s.b.commitLazy(&b)
		}
		s.fill()
		return true
	}
	return false
}

// received marks a QoS 2 delivery as PUBREC'd, the new state of a stored one in batch: the
// caller sends PUBREL once that is durable, so that after a crash the flow goes on with PUBREL,
// not with the PUBLISH again [MQTT-4.3.3-1].
func (s *session) received(pid uint16, batch *store.Batch) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, d := range s.inflight {
		if d.pid == pid && d.qos == 2 && !d.received {
			d.received = true
			if d.seq != 0 && s.b.store != nil {
				batch.PutMessage(s.id, d.seq, d.storeMsg())
			}
			return
		}
	}
}

// pending is the number of deliveries queued, held or in flight.
func (s *session) pending() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.queue) + len(s.inflight) + len(s.waiting)
}

// The broker keeps some session state of its own as session data, under keys starting with
// 0x00 (which LocalClient.PutData refuses): inbound QoS 2 packet ids, one key per id, so that
// PUBREC means "stored and id remembered" and a PUBLISH resent after a restart is not routed
// twice; and LocalOptions.QueueQoS0.
const (
	qos2InPrefix = "\x00mqtt/qos2in/"
	queueQoS0Key = "\x00mqtt/queue-qos0"
)

func qos2InKey(pid uint16) string { return qos2InPrefix + strconv.Itoa(int(pid)) }

// restoreBrokerData takes a data record of the broker's own on load; false if it is an
// adapter's.
func (s *session) restoreBrokerData(key string) bool {
	if !strings.HasPrefix(key, "\x00") {
		return false
	}
	if key == queueQoS0Key {
		s.queueQoS0 = true
	}
	if n, err := strconv.ParseUint(strings.TrimPrefix(key, qos2InPrefix), 10, 16); err == nil && strings.HasPrefix(key, qos2InPrefix) {
		s.rememberQoS2(uint16(n), true)
	}
	return true
}

func (s *session) rememberQoS2(pid uint16, restored bool) {
	if s.qos2In == nil {
		s.qos2In = make(map[uint16]bool)
	}
	s.qos2In[pid] = restored
}

// receiveQoS2 remembers an inbound QoS 2 packet id until its PUBREL [MQTT-4.3.3-2], in batch
// for a stored session, and reports whether it was already remembered: a resent PUBLISH. An
// id restored from the store only counts with DUP set: its PUBREL's delete is lazy and may have
// been lost in the crash, and then a PUBLISH with DUP 0 is a new message reusing the id
// [MQTT-3.3.1-1] (routed, never lost; a client that resends without DUP may get a duplicate).
func (s *session) receiveQoS2(pid uint16, dup bool, batch *store.Batch) (seen bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if restored, ok := s.qos2In[pid]; ok && (dup || !restored) {
		return true
	}
	s.rememberQoS2(pid, false)
	if s.stored() {
		batch.PutData(s.id, qos2InKey(pid), []byte{1})
	}
	return false
}

// releaseQoS2 forgets an inbound QoS 2 packet id at PUBREL; batch is scratch space. The
// delete is lazy: the PUBREL itself is resent by the client until PUBCOMP.
func (s *session) releaseQoS2(pid uint16, batch *store.Batch) {
	s.mu.Lock()
	_, had := s.qos2In[pid]
	delete(s.qos2In, pid)
	stored := had && s.stored()
	s.mu.Unlock()
	if stored {
		batch.Reset()
		batch.DeleteData(s.id, qos2InKey(pid))
		s.b.commitLazy(batch)
	}
}
