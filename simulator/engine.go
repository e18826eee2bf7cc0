package simulator

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	mrand "math/rand/v2"
	"net"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"snbridge/mqttsn/packet"
	"snbridge/simulator/check"
	"snbridge/simulator/forwarder"
	"snbridge/simulator/impair"
	"snbridge/simulator/report"
	"snbridge/simulator/scenario"
)

// Options tune a run; the zero value of each field has the documented default.
type Options struct {
	Gateway  string        // overrides the scenario's gateway address
	Broker   string        // overrides the scenario's broker address
	Duration time.Duration // overrides the scenario's duration
	// RetryInterval is T_RETRY for every exchange. Default 1s.
	RetryInterval time.Duration
	// Retries is N_RETRY. Default 6.
	Retries int
	// ConnectRounds is how many times a sensor runs a whole CONNECT (with its retries) before it
	// is given up. Default 3.
	ConnectRounds int
	// Observer replaces the MQTT observer (tests).
	Observer Observer
	// Progress, when set, receives a live status line every ProgressEvery (default 1s), each
	// starting with a carriage return, for a terminal.
	Progress      io.Writer
	ProgressEvery time.Duration
	Logger        *slog.Logger
	// Run is the run id carried in payloads; zero picks a random one.
	Run uint32
}

type engineStats struct {
	retries, malformed, disconnects, rejected, unknownTopic, connectFailures atomic.Int64
}

type engine struct {
	sc        *scenario.Scenario
	opts      Options
	log       *slog.Logger
	run       uint32
	checker   *check.Checker
	obs       Observer
	gw        *net.UDPAddr
	groups    []*groupRun
	connected atomic.Int64
	asleep    atomic.Int64
	stats     engineStats

	start   time.Time
	everMu  sync.Mutex
	ever    []bool
	nEver   int
	allConn time.Duration
	errMu   sync.Mutex
	errs    []string
	closers []io.Closer
	links   []*impair.Conn
}

func (e *engine) everConnected(i uint32) {
	e.everMu.Lock()
	if !e.ever[i] {
		e.ever[i] = true
		e.nEver++
		if e.nEver == len(e.ever)-e.qosMinus1Sensors() {
			e.allConn = time.Since(e.start)
		}
	}
	e.everMu.Unlock()
}

func (e *engine) fail(format string, args ...any) {
	e.log.Warn(fmt.Sprintf(format, args...))
	e.errMu.Lock()
	defer e.errMu.Unlock()
	if len(e.errs) < 20 {
		e.errs = append(e.errs, fmt.Sprintf(format, args...))
	} else if len(e.errs) == 20 {
		e.errs = append(e.errs, "… more errors not shown")
	}
}

// groupRun is a group of the scenario at run time.
type groupRun struct {
	spec   *scenario.Group
	index  int
	first  uint32 // index of the group's first sensor across the scenario
	subIDs [][]uint16

	readyMu sync.Mutex
	ready   []uint32 // actuators subscribed, in the order they became ready
	isReady []bool
	downSeq []uint32 // per actuator, last command sequence number
}

func (g *groupRun) clientID(i int) string {
	return scenario.Expand(g.spec.ClientID, scenario.Vars{Group: g.spec.Name, Index: i, N: int(g.first) + i})
}

func (g *groupRun) vars(s *sensor) scenario.Vars {
	return scenario.Vars{Group: g.spec.Name, ID: s.id, Index: int(s.index - g.first), N: int(s.index)}
}

func (g *groupRun) expand(p string, s *sensor) string { return scenario.Expand(p, g.vars(s)) }

func (g *groupRun) topicRef(pattern, kind string, id int, s *sensor) topicRef {
	name := g.expand(pattern, s)
	switch kind {
	case scenario.TopicPredefined:
		return topicRef{kind: packet.TopicIDPredefined, id: uint16(id), name: name}
	case scenario.TopicShort:
		sid, _ := packet.ShortTopicID(name)
		return topicRef{kind: packet.TopicIDShort, id: sid, name: name}
	}
	return topicRef{kind: packet.TopicIDNormal, name: name}
}

