package broker

import (
	"errors"
	"io"
	"net"
	"os"
	"runtime"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"snbridge/mqtt/packet"
	"snbridge/mqtt/store"
	"snbridge/mqtt/topic"
)

// conn is one network client: a read loop (serve), and around a bounded outbound queue the
// three ways packets reach the socket (package doc, Concurrency): direct non-blocking writes,
// the read loop's own writes (flushInline), and a write loop while there is a backlog.
//
// Slow-consumer policy: QoS 0 messages beyond Options.OutboundQueue waiting for the socket are
// dropped and counted; QoS 1/2 messages wait in the session's queue (the in-flight window
// bounds what is handed to the socket; the queue's own overflow policy applies beyond
// MaxQueued). A client that does not read its socket is disconnected when a write has been
// blocked for Options.WriteTimeout, or when more than 4×OutboundQueue + 4×MaxInflight packets
// wait for it.
type conn struct {
	b        *Broker
	nc       net.Conn
	raw      syscall.RawConn // plain TCP: direct, non-blocking writes; nil otherwise
	listener string
	remote   string

	clientID  string
	username  string
	keepAlive time.Duration
	sess      *session

	out     outQueue
	closing chan struct{}
	once    sync.Once
	rmu     sync.Mutex
	reason  error // the first reason the connection was closed for
	clean   bool  // DISCONNECT received: no will

	inline         inlineWriter
	pendingCommits atomic.Int32 // acks waiting for the committer; later acks queue behind them
	held           heldAcks     // acks waiting for subscribers' queues (admission.go)
	batch          store.Batch
	matchBuf       []topic.Subscriber[*session]
}

type outPacket struct {
	typ     packet.Type
	pid     uint16
	msg     *message
	qos     byte
	retain  bool
	dup     bool
	codes   []byte
	present bool
	code    packet.ConnackCode
}

type outQueue struct {
	mu       sync.Mutex
	items    []outPacket
	qos0     int
	closed   bool
	wake     chan struct{}
	writing  bool   // a write loop is running (or the read loop is writing inline)
	reading  bool   // the read loop is handling acknowledgements and writes what they release (flushInline)
	pending  []byte // the unwritten rest of a direct write; the write loop sends it first
	direct   []byte // encoding buffer of direct writes
	enc      *encoders
	limit0   int
	limitAll int

	burstStart time.Duration // start of the current millisecond of direct writes (since epoch)
	burstN     int           // direct writes in it
}

// burstWrites is the direct writes to one socket within a millisecond beyond which deliveries
// are batched by a write loop instead: a socket that many publishers feed (a fan-in's
// subscriber) gets one write per batch rather than one per message.
const burstWrites = 8

var epoch = time.Now()

// bursting counts a direct write and reports whether the socket is busy enough to batch.
// Called with q.mu held.
func (q *outQueue) bursting() bool {
	now := time.Since(epoch)
	if now-q.burstStart > time.Millisecond {
		q.burstStart, q.burstN = now, 0
	}
	q.burstN++
	return q.burstN > burstWrites
}

func newConn(b *Broker, nc net.Conn, listener string) *conn {
	c := &conn{b: b, nc: nc, listener: listener, remote: nc.RemoteAddr().String(), closing: make(chan struct{})}
	c.raw = rawConnOf(nc)
	c.out.wake = make(chan struct{}, 1)
	c.out.limit0 = b.opts.OutboundQueue
	c.out.limitAll = 4*b.opts.OutboundQueue + 4*b.opts.MaxInflight
	return c
}

// push sends a packet: written directly when nothing else is queued on plain TCP, queued for
// the write loop otherwise; false when it was dropped (QoS 0 over the limit, or the connection
// closing).
func (c *conn) push(p outPacket) bool { return c.enqueue(p, false) }

// pushOwn is push for the connection's own read loop: it starts no write loop, since the read
// loop writes what it queued itself before it next waits for the client (flushInline).
func (c *conn) pushOwn(p outPacket) bool { return c.enqueue(p, true) }

