package session

import (
	"errors"
	"slices"
	"time"

	"snbridge/mqttsn/packet"
	"snbridge/mqttsn/topics"
)

// ---- registration (§6.5) ----

func (s *Session) register(m *packet.Register, out []Action) []Action {
	id, _, err := s.reg.Register(m.TopicName)
	if err != nil {
		return send(out, &packet.Regack{MsgID: m.MsgID, ReturnCode: rcForTopic(err)}) // E13: wildcard → 0x03
	}
	s.dirty = true
	return send(out, &packet.Regack{TopicID: id, MsgID: m.MsgID, ReturnCode: packet.Accepted})
}

// rcForTopic maps a registry error to a return code: exhaustion is congestion (see package
// topics), anything else is "not supported".
func rcForTopic(err error) packet.ReturnCode {
	switch {
	case errors.Is(err, topics.ErrExhausted):
		return packet.Congestion
	case errors.Is(err, topics.ErrUnknownID):
		return packet.InvalidTopicID
	}
	return packet.NotSupported
}

func (s *Session) regack(now time.Time, m *packet.Regack, out []Action) []Action {
	if len(s.queue) == 0 || s.queue[0].stage != stageRegistering || s.queue[0].msgID != m.MsgID {
		return out
	}
	d := &s.queue[0]
	s.retryAt = 0
	s.dirty = true
	if m.ReturnCode != packet.Accepted {
		// §6.10: the client refuses the name: drop what waits for it and stop delivering it.
		s.reg.Reject(d.topicID)
		s.dropTopic(d.topic)
		return s.pump(now, out)
	}
	s.reg.MarkKnown(d.topicID)
	d.stage, d.retries = stageQueued, 0
	return s.pump(now, out)
}

// dropTopic removes every queued delivery on topic, acknowledging them to the broker.
func (s *Session) dropTopic(topic string) {
	kept := s.queue[:0]
	for _, d := range s.queue {
		if d.topic == topic {
			s.drop(d)
			continue
		}
		kept = append(kept, d)
	}
	clear(s.queue[len(kept):])
	s.queue = kept
}

func (s *Session) drop(d delivery) {
	s.Dropped++
	if d.packetID != 0 {
		s.ack(d.packetID)
	}
}

// ack completes the broker's delivery packetID and remembers it for the rest of the
// attachment (at most MaxInflight of them, the broker's window): the broker's resend of it,
// handed over after this acknowledgement, is stale (see Deliver).
func (s *Session) ack(packetID uint16) {
	s.b.Ack(packetID)
	if n := s.cfg.maxInflight(); len(s.completed) >= n {
		copy(s.completed, s.completed[len(s.completed)-n+1:])
		s.completed = s.completed[:n-1]
	}
	s.completed = append(s.completed, packetID)
}

// ---- client publish (§6.6, §6.8) ----

func (s *Session) publish(m *packet.Publish, out []Action) []Action {
	qos := m.QoS
	if qos == packet.QoSMinus1 {
		qos = packet.QoS0 // a connected client's QoS −1 is QoS 0 (E7)
	}
	if qos == packet.QoS2 {
		if u := s.findUplink(m.MsgID); u != nil {
			if u.done {
				out = send(out, &packet.Pubrec{MsgID: m.MsgID}) // duplicate: ack again, deliver once
			}
			return out
		}
	}
	if qos == packet.QoS1 {
		if u := s.findUplink(m.MsgID); u != nil && !u.done {
			return out // the broker has not accepted the first copy yet; its PUBACK will follow
		}
	}
	name, err := s.reg.Lookup(topics.IDType(m.TopicIDType), m.TopicID)
	if err != nil {
		rc := rcForTopic(err)
		if errors.Is(err, topics.ErrReserved) && qos == packet.QoS0 {
			return out // E26: reserved TopicIdType at QoS 0 is dropped
		}
		if errors.Is(err, topics.ErrUnknownID) {
			rc = packet.InvalidTopicID // E6: for QoS 0, 1 and 2
		}
		return send(out, &packet.Puback{TopicID: m.TopicID, MsgID: m.MsgID, ReturnCode: rc})
	}
	msg := Message{Topic: name, Payload: append([]byte(nil), m.Data...), QoS: byte(qos), Retain: m.Retain, Dup: m.Dup}
	if qos == packet.QoS0 {
		s.b.Publish(msg, 0)
		return out
	}
	if m.MsgID == 0 {
		return send(out, &packet.Puback{TopicID: m.TopicID, MsgID: 0, ReturnCode: packet.NotSupported})
	}
	s.addUplink(uplink{msgID: m.MsgID, topicID: m.TopicID, qos: byte(qos)})
	s.b.Publish(msg, m.MsgID)
	return out
}

