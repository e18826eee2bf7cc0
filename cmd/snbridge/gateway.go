package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net"
	"sync"

	"snbridge/mqtt/broker"
	"snbridge/mqttsn/gateway"
	"snbridge/mqttsn/session"
	"snbridge/mqttsn/topics"
)

// gatewayRun is the MQTT-SN gateway running beside the broker.
type gatewayRun struct {
	// brokerCtx is the context to serve the broker with: it ends after the run's context, once
	// the gateway has stopped and detached its sensors (SIGTERM stops the gateway first, so no
	// sensor sees the broker go away under it and the persistent sessions are left intact).
	brokerCtx    context.Context
	brokerCancel context.CancelFunc
	stop         context.CancelFunc
	done         chan struct{}
	err          error
}

// wait stops the gateway if it still runs (the broker ended first) and returns its error.
func (r *gatewayRun) wait() error {
	r.stop()
	<-r.done
	r.brokerCancel()
	return r.err
}

// startGateway opens the MQTT-SN UDP listener of cfg (mqttsn.udp; "" = off) and serves it with
// a gateway attached to b as soon as b serves, until ctx ends. An address that cannot be opened,
// or a bad predefined-topics file, is an error and nothing is started.
func startGateway(ctx context.Context, cfg Config, b *broker.Broker, log *slog.Logger) (*gatewayRun, error) {
	bctx, bcancel := context.WithCancel(context.WithoutCancel(ctx))
	gctx, stop := context.WithCancel(ctx)
	r := &gatewayRun{brokerCtx: bctx, brokerCancel: bcancel, stop: stop, done: make(chan struct{})}
	if cfg.MQTTSN.UDP == "" {
		// No gateway: the broker stops with ctx.
		context.AfterFunc(ctx, bcancel)
		close(r.done)
		return r, nil
	}
	gcfg, err := gatewayConfig(cfg, log)
	if err != nil {
		stop()
		bcancel()
		return nil, err
	}
	// With SO_BROADCAST: ADVERTISE goes to a broadcast address (by default 255.255.255.255),
	// which Linux refuses to send to otherwise (EACCES).
	conn, err := gateway.ListenUDP(ctx, cfg.MQTTSN.UDP)
	if err != nil {
		stop()
		bcancel()
		return nil, fmt.Errorf("mqtt-sn listener: %w", err)
	}
	// A burst of sensors outruns the read loop for a moment; the kernel caps this at rmem_max.
	_ = conn.SetReadBuffer(4 << 20)
	if gcfg.AdvertiseInterval > 0 {
		addr := cfg.MQTTSN.AdvertiseAddress
		if addr == "" {
			_, port, _ := net.SplitHostPort(conn.LocalAddr().String())
			addr = net.JoinHostPort("255.255.255.255", port)
		}
		if gcfg.AdvertiseAddr, err = net.ResolveUDPAddr("udp", addr); err != nil {
			conn.Close()
			stop()
			bcancel()
			return nil, fmt.Errorf("mqttsn.advertise_address: %w", err)
		}
	}
	g := gateway.New(gcfg, brokerAdapter{b})
	log.Info("listening", "listener", "mqttsn", "addr", conn.LocalAddr().String(), "predefined", gcfg.Predefined.Len())
	go func() {
		defer close(r.done)
		defer bcancel() // after the gateway: the broker stops last
		defer conn.Close()
		select {
		case <-b.Ready(): // the broker's committer runs: QoS 1/2 publishes can be made durable
		case <-gctx.Done():
			return
		}
		if err := g.Serve(gctx, conn); err != nil {
			r.err = fmt.Errorf("mqtt-sn gateway: %w", err)
			log.Error("mqtt-sn gateway failed; stopping", "err", err)
		}
	}()
	return r, nil
}

// gatewayConfig is the gateway's configuration from the mqttsn section of cfg (and limits where
// the section defers to them), translating the config file's zero values into the gateway's.
func gatewayConfig(cfg Config, log *slog.Logger) (gateway.Config, error) {
	m := cfg.MQTTSN
	pre := &topics.PredefinedTable{}
	if m.PredefinedFile != "" {
		var err error
		if pre, err = topics.LoadPredefined(m.PredefinedFile); err != nil {
			return gateway.Config{}, fmt.Errorf("mqttsn.predefined_file: %w", err)
		}
	}
	for i, p := range m.Predefined {
		if err := pre.Add(p.Client, p.Topic, p.ID); err != nil {
			return gateway.Config{}, fmt.Errorf("mqttsn.predefined[%d]: %w", i, err)
		}
	}
	s := session.Config{
		Predefined:    pre,
		MaxTopics:     m.MaxTopicsPerClient,
		RetryInterval: m.RetryInterval,
		MaxRetries:    m.MaxRetries,
		MaxIdle:       m.KeepaliveMaxIdle,
		SleepBuffer:   m.MaxSleepBuffer,
	}
	if s.MaxTopics == 0 {
		s.MaxTopics = 0xFFFF - 2 // no limit: every id but 0x0000 and 0xFFFF
	}
	if s.MaxRetries == 0 {
		s.MaxRetries = -1 // the file's 0 is "send once"; the session's 0 is its default
	}
	if s.MaxIdle == 0 {
		s.MaxIdle = -1 // no limit: any keep-alive accepted, a keep-alive-0 sensor never lost for silence
	}
	if s.SleepBuffer == 0 {
		s.SleepBuffer = cfg.Limits.MaxQueued
	}
	if s.SleepBuffer == 0 {
		s.SleepBuffer = math.MaxInt32 // limits.max_queued 0: no limit
	}
	g := gateway.Config{
		Config:            s,
		GatewayID:         m.GatewayID,
		AdvertiseInterval: m.AdvertiseInterval,
		MaxClients:        cfg.Limits.MaxConnections,
		Logger:            log,
	}
	if g.MaxClients == 0 {
		g.MaxClients = math.MaxInt // limits.max_connections 0: no limit
	}
	return g, nil
}

