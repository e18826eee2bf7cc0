package client

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"snbridge/mqttsn/packet"
)

// topicRef is a topic as PUBLISH, SUBSCRIBE and UNSUBSCRIBE carry it.
type topicRef struct {
	typ  packet.TopicIDType
	id   uint16
	name string
}

// classify picks how a topic name travels: a pre-defined id when Options.PredefinedTopics has
// it, a short name when it has exactly two characters and no wildcard, a normal (registered)
// name otherwise (§6.7).
func (c *Client) classify(name string) topicRef {
	if id, ok := c.opts.PredefinedTopics[name]; ok {
		return topicRef{typ: packet.TopicIDPredefined, id: id, name: name}
	}
	if !strings.ContainsAny(name, "+#") {
		if id, ok := packet.ShortTopicID(name); ok {
			return topicRef{typ: packet.TopicIDShort, id: id, name: name}
		}
	}
	return topicRef{typ: packet.TopicIDNormal, name: name}
}

// Register returns the topic id of name, registering it with the gateway (REGISTER → REGACK,
// §6.5) unless it is already known — registered before, or announced by the gateway.
func (c *Client) Register(ctx context.Context, name string) (uint16, error) {
	if name == "" || strings.ContainsAny(name, "+#") {
		return 0, fmt.Errorf("%w: cannot register %q", ErrInvalidTopic, name)
	}
	if id, ok := c.registered(name); ok {
		return id, nil
	}
	if err := c.requireState(StateActive); err != nil {
		return 0, err
	}
	if err := c.acquire(ctx, c.regSem); err != nil {
		return 0, err
	}
	defer release(c.regSem)
	if id, ok := c.registered(name); ok { // registered while we waited for the slot
		return id, nil
	}
	msgID := c.nextMsgID()
	reg := &packet.Register{MsgID: msgID, TopicName: name}
	reply, err := c.exchange(ctx, reg, reg, func(m packet.Message) bool {
		a, ok := m.(*packet.Regack)
		return ok && a.MsgID == msgID
	})
	if err != nil {
		return 0, fmt.Errorf("mqtt-sn client: register %q: %w", name, err)
	}
	ack := reply.(*packet.Regack)
	if err := ack.ReturnCode.Err(); err != nil {
		return 0, fmt.Errorf("mqtt-sn client: register %q: %w", name, err)
	}
	c.remember(name, ack.TopicID)
	c.log.Debug("registered", "topic", name, "topic_id", ack.TopicID)
	return ack.TopicID, nil
}

func (c *Client) registered(name string) (uint16, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	id, ok := c.byName[name]
	return id, ok
}

func (c *Client) remember(name string, id uint16) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if old, ok := c.byName[name]; ok {
		delete(c.byID, old)
	}
	if old, ok := c.byID[id]; ok {
		delete(c.byName, old)
	}
	c.byName[name] = id
	c.byID[id] = name
}

// forgetID drops a registration the gateway rejected with PUBACK 0x02 (§6.6).
func (c *Client) forgetID(id uint16) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if name, ok := c.byID[id]; ok {
		delete(c.byName, name)
		delete(c.byID, id)
	}
}

// Publish sends payload to topic at qos (§6.6):
//
//   - topic is a name: a pre-defined id is used when Options.PredefinedTopics has it, a short
//     topic when it has exactly two characters, otherwise it is registered first (once, cached);
//   - QoS 0 returns once sent; QoS 1 once PUBACK arrives; QoS 2 once PUBCOMP arrives; lost
//     replies are retransmitted with DUP set every RetryInterval, MaxRetries times;
//   - QoS −1 needs no connection but only pre-defined and short topics (§6.8);
//   - a PUBACK "invalid topic ID" makes the client register the name again and publish once
//     more; a rejection is returned as the packet.ReturnCode (packet.Congestion: back off T_WAIT).
//
// Only one QoS 1 or 2 publish is in flight at a time (§6.6); concurrent calls wait their turn.
func (c *Client) Publish(ctx context.Context, topic string, payload []byte, qos QoS, retain bool) error {
	if !qos.Valid() {
		return fmt.Errorf("%w: %v", ErrInvalidQoS, qos)
	}
	if topic == "" || strings.ContainsAny(topic, "+#") {
		return fmt.Errorf("%w: cannot publish to %q", ErrInvalidTopic, topic)
	}
	ref := c.classify(topic)
	if qos == QoSMinus1 {
		if ref.typ == packet.TopicIDNormal {
			return fmt.Errorf("%w: QoS -1 needs a pre-defined or two-character topic, not %q", ErrInvalidTopic, topic)
		}
		return c.sendPublish(&packet.Publish{QoS: qos, Retain: retain, TopicIDType: ref.typ, TopicID: ref.id, Data: payload})
	}
	if err := c.requireState(StateActive); err != nil {
		return err
	}
	if qos == QoS0 {
		if err := c.resolve(ctx, &ref); err != nil {
			return err
		}
		return c.sendPublish(&packet.Publish{Retain: retain, TopicIDType: ref.typ, TopicID: ref.id, Data: payload})
	}

	if err := c.acquire(ctx, c.pubSem); err != nil {
		return err
	}
	defer release(c.pubSem)
	for attempt := 0; ; attempt++ {
		if err := c.resolve(ctx, &ref); err != nil {
			return err
		}
		err := c.publishQoS12(ctx, ref, payload, qos, retain)
		if errors.Is(err, packet.InvalidTopicID) && ref.typ == packet.TopicIDNormal && attempt == 0 {
			c.log.Info("gateway forgot the topic id; registering again", "topic", topic, "topic_id", ref.id)
			c.forgetID(ref.id)
			ref.id = 0
			continue
		}
		if err != nil {
			return fmt.Errorf("mqtt-sn client: publish %q: %w", topic, err)
		}
		return nil
	}
}

// resolve fills ref.id for a normal topic, registering it when needed.
func (c *Client) resolve(ctx context.Context, ref *topicRef) error {
	if ref.typ != packet.TopicIDNormal || ref.id != 0 {
		return nil
	}
	id, err := c.Register(ctx, ref.name)
	ref.id = id
	return err
}

// publishQoS12 runs one QoS 1 or 2 flow; the caller holds pubSem.
func (c *Client) publishQoS12(ctx context.Context, ref topicRef, payload []byte, qos QoS, retain bool) error {
	msgID := c.nextMsgID()
	first := &packet.Publish{QoS: qos, Retain: retain, TopicIDType: ref.typ, TopicID: ref.id, MsgID: msgID, Data: payload}
	dup := *first
	dup.Dup = true
	reply, err := c.exchange(ctx, first, &dup, func(m packet.Message) bool {
		switch m := m.(type) {
		case *packet.Puback: // the QoS 1 answer, or a rejection at any QoS
			return m.MsgID == msgID
		case *packet.Pubrec:
			return qos == QoS2 && m.MsgID == msgID
		}
		return false
	})
	if err != nil {
		return err
	}
	if ack, ok := reply.(*packet.Puback); ok {
		return ack.ReturnCode.Err()
	}
	// QoS 2, PUBREC received: release it (§6.6 follows MQTT's QoS 2 flow).
	rel := &packet.Pubrel{MsgID: msgID}
	_, err = c.exchange(ctx, rel, rel, func(m packet.Message) bool {
		p, ok := m.(*packet.Pubcomp)
		return ok && p.MsgID == msgID
	})
	return err
}
