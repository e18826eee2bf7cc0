package gwbench

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	mqtt "snbridge/mqtt/packet"
	"snbridge/mqttsn/packet"
)

// FlowConfig is one flow load. Zero values mean the default beside them.
type FlowConfig struct {
	Gateway string // UDP address of the MQTT-SN gateway
	Broker  string // TCP address of the MQTT listener the subscriber connects to

	Clients  int // MQTT-SN publishers; 0 = 100
	Messages int // per publisher; 0 = 1000
	Payload  int // octets per message, at least 16 (time, client, sequence); 0 = 32
	QoS      int // of the publishers: 0 or 1
	// SubscriberQoS is the QoS of the subscription: 0, 1, or -1 for the publishers' QoS.
	SubscriberQoS int
	// Rate paces QoS 0: messages per second from all publishers together; 0 = as fast as they
	// can send. QoS 1 is paced by its acknowledgements (one PUBLISH in flight per client).
	Rate int
	// Drain is how long to wait for stragglers without progress once everything is sent; 0 = 2 s.
	Drain time.Duration
	// RetryInterval is the QoS 1 publishers' T_RETRY; 0 = 1 s. After 5 retries a publisher stops.
	RetryInterval time.Duration
	// Timeout bounds each CONNECT, REGISTER and SUBSCRIBE exchange; 0 = 5 s.
	Timeout time.Duration
}

func (c *FlowConfig) defaults() error {
	c.Clients = or(c.Clients, 100)
	c.Messages = or(c.Messages, 1000)
	c.Payload = or(c.Payload, 32)
	c.Drain = orDur(c.Drain, 2*time.Second)
	c.RetryInterval = orDur(c.RetryInterval, time.Second)
	c.Timeout = orDur(c.Timeout, 5*time.Second)
	if c.SubscriberQoS == -1 {
		c.SubscriberQoS = c.QoS
	}
	switch {
	case c.Gateway == "" || c.Broker == "":
		return errors.New("gwbench: Gateway and Broker addresses are needed")
	case c.Payload < 16:
		return fmt.Errorf("gwbench: payload of %d octets cannot carry time, client and sequence (16)", c.Payload)
	case c.QoS != 0 && c.QoS != 1:
		return fmt.Errorf("gwbench: QoS %d: only 0 and 1 are measured", c.QoS)
	case c.SubscriberQoS < -1 || c.SubscriberQoS > 2:
		return fmt.Errorf("gwbench: subscriber QoS %d", c.SubscriberQoS)
	case c.Clients > 1<<16 || c.Messages > 1<<24:
		return errors.New("gwbench: too many clients or messages")
	}
	return nil
}

// FlowResult is what a flow load measured.
type FlowResult struct {
	Config     FlowConfig
	Sent       uint64        // PUBLISHes sent (first transmissions)
	Retries    uint64        // QoS 1 retransmissions after T_RETRY
	Delivered  uint64        // distinct messages the subscriber received
	Duplicates uint64        // messages received more than once
	Elapsed    time.Duration // first send to last delivery
	SendTime   time.Duration // first send to last send
	P50, P99   time.Duration // publish → delivery latency
	Max        time.Duration
	// SubscriberDropped: the broker closed the subscriber's connection before the end (a slow
	// consumer); what had not reached it is lost.
	SubscriberDropped bool
}

// Expected is the number of messages the publishers were to send.
func (r FlowResult) Expected() uint64 { return uint64(r.Config.Clients) * uint64(r.Config.Messages) }

// Lost is Expected minus Delivered.
func (r FlowResult) Lost() uint64 { return r.Expected() - min(r.Delivered, r.Expected()) }

// PerSecond is deliveries per second, end to end.
func (r FlowResult) PerSecond() float64 {
	if r.Elapsed <= 0 {
		return 0
	}
	return float64(r.Delivered) / r.Elapsed.Seconds()
}

