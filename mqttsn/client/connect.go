package client

import (
	"context"
	"fmt"
	"time"

	"snbridge/mqttsn/packet"
)

// Connect opens a connection (§6.2): CONNECT, then — when Options.Will is set — the will
// handshake (WILLTOPICREQ → WILLTOPIC, WILLMSGREQ → WILLMSG), then CONNACK. A rejection is
// returned as the packet.ReturnCode (e.g. packet.Congestion: wait T_WAIT before trying again).
// With CleanSession the client forgets its topic registrations and subscriptions, as the
// gateway does (§6.3). Calling Connect while connected restarts the connection.
func (c *Client) Connect(ctx context.Context) error {
	will := c.opts.Will
	conn := &packet.Connect{
		Will:         will != nil,
		CleanSession: c.opts.CleanSession,
		ProtocolID:   packet.ProtocolID,
		Duration:     uint16(c.keepAlive / time.Second),
		ClientID:     c.opts.ClientID,
	}
	if err := c.connect(ctx, conn); err != nil {
		return err
	}
	if c.opts.CleanSession {
		c.forgetSession()
	}
	c.setState(StateActive)
	c.log.Info("connected", "clean_session", c.opts.CleanSession, "will", will != nil, "keep_alive", c.keepAlive)
	return nil
}

// Wake returns a sleeping client to the active state with a CONNECT that carries neither the
// Will nor the CleanSession flag, so the session and will the gateway kept are untouched (§6.14).
func (c *Client) Wake(ctx context.Context) error {
	if err := c.requireState(StateAsleep, StateAwake, StateActive); err != nil {
		return err
	}
	conn := &packet.Connect{ProtocolID: packet.ProtocolID, Duration: uint16(c.keepAlive / time.Second), ClientID: c.opts.ClientID}
	if err := c.connect(ctx, conn); err != nil {
		return err
	}
	c.setState(StateActive)
	c.log.Info("awake and active")
	return nil
}

// connect runs CONNECT … CONNACK, answering the gateway's will prompts.
func (c *Client) connect(ctx context.Context, conn *packet.Connect) error {
	if c.opts.ClientID == "" {
		return fmt.Errorf("mqtt-sn client: Options.ClientID is empty")
	}
	w := c.addWaiter(func(m packet.Message) bool {
		switch m.(type) {
		case *packet.Connack, *packet.WillTopicReq, *packet.WillMsgReq:
			return true
		}
		return false
	}, false)
	defer c.removeWaiter(w)
	if err := c.send(conn); err != nil {
		return err
	}
	var last packet.Message = conn // what to retransmit when the gateway goes quiet
	for {
		m, err := c.await(ctx, w, last)
		if err != nil {
			return fmt.Errorf("mqtt-sn client: connect: %w", err)
		}
		switch m := m.(type) {
		case *packet.Connack:
			if err := m.ReturnCode.Err(); err != nil {
				return fmt.Errorf("mqtt-sn client: connect refused: %w", err)
			}
			return nil
		case *packet.WillTopicReq:
			last = &packet.WillTopic{} // no will: the empty WILLTOPIC (§6.3)
			if will := c.opts.Will; will != nil && conn.Will {
				last = &packet.WillTopic{QoS: will.QoS, Retain: will.Retain, Topic: will.Topic}
			}
		case *packet.WillMsgReq:
			var payload []byte
			if c.opts.Will != nil {
				payload = c.opts.Will.Payload
			}
			last = &packet.WillMsg{Payload: payload}
		}
		if err := c.send(last); err != nil {
			return err
		}
	}
}

// Disconnect ends the connection (§6.12): DISCONNECT, answered by DISCONNECT. The gateway keeps
// a persistent session; the will is not published. The client stays usable: Connect again.
// A lost client is only marked disconnected, which ends AutoReconnect's attempts.
func (c *Client) Disconnect(ctx context.Context) error {
	c.mu.Lock()
	wasLost := c.state == StateLost
	c.mu.Unlock()
	if wasLost {
		c.setState(StateDisconnected) // the gateway is unreachable: nothing to tell it
		return nil
	}
	if err := c.requireState(StateActive, StateAsleep, StateAwake); err != nil {
		return err
	}
	d := &packet.Disconnect{}
	_, err := c.exchange(ctx, d, d, isDisconnect)
	// Whatever the gateway said, we are done talking to it.
	c.setState(StateDisconnected)
	if err != nil {
		return fmt.Errorf("mqtt-sn client: disconnect: %w", err)
	}
	c.log.Info("disconnected")
	return nil
}