// PublishDone is called when the broker has accepted (err nil) or refused the client's QoS 1/2
// PUBLISH msgID: only then is the client acknowledged, so an acknowledged message is durable.
func (s *Session) PublishDone(now time.Time, msgID uint16, err error, out []Action) []Action {
	u := s.findUplink(msgID)
	if u == nil || u.done || !s.connected {
		return out
	}
	if err != nil {
		rc := rcFor(err)
		s.removeUplink(msgID)
		return send(out, &packet.Puback{TopicID: u.topicID, MsgID: msgID, ReturnCode: rc})
	}
	if u.qos == 1 {
		topicID := u.topicID
		s.removeUplink(msgID)
		return send(out, &packet.Puback{TopicID: topicID, MsgID: msgID, ReturnCode: packet.Accepted})
	}
	u.done = true
	return send(out, &packet.Pubrec{MsgID: msgID})
}

func (s *Session) pubrel(m *packet.Pubrel, out []Action) []Action {
	if u := s.findUplink(m.MsgID); u != nil && !u.done {
		return out // not accepted by the broker yet: the client will retransmit PUBREL
	}
	s.removeUplink(m.MsgID)
	return send(out, &packet.Pubcomp{MsgID: m.MsgID})
}

func (s *Session) findUplink(id uint16) *uplink {
	for i := range s.uplinks {
		if s.uplinks[i].msgID == id {
			return &s.uplinks[i]
		}
	}
	return nil
}

// completedUplinks returns the QoS 2 ids the broker has accepted and the client has not yet
// released; the others are dropped with the attachment whose PublishDone they wait for.
func (s *Session) completedUplinks() []uplink {
	var kept []uplink
	for _, u := range s.uplinks {
		if u.done {
			kept = append(kept, u)
		}
	}
	return kept
}

func (s *Session) addUplink(u uplink) {
	if len(s.uplinks) >= maxUplinks {
		for i := range s.uplinks {
			if s.uplinks[i].done {
				s.uplinks = append(s.uplinks[:i], s.uplinks[i+1:]...)
				break
			}
		}
	}
	s.uplinks = append(s.uplinks, u)
}

func (s *Session) removeUplink(id uint16) {
	for i := range s.uplinks {
		if s.uplinks[i].msgID == id {
			s.uplinks = append(s.uplinks[:i], s.uplinks[i+1:]...)
			break
		}
	}
	if len(s.uplinks) == 0 {
		s.uplinks = nil
	}
}

// ---- subscribe (§6.9) ----