func (c *conn) enqueue(p outPacket, own bool) bool {
	q := &c.out
	q.mu.Lock()
	if q.closed {
		q.mu.Unlock()
		return false
	}
	isQoS0 := p.typ == packet.PUBLISH && p.qos == 0
	if isQoS0 && q.qos0 >= q.limit0 {
		q.mu.Unlock()
		return false
	}
	if len(q.items) >= q.limitAll {
		q.mu.Unlock()
		c.closeAsync(ErrSlowConsumer)
		return false
	}
	own = own || q.reading // the read loop is busy and writes it with what its packets release
	if !own && !q.writing && len(q.items) == 0 && c.raw != nil && !q.bursting() && c.writeDirect(&p) {
		q.mu.Unlock()
		return true
	}
	if isQoS0 {
		q.qos0++
	}
	q.items = append(q.items, p)
	if own && !q.writing {
		q.mu.Unlock()
		return true
	}
	start := !q.writing
	if start {
		// The connection's read loop holds a count of b.wg while the queue is open.
		q.writing = true
		c.b.wg.Add(1)
	}
	q.mu.Unlock()
	if start {
		go c.writeLoop()
		return true
	}
	select {
	case q.wake <- struct{}{}:
	default:
	}
	return true
}

// directMax bounds the packets written directly by the goroutine that queues them.
const directMax = 4096

// writeDirect writes p right away, without blocking, when nothing else is queued for the
// socket: no hand-off to a write loop for a client that keeps up (a fan-out's deliveries). What
// the socket does not take at once is left in pending, and a write loop is started for it.
// Called with q.mu held; false when p was not written (too large): queue it.
func (c *conn) writeDirect(p *outPacket) bool {
	q := &c.out
	if p.msg != nil && len(p.msg.payload)+len(p.msg.topic) > directMax {
		return false
	}
	if q.enc == nil {
		q.enc = new(encoders)
	}
	buf, err := q.enc.append(q.direct[:0], p)
	if err != nil {
		c.b.log.Error("encoding failed", "client", c.clientID, "type", p.typ, "err", err)
		return true
	}
	q.direct = buf
	n := tryWrite(c.raw, buf)
	c.b.stats.bytesSent.Add(int64(n))
	c.b.stats.msgsSent.Add(1)
	if p.typ == packet.PUBLISH {
		c.b.stats.pubSent.Add(1)
	}
	if n == len(buf) {
		return true
	}
	// The socket is full (or failed: the write loop will find out and close).
	q.pending = append(q.pending[:0], buf[n:]...)
	q.writing = true
	c.b.wg.Add(1)
	go c.writeLoop()
	return true
}

// The sink methods, called with the session locked.

func (c *conn) attached(present bool) {
	c.pushOwn(outPacket{typ: packet.CONNACK, present: present}) // attach runs on the read loop
}

func (c *conn) publish(d delivery) bool {
	return c.push(outPacket{typ: packet.PUBLISH, pid: d.pid, msg: d.msg, qos: d.qos, retain: d.retain, dup: d.dup})
}

func (c *conn) pubrel(pid uint16) { c.push(outPacket{typ: packet.PUBREL, pid: pid}) }

func (c *conn) closeSink(reason error) { c.close(reason) }

// close records the first reason and closes the socket, which ends both loops.
func (c *conn) close(reason error) {
	c.once.Do(func() {
		c.rmu.Lock()
		c.reason = reason
		c.rmu.Unlock()
		c.out.mu.Lock()
		c.out.closed = true
		c.out.mu.Unlock()
		close(c.closing)
		c.nc.Close()
	})
}

func (c *conn) closeReason() error {
	c.rmu.Lock()
	defer c.rmu.Unlock()
	return c.reason
}

// closeAsync is close for callers holding a session lock: closing a socket does not block.
func (c *conn) closeAsync(reason error) { c.close(reason) }

// countingReader counts bytes and re-arms the keepalive deadline before each read: the client
// must send something within 1.5 × keepalive [MQTT-3.1.2-24].
type countingReader struct{ c *conn }

func (r countingReader) Read(p []byte) (int, error) {
	c := r.c
	if c.keepAlive > 0 {
		c.nc.SetReadDeadline(time.Now().Add(c.keepAlive * 3 / 2))
	}
	n, err := c.nc.Read(p)
	c.b.stats.bytesReceived.Add(int64(n))
	return n, err
}