// Sleep asks the gateway to hold messages for up to d (whole seconds, 1 s to 65535 s) while the
// client sleeps (§6.14): DISCONNECT with Duration, answered by DISCONNECT. Keep-alive stops; call
// Poll before d runs out to fetch buffered messages and stay asleep, or Wake to become active.
func (c *Client) Sleep(ctx context.Context, d time.Duration) error {
	secs := (d + time.Second - 1) / time.Second
	if secs < 1 || secs > 65535 {
		return fmt.Errorf("mqtt-sn client: sleep duration %v outside 1 s..65535 s", d)
	}
	if err := c.requireState(StateActive, StateAsleep, StateAwake); err != nil {
		return err
	}
	m := &packet.Disconnect{Duration: uint16(secs), HasDuration: true}
	if _, err := c.exchange(ctx, m, m, isDisconnect); err != nil {
		return fmt.Errorf("mqtt-sn client: sleep: %w", err)
	}
	c.setState(StateAsleep)
	c.log.Info("asleep", "duration", time.Duration(secs)*time.Second)
	return nil
}

// Poll wakes a sleeping client briefly (§6.14): PINGREQ with the client id; the gateway sends the
// messages it buffered — acknowledged and handed to handlers as usual — and ends with PINGRESP.
// Poll returns once the handlers of those messages have run, the client asleep again. A gateway
// that no longer knows the client answers DISCONNECT: Poll returns ErrGatewayDisconnect and the
// client is disconnected (Connect to start again).
func (c *Client) Poll(ctx context.Context) error {
	c.mu.Lock()
	if c.state != StateAsleep {
		c.mu.Unlock()
		return ErrNotAsleep
	}
	c.state = StateAwake
	c.mu.Unlock()
	after := StateAsleep
	defer func() { c.setState(after) }()

	w := c.addWaiter(func(m packet.Message) bool { return isPingresp(m) || isDisconnect(m) }, true)
	defer c.removeWaiter(w)
	ping := &packet.Pingreq{ClientID: c.opts.ClientID}
	if err := c.send(ping); err != nil {
		return err
	}
	m, err := c.await(ctx, w, ping)
	if err != nil {
		return fmt.Errorf("mqtt-sn client: poll: %w", err)
	}
	if isDisconnect(m) { // the gateway holds no session for us (any more, §6.12): Connect again
		after = StateDisconnected
		return fmt.Errorf("mqtt-sn client: poll: %w", ErrGatewayDisconnect)
	}
	return c.barrier(ctx)
}

// Ping sends PINGREQ and waits for PINGRESP (with retries): a check that the gateway is there.
func (c *Client) Ping(ctx context.Context) error {
	if err := c.requireState(StateActive); err != nil {
		return err
	}
	p := &packet.Pingreq{}
	if _, err := c.exchange(ctx, p, p, isPingresp); err != nil {
		return fmt.Errorf("mqtt-sn client: ping: %w", err)
	}
	return nil
}

func isDisconnect(m packet.Message) bool { _, ok := m.(*packet.Disconnect); return ok }
func isPingresp(m packet.Message) bool   { _, ok := m.(*packet.Pingresp); return ok }

// keepAliveLoop pings the gateway when the client has sent nothing for a keep-alive period while
// active (§6.11); when the ping goes unanswered after the retries, the client is lost. A lost
// client with AutoReconnect is connected again from here.
func (c *Client) keepAliveLoop() {
	defer c.wg.Done()
	for {
		switch s := c.State(); {
		case s == StateLost && c.opts.AutoReconnect:
			c.reconnect()
			select {
			case <-c.closed:
				return
			default:
				continue
			}
		case s != StateActive || c.keepAlive <= 0:
			select {
			case <-c.kick:
				continue
			case <-c.closed:
				return
			}
		}
		idle := time.Since(time.Unix(0, c.lastSend.Load()))
		if idle < c.keepAlive {
			t := time.NewTimer(c.keepAlive - idle)
			select {
			case <-t.C:
			case <-c.kick:
				t.Stop()
			case <-c.closed:
				t.Stop()
				return
			}
			continue
		}
		p := &packet.Pingreq{}
		_, err := c.exchange(context.Background(), p, p, isPingresp)
		if err == nil {
			continue
		}
		select {
		case <-c.closed:
			return
		default:
		}
		c.connectionLost(fmt.Errorf("mqtt-sn client: keep-alive: %w", err))
	}
}
