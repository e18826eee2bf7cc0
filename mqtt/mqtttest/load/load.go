package load

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"snbridge/mqtt/packet"
)

// Mode is the shape of a load.
type Mode string

// The modes.
const (
	FanIn  Mode = "fanin"  // Clients publishers → 1 subscriber
	FanOut Mode = "fanout" // 1 publisher → Clients subscribers
	Idle   Mode = "idle"   // Clients connections that only connect
)

// DefaultClients is the publishers of a fan-in and the subscribers of a fan-out unless the
// Config says otherwise: issue 3's loads.
const DefaultClients = 100

// Config describes one load. Zero values are the documented defaults.
type Config struct {
	Broker      string        // host:port of the broker under test
	Mode        Mode          // FanIn, FanOut or Idle
	QoS         byte          // 0 or 1, for publications and subscriptions
	Clients     int           // publishers (fan-in), subscribers (fan-out), connections (idle); 0: DefaultClients, or 10 000 idle
	Inflight    int           // QoS 1 PUBLISHes a publisher has unacknowledged at most; 0: 1
	Window      int           // QoS 0: messages a publisher has sent and not yet seen delivered to every subscriber, at most; 0: no bound (a flood)
	PayloadSize int           // bytes, at least 16 (send time and sequence); 0: 32
	Duration    time.Duration // how long publishers publish; 0: 5 s
	Rate        int           // messages per second over all publishers; 0: as fast as the broker takes them
	Drain       time.Duration // wait at most this long, without progress, for the last messages; 0: 3 s
	Timeout     time.Duration // for a connect or subscribe; 0: 10 s
	BrokerPID   int           // idle: read this process's VmRSS before and after connecting (0: don't)
	Hold        time.Duration // idle: keep the connections this long once all are open
}

func (c *Config) defaults() error {
	if c.Broker == "" {
		return errors.New("load: no broker address")
	}
	if c.QoS > 1 {
		return fmt.Errorf("load: QoS %d not supported (0 or 1)", c.QoS)
	}
	if c.Clients <= 0 {
		c.Clients = DefaultClients
		if c.Mode == Idle {
			c.Clients = 10_000
		}
	}
	if c.Inflight <= 0 {
		c.Inflight = 1
	}
	if c.Inflight > 60_000 {
		return errors.New("load: Inflight above 60000 would reuse packet ids in flight")
	}
	if c.PayloadSize == 0 {
		c.PayloadSize = 32
	}
	if c.PayloadSize < 16 {
		return errors.New("load: PayloadSize below 16 cannot hold the send time and sequence")
	}
	if c.Duration <= 0 {
		c.Duration = 5 * time.Second
	}
	if c.Drain <= 0 {
		c.Drain = 3 * time.Second
	}
	if c.Timeout <= 0 {
		c.Timeout = 10 * time.Second
	}
	if c.Window < 0 || c.Window > 0 && (c.QoS != 0 || c.Rate > 0) {
		return errors.New("load: Window is for unpaced QoS 0 loads")
	}
	switch c.Mode {
	case FanIn, FanOut, Idle:
	default:
		return fmt.Errorf("load: unknown mode %q (fanin, fanout, idle)", c.Mode)
	}
	return nil
}

// Result is what a load measured.
type Result struct {
	Config Config

	Sent     uint64        // PUBLISHes written by the publishers
	Stalls   uint64        // QoS 0 with a Window: waits for a delivery that never came (lost), given up after Drain/10
	Acked    uint64        // of them acknowledged (QoS 1)
	Expected uint64        // deliveries the subscribers should see: Sent, or Sent × subscribers
	Received uint64        // deliveries the subscribers saw
	Elapsed  time.Duration // from the first send to the last delivery
	Rate     float64       // deliveries per second over Elapsed
	P50, P99 time.Duration // latency, publisher's send to subscriber's read
	Max      time.Duration

	Connected   int           // idle: connections open at once
	ConnectTime time.Duration // idle: time to open them all
	RSSBefore   int64         // idle: broker VmRSS in bytes before connecting, if BrokerPID was set
	RSSAfter    int64         // idle: and with every connection open
}