// serve is the connection's life: CONNECT, then the read loop until the connection ends. The
// two are separate calls so that only the read loop's small frames stay on the goroutine's
// stack while it waits for the client: the runtime can then shrink the stack that CONNECT
// handling grew.
func (c *conn) serve() {
	if r := c.handshake(); r != nil {
		c.run(r)
	}
}

// handshake reads and applies CONNECT; nil when the connection was refused or failed.
//
//go:noinline
func (c *conn) handshake() *packet.Reader {
	c.nc.SetReadDeadline(time.Now().Add(c.b.opts.ConnectTimeout))
	r := packet.NewReader(countingReader{c}, c.b.opts.MaxPacketSize) // reads ahead into its own buffer
	first, err := r.ReadPacket()
	if err != nil {
		if errors.Is(err, packet.ErrUnsupportedLevel) {
			c.refuse(packet.UnacceptableProtocolVersion)
		}
		c.b.log.Info("connection closed before CONNECT", "remote", c.remote, "err", err)
		c.close(err)
		return nil
	}
	cp, ok := first.(*packet.Connect)
	if !ok {
		// The first packet must be CONNECT [MQTT-3.1.0-1].
		c.b.log.Info("connection closed: first packet not CONNECT", "remote", c.remote, "type", first.Type())
		c.close(ErrProtocol)
		return nil
	}
	if !c.connect(cp) {
		return nil
	}
	c.b.stats.connected.Add(1)
	c.b.stats.clientsTotal.Add(1)
	for {
		cur := c.b.stats.connected.Load()
		mx := c.b.stats.maxConnected.Load()
		if cur <= mx || c.b.stats.maxConnected.CompareAndSwap(mx, cur) {
			break
		}
	}
	return r
}

// run is the read loop, then the end of the session's attachment.
//
//go:noinline
func (c *conn) run(r *packet.Reader) {
	c.readLoop(r)
	c.finish()
}

// finish ends the connection and its session's attachment.
//
//go:noinline
func (c *conn) finish() {
	c.b.stats.connected.Add(-1)
	c.close(ErrClosed)
	reason := c.closeReason()
	abnormal := !c.clean && reason != ErrServerClosed && reason != ErrTakenOver
	c.b.detach(c.sess, c, abnormal)
	c.b.log.Info("client disconnected", "client", c.clientID, "remote", c.remote, "reason", c.reasonText())
}

func (c *conn) reasonText() string {
	if c.clean {
		return "DISCONNECT"
	}
	if r := c.closeReason(); r != nil {
		return r.Error()
	}
	return "closed"
}

// refuse writes a CONNACK with a refusal code directly and closes [MQTT-3.2.2-5].
func (c *conn) refuse(code packet.ConnackCode) {
	buf, err := packet.Append(nil, &packet.Connack{ReturnCode: code})
	if err == nil {
		c.nc.SetWriteDeadline(time.Now().Add(time.Second))
		c.nc.Write(buf)
	}
	c.close(code)
}

// connect applies a CONNECT; false when the connection was refused and closed.
func (c *conn) connect(p *packet.Connect) bool {
	id := p.ClientID
	if id == "" {
		if !p.CleanSession {
			// A zero-byte client id requires clean session [MQTT-3.1.3-7], [MQTT-3.1.3-8].
			c.refuse(packet.IdentifierRejected)
			return false
		}
		id = newClientID() // [MQTT-3.1.3-6]
	}
	if !c.b.auth.Authenticate(p.Username, string(p.Password), id) {
		code := packet.NotAuthorized
		if p.UsernameFlag {
			code = packet.BadUsernameOrPassword
		}
		c.b.log.Info("connection refused", "client", id, "remote", c.remote, "user", p.Username, "code", code.Error())
		c.refuse(code)
		return false
	}
	var will *Will
	if p.Will != nil {
		if err := topic.ValidateName(p.Will.Topic); err != nil {
			c.b.log.Info("connection closed: invalid will topic", "client", id, "remote", c.remote, "err", err)
			c.close(ErrProtocol)
			return false
		}
		will = &Will{Topic: p.Will.Topic, Payload: p.Will.Payload, QoS: p.Will.QoS, Retain: p.Will.Retain}
	}
	c.clientID, c.username = id, p.Username
	c.keepAlive = time.Duration(p.KeepAlive) * time.Second
	c.nc.SetReadDeadline(time.Time{})
	s, present, old, err := c.b.attach(attachOptions{clientID: id, clean: p.CleanSession, username: p.Username, will: will}, c)
	if old != nil {
		c.b.log.Info("client taken over", "client", id, "remote", c.remote)
		old.closeSink(ErrTakenOver)
	}
	if err != nil {
		c.b.log.Warn("connection refused: the session could not be stored", "client", id, "remote", c.remote, "err", err)
		c.refuse(packet.ServerUnavailable)
		return false
	}
	c.sess = s
	c.b.log.Info("client connected", "client", id, "remote", c.remote, "listener", c.listener, "clean", p.CleanSession, "session_present", present, "keepalive", p.KeepAlive)
	return true
}

