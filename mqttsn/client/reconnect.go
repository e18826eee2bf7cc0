package client

import (
	"context"
	"errors"
	"fmt"
	"net"
	"slices"
	"time"

	"snbridge/mqttsn/packet"
)

// UseGateway makes gw the client's gateway from now on: typically the sender of the GWINFO that
// SearchGateway returned (§6.1), when the client was made with a broadcast address. Topic ids and
// subscriptions belong to a gateway, so they are forgotten: Connect, then Subscribe again. It is
// refused while the client is connected or asleep (Disconnect first).
func (c *Client) UseGateway(gw net.Addr) error {
	if gw == nil {
		return errors.New("mqtt-sn client: UseGateway: nil address")
	}
	if s := c.State(); s != StateDisconnected && s != StateLost {
		return fmt.Errorf("mqtt-sn client: UseGateway while %v (Disconnect first)", s)
	}
	c.switchGateway(gw)
	return nil
}

// switchGateway moves the client to gw, forgetting what belonged to the previous gateway.
func (c *Client) switchGateway(gw net.Addr) {
	if sameAddr(gw, c.Gateway()) {
		return
	}
	c.forgetSession()
	c.gw.Store(&gw)
	c.log.Info("gateway changed", "to", gw.String())
}

// forgetSession drops what the gateway's session held for the client: topic ids, subscriptions,
// QoS 2 receptions (a clean session, §6.3, or another gateway).
func (c *Client) forgetSession() {
	c.mu.Lock()
	defer c.mu.Unlock()
	clear(c.byName)
	clear(c.byID)
	clear(c.qos2In)
	c.subs = nil
}

// connectionLost ends an active connection that the gateway stopped serving (§6.11 keep-alive,
// §6.13 retries exhausted, §6.12 an unsolicited DISCONNECT with AutoReconnect): the client is
// lost, the application told, and with AutoReconnect keepAliveLoop starts reconnecting.
func (c *Client) connectionLost(err error) {
	c.mu.Lock()
	active := c.state == StateActive
	if active {
		c.state = StateLost
	}
	c.mu.Unlock()
	if !active {
		return
	}
	select {
	case c.kick <- struct{}{}:
	default:
	}
	c.log.Warn("gateway lost", "err", err, "reconnect", c.opts.AutoReconnect)
	c.notifyLost(err)
}

// errTakenOver: the application connected or disconnected the client during a reconnection.
var errTakenOver = errors.New("mqtt-sn client: no longer lost")

// reconnect connects a lost client again (AutoReconnect): after RetryInterval, then at doubling
// intervals up to WaitInterval, and WaitInterval (T_WAIT) after a "congestion" refusal. It returns
// once connected, or when the client is closed or no longer lost (the application called
// Connect, Disconnect or UseGateway itself).
func (c *Client) reconnect() {
	c.mu.Lock()
	subs := slices.Clone(c.subs) // the subscriptions to restore, whatever happens on the way
	c.mu.Unlock()
	delay := c.opts.RetryInterval
	for {
		if !c.pause(delay) {
			return
		}
		err := c.reconnectOnce(subs)
		switch {
		case err == nil:
			c.log.Info("reconnected", "gateway", c.Gateway().String())
			if f := c.opts.OnReconnect; f != nil && !c.enqueue(f) {
				c.log.Warn("handler queue full: OnReconnect dropped")
			}
			return
		case errors.Is(err, ErrClosed), errors.Is(err, errTakenOver):
			return
		case errors.Is(err, packet.Congestion):
			delay = c.opts.WaitInterval // §6.2: wait at least T_WAIT after "congestion"
		default:
			delay = min(2*delay, c.opts.WaitInterval)
		}
		c.log.Info("reconnection failed", "err", err, "next_in", delay)
	}
}

// reconnectOnce makes one attempt: look for a gateway when SearchAddr is set (§6.13: another
// gateway first), connect, then subscribe again. Even a persistent session is subscribed again:
// MQTT-SN's CONNACK does not say whether the gateway still had it (one restarted without a
// store has not), and a retained message sent again is better than subscriptions silently gone.
// Every step gives up with ErrClosed when the client is closed.
func (c *Client) reconnectOnce(subs []*subscription) error {
	ctx := context.Background()
	if c.opts.SearchAddr != nil {
		info, err := c.SearchGateway(ctx, 1)
		if err == nil && len(info.Address) == 0 && !sameAddr(info.From, c.Gateway()) {
			c.switchGateway(info.From) // a gateway answered for itself: its address is the sender's
		}
	}
	if c.State() != StateLost {
		return errTakenOver
	}
	if err := c.Connect(ctx); err != nil {
		return err
	}
	c.mu.Lock()
	c.subs = nil
	c.mu.Unlock()
	for _, s := range subs {
		_, err := c.Subscribe(ctx, s.filter, s.qos, s.handler)
		if rc := packet.ReturnCode(0); errors.As(err, &rc) {
			c.log.Warn("subscription refused after reconnection", "topic", s.filter, "err", err)
			continue // the connection is fine; the others are restored
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// pause waits d; it reports false if meanwhile the client closed or stopped being lost.
func (c *Client) pause(d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	for {
		select {
		case <-t.C:
			return c.State() == StateLost
		case <-c.kick:
			if c.State() != StateLost {
				return false
			}
		case <-c.closed:
			return false
		}
	}
}