// String is one line for a person.
func (r Result) String() string {
	c := r.Config
	if c.Mode == Idle {
		s := fmt.Sprintf("idle: %d connections open in %v", r.Connected, r.ConnectTime.Round(time.Millisecond))
		if r.RSSAfter > 0 {
			s += fmt.Sprintf("; broker RSS %.1f MiB → %.1f MiB (%.1f KiB per connection)",
				mib(r.RSSBefore), mib(r.RSSAfter), float64(r.RSSAfter-r.RSSBefore)/1024/float64(max(r.Connected, 1)))
		}
		return s
	}
	loss := ""
	if r.Received < r.Expected {
		loss = fmt.Sprintf(" (%.2f%% lost)", 100*float64(r.Expected-r.Received)/float64(max(r.Expected, 1)))
	}
	window := fmt.Sprintf("inflight %d", c.Inflight)
	if c.QoS == 0 {
		window = fmt.Sprintf("window %d", c.Window)
	}
	return fmt.Sprintf("%s QoS %d, %d clients, %s: %.0f msg/s received; %d/%d delivered%s; latency p50 %v p99 %v max %v",
		c.Mode, c.QoS, c.Clients, window, r.Rate, r.Received, r.Expected, loss,
		r.P50.Round(time.Microsecond), r.P99.Round(time.Microsecond), r.Max.Round(time.Microsecond))
}

func mib(b int64) float64 { return float64(b) / (1 << 20) }

// Run applies the load to the broker and reports what it measured. Every wait is bounded by
// ctx and the Config's times.
func Run(ctx context.Context, cfg Config) (Result, error) {
	if err := cfg.defaults(); err != nil {
		return Result{}, err
	}
	if cfg.Mode == Idle {
		return runIdle(ctx, cfg)
	}
	return runFlow(ctx, cfg)
}