// filterOf resolves the topic of SUBSCRIBE/UNSUBSCRIBE. id is what SUBACK carries.
func (s *Session) filterOf(t packet.TopicIDType, name string, topicID uint16, subscribing bool) (filter string, id uint16, rc packet.ReturnCode) {
	switch t {
	case packet.TopicIDNormal:
		if name == "" {
			return "", 0, packet.NotSupported
		}
		if topics.HasWildcard(name) || !subscribing {
			return name, 0, packet.Accepted // E5: wildcard → 0x0000
		}
		id, _, err := s.reg.Register(name)
		if err != nil {
			return "", 0, rcForTopic(err)
		}
		s.dirty = true
		return name, id, packet.Accepted
	case packet.TopicIDPredefined:
		n, ok := s.cfg.Predefined.Name(s.clientID, topicID)
		if !ok {
			return "", topicID, packet.InvalidTopicID
		}
		return n, topicID, packet.Accepted
	case packet.TopicIDShort:
		n := topics.ShortName(topicID)
		if topics.HasWildcard(n) && subscribing {
			return "", 0, packet.NotSupported // E4: wildcarding a short name is meaningless
		}
		return n, 0, packet.Accepted // E5: 0x0000 for short names
	}
	return "", 0, packet.NotSupported
}

func (s *Session) subscribe(m *packet.Subscribe, out []Action) []Action {
	if m.QoS == packet.QoSMinus1 || !m.QoS.Valid() { // E8
		return send(out, &packet.Suback{MsgID: m.MsgID, ReturnCode: packet.NotSupported})
	}
	filter, id, rc := s.filterOf(m.TopicIDType, m.TopicName, m.TopicID, true)
	if rc != packet.Accepted {
		return send(out, &packet.Suback{TopicID: 0, MsgID: m.MsgID, ReturnCode: rc})
	}
	granted, err := s.b.Subscribe(filter, byte(m.QoS))
	if err != nil || granted > 2 {
		return send(out, &packet.Suback{MsgID: m.MsgID, ReturnCode: packet.NotSupported})
	}
	return send(out, &packet.Suback{QoS: packet.QoS(granted), TopicID: id, MsgID: m.MsgID, ReturnCode: packet.Accepted})
}

func (s *Session) unsubscribe(m *packet.Unsubscribe, out []Action) []Action {
	if filter, _, rc := s.filterOf(m.TopicIDType, m.TopicName, m.TopicID, false); rc == packet.Accepted {
		_ = s.b.Unsubscribe(filter) // an unknown filter is still acknowledged (§6.9, Paho, EMQX)
	}
	return send(out, &packet.Unsuback{MsgID: m.MsgID})
}

// ---- gateway publish (§6.10) ----

// Deliver is called with a message the broker sends to this client. packetID is non-zero for
// QoS 1/2 and is acknowledged to the broker once the client has acknowledged it.
//
// The session holds at most Config.SleepBuffer messages (asleep or not). On overflow the oldest
// QoS 0 message is dropped (E18); with no QoS 0 message to drop the new message is dropped if it
// is QoS 0, and otherwise kept beyond the bound: QoS 1/2 deliveries are already bounded by the
// broker's MaxInflight, and are never lost silently. Drops are counted in Dropped.
func (s *Session) Deliver(now time.Time, m Message, packetID uint16, out []Action) []Action {
	switch s.state {
	case Active, Awake, Asleep:
	default:
		return out
	}
	if packetID != 0 {
		for i := range s.queue {
			if s.queue[i].packetID == packetID {
				return out // the broker resends in-flight deliveries on Resume; this one is held already
			}
		}
		if i := slices.Index(s.completed, packetID); i >= 0 {
			if m.Dup {
				// A resend (on Resume) overtaken by the client's acknowledgement of the step
				// retransmitted on waking: completed already, not a new message.
				return out
			}
			s.completed = slices.Delete(s.completed, i, i+1) // the broker reuses the id
		}
	}
	if len(s.queue) >= s.cfg.sleepBuffer() {
		i := s.oldestQoS0()
		switch {
		case i >= 0:
			s.Dropped++
			s.queue = append(s.queue[:i], s.queue[i+1:]...)
		case m.QoS == 0:
			s.Dropped++
			return out
		}
	}
	s.queue = append(s.queue, delivery{topic: m.Topic, payload: m.Payload, packetID: packetID, qos: m.QoS, retain: m.Retain,
		dup: m.Dup && packetID != 0})
	if s.state == Asleep {
		return out
	}
	return s.flush(s.pump(now, out))
}

