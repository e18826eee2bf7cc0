package broker

import (
	"bufio"
	"errors"
	"io"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"snbridge/mqtt/packet"
	"snbridge/mqtt/store"
	"snbridge/mqtt/topic"
)

// conn is one network client: a read loop (serve) and a write loop (writeLoop) around a
// bounded outbound queue.
//
// Slow-consumer policy: QoS 0 messages beyond Options.OutboundQueue waiting for the socket are
// dropped and counted; QoS 1/2 messages wait in the session's queue (the in-flight window
// bounds what is handed to the socket), and a client whose session queue reaches MaxQueued while
// connected is disconnected. A client that stops reading its acknowledgements and lets more
// than 4×OutboundQueue control packets pile up is disconnected too.
type conn struct {
	b        *Broker
	nc       net.Conn
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

	pendingCommits atomic.Int32 // acks waiting for the committer; later acks queue behind them
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
	limit0   int
	limitAll int
}

func newConn(b *Broker, nc net.Conn, listener string) *conn {
	c := &conn{b: b, nc: nc, listener: listener, remote: nc.RemoteAddr().String(), closing: make(chan struct{})}
	c.out.wake = make(chan struct{}, 1)
	c.out.limit0 = b.opts.OutboundQueue
	c.out.limitAll = 4*b.opts.OutboundQueue + 4*b.opts.MaxInflight
	return c
}

// push queues a packet for the write loop; false when it was dropped (QoS 0 over the limit, or
// the connection closing).
func (c *conn) push(p outPacket) bool {
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
	if isQoS0 {
		q.qos0++
	}
	q.items = append(q.items, p)
	q.mu.Unlock()
	select {
	case q.wake <- struct{}{}:
	default:
	}
	return true
}

// The sink methods, called with the session locked.

func (c *conn) attached(present bool) {
	c.push(outPacket{typ: packet.CONNACK, present: present})
}

func (c *conn) publish(d *delivery) bool {
	return c.push(outPacket{typ: packet.PUBLISH, pid: d.pid, msg: d.msg, qos: d.qos, retain: d.retain, dup: d.dup})
}

func (c *conn) pubrel(pid uint16) { c.push(outPacket{typ: packet.PUBREL, pid: pid}) }

func (c *conn) overflow() { c.closeAsync(ErrSlowConsumer) }

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

