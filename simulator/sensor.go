package simulator

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"time"

	"snbridge/mqttsn/packet"
	"snbridge/simulator/check"
)

// A sensor speaks MQTT-SN over its own PacketConn (a UDP socket, an impaired one, or a
// forwarder node) from one goroutine: it sends, then reads with a deadline until the answer it
// awaits arrives, handling whatever else the gateway sends meanwhile (commands, REGISTER,
// PINGREQ). The driver is written on the codec rather than on mqttsn/client on purpose: the
// checker must not share its bugs with the library under test, and 10 000 of these stay small.

var (
	errTimeout      = errors.New("no answer")
	errGaveUp       = errors.New("retries exhausted")
	errDisconnected = errors.New("disconnected by the gateway")
)

// sensor is one virtual sensor's state; only its own goroutine touches it.
type sensor struct {
	e      *engine
	g      *groupRun
	index  uint32 // across the scenario
	id     string // client id
	pc     net.PacketConn
	gw     net.Addr
	buf    []byte
	wbuf   []byte
	msgID  uint16
	seqUp  uint32
	active bool // CONNACK received and not asleep or disconnected

	pubTopic   topicRef
	registered bool
	// inbound QoS 2 PUBLISHes received, PUBREL not yet: a retransmission is not a new message.
	qos2In map[uint16]bool
	// topic ids the gateway registered with us (§6.10).
	gwTopics map[uint16]string
	lastSent time.Time
}

// topicRef is how a topic is named on the wire.
type topicRef struct {
	kind packet.TopicIDType
	id   uint16
	name string
}

func (s *sensor) nextMsgID() uint16 {
	s.msgID++
	if s.msgID == 0 {
		s.msgID = 1
	}
	return s.msgID
}

func (s *sensor) send(m packet.Message) error {
	b, err := m.Append(s.wbuf[:0])
	if err != nil {
		return fmt.Errorf("%s: encode %v: %w", s.id, m.Type(), err)
	}
	s.wbuf = b
	s.lastSent = time.Now()
	_, err = s.pc.WriteTo(b, s.gw)
	return err
}

// read returns the next message until deadline; undecodable datagrams are counted and skipped.
func (s *sensor) read(deadline time.Time) (packet.Message, error) {
	for {
		if err := s.pc.SetReadDeadline(deadline); err != nil {
			return nil, err
		}
		n, _, err := s.pc.ReadFrom(s.buf)
		if err != nil {
			if errors.Is(err, os.ErrDeadlineExceeded) {
				return nil, errTimeout
			}
			return nil, err
		}
		m, err := packet.Decode(s.buf[:n])
		if err != nil {
			s.e.stats.malformed.Add(1)
			continue
		}
		return m, nil
	}
}

// await reads until match accepts a message or deadline passes, handling the rest.
func (s *sensor) await(ctx context.Context, deadline time.Time, match func(packet.Message) bool) (packet.Message, error) {
	for {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		// The engine sets every socket's deadline to now when the run ends; this bound only
		// covers the race where that happens between the check above and the read.
		d := time.Now().Add(2 * time.Second)
		if deadline.Before(d) {
			d = deadline
		}
		m, err := s.read(d)
		if errors.Is(err, errTimeout) {
			if !time.Now().Before(deadline) {
				return nil, errTimeout
			}
			continue
		}
		if err != nil {
			return nil, err
		}
		if match != nil && match(m) {
			return m, nil
		}
		if err := s.handle(m); err != nil {
			return nil, err
		}
	}
}

// exchange sends the message build makes (dup true on retransmissions) and awaits its answer,
// retrying every RetryInterval up to Retries times (T_RETRY, N_RETRY of §7.2).
func (s *sensor) exchange(ctx context.Context, build func(dup bool) packet.Message, match func(packet.Message) bool) (packet.Message, error) {
	for attempt := 0; attempt <= s.e.opts.Retries; attempt++ {
		if attempt > 0 {
			s.e.stats.retries.Add(1)
		}
		if err := s.send(build(attempt > 0)); err != nil {
			return nil, err
		}
		m, err := s.await(ctx, time.Now().Add(s.e.opts.RetryInterval), match)
		if errors.Is(err, errTimeout) {
			continue
		}
		return m, err
	}
	return nil, errGaveUp
}