func (c *conn) readLoop(r *packet.Reader) {
	reading := false
	for {
		if c.held.n.Load() >= maxHeldAcks {
			c.waitHeld()
		}
		if r.Buffered() == 0 {
			c.flushInline()
			reading = false
		}
		p, err := r.ReadReused()
		if err != nil {
			c.readFailed(err)
			return
		}
		c.b.stats.msgsReceived.Add(1)
		if !reading && releases(p.Type()) {
			c.markReading()
			reading = true
		}
		if err := c.handle(p); err != nil {
			c.handleFailed(err)
			return
		}
	}
}

// handleFailed ends the read loop after handle refused a packet or saw DISCONNECT. Apart from
// the loop: the loop's frame, under every read, stays small (see run).
//
//go:noinline
func (c *conn) handleFailed(err error) {
	if err == errDisconnect {
		c.clean = true
		return
	}
	c.b.log.Warn("client disconnected: protocol violation", "client", c.clientID, "remote", c.remote, "err", err)
	c.close(err)
}

func (c *conn) readFailed(err error) {
	var ne net.Error
	switch {
	case c.closeReason() != nil:
	case errors.As(err, &ne) && ne.Timeout() || errors.Is(err, os.ErrDeadlineExceeded):
		c.close(ErrKeepAlive)
	case errors.Is(err, io.EOF):
		c.close(errors.New("connection closed by client without DISCONNECT"))
	case errors.Is(err, packet.ErrMalformed) || errors.Is(err, packet.ErrTooLarge) || errors.Is(err, io.ErrUnexpectedEOF):
		c.b.log.Warn("client disconnected: bad packet", "client", c.clientID, "remote", c.remote, "err", err)
		c.close(err)
	default:
		c.close(err)
	}
}

var errDisconnect = errors.New("DISCONNECT")

// markReading tells pushes to the connection that its read loop is handling acknowledgements:
// what they release (the next messages of the window) is queued and written in one go before
// the loop next waits, one write for a batch of PUBACKs rather than one per PUBACK. Not
// inlined: the read loop's frame stays small (see run).
//
//go:noinline
func (c *conn) markReading() {
	c.out.mu.Lock()
	c.out.reading = true
	c.out.mu.Unlock()
}

// releases reports whether a packet of type t may move queued messages into flight.
func releases(t packet.Type) bool { return t == packet.PUBACK || t == packet.PUBCOMP }