// Release is called when the broker resends PUBREL for QoS 2 delivery packetID (on a new
// attachment or a wake-up): the client received it (PUBREC, Broker.Received) on an earlier
// connection, so it gets PUBREL with that MsgId until PUBCOMP, never the PUBLISH again
// [MQTT-4.4.0-1]. It is queued in order with the deliveries.
func (s *Session) Release(now time.Time, packetID uint16, out []Action) []Action {
	switch s.state {
	case Active, Awake, Asleep:
	default:
		return out
	}
	if packetID == 0 || slices.Contains(s.completed, packetID) {
		return out // completed meanwhile (see Deliver)
	}
	for i := range s.queue {
		if s.queue[i].packetID == packetID {
			return out // held: its exchange is resumed where it stands
		}
	}
	s.queue = append(s.queue, delivery{packetID: packetID, msgID: packetID, qos: 2, stage: stageRelease})
	if s.state == Asleep {
		return out
	}
	return s.flush(s.pump(now, out))
}

func (s *Session) oldestQoS0() int {
	for i := range s.queue {
		if s.queue[i].qos == 0 && s.queue[i].stage == stageQueued {
			return i
		}
	}
	return -1
}

// pump sends what can be sent now: queued messages in order, one REGISTER or one QoS 1/2
// PUBLISH outstanding at a time. In the awake state it ends with PINGRESP once all is sent and
// acknowledged (E17).
func (s *Session) pump(now time.Time, out []Action) []Action {
	if s.state != Active && s.state != Awake {
		return out // asleep: everything waits for the next wake-up
	}
	for len(s.queue) > 0 {
		d := &s.queue[0]
		if d.stage == stageRelease {
			d.stage, d.retries = stageReleased, 0
			out = send(out, &packet.Pubrel{MsgID: d.msgID})
			return s.armRetry(now, out)
		}
		if d.stage != stageQueued {
			return out // waiting for the client
		}
		t, id, register, err := s.reg.Downlink(d.topic)
		if err != nil {
			s.drop(*d)
			s.popFront()
			continue
		}
		d.idType, d.topicID = t, id
		if register {
			s.dirty = true
			if 6+len(d.topic) > s.cfg.maxPacketSize() { // §6.10: too long, silently aborted
				s.drop(*d)
				s.popFront()
				continue
			}
			d.stage, d.msgID, d.retries = stageRegistering, s.newMsgID(), 0
			out = send(out, &packet.Register{TopicID: id, MsgID: d.msgID, TopicName: d.topic})
			return s.armRetry(now, out)
		}
		if size := 7 + len(d.payload); size > s.cfg.maxPacketSize() || size > 0xFFFF-2 {
			s.drop(*d)
			s.popFront()
			continue
		}
		if d.qos == 0 {
			out = send(out, s.publishOf(d, false))
			s.popFront()
			continue
		}
		// The broker's packet id is the MsgId: it stays the same when the broker resends the
		// message on a later connection, so the client recognises a QoS 2 message it holds, and
		// a PUBREL the broker resends (Release) names the right one.
		d.stage, d.msgID, d.retries = stagePublished, d.packetID, 0
		out = send(out, s.publishOf(d, d.dup))
		return s.armRetry(now, out)
	}
	s.queue = nil
	if s.state == Awake {
		if s.b.Pending() > 0 {
			return s.armRetry(now, out) // deliveries are on their way; give up after T_RETRY
		}
		return s.awakeDone(now, out)
	}
	return out
}

func (s *Session) popFront() {
	s.queue[0] = delivery{}
	s.queue = s.queue[1:]
}

func (s *Session) publishOf(d *delivery, dup bool) *packet.Publish {
	var msgID uint16
	if d.qos > 0 {
		msgID = d.msgID
	}
	return &packet.Publish{Dup: dup, QoS: packet.QoS(d.qos), Retain: d.retain,
		TopicIDType: packet.TopicIDType(d.idType), TopicID: d.topicID, MsgID: msgID, Data: d.payload}
}

