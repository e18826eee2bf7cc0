package broker

import (
	"snbridge/mqtt/store"
	"snbridge/mqtt/topic"
)

// Will is a will message, published when a client ends abnormally [MQTT-3.1.2-8].
type Will struct {
	Topic   string
	Payload []byte
	QoS     byte
	Retain  bool
}

// Message is an application message as in-process clients send and receive it.
type Message struct {
	Topic   string
	Payload []byte
	QoS     byte
	Retain  bool
	Dup     bool
}

// attachOptions are what CONNECT (or ConnectLocal) says about the session.
type attachOptions struct {
	clientID    string
	clean       bool
	username    string
	will        *Will
	queueQoS0   bool
	maxInflight int
}

// attach makes out the session's sink, creating, resuming or discarding the session as the clean
// session flag says [MQTT-3.1.2-4..6], and taking it over from a client already attached
// [MQTT-3.1.4-2]. The previous owner, if any, is returned for the caller to close outside the
// locks. Queued and in-flight messages are sent right after out.attached. A new persistent
// session that the store cannot record is not made: the error is returned, and the caller
// refuses the client (CONNACK 3) and still closes old.
func (b *Broker) attach(o attachOptions, out sink) (s *session, present bool, old sink, err error) {
	var batch store.Batch
	b.mu.Lock()
	s = b.sessions[o.clientID]
	if s != nil {
		s.mu.Lock()
		if s.gone { // its store write failed just now (below)
			s.mu.Unlock()
			s = nil
		}
	}
	if s != nil {
		old = s.owner
		s.out, s.owner = nil, nil
		if o.clean || !s.persistent {
			b.discardLocked(s, &batch)
			s.mu.Unlock()
			s = nil
		} else {
			present = true
			// The rules or the user name may have changed while the client was away.
			b.revokeLocked(s, o.username, &batch)
		}
	}
	if s == nil {
		s = newSession(b, o.clientID)
		s.mu.Lock()
		s.persistent = !o.clean
		b.sessions[o.clientID] = s
		if s.stored() {
			batch.PutSession(o.clientID)
		}
	}
	b.mu.Unlock()
	if s.stored() && s.queueQoS0 != o.queueQoS0 {
		// Kept with the session: restored after a restart, a sleeping MQTT-SN client that
		// has not woken yet still gets its QoS 0 messages buffered (MQTT-SN §6.14).
		if o.queueQoS0 {
			batch.PutData(o.clientID, queueQoS0Key, []byte{1})
		} else {
			batch.DeleteData(o.clientID, queueQoS0Key)
		}
	}
	if batch.Len() > 0 {
		if err = b.commitDurable(&batch); err != nil {
			b.log.Error("store: session write failed", "client", o.clientID, "err", err)
			if !present && s.stored() {
				s.gone = true
				s.mu.Unlock()
				b.mu.Lock()
				if b.sessions[o.clientID] == s {
					delete(b.sessions, o.clientID)
				}
				b.mu.Unlock()
				return nil, false, old, err
			}
			err = nil
		}
	}
	s.suspended = false
	s.out, s.owner = out, out
	s.username = o.username
	s.will = o.will
	s.queueQoS0 = o.queueQoS0
	s.maxInflight = b.opts.MaxInflight
	if o.maxInflight > 0 {
		s.maxInflight = o.maxInflight
	}
	out.attached(present)
	s.resend()
	s.fill()
	s.mu.Unlock()
	return s, present, old, nil
}

// discardLocked removes a session: its subscriptions, its queue and its stored record. b.mu and
// s.mu are held.
func (b *Broker) discardLocked(s *session, batch *store.Batch) {
	s.gone = true
	s.dropWaiting(nil, "session ended")
	for f := range s.subs {
		b.subs.Unsubscribe(f, s)
	}
	if b.sessions[s.id] == s {
		delete(b.sessions, s.id)
	}
	if s.stored() {
		batch.DeleteSession(s.id)
	}
	s.queue, s.inflight = nil, nil
}

// detach ends out's ownership of s: a clean session is discarded, a persistent one goes
// offline. With abnormal set the will is published [MQTT-3.1.2-8]; after a DISCONNECT it is
// discarded [MQTT-3.1.2-10]. Nothing happens if out no longer owns s (taken over).
func (b *Broker) detach(s *session, out sink, abnormal bool) {
	var batch store.Batch
	b.mu.Lock()
	s.mu.Lock()
	if s.owner != out || s.gone {
		s.mu.Unlock()
		b.mu.Unlock()
		return
	}
	s.out, s.owner = nil, nil
	s.suspended = false
	s.dropWaiting(nil, "client went offline with its queue full")
	will := s.will
	s.will = nil
	username := s.username
	if !s.persistent {
		b.discardLocked(s, &batch)
	}
	s.mu.Unlock()
	b.mu.Unlock()
	b.commitLazy(&batch)
	if abnormal && will != nil {
		b.publishWill(s.id, username, will)
	}
}

func (b *Broker) publishWill(clientID, username string, w *Will) {
	if !b.canPublish(username, clientID, w.Topic) {
		b.stats.pubDropped.Add(1)
		b.log.Info("will not published: not authorized", "client", clientID, "topic", w.Topic)
		return
	}
	m := &message{topic: w.Topic, payload: w.Payload, qos: w.QoS, retain: w.Retain}
	var batch store.Batch
	var buf []topic.Subscriber[*session]
	b.route(m, &batch, &buf, nil)
	if batch.Len() > 0 {
		if err := b.commitDurable(&batch); err != nil {
			b.log.Error("store: will write failed", "client", clientID, "err", err)
		}
	}
	b.log.Debug("will published", "client", clientID, "topic", w.Topic)
}