func (c *conn) handle(p packet.Packet) error {
	switch p := p.(type) {
	case *packet.Publish:
		return c.handlePublish(p)
	case *packet.Puback:
		c.sess.complete(p.PacketID, 1)
	case *packet.Pubrec:
		c.batch.Reset()
		c.sess.received(p.PacketID, &c.batch)
		c.pubrelDurable(p.PacketID, &c.batch)
	case *packet.Pubcomp:
		c.sess.complete(p.PacketID, 2)
	case *packet.Pubrel:
		c.sess.releaseQoS2(p.PacketID, &c.batch)
		c.ack(outPacket{typ: packet.PUBCOMP, pid: p.PacketID}, nil, nil)
	case *packet.Subscribe:
		codes := make([]byte, len(p.Subscriptions))
		for i, sub := range p.Subscriptions {
			code, err := c.b.subscribe(c.sess, sub.Filter, sub.QoS)
			if err != nil {
				c.b.log.Info("subscription refused", "client", c.clientID, "filter", sub.Filter, "err", err)
			}
			codes[i] = code
		}
		c.pushOwn(outPacket{typ: packet.SUBACK, pid: p.PacketID, codes: codes})
		for i, sub := range p.Subscriptions {
			if codes[i] != 0x80 {
				c.b.sendRetained(c.sess, sub.Filter, codes[i])
			}
		}
	case *packet.Unsubscribe:
		for _, f := range p.Filters {
			c.b.unsubscribe(c.sess, f)
		}
		c.pushOwn(outPacket{typ: packet.UNSUBACK, pid: p.PacketID})
	case *packet.Pingreq:
		c.pushOwn(outPacket{typ: packet.PINGRESP})
	case *packet.Disconnect:
		return errDisconnect
	case *packet.Connect:
		return errors.New("second CONNECT [MQTT-3.1.0-2]")
	default:
		return errors.New("unexpected " + p.Type().String() + " from a client")
	}
	return nil
}

func (c *conn) handlePublish(p *packet.Publish) error {
	if err := topic.ValidateName(p.Topic); err != nil {
		return err
	}
	b := c.b
	b.stats.pubReceived.Add(1)
	c.batch.Reset()
	if p.QoS == 2 && c.sess.receiveQoS2(p.PacketID, p.Dup, &c.batch) {
		// Already routed: only acknowledge again [MQTT-4.3.3-2], once every write submitted
		// before is durable, the first PUBLISH's included (perhaps on an older connection):
		// its PUBREL's delete must not overtake the id's write.
		c.ackHeld(outPacket{typ: packet.PUBREC, pid: p.PacketID}, nil, nil)
		return nil
	}
	var held *admission
	if b.canPublish(c.username, c.clientID, p.Topic) {
		m := newMessage(p.Topic, p.Payload, p.QoS, p.Retain)
		var hold **admission
		if p.QoS > 0 {
			hold = &held
		}
		b.route(m, &c.batch, &c.matchBuf, hold)
	} else {
		b.stats.pubDropped.Add(1)
		b.log.Debug("publish denied", "client", c.clientID, "topic", p.Topic)
	}
	switch p.QoS {
	case 0:
		b.commitLazy(&c.batch)
	case 1:
		c.ack(outPacket{typ: packet.PUBACK, pid: p.PacketID}, &c.batch, held)
	case 2:
		c.ack(outPacket{typ: packet.PUBREC, pid: p.PacketID}, &c.batch, held)
	}
	return nil
}

// ack sends an acknowledgement once batch is durable and held (nil: none) admitted, keeping
// acknowledgements in the order the PUBLISH packets came [MQTT-4.6.0-2..3]: while one waits
// for the store or for an admission, later ones queue behind it.
func (c *conn) ack(p outPacket, batch *store.Batch, held *admission) {
	if held != nil || c.held.n.Load() > 0 {
		c.ackHeld(p, batch, held)
		return
	}
	needs := batch != nil && batch.Len() > 0
	if !needs && c.pendingCommits.Load() == 0 {
		c.pushOwn(p)
		return
	}
	b := c.b
	c.pendingCommits.Add(1)
	var ops *store.Batch
	if needs {
		ops = batch
	}
	b.commits.submit(ops, func(err error) {
		c.pendingCommits.Add(-1)
		if err != nil {
			b.log.Error("store: commit failed; not acknowledging", "client", c.clientID, "err", err)
			c.close(err)
			return
		}
		c.push(p)
	})
}

// pubrelDurable sends PUBREL once batch (the PUBREC'd state) is durable. PUBRELs keep their
// order through the committer; they do not wait for held acknowledgements.
func (c *conn) pubrelDurable(pid uint16, batch *store.Batch) {
	p := outPacket{typ: packet.PUBREL, pid: pid}
	if batch.Len() == 0 {
		c.pushOwn(p)
		return
	}
	c.b.commits.submit(batch, func(err error) {
		if err != nil {
			c.b.log.Error("store: commit failed; not releasing", "client", c.clientID, "err", err)
			c.close(err)
			return
		}
		c.push(p)
	})
}