func (s *Session) puback(now time.Time, m *packet.Puback, out []Action) []Action {
	if len(s.queue) == 0 || s.queue[0].stage != stagePublished || s.queue[0].msgID != m.MsgID || s.queue[0].qos != 1 {
		return out
	}
	d := &s.queue[0]
	s.retryAt = 0
	switch m.ReturnCode {
	case packet.Accepted:
		s.ack(d.packetID)
		s.popFront()
	case packet.InvalidTopicID:
		// §6.10: the client lost the id: REGISTER it again, then replay the PUBLISH.
		s.reg.Forget(d.topicID)
		s.dirty = true
		d.stage, d.retries = stageQueued, 0
	default: // congestion or not supported: the client will not take it
		s.drop(*d)
		s.popFront()
	}
	return s.pump(now, out)
}

func (s *Session) pubrec(now time.Time, m *packet.Pubrec, out []Action) []Action {
	if len(s.queue) == 0 || s.queue[0].msgID != m.MsgID || s.queue[0].qos != 2 {
		return out
	}
	d := &s.queue[0]
	if d.stage != stagePublished && d.stage != stageReleased {
		return out
	}
	if d.stage == stagePublished {
		s.b.Received(d.packetID)
	}
	d.stage, d.retries = stageReleased, 0
	out = send(out, &packet.Pubrel{MsgID: m.MsgID})
	return s.armRetry(now, out)
}

func (s *Session) pubcomp(now time.Time, m *packet.Pubcomp, out []Action) []Action {
	if len(s.queue) == 0 || s.queue[0].stage != stageReleased || s.queue[0].msgID != m.MsgID {
		return out
	}
	s.retryAt = 0
	s.ack(s.queue[0].packetID)
	s.popFront()
	return s.pump(now, out)
}

// retry retransmits the outstanding REGISTER / PUBLISH / PUBREL (§6.13 mirrored by the gateway),
// N_RETRY times; then an active client is lost, and an awake one goes back to sleep with the
// message kept for its next wake-up (E17: PINGRESP once retries are exhausted).
func (s *Session) retry(now time.Time, out []Action) []Action {
	if s.state != Active && s.state != Awake {
		return out
	}
	if len(s.queue) == 0 || s.queue[0].stage == stageQueued {
		if s.state == Awake { // waited T_RETRY for deliveries that did not come
			return s.awakeDone(now, out)
		}
		return out
	}
	d := &s.queue[0]
	if int(d.retries) >= s.cfg.maxRetries() {
		if s.state == Awake {
			d.retries = 0 // sent again at the next wake-up (resume)
			return s.awakeDone(now, out)
		}
		return s.lose(out)
	}
	d.retries++
	return s.armRetry(now, s.resend(d, out))
}

// resend retransmits the outstanding step of d (DUP set on a PUBLISH).
func (s *Session) resend(d *delivery, out []Action) []Action {
	switch d.stage {
	case stageRegistering:
		out = send(out, &packet.Register{TopicID: d.topicID, MsgID: d.msgID, TopicName: d.topic})
	case stagePublished:
		out = send(out, s.publishOf(d, true))
	case stageReleased:
		out = send(out, &packet.Pubrel{MsgID: d.msgID})
	}
	return out
}

// resume restarts downlink delivery after sleep: an exchange left unfinished when the client
// went to sleep is retransmitted first, then the queue is pumped.
func (s *Session) resume(now time.Time, out []Action) []Action {
	if len(s.queue) > 0 && s.queue[0].stage != stageQueued && s.queue[0].stage != stageRelease {
		s.queue[0].retries = 0
		return s.armRetry(now, s.resend(&s.queue[0], out))
	}
	return s.pump(now, out)
}