func runID() string {
	var b [4]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// subscriber reads deliveries and records their latency.
type subscriber struct {
	c        *conn
	received atomic.Uint64
	lastNS   atomic.Int64 // time of the last delivery, ns since the run's base
	hist     histogram
	pubs     []*publisher // told of their deliveries when they keep a Window
}

func (s *subscriber) run(base time.Time) {
	for {
		p, err := s.c.r.ReadReused()
		if err != nil {
			return // closed at the end of the run
		}
		pub, ok := p.(*packet.Publish)
		if !ok {
			continue
		}
		now := time.Since(base)
		if len(pub.Payload) >= 16 {
			s.hist.record(now - time.Duration(binary.BigEndian.Uint64(pub.Payload)))
			if i := binary.BigEndian.Uint32(pub.Payload[8:]); int(i) < len(s.pubs) {
				s.pubs[i].delivered()
			}
		}
		s.received.Add(1)
		s.lastNS.Store(int64(now))
		if pub.QoS == 1 {
			s.c.buf, _ = packet.Append(s.c.buf, &packet.Puback{PacketID: pub.PacketID})
		}
		if len(s.c.buf) > 0 && s.c.r.Buffered() == 0 { // acknowledge in batches
			if _, err := s.c.nc.Write(s.c.buf); err != nil {
				return
			}
			s.c.buf = s.c.buf[:0]
		}
	}
}

// publisher sends for the run's duration, keeping at most Inflight QoS 1 messages unacked, or
// at QoS 0 at most Window messages not yet delivered to every subscriber.
type publisher struct {
	c     *conn
	index uint32
	topic string
	sent  uint64
	acked atomic.Uint64
	acks  chan struct{} // closed when readAcks returns; nil if it never started

	// Window: deliveries seen by the subscribers, and the count the publisher waits for
	deliveries atomic.Int64
	waitFor    atomic.Int64
	wake       chan struct{}
	stalls     uint64
}

// delivered counts one delivery of the publisher's messages and wakes it if it waits for it.
func (p *publisher) delivered() {
	if n := p.deliveries.Add(1); n >= p.waitFor.Load() && p.wake != nil {
		select {
		case p.wake <- struct{}{}:
		default:
		}
	}
}

// awaitWindow returns once fewer than window of the messages sent are undelivered to some of
// the subs subscribers, calling flush before it waits. A delivery that does not come within
// stall is taken as lost: the window is cleared and the stall counted.
func (p *publisher) awaitWindow(ctx context.Context, window, subs int64, stall time.Duration, forgiven *int64, timer *time.Timer, flush func() error) error {
	need := (int64(p.sent)-window+1)*subs - *forgiven // deliveries that let the next message go
	if p.deliveries.Load() >= need {
		return nil
	}
	if err := flush(); err != nil {
		return err
	}
	p.waitFor.Store(need)
	for p.deliveries.Load() < need {
		timer.Reset(stall)
		select {
		case <-p.wake:
		case <-timer.C:
			if p.deliveries.Load() < need {
				p.stalls++
				*forgiven += need - p.deliveries.Load()
				return nil
			}
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return nil
}

func (p *publisher) readAcks(tokens chan<- struct{}) {
	defer close(p.acks)
	for {
		pk, err := p.c.r.ReadReused()
		if err != nil {
			return
		}
		if pk.Type() == packet.PUBACK {
			p.acked.Add(1)
			select {
			case tokens <- struct{}{}:
			default: // an acknowledgement we did not wait for; the count shows it
			}
		}
	}
}

func (p *publisher) run(ctx context.Context, cfg *Config, base time.Time, interval time.Duration, subs int) error {
	var tokens chan struct{}
	if cfg.QoS == 1 {
		tokens = make(chan struct{}, cfg.Inflight)
		for range cfg.Inflight {
			tokens <- struct{}{}
		}
		p.acks = make(chan struct{})
		go p.readAcks(tokens)
	}
	payload := make([]byte, cfg.PayloadSize)
	for i := 16; i < len(payload); i++ {
		payload[i] = 'x'
	}
	binary.BigEndian.PutUint32(payload[8:], p.index)
	msg := &packet.Publish{QoS: cfg.QoS, Topic: p.topic, Payload: payload}
	buf := p.c.buf[:0]
	flush := func() error {
		if len(buf) == 0 {
			return nil
		}
		_, err := p.c.nc.Write(buf)
		buf = buf[:0]
		return err
	}
	var forgiven int64
	var stall *time.Timer
	if cfg.Window > 0 {
		stall = time.NewTimer(time.Hour)
		defer stall.Stop()
	}
	for {
		now := time.Since(base)
		if now >= cfg.Duration || ctx.Err() != nil {
			break
		}
		if cfg.Window > 0 {
			if err := p.awaitWindow(ctx, int64(cfg.Window), int64(subs), cfg.Drain/10, &forgiven, stall, flush); err != nil {
				return err
			}
		}
		if interval > 0 {
			if due := time.Duration(p.sent) * interval; due > now {
				if err := flush(); err != nil {
					return err
				}
				time.Sleep(due - now)
				continue
			}
		}
		if tokens != nil {
			select {
			case <-tokens:
			default:
				if err := flush(); err != nil {
					return err
				}
				select {
				case <-tokens:
				case <-ctx.Done():
					return ctx.Err()
				}
			}
			msg.PacketID = uint16(p.sent%65535) + 1
		}
		binary.BigEndian.PutUint64(payload, uint64(time.Since(base)))
		binary.BigEndian.PutUint32(payload[12:], uint32(p.sent))
		buf, _ = packet.Append(buf, msg)
		p.sent++
		if len(buf) >= 4096 {
			if err := flush(); err != nil {
				return err
			}
		}
	}
	return flush()
}

func runFlow(ctx context.Context, cfg Config) (Result, error) {
	id := runID()
	prefix := "mqttload/" + id
	nPub, nSub := cfg.Clients, 1
	filter := prefix + "/+"
	if cfg.Mode == FanOut {
		nPub, nSub = 1, cfg.Clients
		filter = prefix + "/out"
	}
	var subs []*subscriber
	var pubs []*publisher
	defer func() {
		for _, s := range subs {
			s.c.close()
		}
		for _, p := range pubs {
			p.c.close()
			if p.acks != nil {
				<-p.acks
			}
		}
	}()
	for i := range nSub {
		c, err := dial(ctx, cfg.Broker, fmt.Sprintf("mqttload-%s-s%d", id, i), cfg.Timeout)
		if err != nil {
			return Result{}, err
		}
		c.r = packet.NewReaderSize(c.nc, 1<<20, 64<<10)
		subs = append(subs, &subscriber{c: c})
		if err := c.subscribe(filter, cfg.QoS, cfg.Timeout); err != nil {
			return Result{}, err
		}
	}
	for i := range nPub {
		c, err := dial(ctx, cfg.Broker, fmt.Sprintf("mqttload-%s-p%d", id, i), cfg.Timeout)
		if err != nil {
			return Result{}, err
		}
		topic := prefix + "/" + strconv.Itoa(i)
		if cfg.Mode == FanOut {
			topic = prefix + "/out"
		}
		p := &publisher{c: c, index: uint32(i), topic: topic}
		if cfg.Window > 0 {
			p.wake = make(chan struct{}, 1)
		}
		pubs = append(pubs, p)
	}
	if cfg.Window > 0 {
		for _, s := range subs {
			s.pubs = pubs
		}
	}

	base := time.Now()
	var readers sync.WaitGroup
	for _, s := range subs {
		readers.Go(func() { s.run(base) })
	}
	var interval time.Duration
	if cfg.Rate > 0 {
		interval = time.Duration(float64(time.Second) * float64(nPub) / float64(cfg.Rate))
	}
	runCtx, cancel := context.WithTimeout(ctx, cfg.Duration+cfg.Drain+cfg.Timeout)
	defer cancel()
	var writers sync.WaitGroup
	errs := make([]error, len(pubs))
	for i, p := range pubs {
		writers.Go(func() { errs[i] = p.run(runCtx, &cfg, base, interval, nSub) })
	}
	writers.Wait()
	if err := errors.Join(errs...); err != nil {
		return Result{}, fmt.Errorf("publishing: %w", err)
	}

	var res Result
	res.Config = cfg
	for _, p := range pubs {
		res.Sent += p.sent
		res.Stalls += p.stalls
	}
	res.Expected = res.Sent * uint64(nSub)
	received := func() (n uint64) {
		for _, s := range subs {
			n += s.received.Load()
		}
		return n
	}
	acked := func() (n uint64) {
		for _, p := range pubs {
			n += p.acked.Load()
		}
		return n
	}
	// wait for the stragglers: until all arrived, or no progress for Drain
	last, lastChange := received()+acked(), time.Now()
	for ctx.Err() == nil && (received() < res.Expected || (cfg.QoS == 1 && acked() < res.Sent)) {
		time.Sleep(10 * time.Millisecond)
		if n := received() + acked(); n != last {
			last, lastChange = n, time.Now()
		} else if time.Since(lastChange) > cfg.Drain {
			break
		}
	}
	for _, s := range subs {
		s.c.nc.Close()
	}
	readers.Wait()

	var h histogram
	var lastNS int64
	for _, s := range subs {
		h.merge(&s.hist)
		lastNS = max(lastNS, s.lastNS.Load())
	}
	res.Received = received()
	res.Acked = acked()
	res.Elapsed = time.Duration(lastNS)
	if res.Elapsed > 0 {
		res.Rate = float64(res.Received) / res.Elapsed.Seconds()
	}
	res.P50, res.P99, res.Max = h.percentile(0.50), h.percentile(0.99), h.max
	return res, nil
}

func runIdle(ctx context.Context, cfg Config) (Result, error) {
	res := Result{Config: cfg}
	var err error
	if cfg.BrokerPID > 0 {
		if res.RSSBefore, err = RSS(cfg.BrokerPID); err != nil {
			return res, err
		}
	}
	id := runID()
	conns := make([]*conn, cfg.Clients)
	defer func() {
		for _, c := range conns {
			if c != nil {
				c.nc.Close()
			}
		}
	}()
	start := time.Now()
	next := atomic.Int64{}
	var wg sync.WaitGroup
	var firstErr error
	var mu sync.Mutex
	for range 32 {
		wg.Go(func() {
			for {
				i := int(next.Add(1) - 1)
				if i >= len(conns) || ctx.Err() != nil {
					return
				}
				c, err := dial(ctx, cfg.Broker, fmt.Sprintf("mqttload-%s-i%d", id, i), cfg.Timeout)
				if err != nil {
					mu.Lock()
					if firstErr == nil {
						firstErr = fmt.Errorf("connection %d: %w", i, err)
					}
					mu.Unlock()
					next.Store(int64(len(conns))) // stop the others
					return
				}
				conns[i] = c
			}
		})
	}
	wg.Wait()
	res.ConnectTime = time.Since(start)
	for _, c := range conns {
		if c != nil {
			res.Connected++
		}
	}
	if firstErr != nil {
		return res, firstErr
	}
	if cfg.Hold > 0 {
		select {
		case <-time.After(cfg.Hold):
		case <-ctx.Done():
		}
	} else if cfg.BrokerPID > 0 {
		time.Sleep(500 * time.Millisecond) // let the broker finish its bookkeeping
	}
	if cfg.BrokerPID > 0 {
		if res.RSSAfter, err = RSS(cfg.BrokerPID); err != nil {
			return res, err
		}
	}
	return res, nil
}

// RSS returns the resident set size of process pid in bytes, from /proc/PID/status (VmRSS).
func RSS(pid int) (int64, error) {
	f, err := os.Open("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			if err != nil {
				return 0, fmt.Errorf("VmRSS of %d: %w", pid, err)
			}
			return kb * 1024, nil
		}
	}
	return 0, fmt.Errorf("no VmRSS in /proc/%d/status", pid)
}