// inlineWriter is the read loop's own small write path (see flushInline).
type inlineWriter struct {
	enc   *encoders
	buf   []byte
	spare []outPacket
}

// inlineMax bounds what the read loop writes itself on TLS and WebSocket connections, where a
// write may block: a few acknowledgements fit any socket buffer, so the write does not block
// the reads that follow. On plain TCP it writes without blocking, up to inlineMaxTCP.
const (
	inlineMax    = 2048
	inlineMaxTCP = 64 << 10
)

// flushInline lets the read loop, about to wait for the client, write what its own packets
// produced (CONNACK, acknowledgements, the messages that PUBACKs let into the window) when no
// write loop runs: one goroutine hand-off less per QoS 1 message, and no write loop at all for
// a connection that only pings. What does not fit, or what a plain TCP socket does not take at
// once, is left to a write loop.
func (c *conn) flushInline() {
	q := &c.out
	q.mu.Lock()
	q.reading = false
	if q.writing || q.closed || len(q.items) == 0 {
		q.mu.Unlock()
		return
	}
	q.writing = true
	if c.raw == nil && (len(q.items) > 64 || estimate(q.items) > inlineMax) ||
		c.raw != nil && estimate(q.items) > inlineMaxTCP {
		c.b.wg.Add(1) // too much to write here: a write loop takes it
		q.mu.Unlock()
		go c.writeLoop()
		return
	}
	items := q.items
	q.items = c.inline.spare[:0]
	q.qos0 = 0
	q.mu.Unlock()

	w := &c.inline
	if w.enc == nil {
		w.enc = new(encoders)
	}
	buf := w.buf[:0]
	for i := range items {
		var err error
		if items[i].typ == packet.PUBLISH {
			c.b.stats.pubSent.Add(1)
		}
		if buf, err = w.enc.append(buf, &items[i]); err != nil {
			c.b.log.Error("encoding failed", "client", c.clientID, "type", items[i].typ, "err", err)
		}
	}
	c.b.stats.msgsSent.Add(int64(len(items)))
	clear(items)
	w.spare = items
	w.buf = buf
	ok, rest := true, []byte(nil)
	if c.raw != nil {
		n := tryWrite(c.raw, buf)
		c.b.stats.bytesSent.Add(int64(n))
		rest = buf[n:]
	} else {
		ok = c.write(buf)
	}

	q.mu.Lock()
	if len(rest) > 0 {
		// The socket is full (or failed: the write loop finds out and closes).
		q.pending = append(q.pending[:0], rest...)
	}
	start := ok && (len(q.items) > 0 || len(q.pending) > 0) && !q.closed
	q.writing = start
	if start {
		c.b.wg.Add(1)
	}
	q.mu.Unlock()
	if start {
		go c.writeLoop()
	}
}

func estimate(items []outPacket) int {
	n := 0
	for i := range items {
		n += 8 + len(items[i].codes)
		if m := items[i].msg; m != nil {
			n += len(m.topic) + len(m.payload)
		}
	}
	return n
}

// writerLinger is how long an idle write loop waits for more before it exits; the next packet
// starts a new one. An idle connection thus costs no goroutine and no write buffer.
const writerLinger = 2 * time.Second

// writerYields is how often a drained write loop on plain TCP yields for more before it exits.
const writerYields = 2

var writeBufPool = sync.Pool{New: func() any { b := make([]byte, 0, 4096); return &b }}