func (r FlowResult) String() string {
	pace := "unpaced"
	if r.Config.QoS == 0 && r.Config.Rate > 0 {
		pace = fmt.Sprintf("paced %d/s", r.Config.Rate)
	} else if r.Config.QoS == 1 {
		pace = "1 in flight per client"
	}
	s := fmt.Sprintf("QoS %d (subscriber %d), %d clients × %d, %s: %.0f msg/s; %d/%d delivered (%d lost, %d dup, %d retries); latency p50 %v p99 %v max %v",
		r.Config.QoS, r.Config.SubscriberQoS, r.Config.Clients, r.Config.Messages, pace, r.PerSecond(), r.Delivered, r.Expected(), r.Lost(),
		r.Duplicates, r.Retries, r.P50, r.P99, r.Max)
	if r.SubscriberDropped {
		s += "; the broker closed the subscriber's connection"
	}
	return s
}

// RunFlow runs one flow load.
func RunFlow(ctx context.Context, cfg FlowConfig) (FlowResult, error) {
	if err := cfg.defaults(); err != nil {
		return FlowResult{}, err
	}
	res := FlowResult{Config: cfg}
	run := runID()
	prefix := "gwbench/" + run + "/"

	sub, err := dialMQTT(ctx, cfg.Broker, "gwbench-sub-"+run, cfg.Timeout)
	if err != nil {
		return res, fmt.Errorf("gwbench: subscriber: %w", err)
	}
	defer sub.nc.Close()
	if err := sub.subscribe(prefix+"+", byte(cfg.SubscriberQoS), cfg.Timeout); err != nil {
		return res, fmt.Errorf("gwbench: subscriber: %w", err)
	}

	pubs := make([]*publisher, cfg.Clients)
	var wg sync.WaitGroup
	errs := make(chan error, cfg.Clients)
	for i := range pubs {
		wg.Go(func() {
			p, err := newPublisher(ctx, &cfg, run, i, prefix+strconv.Itoa(i))
			if err != nil {
				errs <- err
				return
			}
			pubs[i] = p
		})
	}
	wg.Wait()
	defer func() {
		for _, p := range pubs {
			if p != nil {
				p.close()
			}
		}
	}()
	select {
	case err := <-errs:
		return res, fmt.Errorf("gwbench: publisher: %w", err)
	default:
	}

	rec := newRecorder(cfg.Clients, cfg.Messages)
	base := time.Now()
	recDone := make(chan struct{})
	go func() { defer close(recDone); rec.run(sub, base) }()

	var lastSend atomic.Int64
	for _, p := range pubs {
		wg.Go(func() {
			var err error
			if cfg.QoS == 0 {
				err = p.runQoS0(ctx, &cfg, base)
			} else {
				err = p.runQoS1(ctx, &cfg, base)
			}
			if err != nil {
				errs <- err
			}
			now := int64(time.Since(base))
			for {
				old := lastSend.Load()
				if now <= old || lastSend.CompareAndSwap(old, now) {
					break
				}
			}
		})
	}
	wg.Wait()
	for _, p := range pubs {
		res.Sent += p.sent
		res.Retries += p.retries
	}
	res.SendTime = time.Duration(lastSend.Load())

	// Drain: until everything arrived or nothing more arrives for cfg.Drain.
	want := res.Sent
	last, lastChange := rec.delivered.Load(), time.Now()
	for rec.delivered.Load() < want && time.Since(lastChange) < cfg.Drain && ctx.Err() == nil {
		time.Sleep(10 * time.Millisecond)
		if n := rec.delivered.Load(); n != last {
			last, lastChange = n, time.Now()
		}
	}
	rec.closing.Store(true)
	sub.nc.Close()
	<-recDone
	res.SubscriberDropped = rec.dropped

	res.Delivered, res.Duplicates = rec.delivered.Load(), rec.duplicates
	res.Elapsed = time.Duration(rec.lastNS)
	lat := rec.latencies
	slices.Sort(lat)
	if n := len(lat); n > 0 {
		res.P50 = time.Duration(lat[n/2])
		res.P99 = time.Duration(lat[min(n-1, n*99/100)])
		res.Max = time.Duration(lat[n-1])
	}
	select {
	case err := <-errs:
		return res, fmt.Errorf("gwbench: publisher: %w", err)
	default:
	}
	return res, ctx.Err()
}

