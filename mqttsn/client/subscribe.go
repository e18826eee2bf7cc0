package client

import (
	"context"
	"fmt"
	"net"
	"strings"
	"time"

	"snbridge/mqttsn/packet"
)

// Subscription is what the gateway granted.
type Subscription struct {
	QoS     QoS    // granted
	TopicID uint16 // id of the topic in PUBLISH; 0 for a wildcard filter or a short name (§6.9)
}

// Subscribe subscribes to topic (§6.9) — a filter with + and # wildcards, a name from
// Options.PredefinedTopics (sent as its pre-defined id) or a two-character short name — at qos
// 0..2, and routes matching messages to handler (nil: Options.OnMessage). Handlers see every
// message of every subscription it matches. A rejection is returned as the packet.ReturnCode.
// SUBSCRIBE and UNSUBSCRIBE run one at a time (§6.9).
func (c *Client) Subscribe(ctx context.Context, topic string, qos QoS, handler Handler) (Subscription, error) {
	if qos < QoS0 || qos > QoS2 {
		return Subscription{}, fmt.Errorf("%w: subscribe at %v", ErrInvalidQoS, qos)
	}
	if !validFilter(topic) {
		return Subscription{}, fmt.Errorf("%w: filter %q", ErrInvalidTopic, topic)
	}
	if err := c.requireState(StateActive); err != nil {
		return Subscription{}, err
	}
	if err := c.acquire(ctx, c.subSem); err != nil {
		return Subscription{}, err
	}
	defer release(c.subSem)

	ref := c.classify(topic)
	sub := &subscription{filter: topic, typ: ref.typ, id: ref.id, qos: qos, handler: handler}
	// Route before asking: the first PUBLISH may overtake the SUBACK.
	c.mu.Lock()
	c.subs = append(c.subs, sub)
	c.mu.Unlock()

	msgID := c.nextMsgID()
	m := &packet.Subscribe{QoS: qos, TopicIDType: ref.typ, MsgID: msgID}
	if ref.typ == packet.TopicIDNormal {
		m.TopicName = topic
	} else {
		m.TopicID = ref.id
	}
	dup := *m
	dup.Dup = true
	reply, err := c.exchange(ctx, m, &dup, func(r packet.Message) bool {
		a, ok := r.(*packet.Suback)
		return ok && a.MsgID == msgID
	})
	if err == nil {
		err = reply.(*packet.Suback).ReturnCode.Err()
	}
	if err != nil {
		c.dropSub(sub)
		return Subscription{}, fmt.Errorf("mqtt-sn client: subscribe %q: %w", topic, err)
	}
	ack := reply.(*packet.Suback)
	if ref.typ == packet.TopicIDNormal && ack.TopicID != 0 && !strings.ContainsAny(topic, "+#") {
		c.remember(topic, ack.TopicID)
	}
	c.log.Debug("subscribed", "topic", topic, "granted", ack.QoS.String(), "topic_id", ack.TopicID)
	return Subscription{QoS: ack.QoS, TopicID: ack.TopicID}, nil
}

// Unsubscribe cancels a subscription made with the same topic (§6.9) and removes its handler.
func (c *Client) Unsubscribe(ctx context.Context, topic string) error {
	if !validFilter(topic) {
		return fmt.Errorf("%w: filter %q", ErrInvalidTopic, topic)
	}
	if err := c.requireState(StateActive); err != nil {
		return err
	}
	if err := c.acquire(ctx, c.subSem); err != nil {
		return err
	}
	defer release(c.subSem)
	ref := c.classify(topic)
	msgID := c.nextMsgID()
	m := &packet.Unsubscribe{TopicIDType: ref.typ, MsgID: msgID}
	if ref.typ == packet.TopicIDNormal {
		m.TopicName = topic
	} else {
		m.TopicID = ref.id
	}
	if _, err := c.exchange(ctx, m, m, func(r packet.Message) bool {
		a, ok := r.(*packet.Unsuback)
		return ok && a.MsgID == msgID
	}); err != nil {
		return fmt.Errorf("mqtt-sn client: unsubscribe %q: %w", topic, err)
	}
	c.mu.Lock()
	kept := c.subs[:0]
	for _, s := range c.subs {
		if s.filter != topic {
			kept = append(kept, s)
		}
	}
	clear(c.subs[len(kept):])
	c.subs = kept
	c.mu.Unlock()
	return nil
}