// route delivers m to every matching subscription at min(publish QoS, granted QoS)
// [MQTT-3.8.4-6], once per session at the highest granted QoS of its matching filters
// [MQTT-3.3.5-1], and keeps or deletes the retained message [MQTT-3.3.1-5], [MQTT-3.3.1-10].
// Store writes go to batch (nil: nothing stored). With held non-nil, connected sessions whose
// queue is full hold a QoS 1/2 message in *held instead of dropping it (admission.go).
func (b *Broker) route(m *message, batch *store.Batch, buf *[]topic.Subscriber[*session], held **admission) {
	if m.retain {
		stored := batch != nil && b.store != nil
		if len(m.payload) == 0 {
			if b.retained.Delete(m.topic) && stored {
				batch.DeleteRetained(m.topic)
			}
		} else {
			b.retained.Set(m.topic, m)
			if stored {
				batch.PutRetained(store.Message{Topic: m.topic, Payload: m.payload, QoS: m.qos, Retain: true})
			}
		}
	}
	subs := b.subs.Match(m.topic, (*buf)[:0])
	for _, sub := range subs {
		// Forwarded to existing subscribers with RETAIN 0 [MQTT-3.3.1-9].
		sub.Key.deliver(m, min(sub.QoS, m.qos), false, batch, held)
	}
	clear(subs)
	*buf = subs[:0]
}

// subscribe adds a subscription of s; the returned code is the granted QoS or 0x80
// [MQTT-3.9.3-2] with the reason.
func (b *Broker) subscribe(s *session, filter string, qos byte) (byte, error) {
	if err := topic.ValidateFilter(filter); err != nil {
		return 0x80, err
	}
	s.mu.Lock()
	username := s.username
	s.mu.Unlock()
	if !b.auth.CanSubscribe(username, s.id, filter) {
		return 0x80, ErrNotAuthorized
	}
	granted := min(qos, 2)
	var batch store.Batch
	s.mu.Lock()
	if s.gone {
		s.mu.Unlock()
		return 0x80, ErrClosed
	}
	prev, had := s.subs[filter]
	s.subs[filter] = granted
	b.subs.Subscribe(filter, s, granted)
	if s.stored() {
		batch.PutSubscription(s.id, filter, granted)
	}
	s.mu.Unlock()
	if batch.Len() > 0 {
		if err := b.commitDurable(&batch); err != nil {
			// Not kept across a restart, so not granted: undone, and refused with 0x80.
			b.log.Error("store: subscription write failed; refused", "client", s.id, "filter", filter, "err", err)
			s.mu.Lock()
			if !s.gone && s.subs[filter] == granted {
				if had {
					s.subs[filter] = prev
					b.subs.Subscribe(filter, s, prev)
				} else {
					delete(s.subs, filter)
					b.subs.Unsubscribe(filter, s)
				}
			}
			s.mu.Unlock()
			return 0x80, err
		}
	}
	return granted, nil
}

// sendRetained delivers the retained messages matching a new subscription, with RETAIN set
// [MQTT-3.3.1-6], [MQTT-3.3.1-8].
func (b *Broker) sendRetained(s *session, filter string, granted byte) {
	ms := b.retained.Match(filter, nil)
	if len(ms) == 0 {
		return
	}
	var batch store.Batch
	for _, m := range ms {
		s.deliver(m, min(m.qos, granted), true, &batch, nil)
	}
	b.commitLazy(&batch)
}

func (b *Broker) unsubscribe(s *session, filter string) {
	var batch store.Batch
	s.mu.Lock()
	if _, ok := s.subs[filter]; ok && !s.gone {
		delete(s.subs, filter)
		b.subs.Unsubscribe(filter, s)
		if s.stored() {
			batch.DeleteSubscription(s.id, filter)
		}
	}
	s.mu.Unlock()
	if batch.Len() > 0 {
		if err := b.commitDurable(&batch); err != nil {
			b.log.Error("store: unsubscribe write failed", "client", s.id, "err", err)
		}
	}
}

// commitLazy writes batch without waiting for the disk, in order behind the durable writes
// submitted before it (committer.submitLazy): a delivery's delete never lands before the write
// that stored it.
func (b *Broker) commitLazy(batch *store.Batch) {
	if batch.Len() == 0 || b.store == nil {
		return
	}
	b.commits.submitLazy(batch)
}

// commitDurable writes batch and returns once it is durable, in order behind every write
// submitted before it (committer.submit): a session's delete on a takeover lands after the
// messages, data and lazy deletes already queued for that client id, which would otherwise
// bring the session back on the next restart. The caller may hold session locks: the
// committer's callbacks take none.
func (b *Broker) commitDurable(batch *store.Batch) error {
	if batch.Len() == 0 {
		return nil
	}
	done := make(chan error, 1)
	b.commits.submit(batch, func(err error) { done <- err })
	if err := <-done; err != ErrServerClosed {
		return err
	}
	// The committer has stopped (Shutdown) with nothing left queued: straight to the store.
	return b.store.Commit(batch)
}