// serve is the read loop: CONNECT, then packets until the connection ends.
func (c *conn) serve() {
	c.nc.SetReadDeadline(time.Now().Add(c.b.opts.ConnectTimeout))
	r := packet.NewReader(bufio.NewReaderSize(countingReader{c}, 4096), c.b.opts.MaxPacketSize)
	first, err := r.ReadPacket()
	if err != nil {
		if errors.Is(err, packet.ErrUnsupportedLevel) {
			c.refuse(packet.UnacceptableProtocolVersion)
		}
		c.b.log.Info("connection closed before CONNECT", "remote", c.remote, "err", err)
		c.close(err)
		return
	}
	cp, ok := first.(*packet.Connect)
	if !ok {
		// The first packet must be CONNECT [MQTT-3.1.0-1].
		c.b.log.Info("connection closed: first packet not CONNECT", "remote", c.remote, "type", first.Type())
		c.close(ErrProtocol)
		return
	}
	if !c.connect(cp) {
		return
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
	c.b.wg.Add(1)
	go func() { defer c.b.wg.Done(); c.writeLoop() }()
	c.readLoop(r)
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
	s, present, old := c.b.attach(attachOptions{clientID: id, clean: p.CleanSession, username: p.Username, will: will}, c)
	c.sess = s
	if old != nil {
		c.b.log.Info("client taken over", "client", id, "remote", c.remote)
		old.closeSink(ErrTakenOver)
	}
	c.b.log.Info("client connected", "client", id, "remote", c.remote, "listener", c.listener, "clean", p.CleanSession, "session_present", present, "keepalive", p.KeepAlive)
	return true
}

func (c *conn) readLoop(r *packet.Reader) {
	for {
		p, err := r.ReadReused()
		if err != nil {
			c.readFailed(err)
			return
		}
		c.b.stats.msgsReceived.Add(1)
		if err := c.handle(p); err != nil {
			if err == errDisconnect {
				c.clean = true
				return
			}
			c.b.log.Warn("client disconnected: protocol violation", "client", c.clientID, "remote", c.remote, "err", err)
			c.close(err)
			return
		}
	}
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

func (c *conn) handle(p packet.Packet) error {
	switch p := p.(type) {
	case *packet.Publish:
		return c.handlePublish(p)
	case *packet.Puback:
		c.sess.complete(p.PacketID, 1)
	case *packet.Pubrec:
		c.sess.received(p.PacketID)
		c.push(outPacket{typ: packet.PUBREL, pid: p.PacketID})
	case *packet.Pubcomp:
		c.sess.complete(p.PacketID, 2)
	case *packet.Pubrel:
		s := c.sess
		s.mu.Lock()
		delete(s.qos2In, p.PacketID)
		s.mu.Unlock()
		c.ack(outPacket{typ: packet.PUBCOMP, pid: p.PacketID}, nil)
	case *packet.Subscribe:
		codes := make([]byte, len(p.Subscriptions))
		for i, sub := range p.Subscriptions {
			code, err := c.b.subscribe(c.sess, sub.Filter, sub.QoS)
			if err != nil {
				c.b.log.Info("subscription refused", "client", c.clientID, "filter", sub.Filter, "err", err)
			}
			codes[i] = code
		}
		c.push(outPacket{typ: packet.SUBACK, pid: p.PacketID, codes: codes})
		for i, sub := range p.Subscriptions {
			if codes[i] != 0x80 {
				c.b.sendRetained(c.sess, sub.Filter, codes[i])
			}
		}
	case *packet.Unsubscribe:
		for _, f := range p.Filters {
			c.b.unsubscribe(c.sess, f)
		}
		c.push(outPacket{typ: packet.UNSUBACK, pid: p.PacketID})
	case *packet.Pingreq:
		c.push(outPacket{typ: packet.PINGRESP})
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
	s := c.sess
	if p.QoS == 2 {
		s.mu.Lock()
		_, seen := s.qos2In[p.PacketID]
		if !seen {
			if s.qos2In == nil {
				s.qos2In = make(map[uint16]struct{})
			}
			s.qos2In[p.PacketID] = struct{}{}
		}
		s.mu.Unlock()
		if seen {
			// Already routed: only acknowledge again [MQTT-4.3.3-2].
			c.ack(outPacket{typ: packet.PUBREC, pid: p.PacketID}, nil)
			return nil
		}
	}
	c.batch.Reset()
	if b.auth.CanPublish(c.username, c.clientID, p.Topic) {
		m := &message{topic: p.Topic, payload: append([]byte(nil), p.Payload...), qos: p.QoS, retain: p.Retain}
		b.route(m, &c.batch, &c.matchBuf)
	} else {
		b.stats.pubDropped.Add(1)
		b.log.Debug("publish denied", "client", c.clientID, "topic", p.Topic)
	}
	switch p.QoS {
	case 0:
		b.commitLazy(&c.batch)
	case 1:
		c.ack(outPacket{typ: packet.PUBACK, pid: p.PacketID}, &c.batch)
	case 2:
		c.ack(outPacket{typ: packet.PUBREC, pid: p.PacketID}, &c.batch)
	}
	return nil
}

// ack sends an acknowledgement once batch is durable, keeping acknowledgements in the order
// the PUBLISH packets came [MQTT-4.6.0-2..3]: while one waits for the store, later ones queue
// behind it.
func (c *conn) ack(p outPacket, batch *store.Batch) {
	needs := batch != nil && batch.Len() > 0
	if !needs && c.pendingCommits.Load() == 0 {
		c.push(p)
		return
	}
	b := c.b
	if b.commits == nil {
		if err := b.store.Commit(batch); err != nil {
			b.log.Error("store: commit failed; not acknowledging", "client", c.clientID, "err", err)
			c.close(err)
			return
		}
		c.push(p)
		return
	}
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

// writeLoop encodes what is queued and writes it in one go, flushing when the queue is empty.
func (c *conn) writeLoop() {
	q := &c.out
	var spare []outPacket
	buf := make([]byte, 0, 4096)
	var pub packet.Publish
	for {
		select {
		case <-q.wake:
		case <-c.closing:
			return
		}
		q.mu.Lock()
		items := q.items
		q.items = spare[:0]
		q.qos0 = 0
		q.mu.Unlock()
		buf = buf[:0]
		var err error
		for i := range items {
			it := &items[i]
			switch it.typ {
			case packet.PUBLISH:
				pub = packet.Publish{Dup: it.dup, QoS: it.qos, Retain: it.retain, Topic: it.msg.topic, PacketID: it.pid, Payload: it.msg.payload}
				buf, err = packet.Append(buf, &pub)
				c.b.stats.pubSent.Add(1)
			case packet.CONNACK:
				buf, err = packet.Append(buf, &packet.Connack{SessionPresent: it.present, ReturnCode: it.code})
			default:
				buf, err = appendControl(buf, it)
			}
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
		c.b.stats.msgsSent.Add(int64(len(items)))
		clear(items)
		spare = items
		if len(buf) > 0 && !c.write(buf) {
			return
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

// appendControl encodes the acknowledgements, SUBACK, UNSUBACK and PINGRESP without allocating.
func appendControl(buf []byte, it *outPacket) ([]byte, error) {
	switch it.typ {
	case packet.PUBACK:
		return packet.Append(buf, &packet.Puback{PacketID: it.pid})
	case packet.PUBREC:
		return packet.Append(buf, &packet.Pubrec{PacketID: it.pid})
	case packet.PUBREL:
		return packet.Append(buf, &packet.Pubrel{PacketID: it.pid})
	case packet.PUBCOMP:
		return packet.Append(buf, &packet.Pubcomp{PacketID: it.pid})
	case packet.SUBACK:
		return packet.Append(buf, &packet.Suback{PacketID: it.pid, ReturnCodes: it.codes})
	case packet.UNSUBACK:
		return packet.Append(buf, &packet.Unsuback{PacketID: it.pid})
	case packet.PINGRESP:
		return packet.Append(buf, &packet.Pingresp{})
	}
	return buf, errors.New("no encoder for " + it.typ.String())
}
