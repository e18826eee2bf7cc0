package client

import (
	"context"
	"fmt"

	"snbridge/mqttsn/packet"
)

// WillTopicUpdate replaces the will topic, QoS and retain flag stored by the gateway (§6.4);
// an empty topic deletes the will topic and message. The gateway's rejection is returned as the
// packet.ReturnCode.
func (c *Client) WillTopicUpdate(ctx context.Context, topic string, qos QoS, retain bool) error {
	if topic == "" && (qos != QoS0 || retain) {
		return fmt.Errorf("%w: deleting the will (empty topic) takes no QoS or retain", ErrInvalidTopic)
	}
	if qos < QoS0 || qos > QoS2 {
		return fmt.Errorf("%w: will at %v", ErrInvalidQoS, qos)
	}
	if err := c.requireState(StateActive); err != nil {
		return err
	}
	m := &packet.WillTopicUpd{QoS: qos, Retain: retain, Topic: topic}
	reply, err := c.exchange(ctx, m, m, func(r packet.Message) bool { _, ok := r.(*packet.WillTopicResp); return ok })
	if err == nil {
		err = reply.(*packet.WillTopicResp).ReturnCode.Err()
	}
	if err != nil {
		return fmt.Errorf("mqtt-sn client: will topic update: %w", err)
	}
	return nil
}

// WillMessageUpdate replaces the will message stored by the gateway (§6.4).
func (c *Client) WillMessageUpdate(ctx context.Context, payload []byte) error {
	if err := c.requireState(StateActive); err != nil {
		return err
	}
	m := &packet.WillMsgUpd{Payload: payload}
	reply, err := c.exchange(ctx, m, m, func(r packet.Message) bool { _, ok := r.(*packet.WillMsgResp); return ok })
	if err == nil {
		err = reply.(*packet.WillMsgResp).ReturnCode.Err()
	}
	if err != nil {
		return fmt.Errorf("mqtt-sn client: will message update: %w", err)
	}
	return nil
}