// handle deals with a message nobody is waiting for.
func (s *sensor) handle(m packet.Message) error {
	switch m := m.(type) {
	case *packet.Publish:
		s.command(m)
	case *packet.Pubrel:
		delete(s.qos2In, m.MsgID)
		return s.send(&packet.Pubcomp{MsgID: m.MsgID})
	case *packet.Register:
		if s.gwTopics == nil {
			s.gwTopics = map[uint16]string{}
		}
		s.gwTopics[m.TopicID] = m.TopicName
		return s.send(&packet.Regack{TopicID: m.TopicID, MsgID: m.MsgID, ReturnCode: packet.Accepted})
	case *packet.Pingreq:
		return s.send(&packet.Pingresp{})
	case *packet.WillTopicReq:
		// A late prompt: a duplicated CONNECT restarted the will handshake (§6.2). Answer it,
		// or the gateway waits for a will that never comes.
		return s.send(s.willTopic())
	case *packet.WillMsgReq:
		return s.send(s.willMsg())
	case *packet.Disconnect:
		if s.active {
			s.active = false
			s.e.connected.Add(-1)
			s.e.stats.disconnects.Add(1)
			return errDisconnected
		}
	default:
		// Late answers to retransmissions (a second PUBACK, CONNACK …): nothing to do.
	}
	return nil
}

// command accounts a PUBLISH from the gateway and acknowledges it (§6.10). An actuator sharing
// a predefined or short topic with others ignores commands addressed to them.
func (s *sensor) command(m *packet.Publish) {
	switch m.QoS {
	case packet.QoS1:
		_ = s.send(&packet.Puback{TopicID: m.TopicID, MsgID: m.MsgID, ReturnCode: packet.Accepted})
	case packet.QoS2:
		_ = s.send(&packet.Pubrec{MsgID: m.MsgID})
		if s.qos2In == nil {
			s.qos2In = map[uint16]bool{}
		}
		if s.qos2In[m.MsgID] {
			return // retransmission before PUBREL: already delivered once
		}
		s.qos2In[m.MsgID] = true
	}
	if m.TopicIDType == packet.TopicIDNormal && s.gwTopics[m.TopicID] == "" && !s.subscribedID(m.TopicID) {
		s.e.stats.unknownTopic.Add(1)
	}
	h, ok := check.ParseHeader(m.Data)
	if ok && h.Run == s.e.run && h.Sensor != s.index {
		return // overheard on a shared topic
	}
	s.e.checker.Observe(check.Downlink, m.Data, time.Now())
}

func (s *sensor) subscribedID(id uint16) bool {
	for _, sub := range s.g.subIDs[s.index-s.g.first] {
		if sub == id {
			return true
		}
	}
	return false
}

// connect runs CONNECT with the will handshake (§6.2) until CONNACK accepted. A wake from
// sleep sends neither the Will nor the CleanSession flag (§6.14): the gateway ignores them then
// anyway, and a retransmitted CONNECT that arrives once we are active again must not restart a
// clean session and discard our subscriptions (E27).
func (s *sensor) connect(ctx context.Context, wake bool) error {
	g := s.g.spec
	c := &packet.Connect{Will: g.Will != nil && !wake, CleanSession: *g.CleanSession && !wake, ProtocolID: 1,
		Duration: uint16(g.KeepAlive / time.Second), ClientID: s.id}
	for attempt := 0; attempt <= s.e.opts.Retries; attempt++ {
		if attempt > 0 {
			s.e.stats.retries.Add(1)
		}
		if err := s.send(c); err != nil {
			return err
		}
		deadline := time.Now().Add(s.e.opts.RetryInterval)
		for {
			m, err := s.await(ctx, deadline, func(m packet.Message) bool {
				switch m.Type() {
				case packet.TypeConnack, packet.TypeWillTopicReq, packet.TypeWillMsgReq:
					return true
				}
				return false
			})
			if errors.Is(err, errTimeout) {
				break
			}
			if err != nil {
				return err
			}
			switch m := m.(type) {
			case *packet.WillTopicReq:
				_ = s.send(s.willTopic())
				deadline = time.Now().Add(s.e.opts.RetryInterval)
				continue
			case *packet.WillMsgReq:
				_ = s.send(s.willMsg())
				deadline = time.Now().Add(s.e.opts.RetryInterval)
				continue
			case *packet.Connack:
				if m.ReturnCode != packet.Accepted {
					s.e.stats.connectFailures.Add(1)
					return fmt.Errorf("%s: CONNACK %v", s.id, m.ReturnCode)
				}
				if c.CleanSession {
					s.qos2In = nil // a new session: the gateway's MsgIds start afresh (§6.3)
				}
				if !s.active {
					s.active = true
					s.e.connected.Add(1)
					s.e.everConnected(s.index)
				}
				return nil
			}
		}
	}
	s.e.stats.connectFailures.Add(1)
	return fmt.Errorf("%s: CONNECT: %w", s.id, errGaveUp)
}