// publisher is one MQTT-SN client of a flow, on its own connected UDP socket.
type publisher struct {
	id      int
	conn    *net.UDPConn
	topicID uint16
	buf     []byte
	rbuf    []byte
	sent    uint64
	retries uint64
}

func newPublisher(ctx context.Context, cfg *FlowConfig, run string, id int, topic string) (*publisher, error) {
	raddr, err := net.ResolveUDPAddr("udp", cfg.Gateway)
	if err != nil {
		return nil, err
	}
	conn, err := net.DialUDP("udp", nil, raddr)
	if err != nil {
		return nil, err
	}
	p := &publisher{id: id, conn: conn, buf: make([]byte, 0, 64+cfg.Payload), rbuf: make([]byte, 2048)}
	clientID := "gwb-" + run + "-" + strconv.Itoa(id)
	reply, err := p.exchange(ctx, &packet.Connect{CleanSession: true, ProtocolID: packet.ProtocolID, Duration: 600, ClientID: clientID}, packet.TypeConnack, cfg.Timeout)
	if err != nil {
		conn.Close()
		return nil, fmt.Errorf("%s: CONNECT: %w", clientID, err)
	}
	if err := reply.(*packet.Connack).ReturnCode.Err(); err != nil {
		conn.Close()
		return nil, fmt.Errorf("%s: CONNECT refused: %w", clientID, err)
	}
	reply, err = p.exchange(ctx, &packet.Register{MsgID: 1, TopicName: topic}, packet.TypeRegack, cfg.Timeout)
	if err != nil {
		conn.Close()
		return nil, fmt.Errorf("%s: REGISTER: %w", clientID, err)
	}
	ack := reply.(*packet.Regack)
	if err := ack.ReturnCode.Err(); err != nil {
		conn.Close()
		return nil, fmt.Errorf("%s: REGISTER refused: %w", clientID, err)
	}
	p.topicID = ack.TopicID
	return p, nil
}

// exchange sends m and waits for a reply of type want, retransmitting every second.
func (p *publisher) exchange(ctx context.Context, m packet.Message, want packet.MsgType, timeout time.Duration) (packet.Message, error) {
	return exchange(ctx, p.conn, nil, m, want, timeout, &p.buf, p.rbuf)
}

func (p *publisher) close() {
	p.buf, _ = packet.Append(p.buf[:0], &packet.Disconnect{})
	p.conn.Write(p.buf)
	p.conn.Close()
}

// payload fills the message body: send time (ns since base), client, sequence; zero padding.
func (p *publisher) publish(cfg *FlowConfig, base time.Time, seq int, qos packet.QoS, msgID uint16, dup bool) error {
	data := make([]byte, cfg.Payload) // small; escapes into Append only as a slice
	binary.BigEndian.PutUint64(data, uint64(time.Since(base)))
	binary.BigEndian.PutUint32(data[8:], uint32(p.id))
	binary.BigEndian.PutUint32(data[12:], uint32(seq))
	var err error
	p.buf, err = (&packet.Publish{QoS: qos, Dup: dup, TopicIDType: packet.TopicIDNormal, TopicID: p.topicID, MsgID: msgID, Data: data}).Append(p.buf[:0])
	if err != nil {
		return err
	}
	_, err = p.conn.Write(p.buf)
	return err
}

// runQoS0 sends the messages at QoS 0, paced to this client's share of cfg.Rate: every
// millisecond it sends what is due.
func (p *publisher) runQoS0(ctx context.Context, cfg *FlowConfig, base time.Time) error {
	perClient := float64(cfg.Rate) / float64(cfg.Clients)
	start := time.Now()
	// Stagger the clients across the first tick so their bursts do not all coincide.
	offset := time.Duration(p.id) * time.Millisecond / time.Duration(cfg.Clients)
	for seq := 0; seq < cfg.Messages; {
		due := cfg.Messages
		if cfg.Rate > 0 {
			due = min(cfg.Messages, int(time.Since(start.Add(offset)).Seconds()*perClient)+1)
		}
		for ; seq < due; seq++ {
			if err := p.publish(cfg, base, seq, packet.QoS0, 0, false); err != nil {
				return err
			}
			p.sent++
		}
		if seq < cfg.Messages {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			time.Sleep(time.Millisecond)
		}
	}
	return nil
}