// payload is the checker's header followed by the template or padding.
func (g *groupRun) payload(s *sensor, seq uint32) []byte {
	p := g.spec.Publish
	b := check.AppendHeader(make([]byte, 0, max(p.PayloadSize, check.HeaderSize+len(p.PayloadTemplate))), check.Header{
		Run: s.e.run, Sensor: s.index, Seq: seq, Sent: time.Now()})
	if p.PayloadTemplate != "" {
		v := g.vars(s)
		v.Seq = seq
		return append(b, scenario.Expand(p.PayloadTemplate, v)...)
	}
	for len(b) < p.PayloadSize {
		b = append(b, byte('a'+len(b)%26))
	}
	return b
}

func (g *groupRun) markReady(local int) {
	g.readyMu.Lock()
	if !g.isReady[local] {
		g.isReady[local] = true
		g.ready = append(g.ready, g.first+uint32(local))
	}
	g.readyMu.Unlock()
}

// Run plays a scenario against a gateway and returns the report. The error is for a run that
// could not take place (bad address, broker unreachable); broken guarantees are in the report.
func Run(ctx context.Context, sc *scenario.Scenario, opts Options) (*report.Report, error) {
	if opts.RetryInterval <= 0 {
		opts.RetryInterval = time.Second
	}
	if opts.Retries <= 0 {
		opts.Retries = 6
	}
	if opts.ConnectRounds <= 0 {
		opts.ConnectRounds = 3
	}
	if opts.ProgressEvery <= 0 {
		opts.ProgressEvery = time.Second
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Gateway == "" {
		opts.Gateway = sc.Gateway
	}
	if opts.Broker == "" {
		opts.Broker = sc.Broker
	}
	duration := sc.Duration
	if opts.Duration > 0 {
		duration = opts.Duration
	}
	gw, err := net.ResolveUDPAddr("udp", opts.Gateway)
	if err != nil {
		return nil, fmt.Errorf("gateway address %q: %w", opts.Gateway, err)
	}
	run := opts.Run
	for run == 0 {
		var b [4]byte
		_, _ = rand.Read(b[:])
		run = binary.BigEndian.Uint32(b[:])
	}
	e := &engine{sc: sc, opts: opts, log: opts.Logger, run: run, gw: gw, ever: make([]bool, sc.Sensors())}

	// Groups, checker streams.
	var cgroups []check.Group
	first := uint32(0)
	for i := range sc.Groups {
		g := &sc.Groups[i]
		gr := &groupRun{spec: g, index: i, first: first, subIDs: make([][]uint16, g.Count),
			isReady: make([]bool, g.Count), downSeq: make([]uint32, g.Count)}
		e.groups = append(e.groups, gr)
		cgroups = append(cgroups, check.Group{Name: g.Name, LinkDuplicates: g.Impair.Duplicate > 0})
		first += uint32(g.Count)
	}
	start := time.Now()
	e.start = start
	e.checker = check.New(check.Config{Run: run, Start: start, Sensors: sc.Sensors(), Groups: cgroups,
		SensorName: func(i uint32) string { return e.sensorName(i) }})
	for _, gr := range e.groups {
		for j := range gr.spec.Count {
			idx := gr.first + uint32(j)
			if p := gr.spec.Publish; p != nil {
				_ = e.checker.Track(check.Uplink, idx, gr.index, p.QoS)
			}
			if len(gr.spec.Subscriptions) > 0 {
				_ = e.checker.Track(check.Downlink, idx, gr.index, gr.spec.Subscriptions[0].QoS)
			}
		}
	}

	// The observer subscribes before any sensor publishes.
	e.obs = opts.Observer
	if e.obs == nil {
		o, err := DialMQTT(opts.Broker, fmt.Sprintf("snsim-%08x", run))
		if err != nil {
			return nil, err
		}
		e.obs = o
	}
	defer e.obs.Close()
	var filters []string
	seen := map[string]bool{}
	for _, gr := range e.groups {
		if p := gr.spec.Publish; p != nil && !seen[filterOf(p.Topic)] {
			seen[filterOf(p.Topic)] = true
			filters = append(filters, filterOf(p.Topic))
		}
	}
	// Each sensor's own topic: a payload naming sensor A on another topic is not A's publish
	// (a command to A matching the same filter, say) and must not be counted as one.
	pubTopic := make([]string, sc.Sensors())
	for _, gr := range e.groups {
		if p := gr.spec.Publish; p != nil {
			for j := range gr.spec.Count {
				s := &sensor{e: e, g: gr, index: gr.first + uint32(j), id: gr.clientID(j)}
				pubTopic[s.index] = gr.expand(p.Topic, s)
			}
		}
	}
	if err := e.obs.Subscribe(filters, func(topic string, payload []byte) {
		now := time.Now()
		if h, ok := check.ParseHeader(payload); ok && h.Run == run && int(h.Sensor) < len(pubTopic) && pubTopic[h.Sensor] != topic {
			e.checker.Ignore()
			return
		}
		e.checker.Observe(check.Uplink, payload, now)
	}); err != nil {
		return nil, err
	}

	e.log.Info("run starting", "scenario", sc.Name, "run", fmt.Sprintf("%08x", run), "sensors", sc.Sensors(),
		"gateway", opts.Gateway, "broker", opts.Broker, "filters", filters)
	// Phases: publishing (until the counts are reached or the duration ends), then drain.
	runCtx, stopRun := context.WithCancel(ctx)
	defer stopRun()
	pubCtx, stopPub := context.WithCancel(runCtx)
	defer stopPub()
	if duration > 0 {
		var cancelT context.CancelFunc
		pubCtx, cancelT = context.WithTimeout(pubCtx, duration)
		defer cancelT()
	}

	var work sync.WaitGroup // sensors' and commanders' finite work
	var sensors sync.WaitGroup
	if err := e.startSensors(runCtx, pubCtx, &sensors, &work); err != nil {
		stopRun()
		sensors.Wait()
		e.closeAll()
		return nil, err
	}
	var commanders sync.WaitGroup
	e.startCommanders(pubCtx, &commanders, &work)

	stopProgress := e.progress(runCtx, start)
	allDone := make(chan struct{})
	go func() { work.Wait(); close(allDone) }()
	workDone := (<-chan struct{})(allDone)
	if e.endless() {
		workDone = nil // some work only ends with the duration
	}
	select {
	case <-pubCtx.Done():
	case <-workDone:
	}
	stopPub()
	commanders.Wait()
	e.log.Info("publishing ended", "elapsed", time.Since(start).Round(time.Millisecond))

	// Drain: long enough for a sleeping sensor to wake and collect what was buffered for it.
	drain := sc.Drain
	for _, gr := range e.groups {
		if sl := gr.spec.Sleep; sl != nil {
			drain = max(drain, sl.Duration+sl.Awake+4*opts.RetryInterval)
		}
	}
	e.log.Info("draining", "for", drain)
	select {
	case <-time.After(drain):
	case <-ctx.Done():
	}
	stopRun()
	sensors.Wait()
	<-allDone
	stopProgress()
	e.closeAll()

	rep := &report.Report{Scenario: sc.Name, Gateway: opts.Gateway, Broker: opts.Broker, Started: start,
		Elapsed: time.Since(start), Sensors: sc.Sensors(), Connected: e.nEver, AllConnected: e.allConn,
		ConnectFailures: int(e.stats.connectFailures.Load()), Result: e.checker.Result()}
	for _, l := range e.links {
		out, in := l.Stats()
		for _, st := range []impair.Stats{out, in} {
			rep.Link.Datagrams += st.Passed
			rep.Link.Lost += st.Lost
			rep.Link.Duplicated += st.Duplicated
			rep.Link.Reordered += st.Reordered
			rep.Link.Overflow += st.Overflow
		}
	}
	if err := e.obs.Err(); err != nil {
		e.fail("%v", err)
	}
	if ctx.Err() != nil {
		e.fail("run interrupted")
	}
	if n := sc.Sensors() - e.nEver - e.qosMinus1Sensors(); n > 0 {
		e.fail("%d sensors never connected", n)
	}
	rep.Protocol = report.ProtocolStats{Retransmissions: e.stats.retries.Load(), GatewayDisconnects: e.stats.disconnects.Load(),
		Rejections: e.stats.rejected.Load(), Malformed: e.stats.malformed.Load(), UnknownTopicIDs: e.stats.unknownTopic.Load()}
	rep.Errors = e.errs
	return rep, nil
}

// endless reports whether some group publishes or is commanded until the duration ends.
func (e *engine) endless() bool {
	for _, gr := range e.groups {
		if p := gr.spec.Publish; p != nil && p.Messages == 0 {
			return true
		}
		for _, sub := range gr.spec.Subscriptions {
			if sub.Commands == 0 {
				return true
			}
		}
	}
	return false
}

func (e *engine) qosMinus1Sensors() int {
	n := 0
	for _, gr := range e.groups {
		if p := gr.spec.Publish; p != nil && p.QoS == -1 {
			n += gr.spec.Count
		}
	}
	return n
}

func (e *engine) sensorName(i uint32) string {
	for _, gr := range e.groups {
		if i >= gr.first && i < gr.first+uint32(gr.spec.Count) {
			return gr.clientID(int(i - gr.first))
		}
	}
	return fmt.Sprintf("sensor %d", i)
}

func (e *engine) closeAll() {
	for _, c := range e.closers {
		_ = c.Close()
	}
	e.closers = nil
}

// conns opens the group's sockets: one per sensor, or one per forwarder shared by
// SensorsPerSocket sensors; impairments wrap the socket.
func (e *engine) conns(gr *groupRun) ([]net.PacketConn, error) {
	g := gr.spec
	impaired := func(pc net.PacketConn, seed uint64) (net.PacketConn, error) {
		if !g.Impair.Any() {
			return pc, nil
		}
		cfg := impair.Config{Loss: float64(g.Impair.Loss), Duplicate: float64(g.Impair.Duplicate),
			Reorder: float64(g.Impair.Reorder), Delay: g.Impair.Delay, Jitter: g.Impair.Jitter, Queue: g.Impair.Queue}
		out, in := cfg, cfg
		out.Seed, in.Seed = seed*2+1, seed*2+2
		c, err := impair.Wrap(pc, out, in)
		if err != nil {
			return nil, err
		}
		e.links = append(e.links, c)
		return c, nil
	}
	seedBase := uint64(e.sc.Seed)<<32 + uint64(gr.first)
	out := make([]net.PacketConn, g.Count)
	if g.Forwarder == nil {
		for i := range g.Count {
			raw, err := net.ListenPacket("udp", ":0")
			if err != nil {
				return nil, fmt.Errorf("group %s: socket %d: %w", g.Name, i, err)
			}
			pc, err := impaired(raw, seedBase+uint64(i))
			if err != nil {
				raw.Close()
				return nil, err
			}
			e.closers = append(e.closers, pc)
			out[i] = pc
		}
		return out, nil
	}
	per := g.Forwarder.SensorsPerSocket
	var f *forwarder.Forwarder
	for i := range g.Count {
		if i%per == 0 {
			raw, err := net.ListenPacket("udp", ":0")
			if err != nil {
				return nil, fmt.Errorf("group %s: forwarder socket: %w", g.Name, err)
			}
			pc, err := impaired(raw, seedBase+uint64(i))
			if err != nil {
				raw.Close()
				return nil, err
			}
			f = forwarder.New(pc, e.gw)
			e.closers = append(e.closers, f)
		}
		node, err := f.Node(forwarder.NodeID(uint16(i%per + 1)))
		if err != nil {
			return nil, err
		}
		out[i] = node
	}
	return out, nil
}

func (e *engine) startSensors(runCtx, pubCtx context.Context, sensors, work *sync.WaitGroup) error {
	var all []net.PacketConn
	defer func() {
		// When the run ends, wake every sensor blocked in a read so it sees the context.
		sensors.Go(func() {
			<-runCtx.Done()
			for _, pc := range all {
				_ = pc.SetReadDeadline(time.Now())
			}
		})
	}()
	for _, gr := range e.groups {
		pcs, err := e.conns(gr)
		if err != nil {
			return err
		}
		all = append(all, pcs...)
		g := gr.spec
		bufSize := 2048
		if p := g.Publish; p != nil {
			bufSize = max(bufSize, p.PayloadSize+len(p.PayloadTemplate)+64)
		}
		rng := mrand.New(mrand.NewPCG(uint64(e.sc.Seed), uint64(gr.index)))
		for i := range g.Count {
			s := &sensor{e: e, g: gr, index: gr.first + uint32(i), id: gr.clientID(i), pc: pcs[i], gw: e.gw,
				buf: make([]byte, bufSize)}
			if p := g.Publish; p != nil {
				s.pubTopic = gr.topicRef(p.Topic, p.TopicIDType, p.TopicID, s)
			}
			offset := time.Duration(0)
			if g.Ramp > 0 && g.Count > 1 {
				offset = g.Ramp * time.Duration(i) / time.Duration(g.Count)
			}
			finite := g.Publish != nil && g.Publish.Messages > 0
			if finite {
				work.Add(1)
			}
			seed := rng.Uint64()
			sensors.Go(func() {
				s.live(runCtx, pubCtx, offset, seed, finite, work)
			})
		}
	}
	return nil
}

// interval is a sensor's time between publishes: the group's interval with jitter, or the
// share of the group's rate.
func (s *sensor) interval(rng *mrand.Rand) time.Duration {
	p := s.g.spec.Publish
	if p.Rate > 0 {
		return time.Duration(float64(s.g.spec.Count) / float64(p.Rate) * float64(time.Second))
	}
	d := p.Interval
	if p.Jitter > 0 {
		d += time.Duration(rng.Int64N(int64(2*p.Jitter)+1)) - p.Jitter
	}
	return max(d, time.Millisecond)
}

// live is a sensor's whole life.
func (s *sensor) live(runCtx, pubCtx context.Context, offset time.Duration, seed uint64, finite bool, work *sync.WaitGroup) {
	rng := mrand.New(mrand.NewPCG(seed, uint64(s.index)))
	doneWork := sync.OnceFunc(func() {
		if finite {
			work.Done()
		}
	})
	defer doneWork()
	defer func() {
		// A final DISCONNECT, bounded, even after the run context ended.
		ctx, cancel := context.WithTimeout(context.Background(), 2*s.e.opts.RetryInterval)
		defer cancel()
		if s.active || s.g.spec.Sleep != nil {
			s.disconnectOnce(ctx)
		}
	}()
	if !sleepCtx(runCtx, offset) {
		return
	}
	g := s.g.spec
	p := g.Publish
	sent := 0
	pubLeft := func() bool {
		return p != nil && pubCtx.Err() == nil && (p.Messages == 0 || sent < p.Messages)
	}
	var nextPub time.Time
	if p != nil {
		first := s.interval(rng)
		nextPub = time.Now().Add(time.Duration(rng.Int64N(int64(first) + 1)))
	}

	// QoS −1: no connection at all (§6.8).
	if p != nil && p.QoS == -1 {
		for pubLeft() {
			if !sleepCtx(pubCtx, time.Until(nextPub)) {
				return
			}
			if err := s.publish(pubCtx); err != nil && runCtx.Err() == nil {
				s.e.fail("%s: %v", s.id, err)
			}
			sent++
			nextPub = nextPub.Add(s.interval(rng))
		}
		return
	}

	subscribed := false
	lost := false   // the gateway dropped us (not a planned wake): a clean session is gone
	waking := false // asleep until now: CONNECT only makes us active again
	for runCtx.Err() == nil {
		// Connect (or reconnect after the gateway dropped us).
		if !s.active {
			if lost {
				s.e.log.Debug("sensor reconnecting", "client", s.id)
			}
			if !s.connectRounds(runCtx, waking && !lost) {
				return
			}
			waking = false
			if !subscribed || (lost && *g.CleanSession) {
				if err := s.subscribe(runCtx); err != nil {
					if errors.Is(err, errDisconnected) {
						lost = true // the gateway dropped us mid-way: connect again
						continue
					}
					if runCtx.Err() == nil {
						s.e.fail("%v", err)
					}
					return
				}
				if subscribed {
					// The old session and its subscriptions were discarded: commands sent
					// before this SUBACK were owed to nobody.
					s.e.excuse(s)
				}
				subscribed = len(g.Subscriptions) > 0
				if subscribed {
					s.g.markReady(int(s.index - s.g.first))
				}
			}
			lost = false
		}
		if p != nil {
			if err := s.register(runCtx); err != nil {
				if errors.Is(err, errDisconnected) {
					lost = true
					continue
				}
				if runCtx.Err() == nil {
					s.e.fail("%v", err)
				}
				return
			}
		}
		// Active phase.
		awakeEnd := time.Time{}
		if g.Sleep != nil {
			awakeEnd = time.Now().Add(g.Sleep.Awake)
		}
		keepalive := g.KeepAlive * 3 / 4
		goSleep := false
	active:
		for runCtx.Err() == nil && s.active {
			if !pubLeft() {
				doneWork()
			}
			next := s.lastSent.Add(keepalive)
			if pubLeft() && nextPub.Before(next) {
				next = nextPub
			}
			if !awakeEnd.IsZero() && awakeEnd.Before(next) {
				next = awakeEnd
			}
			if err := s.idle(runCtx, next); err != nil {
				break
			}
			now := time.Now()
			switch {
			case !awakeEnd.IsZero() && !now.Before(awakeEnd):
				goSleep = true
				break active
			case pubLeft() && !now.Before(nextPub):
				if s.registered || s.pubTopic.kind != packet.TopicIDNormal {
					if err := s.publish(runCtx); err != nil {
						break active
					}
					sent++
				} else if err := s.register(runCtx); err != nil {
					break active
				}
				nextPub = nextPub.Add(s.interval(rng))
				if nextPub.Before(now) {
					nextPub = now // fell behind: do not burst to catch up
				}
			case !now.Before(s.lastSent.Add(keepalive)):
				if err := s.ping(runCtx); err != nil && s.active {
					s.active = false // the gateway is gone: connect again
					s.e.connected.Add(-1)
				}
			}
		}
		if !goSleep || runCtx.Err() != nil {
			lost = !s.active
			continue
		}
		if err := s.sleep(runCtx); err != nil {
			continue
		}
		for runCtx.Err() == nil {
			if err := s.idle(runCtx, time.Now().Add(g.Sleep.Duration)); err != nil || runCtx.Err() != nil {
				break
			}
			if g.Sleep.Wake == "pingreq" {
				if err := s.poll(runCtx); err != nil {
					if runCtx.Err() == nil && !errors.Is(err, errDisconnected) {
						s.e.fail("%v", err)
					}
					lost = true
					break
				}
				if !pubLeft() {
					continue // nothing to send: stay asleep, poll again after the next sleep
				}
			}
			break // wake=connect, or something to publish: go active again
		}
		s.e.asleep.Add(-1)
		waking = true
		if !pubLeft() {
			doneWork()
		}
		nextPub = maxTime(nextPub, time.Now())
	}
}

// excuse withdraws the delivery guarantee of the commands sent to s so far and not delivered.
func (e *engine) excuse(s *sensor) {
	local := s.index - s.g.first
	s.g.readyMu.Lock()
	upTo := s.g.downSeq[local]
	s.g.readyMu.Unlock()
	e.checker.Excuse(check.Downlink, s.index, upTo)
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

// connectRounds runs CONNECT rounds until accepted; false when the sensor gives up.
func (s *sensor) connectRounds(ctx context.Context, wake bool) bool {
	for round := 0; round < s.e.opts.ConnectRounds; round++ {
		err := s.connect(ctx, wake)
		if err == nil {
			return true
		}
		if ctx.Err() != nil {
			return false
		}
		if round == s.e.opts.ConnectRounds-1 {
			s.e.fail("%v", err)
			return false
		}
		if !sleepCtx(ctx, s.e.opts.RetryInterval) {
			return false
		}
	}
	return false
}

func (s *sensor) disconnectOnce(ctx context.Context) {
	if s.g.spec.Publish != nil && s.g.spec.Publish.QoS == -1 {
		return
	}
	s.disconnect(ctx)
}

func sleepCtx(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return ctx.Err() == nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// startCommanders publishes commands to each group's actuators at the group's command rate,
// round robin over the actuators that have subscribed.
func (e *engine) startCommanders(ctx context.Context, wg, work *sync.WaitGroup) {
	for _, gr := range e.groups {
		for si := range gr.spec.Subscriptions {
			sub := gr.spec.Subscriptions[si]
			total := sub.Commands * gr.spec.Count
			if total > 0 {
				work.Add(1)
			}
			wg.Go(func() {
				if total > 0 {
					defer work.Done()
				}
				e.command(ctx, gr, sub, total)
			})
		}
	}
}

func (e *engine) command(ctx context.Context, gr *groupRun, sub scenario.Subscription, total int) {
	every := time.Duration(float64(time.Second) / float64(sub.CommandRate))
	t := time.NewTicker(max(every, time.Microsecond))
	defer t.Stop()
	sent, next := 0, 0
	var inflight sync.WaitGroup
	defer inflight.Wait()
	for total == 0 || sent < total {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		gr.readyMu.Lock()
		if len(gr.ready) == 0 {
			gr.readyMu.Unlock()
			continue
		}
		idx := gr.ready[next%len(gr.ready)]
		next++
		local := idx - gr.first
		gr.downSeq[local]++
		seq := gr.downSeq[local]
		gr.readyMu.Unlock()

		s := &sensor{e: e, g: gr, index: idx, id: gr.clientID(int(local))}
		topic := gr.expand(sub.Topic, s)
		payload := check.AppendHeader(nil, check.Header{Run: e.run, Sensor: idx, Seq: seq, Sent: time.Now()})
		e.checker.Sent(check.Downlink, idx, seq, time.Now())
		inflight.Add(1)
		e.obs.Publish(topic, byte(sub.QoS), payload, func(err error) {
			defer inflight.Done()
			if err != nil {
				e.checker.Failed(check.Downlink, idx, seq)
				return
			}
			if sub.QoS > 0 {
				e.checker.Acked(check.Downlink, idx, seq)
			}
		})
		sent++
	}
}

// progress prints the live line until stopped.
func (e *engine) progress(ctx context.Context, start time.Time) (stop func()) {
	if e.opts.Progress == nil {
		return func() {}
	}
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		t := time.NewTicker(e.opts.ProgressEvery)
		defer t.Stop()
		var last uint64
		lastAt := start
		for {
			select {
			case <-done:
				fmt.Fprint(e.opts.Progress, "\r\033[K")
				return
			case now := <-t.C:
				p := e.checker.Progress()
				rate := float64(p.Delivered-last) / now.Sub(lastAt).Seconds()
				last, lastAt = p.Delivered, now
				fmt.Fprint(e.opts.Progress, "\r\033[K"+report.ProgressLine(report.Live{Elapsed: now.Sub(start),
					Sensors: len(e.ever), Connected: int(e.connected.Load() + e.asleep.Load()), Rate: rate, Progress: p}))
			}
		}
	})
	return sync.OnceFunc(func() { close(done); wg.Wait() })
}

// Filters lists the MQTT filters the observer subscribes to for a scenario (for humans).
func Filters(sc *scenario.Scenario) []string {
	set := map[string]bool{}
	for _, g := range sc.Groups {
		if g.Publish != nil {
			set[filterOf(g.Publish.Topic)] = true
		}
	}
	out := make([]string, 0, len(set))
	for f := range set {
		out = append(out, f)
	}
	sort.Strings(out)
	return out
}