// writeLoop encodes what is queued and writes it in one go, flushing when the queue is empty.
func (c *conn) writeLoop() {
	defer c.b.wg.Done()
	q := &c.out
	var spare []outPacket
	bp := writeBufPool.Get().(*[]byte)
	defer func() {
		if cap(*bp) <= 64<<10 {
			*bp = (*bp)[:0]
			writeBufPool.Put(bp)
		}
	}()
	enc := new(encoders)
	linger := time.NewTimer(writerLinger)
	defer linger.Stop()
	idle := false
	yields := 0
	for {
		q.mu.Lock()
		items := q.items
		pending := q.pending
		q.pending = nil
		taken0 := 0
		if len(items) > 0 {
			q.items = spare[:0] // double buffering: push fills one slice while this loop encodes the other
			// The QoS 0 messages taken still wait for the socket: they count against
			// OutboundQueue until written.
			taken0 = q.qos0
			yields = 0
		} else if len(pending) == 0 && c.raw != nil && yields < writerYields {
			// Drained on plain TCP: let the goroutines that feed this socket run once more
			// and batch what they queue, before the next packet is written directly again.
			q.mu.Unlock()
			yields++
			runtime.Gosched()
			continue
		} else if len(pending) == 0 && (idle || c.raw != nil) {
			// Drained. On plain TCP the next packet is written directly; otherwise the loop
			// lingers a little for the next one.
			q.writing = false
			q.mu.Unlock()
			return
		}
		q.mu.Unlock()
		if len(pending) > 0 && !c.write(pending) {
			return
		}
		if len(items) == 0 && len(pending) > 0 {
			continue
		}
		if len(items) == 0 {
			linger.Reset(writerLinger)
			select {
			case <-q.wake:
			case <-linger.C:
				idle = true
			case <-c.closing:
				return
			}
			continue
		}
		idle = false
		buf := (*bp)[:0]
		var err error
		for i := range items {
			it := &items[i]
			if it.typ == packet.PUBLISH {
				c.b.stats.pubSent.Add(1)
			}
			buf, err = enc.append(buf, it)
			if err != nil {
				c.b.log.Error("encoding failed", "client", c.clientID, "type", it.typ, "err", err)
				err = nil
			}
			if len(buf) >= 64<<10 {
				if !c.write(buf) {
					return
				}
				buf = buf[:0]
			}
		}
		*bp = buf
		c.b.stats.msgsSent.Add(int64(len(items)))
		clear(items)
		spare = items
		if len(buf) > 0 && !c.write(buf) {
			return
		}
		if taken0 > 0 {
			q.mu.Lock()
			q.qos0 -= taken0
			q.mu.Unlock()
		}
	}
}

func (c *conn) write(buf []byte) bool {
	c.nc.SetWriteDeadline(time.Now().Add(c.b.opts.WriteTimeout))
	n, err := c.nc.Write(buf)
	c.b.stats.bytesSent.Add(int64(n))
	if err != nil {
		c.close(err)
		return false
	}
	return true
}

// encoders holds one value of each packet the write loop sends, reused so that encoding
// allocates nothing.
type encoders struct {
	publish  packet.Publish
	connack  packet.Connack
	puback   packet.Puback
	pubrec   packet.Pubrec
	pubrel   packet.Pubrel
	pubcomp  packet.Pubcomp
	suback   packet.Suback
	unsuback packet.Unsuback
	pingresp packet.Pingresp
}

func (e *encoders) append(buf []byte, it *outPacket) ([]byte, error) {
	var p packet.Packet
	switch it.typ {
	case packet.PUBLISH:
		e.publish = packet.Publish{Dup: it.dup, QoS: it.qos, Retain: it.retain, Topic: it.msg.topic, PacketID: it.pid, Payload: it.msg.payload}
		p = &e.publish
	case packet.CONNACK:
		e.connack = packet.Connack{SessionPresent: it.present, ReturnCode: it.code}
		p = &e.connack
	case packet.PUBACK:
		e.puback.PacketID = it.pid
		p = &e.puback
	case packet.PUBREC:
		e.pubrec.PacketID = it.pid
		p = &e.pubrec
	case packet.PUBREL:
		e.pubrel.PacketID = it.pid
		p = &e.pubrel
	case packet.PUBCOMP:
		e.pubcomp.PacketID = it.pid
		p = &e.pubcomp
	case packet.SUBACK:
		e.suback = packet.Suback{PacketID: it.pid, ReturnCodes: it.codes}
		p = &e.suback
	case packet.UNSUBACK:
		e.unsuback.PacketID = it.pid
		p = &e.unsuback
	case packet.PINGRESP:
		p = &e.pingresp
	default:
		return buf, errors.New("no encoder for " + it.typ.String())
	}
	return packet.Append(buf, p)
}