// runQoS1 sends the messages at QoS 1, one in flight: the next once PUBACK arrives (§6.6).
func (p *publisher) runQoS1(ctx context.Context, cfg *FlowConfig, base time.Time) error {
	for seq := 0; seq < cfg.Messages; seq++ {
		msgID := uint16(seq%0xFFFF + 1)
		dup := false
		for attempt := 0; ; attempt++ {
			if err := p.publish(cfg, base, seq, packet.QoS1, msgID, dup); err != nil {
				return err
			}
			if attempt == 0 {
				p.sent++
			}
			ok, err := p.awaitPuback(msgID, cfg.RetryInterval)
			if err != nil {
				return err
			}
			if ok {
				break
			}
			if attempt == 5 || ctx.Err() != nil {
				return fmt.Errorf("client %d: no PUBACK for message %d after %d retries", p.id, seq, attempt)
			}
			p.retries++
			dup = true
		}
	}
	return nil
}

func (p *publisher) awaitPuback(msgID uint16, wait time.Duration) (bool, error) {
	p.conn.SetReadDeadline(time.Now().Add(wait))
	for {
		n, err := p.conn.Read(p.rbuf)
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				return false, nil
			}
			return false, err
		}
		t, _, _, err := packet.ParseHeader(p.rbuf[:n])
		if err != nil || t != packet.TypePuback {
			continue
		}
		var ack packet.Puback
		if ack.Unmarshal(p.rbuf[:n]) != nil || ack.MsgID != msgID {
			continue
		}
		if err := ack.ReturnCode.Err(); err != nil {
			return false, fmt.Errorf("client %d: PUBACK: %w", p.id, err)
		}
		return true, nil
	}
}

// recorder is the subscriber's bookkeeping; only its goroutine writes, delivered excepted.
type recorder struct {
	closing    atomic.Bool // set before the run closes the connection
	dropped    bool        // the connection ended otherwise
	seen       [][]bool
	delivered  atomic.Uint64
	duplicates uint64
	lastNS     int64
	latencies  []int64
}

func newRecorder(clients, messages int) *recorder {
	r := &recorder{seen: make([][]bool, clients), latencies: make([]int64, 0, clients*messages)}
	for i := range r.seen {
		r.seen[i] = make([]bool, messages)
	}
	return r
}

func (r *recorder) run(c *mqttConn, base time.Time) {
	for {
		pk, err := c.r.ReadReused()
		if err != nil {
			r.dropped = !r.closing.Load()
			return
		}
		pub, ok := pk.(*mqtt.Publish)
		if !ok {
			continue
		}
		now := int64(time.Since(base))
		if pub.QoS == 1 {
			c.buf, _ = mqtt.Append(c.buf, &mqtt.Puback{PacketID: pub.PacketID})
		}
		if len(c.buf) >= 1024 || (len(c.buf) > 0 && c.r.Buffered() == 0) { // acknowledge in batches
			if _, err := c.nc.Write(c.buf); err != nil {
				return
			}
			c.buf = c.buf[:0]
		}
		if len(pub.Payload) < 16 {
			continue
		}
		client, seq := binary.BigEndian.Uint32(pub.Payload[8:]), binary.BigEndian.Uint32(pub.Payload[12:])
		if int(client) >= len(r.seen) || int(seq) >= len(r.seen[client]) {
			continue
		}
		if r.seen[client][seq] {
			r.duplicates++
			continue
		}
		r.seen[client][seq] = true
		r.latencies = append(r.latencies, now-int64(binary.BigEndian.Uint64(pub.Payload)))
		r.lastNS = now
		r.delivered.Add(1)
	}
}

func runID() string { return strconv.FormatInt(time.Now().UnixNano()%1e9, 36) }

func or(v, def int) int {
	if v <= 0 {
		return def
	}
	return v
}

func orDur(v, def time.Duration) time.Duration {
	if v <= 0 {
		return def
	}
	return v
}