// willTopic is the answer to WILLTOPICREQ; without a will, the empty WILLTOPIC (no will).
func (s *sensor) willTopic() packet.Message {
	w := s.g.spec.Will
	if w == nil {
		return &packet.WillTopic{}
	}
	return &packet.WillTopic{QoS: packet.QoS(w.QoS), Retain: w.Retain, Topic: s.g.expand(w.Topic, s)}
}

func (s *sensor) willMsg() packet.Message {
	w := s.g.spec.Will
	if w == nil {
		return &packet.WillMsg{}
	}
	return &packet.WillMsg{Payload: []byte(s.g.expand(w.Message, s))}
}

// subscribe runs SUBSCRIBE for every subscription of the group (§6.9).
func (s *sensor) subscribe(ctx context.Context) error {
	ids := s.g.subIDs[s.index-s.g.first][:0]
	for _, sub := range s.g.spec.Subscriptions {
		ref := s.g.topicRef(sub.Topic, sub.TopicIDType, sub.TopicID, s)
		msgID := s.nextMsgID()
		m, err := s.exchange(ctx, func(dup bool) packet.Message {
			return &packet.Subscribe{Dup: dup, QoS: packet.QoS(sub.QoS), TopicIDType: ref.kind, MsgID: msgID,
				TopicName: ref.wireName(), TopicID: ref.id}
		}, func(m packet.Message) bool { a, ok := m.(*packet.Suback); return ok && a.MsgID == msgID })
		if err != nil {
			return fmt.Errorf("%s: SUBSCRIBE %s: %w", s.id, ref.name, err)
		}
		if rc := m.(*packet.Suback).ReturnCode; rc != packet.Accepted {
			return fmt.Errorf("%s: SUBACK %s: %v", s.id, ref.name, rc)
		}
		ids = append(ids, m.(*packet.Suback).TopicID)
	}
	s.g.subIDs[s.index-s.g.first] = ids
	return nil
}

func (r topicRef) wireName() string {
	if r.kind == packet.TopicIDNormal {
		return r.name
	}
	return ""
}

// register obtains the topic id of the publish topic (§6.5).
func (s *sensor) register(ctx context.Context) error {
	if s.pubTopic.kind != packet.TopicIDNormal || s.registered {
		return nil
	}
	msgID := s.nextMsgID()
	m, err := s.exchange(ctx, func(bool) packet.Message {
		return &packet.Register{MsgID: msgID, TopicName: s.pubTopic.name}
	}, func(m packet.Message) bool { a, ok := m.(*packet.Regack); return ok && a.MsgID == msgID })
	if err != nil {
		return fmt.Errorf("%s: REGISTER %s: %w", s.id, s.pubTopic.name, err)
	}
	ack := m.(*packet.Regack)
	if ack.ReturnCode != packet.Accepted {
		return fmt.Errorf("%s: REGACK %s: %v", s.id, s.pubTopic.name, ack.ReturnCode)
	}
	s.pubTopic.id, s.registered = ack.TopicID, true
	return nil
}