func (c *Client) dropSub(sub *subscription) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for i, s := range c.subs {
		if s == sub {
			c.subs = append(c.subs[:i], c.subs[i+1:]...)
			return
		}
	}
}

// validFilter checks an MQTT topic filter: non-empty, '#' only as the last level, '+' only as a
// whole level.
func validFilter(f string) bool {
	if f == "" {
		return false
	}
	levels := strings.Split(f, "/")
	for i, l := range levels {
		if strings.Contains(l, "#") && (l != "#" || i != len(levels)-1) {
			return false
		}
		if strings.Contains(l, "+") && l != "+" {
			return false
		}
	}
	return true
}

// matchTopic reports whether topic name matches filter (MQTT 3.1.1 §4.7; a filter starting with a
// wildcard does not match names starting with '$' [MQTT-4.7.2-1]).
func matchTopic(filter, name string) bool {
	if strings.HasPrefix(name, "$") && (strings.HasPrefix(filter, "+") || strings.HasPrefix(filter, "#")) {
		return false
	}
	for {
		fl, frest, fmore := strings.Cut(filter, "/")
		nl, nrest, nmore := strings.Cut(name, "/")
		switch {
		case fl == "#":
			return true
		case fl != "+" && fl != nl:
			return false
		}
		if !fmore || !nmore {
			// "a/#" also matches "a" [MQTT-4.7.1-2].
			return fmore == nmore || (fmore && frest == "#")
		}
		filter, name = frest, nrest
	}
}

// handle processes one datagram from the network (on the read goroutine).
func (c *Client) handle(datagram []byte, from net.Addr) {
	m, err := packet.Decode(datagram)
	if err != nil {
		c.log.Debug("dropped undecodable datagram", "from", from.String(), "err", err)
		return
	}
	switch m := m.(type) {
	case *packet.Advertise:
		if f := c.opts.OnAdvertise; f != nil {
			a := Advertisement{GatewayID: m.GatewayID, Interval: time.Duration(m.Duration) * time.Second, From: from}
			c.enqueue(func() { f(a) })
		}
		return
	case *packet.GWInfo:
		m.GatewayAddr = append([]byte(nil), m.GatewayAddr...) // it aliased the read buffer
		c.offer(&gwInfoFrom{GWInfo: *m, from: from})
		return
	case *packet.SearchGW:
		return // another client searching; answering on a gateway's behalf is not supported
	}
	if !sameAddr(from, c.Gateway()) {
		c.log.Debug("dropped datagram from a stranger", "from", from.String(), "type", m.Type().String())
		return
	}
	c.touchWaiters()
	switch m := m.(type) {
	case *packet.Publish:
		c.onPublish(m)
	case *packet.Pubrel:
		c.mu.Lock()
		delete(c.qos2In, m.MsgID)
		c.mu.Unlock()
		c.reply(&packet.Pubcomp{MsgID: m.MsgID})
	case *packet.Register:
		// The gateway announces the id it will use for a topic, e.g. before the first PUBLISH
		// matching a wildcard subscription (§6.10).
		c.remember(m.TopicName, m.TopicID)
		c.reply(&packet.Regack{TopicID: m.TopicID, MsgID: m.MsgID, ReturnCode: packet.Accepted})
	case *packet.Pingreq:
		c.reply(&packet.Pingresp{}) // §6.11: a client answers its gateway's PINGREQ
	default:
		if c.offer(m) {
			return
		}
		c.unsolicited(m)
	}
}