// This file wires the MQTT-SN gateway to the broker core (DESIGN §3: only cmd wires). The
// gateway declares the broker it needs (gateway.Broker, gateway.BrokerSession, gateway.Handler)
// with its own types; brokerAdapter, localSession and localHandler translate to and from
// broker.ConnectLocal and *broker.LocalClient. Messages and wills have the same fields on both
// sides, so they are converted, not copied.

// brokerAdapter is a *broker.Broker as the gateway reaches it.
type brokerAdapter struct{ b *broker.Broker }

// Connect is broker.ConnectLocal. Sensors are anonymous local clients (Username "").
func (a brokerAdapter) Connect(opts gateway.ConnectOptions, h gateway.Handler) (gateway.BrokerSession, bool, error) {
	lc, present, err := a.b.ConnectLocal(broker.LocalOptions{
		ClientID:     opts.ClientID,
		CleanSession: opts.CleanSession,
		Will:         (*broker.Will)(opts.Will),
		QueueQoS0:    opts.QueueQoS0,
		MaxInflight:  opts.MaxInflight,
	}, localHandler{h})
	if err != nil {
		return nil, false, brokerError(err)
	}
	return (*localSession)(lc), present, nil
}

// DetachedData and LoseDetached make the adapter a gateway.DetachedSessions: the gateway times
// out the sensors that were asleep when snbridge stopped, even if they never come back.
func (a brokerAdapter) DetachedData(key string) map[string][]byte { return a.b.DetachedData(key) }

func (a brokerAdapter) LoseDetached(clientID, key string, value []byte, will *gateway.Will) bool {
	return a.b.LoseDetached(clientID, key, value, (*broker.Will)(will))
}

// brokerError gives a broker error the gateway's meaning: an ACL refusal becomes
// gateway.ErrNotAuthorized (return code 0x03), anything else stays as it is (0x01, congestion).
func brokerError(err error) error {
	if err != nil && errors.Is(err, broker.ErrNotAuthorized) && !errors.Is(err, gateway.ErrNotAuthorized) {
		return fmt.Errorf("%w: %w", gateway.ErrNotAuthorized, err)
	}
	return err
}

// localHandler is a gateway.Handler as the broker calls it (broker.LocalHandler).
type localHandler struct{ h gateway.Handler }

func (l localHandler) Deliver(m broker.Message, packetID uint16) {
	l.h.Deliver(gateway.Message(m), packetID)
}

func (l localHandler) Closed(reason error) { l.h.Closed(reason) }

// Release makes localHandler a broker.LocalReleaser: QoS 2 PUBREL resends reach the gateway.
func (l localHandler) Release(packetID uint16) { l.h.Release(packetID) }

// localSession is a *broker.LocalClient with the gateway's method set: the same pointer under
// another type, so an attached sensor costs no adapter allocation.
type localSession broker.LocalClient

func (s *localSession) lc() *broker.LocalClient { return (*broker.LocalClient)(s) }

func (s *localSession) Publish(m gateway.Message, done func(error)) {
	if done == nil {
		s.lc().Publish(broker.Message(m), nil)
		return
	}
	d, _ := publishDonePool.Get().(*publishDone)
	if d == nil {
		d = new(publishDone)
		d.fn = d.call
	}
	d.done = done
	s.lc().Publish(broker.Message(m), d.fn)
}

// publishDone passes the broker's verdict on one publish to the gateway's done, with the
// gateway's meaning. It is pooled with its callback bound once, so that a QoS 1/2 publish
// allocates none; the broker calls done exactly once.
type publishDone struct {
	done func(error)
	fn   func(error) // d.call
}

var publishDonePool sync.Pool // of *publishDone

func (d *publishDone) call(err error) {
	done := d.done
	d.done = nil
	publishDonePool.Put(d)
	done(brokerError(err))
}

func (s *localSession) Subscribe(filter string, qos byte) (byte, error) {
	granted, err := s.lc().Subscribe(filter, qos)
	return granted, brokerError(err)
}

func (s *localSession) Unsubscribe(filter string) error { return s.lc().Unsubscribe(filter) }
func (s *localSession) Ack(packetID uint16)             { s.lc().Ack(packetID) }
func (s *localSession) Received(packetID uint16)        { s.lc().Received(packetID) }
func (s *localSession) Pending() int                    { return s.lc().Pending() }
func (s *localSession) SetWill(w *gateway.Will)         { s.lc().SetWill((*broker.Will)(w)) }
func (s *localSession) PutData(key string, value []byte, done func(error)) {
	s.lc().PutDataAsync(key, value, done)
}
func (s *localSession) Data(key string) ([]byte, bool) { return s.lc().Data(key) }
func (s *localSession) Suspend()                       { s.lc().Suspend() }
func (s *localSession) Resume()                        { s.lc().Resume() }
func (s *localSession) Disconnect()                    { s.lc().Disconnect() }
func (s *localSession) Lost()                          { s.lc().Lost() }