// publish sends the sensor's next message and runs its QoS flow (§6.6). It records the message
// with the checker before it can possibly arrive.
func (s *sensor) publish(ctx context.Context) error {
	p := s.g.spec.Publish
	s.seqUp++
	seq := s.seqUp
	payload := s.g.payload(s, seq)
	s.e.checker.Sent(check.Uplink, s.index, seq, time.Now())
	q := packet.QoS(p.QoS)
	msgID := uint16(0)
	if q >= packet.QoS1 {
		msgID = s.nextMsgID()
	}
	build := func(dup bool) packet.Message {
		return &packet.Publish{Dup: dup, QoS: q, Retain: p.Retain, TopicIDType: s.pubTopic.kind,
			TopicID: s.pubTopic.id, MsgID: msgID, Data: payload}
	}
	if q <= packet.QoS0 {
		return s.send(build(false))
	}
	m, err := s.exchange(ctx, build, func(m packet.Message) bool {
		switch m := m.(type) {
		case *packet.Puback:
			return m.MsgID == msgID
		case *packet.Pubrec:
			return m.MsgID == msgID && q == packet.QoS2
		}
		return false
	})
	if err != nil {
		s.e.checker.Failed(check.Uplink, s.index, seq)
		if errors.Is(err, errGaveUp) {
			return nil // counted; the sensor carries on, as a real one would
		}
		return err
	}
	if ack, ok := m.(*packet.Puback); ok {
		if ack.ReturnCode != packet.Accepted {
			s.e.checker.Failed(check.Uplink, s.index, seq)
			s.e.stats.rejected.Add(1)
			if ack.ReturnCode == packet.InvalidTopicID {
				s.registered = false // §6.6: register again before the next publish
			}
			return nil
		}
		s.e.checker.Acked(check.Uplink, s.index, seq)
		return nil
	}
	// QoS 2: PUBREC received; PUBREL until PUBCOMP.
	_, err = s.exchange(ctx, func(bool) packet.Message { return &packet.Pubrel{MsgID: msgID} },
		func(m packet.Message) bool { c, ok := m.(*packet.Pubcomp); return ok && c.MsgID == msgID })
	if err != nil {
		s.e.checker.Failed(check.Uplink, s.index, seq)
		if errors.Is(err, errGaveUp) {
			return nil
		}
		return err
	}
	s.e.checker.Acked(check.Uplink, s.index, seq)
	return nil
}

// ping supervises the gateway during keep-alive (§6.11).
func (s *sensor) ping(ctx context.Context) error {
	_, err := s.exchange(ctx, func(bool) packet.Message { return &packet.Pingreq{} },
		func(m packet.Message) bool { return m.Type() == packet.TypePingresp })
	return err
}

// sleep asks to sleep for the group's duration (§6.14) and waits for the DISCONNECT ack.
func (s *sensor) sleep(ctx context.Context) error {
	d := uint16(s.g.spec.Sleep.Duration / time.Second)
	_, err := s.exchange(ctx, func(bool) packet.Message { return &packet.Disconnect{HasDuration: true, Duration: d} },
		func(m packet.Message) bool { return m.Type() == packet.TypeDisconnect })
	if err != nil {
		return err
	}
	if s.active {
		s.active = false
		s.e.connected.Add(-1)
	}
	s.e.asleep.Add(1)
	return nil
}

// poll wakes with PINGREQ(ClientId), takes the buffered messages and returns on PINGRESP
// (§6.14); the gateway restarts the sleep timer. The retry timer restarts on every message.
func (s *sensor) poll(ctx context.Context) error {
	for attempt := 0; attempt <= s.e.opts.Retries; attempt++ {
		if err := s.send(&packet.Pingreq{ClientID: s.id}); err != nil {
			return err
		}
		for {
			m, err := s.await(ctx, time.Now().Add(s.e.opts.RetryInterval), func(m packet.Message) bool { return true })
			if errors.Is(err, errTimeout) {
				break
			}
			if err != nil {
				return err
			}
			switch m.Type() {
			case packet.TypePingresp:
				return nil
			case packet.TypeDisconnect:
				// The gateway no longer knows us asleep (the sleep timer ran out, §6.14): the
				// session is lost; connect again.
				s.e.stats.disconnects.Add(1)
				return errDisconnected
			}
			if err := s.handle(m); err != nil {
				return err
			}
		}
		s.e.stats.retries.Add(1)
	}
	return fmt.Errorf("%s: PINGREQ while asleep: %w", s.id, errGaveUp)
}

// disconnect ends the session normally (no will).
func (s *sensor) disconnect(ctx context.Context) {
	_, _ = s.exchange(ctx, func(bool) packet.Message { return &packet.Disconnect{} },
		func(m packet.Message) bool { return m.Type() == packet.TypeDisconnect })
	if s.active {
		s.active = false
		s.e.connected.Add(-1)
	}
}

// idle handles incoming traffic until t.
func (s *sensor) idle(ctx context.Context, t time.Time) error {
	_, err := s.await(ctx, t, nil)
	if errors.Is(err, errTimeout) {
		return nil
	}
	return err
}