// unsolicited handles a reply nobody waits for.
func (c *Client) unsolicited(m packet.Message) {
	switch m := m.(type) {
	case *packet.Disconnect:
		if c.opts.AutoReconnect && c.State() == StateActive {
			c.connectionLost(ErrGatewayDisconnect)
			return
		}
		if was := c.State(); was != StateDisconnected {
			c.log.Warn("gateway disconnected the client", "state", was.String())
			c.setState(StateDisconnected)
			c.notifyLost(ErrGatewayDisconnect)
		}
	case *packet.Puback:
		// A rejection of a QoS 0 publish (erratum E6): re-register before the next one.
		if m.ReturnCode == packet.InvalidTopicID {
			c.forgetID(m.TopicID)
		}
		c.log.Debug("unsolicited PUBACK", "topic_id", m.TopicID, "msg_id", m.MsgID, "rc", m.ReturnCode.String())
	case *packet.Pubrec:
		c.reply(&packet.Pubrel{MsgID: m.MsgID}) // our PUBREL was lost
	default:
		c.log.Debug("unexpected message", "type", m.Type().String())
	}
}

func (c *Client) touchWaiters() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, w := range c.waiters {
		if w.touch != nil {
			select {
			case w.touch <- struct{}{}:
			default:
			}
		}
	}
}

func (c *Client) reply(m packet.Message) {
	if err := c.send(m); err != nil {
		c.log.Debug("reply failed", "type", m.Type().String(), "err", err)
	}
}

// onPublish acknowledges an incoming PUBLISH at its QoS and queues it for the handlers; a QoS 2
// retransmission is acknowledged again but not delivered twice.
func (c *Client) onPublish(p *packet.Publish) {
	msg := Message{TopicIDType: p.TopicIDType, TopicID: p.TopicID, QoS: p.QoS, Retain: p.Retain, Dup: p.Dup}
	c.mu.Lock()
	known := true
	switch p.TopicIDType {
	case packet.TopicIDNormal:
		msg.Topic, known = c.byID[p.TopicID]
	case packet.TopicIDPredefined:
		msg.Topic = c.predef[p.TopicID]
	case packet.TopicIDShort:
		msg.Topic = packet.ShortTopicName(p.TopicID)
	default:
		known = false
	}
	_, seen := c.qos2In[p.MsgID]
	seen = seen && p.QoS == QoS2
	var handlers []Handler
	if known && !seen {
		handlers = c.handlersFor(msg)
	}
	c.mu.Unlock()

	if !known {
		// §6.10: an unknown topic id is answered with PUBACK "invalid topic ID" at any QoS.
		c.log.Info("PUBLISH on an unknown topic id", "topic_id", p.TopicID, "type", p.TopicIDType.String())
		c.reply(&packet.Puback{TopicID: p.TopicID, MsgID: p.MsgID, ReturnCode: packet.InvalidTopicID})
		return
	}
	if seen {
		c.reply(&packet.Pubrec{MsgID: p.MsgID})
		return
	}
	msg.Payload = append([]byte(nil), p.Data...) // p.Data aliases the read buffer
	if !c.enqueue(func() { deliver(msg, handlers) }) {
		// Not acknowledged: the gateway retransmits QoS 1/2 later; QoS 0 is lost.
		c.log.Warn("handler queue full: message dropped", "topic", msg.Topic, "qos", msg.QoS.String())
		return
	}
	switch p.QoS {
	case QoS1:
		c.reply(&packet.Puback{TopicID: p.TopicID, MsgID: p.MsgID, ReturnCode: packet.Accepted})
	case QoS2:
		c.mu.Lock()
		c.qos2In[p.MsgID] = struct{}{}
		c.mu.Unlock()
		c.reply(&packet.Pubrec{MsgID: p.MsgID})
	}
}

// handlersFor returns the handlers of the subscriptions msg matches, or OnMessage. c.mu is held.
func (c *Client) handlersFor(msg Message) []Handler {
	var hs []Handler
	for _, s := range c.subs {
		var match bool
		switch {
		case s.typ == packet.TopicIDPredefined:
			match = msg.TopicIDType == packet.TopicIDPredefined && msg.TopicID == s.id
		case msg.Topic != "":
			match = matchTopic(s.filter, msg.Topic)
		}
		if match {
			h := s.handler
			if h == nil {
				h = c.opts.OnMessage
			}
			if h != nil {
				hs = append(hs, h)
			}
		}
	}
	if len(hs) == 0 && c.opts.OnMessage != nil {
		hs = append(hs, c.opts.OnMessage)
	}
	return hs
}

func deliver(m Message, hs []Handler) {
	for _, h := range hs {
		h(m)
	}
}
