package broker

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"snbridge/mqtt/packet"
	"snbridge/mqtt/store"
	"snbridge/mqtt/topic"
)

// Defaults of Options; a zero field means its default.
const (
	DefaultMaxInflight    = 20
	DefaultMaxQueued      = 1000
	DefaultOutboundQueue  = 10000
	DefaultConnectTimeout = 10 * time.Second
	DefaultWriteTimeout   = 30 * time.Second
	DefaultSysInterval    = 10 * time.Second
	DefaultAdmissionWait  = 5 * time.Second
)

// Listener is one network endpoint the broker accepts MQTT connections on.
type Listener struct {
	Name      string       // for logs and Addr: "mqtt", "mqtt-tls", "ws"
	Addr      string       // host:port to listen on when Listener is nil
	TLS       *tls.Config  // non-nil: TLS on top of TCP (or of the WebSocket's HTTP)
	WebSocket bool         // MQTT over WebSocket (subprotocol "mqtt")
	Path      string       // the WebSocket endpoint; "" means /mqtt
	Listener  net.Listener // an already open listener (tests); Addr is then ignored
}

// Options configures a Broker. The zero value is a working broker without persistence,
// authentication or listeners (in-process clients only).
type Options struct {
	Listeners []Listener
	// Store keeps retained messages, persistent sessions and QoS 1/2 messages; nil keeps
	// everything in memory only. The caller opens and closes it (after Shutdown).
	Store store.Store
	// Auth authenticates connections and authorises topics; nil allows everything.
	Auth Auth
	// Logger receives the broker's logs; nil discards them.
	Logger *slog.Logger
	// Version is reported in $SYS/broker/version.
	Version string

	MaxInflight    int           // QoS 1/2 deliveries outstanding per client; 0: 20
	MaxQueued      int           // QoS 1/2 messages queued per client beyond the in-flight window; 0: 1000
	OutboundQueue  int           // QoS 0 messages waiting for a client's socket before they are dropped; 0: 10 000
	MaxConnections int           // 0: unlimited
	MaxPacketSize  int           // bytes of remaining length; 0: the protocol maximum
	ConnectTimeout time.Duration // time to send CONNECT after the TCP connection; 0: 10 s
	WriteTimeout   time.Duration // a socket write blocked this long closes the connection; 0: 30 s
	SysInterval    time.Duration // period of $SYS/broker/...; 0: 10 s; negative: off
	// AdmissionWait is how long a QoS 1/2 PUBLISH, and its acknowledgement, may wait for a
	// connected subscriber whose queue is full before that subscriber drops it; 0: 5 s;
	// negative: no wait, drop at once.
	AdmissionWait time.Duration
}

// Errors reported to in-process clients and in logs as disconnect reasons.
var (
	ErrServerClosed  = errors.New("broker: shut down")
	ErrTakenOver     = errors.New("broker: session taken over by a new connection with the same client id")
	ErrSlowConsumer  = errors.New("broker: slow consumer: too many messages waiting for the client")
	ErrNotAuthorized = errors.New("broker: not authorized")
	ErrClosed        = errors.New("broker: client disconnected")
	ErrKeepAlive     = errors.New("broker: keepalive expired")
	ErrProtocol      = errors.New("broker: protocol violation")
)

// Broker is the MQTT 3.1.1 broker core.
type Broker struct {
	opts  Options
	log   *slog.Logger
	store store.Store
	auth  Auth

	subs     *topic.Tree[*session]
	retained *topic.Retained[*message]

	mu       sync.Mutex // sessions; taken before any session's mu
	sessions map[string]*session

	connMu   sync.Mutex
	conns    map[*conn]struct{}
	locals   map[*LocalClient]struct{}
	closed   bool
	serving  bool
	refusing int // connections beyond MaxConnections being answered (refuseFull)
	lns      []net.Listener
	lnAddrs  map[string]net.Addr
	ready    chan struct{}
	quit     chan struct{}
	wg       sync.WaitGroup
	stopOnce sync.Once

	commits *committer // nil without a store

	admMu      sync.Mutex // the held publishers (admission.go)
	admissions map[*admission]struct{}
	admClosed  bool

	stats       stats
	sysRetained atomic.Int64 // retained $SYS/broker messages of our own
	started     time.Time
}

// stats are the counters behind $SYS.
type stats struct {
	connected, maxConnected, clientsTotal atomic.Int64
	msgsReceived, msgsSent                atomic.Int64
	pubReceived, pubSent, pubDropped      atomic.Int64
	bytesReceived, bytesSent              atomic.Int64
	queueDropped                          atomic.Int64
}

// New returns a broker, restoring the state kept in opts.Store. It starts no goroutine: Serve
// runs the listeners and the periodic work.
func New(opts Options) (*Broker, error) {
	if opts.MaxInflight <= 0 {
		opts.MaxInflight = DefaultMaxInflight
	}
	if opts.MaxQueued <= 0 {
		opts.MaxQueued = DefaultMaxQueued
	}
	if opts.OutboundQueue <= 0 {
		opts.OutboundQueue = DefaultOutboundQueue
	}
	if opts.ConnectTimeout <= 0 {
		opts.ConnectTimeout = DefaultConnectTimeout
	}
	if opts.WriteTimeout <= 0 {
		opts.WriteTimeout = DefaultWriteTimeout
	}
	if opts.SysInterval == 0 {
		opts.SysInterval = DefaultSysInterval
	}
	if opts.AdmissionWait == 0 {
		opts.AdmissionWait = DefaultAdmissionWait
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	b := &Broker{
		opts:     opts,
		log:      log,
		store:    opts.Store,
		auth:     opts.Auth,
		subs:     topic.NewTree[*session](),
		retained: topic.NewRetained[*message](),
		sessions: make(map[string]*session),
		conns:    make(map[*conn]struct{}),
		locals:   make(map[*LocalClient]struct{}),
		lnAddrs:  make(map[string]net.Addr),
		ready:    make(chan struct{}),
		quit:     make(chan struct{}),
		started:  time.Now(),
	}
	if b.auth == nil {
		b.auth = AllowAll{}
	}
	if b.store != nil {
		b.commits = newCommitter(b.store, b.log)
		if err := b.load(); err != nil {
			return nil, fmt.Errorf("broker: restoring from the store: %w", err)
		}
	}
	return b, nil
}

// Serve opens the listeners and serves until ctx is done or Shutdown is called; it then shuts
// the broker down and returns nil. A listener that cannot be opened is an error.
func (b *Broker) Serve(ctx context.Context) error {
	b.connMu.Lock()
	if b.closed || b.serving {
		b.connMu.Unlock()
		return ErrServerClosed
	}
	b.serving = true
	b.connMu.Unlock()

	var lns []net.Listener
	for _, l := range b.opts.Listeners {
		ln := l.Listener
		if ln == nil {
			var err error
			if ln, err = net.Listen("tcp", l.Addr); err != nil {
				for _, o := range lns {
					o.Close()
				}
				b.stopOnce.Do(func() { close(b.quit) })
				return fmt.Errorf("broker: listener %s: %w", l.Name, err)
			}
		}
		lns = append(lns, ln)
		b.lnAddrs[l.Name] = ln.Addr()
	}
	b.connMu.Lock()
	b.lns = lns
	b.connMu.Unlock()

	if b.store != nil {
		b.commits.start()
		b.wg.Add(1)
		go func() { defer b.wg.Done(); b.commits.run(b.quit) }()
	}
	if b.opts.SysInterval > 0 {
		b.wg.Add(1)
		go func() { defer b.wg.Done(); b.runSys(b.quit) }()
	}
	for i, ln := range lns {
		l := b.opts.Listeners[i]
		b.log.Info("listening", "listener", l.Name, "addr", ln.Addr().String(), "tls", l.TLS != nil, "websocket", l.WebSocket)
		b.wg.Add(1)
		go func() { defer b.wg.Done(); b.accept(ln, l) }()
	}
	close(b.ready)
	select {
	case <-ctx.Done():
	case <-b.quit:
	}
	return b.Shutdown(context.Background())
}

// Ready is closed once Serve has opened every listener.
func (b *Broker) Ready() <-chan struct{} { return b.ready }

// Addr is the bound address of the named listener once Ready, or nil.
func (b *Broker) Addr(name string) net.Addr {
	select {
	case <-b.ready:
		return b.lnAddrs[name]
	default:
		return nil
	}
}

// Shutdown stops the listeners, closes every connection (no will is published) and waits for
// the broker's goroutines, or for ctx. It is idempotent. The store is the caller's to close.
func (b *Broker) Shutdown(ctx context.Context) error {
	b.stopOnce.Do(func() { close(b.quit) })
	b.connMu.Lock()
	first := !b.closed
	b.closed = true
	lns := b.lns
	b.lns = nil
	conns := make([]*conn, 0, len(b.conns))
	for c := range b.conns {
		conns = append(conns, c)
	}
	locals := make([]*LocalClient, 0, len(b.locals))
	for l := range b.locals {
		locals = append(locals, l)
	}
	b.connMu.Unlock()
	for _, ln := range lns {
		ln.Close()
	}
	for _, c := range conns {
		c.close(ErrServerClosed)
	}
	for _, l := range locals {
		l.shutdown()
	}
	b.abortAdmissions()
	done := make(chan struct{})
	go func() { b.wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-ctx.Done():
		return ctx.Err()
	}
	if first && b.store != nil {
		// Lazy deletes reach the disk with an empty Commit (a barrier).
		if err := b.store.Commit(&store.Batch{}); err != nil && !errors.Is(err, store.ErrClosed) {
			return fmt.Errorf("broker: flushing the store: %w", err)
		}
	}
	return nil
}

func (b *Broker) isClosed() bool {
	b.connMu.Lock()
	defer b.connMu.Unlock()
	return b.closed
}

func (b *Broker) accept(ln net.Listener, l Listener) {
	if l.WebSocket {
		b.serveWebSocket(ln, l)
		return
	}
	if l.TLS != nil {
		ln = tls.NewListener(ln, l.TLS)
	}
	var delay time.Duration
	for {
		nc, err := ln.Accept()
		if err != nil {
			if b.isClosed() {
				return
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() || errors.Is(err, errTemporaryAccept) {
				delay = min(max(delay*2, 5*time.Millisecond), time.Second)
				time.Sleep(delay)
				continue
			}
			b.log.Error("accept failed; listener stopped", "listener", l.Name, "err", err)
			return
		}
		delay = 0
		b.startConn(nc, l.Name)
	}
}

var errTemporaryAccept = errors.New("temporary accept error")

// startConn runs a connection on new goroutines: CONNECT on one, then the read loop on a
// second. CONNECT handling (authentication, logging) grows a goroutine's stack to 8 KiB, which
// the runtime does not shrink while a read loop waits on it; the read loop on a fresh
// goroutine keeps a small stack (2 KiB measured with 10 000 idle connections), and the 8 KiB
// stack goes back to the runtime for the next CONNECT.
func (b *Broker) startConn(nc net.Conn, listener string) {
	c := b.register(nc, listener)
	if c == nil {
		return
	}
	go func() {
		r := c.handshake()
		if r == nil {
			b.endConn(c)
			return
		}
		go func() {
			c.run(r)
			b.endConn(c)
		}()
	}()
}

// endConn forgets a connection that startConn served.
func (b *Broker) endConn(c *conn) {
	defer b.wg.Done()
	b.connMu.Lock()
	delete(b.conns, c)
	b.connMu.Unlock()
}

// runConn serves a connection on the calling goroutine (a WebSocket handler).
func (b *Broker) runConn(nc net.Conn, listener string) {
	if c := b.register(nc, listener); c != nil {
		defer b.wg.Done()
		b.serveConn(c)
	}
}

// register admits a connection unless the broker is closed or full (MaxConnections: the
// connection is closed at once and logged).
func (b *Broker) register(nc net.Conn, listener string) *conn {
	b.connMu.Lock()
	defer b.connMu.Unlock()
	if b.closed {
		nc.Close()
		return nil
	}
	if b.opts.MaxConnections > 0 && len(b.conns) >= b.opts.MaxConnections {
		b.log.Warn("connection refused: max connections reached", "remote", nc.RemoteAddr().String(), "max", b.opts.MaxConnections)
		if b.refusing >= maxRefusing {
			nc.Close()
			return nil
		}
		b.refusing++
		b.wg.Add(1)
		go b.refuseFull(nc)
		return nil
	}
	c := newConn(b, nc, listener)
	b.conns[c] = struct{}{}
	b.wg.Add(1)
	return c
}

// maxRefusing bounds the connections beyond MaxConnections being answered at once; more are
// closed without an answer.
const maxRefusing = 16

// refuseFull answers the CONNECT of a connection beyond MaxConnections with CONNACK 3, server
// unavailable [MQTT-3.2.2-5], so that its client learns why (mosquitto_sub: "Connection
// Refused: broker unavailable"), and closes it. It waits for the CONNECT at most a second, and
// not past Shutdown.
func (b *Broker) refuseFull(nc net.Conn) {
	defer func() {
		b.connMu.Lock()
		b.refusing--
		b.connMu.Unlock()
		b.wg.Done()
	}()
	defer nc.Close()
	done := make(chan struct{})
	defer close(done)
	go func() {
		select {
		case <-b.quit:
			nc.Close()
		case <-done:
		}
	}()
	nc.SetDeadline(time.Now().Add(time.Second))
	p, err := packet.NewReader(nc, 64<<10).ReadPacket()
	if _, ok := p.(*packet.Connect); !ok || err != nil {
		return
	}
	if buf, err := packet.Append(nil, &packet.Connack{ReturnCode: packet.ServerUnavailable}); err == nil {
		nc.Write(buf)
	}
}

func (b *Broker) serveConn(c *conn) {
	c.serve()
	b.connMu.Lock()
	delete(b.conns, c)
	b.connMu.Unlock()
}

func newClientID() string {
	var r [12]byte
	rand.Read(r[:])
	return "auto-" + hex.EncodeToString(r[:])
}

// SubscriptionCount is the number of subscriptions of all sessions.
func (b *Broker) SubscriptionCount() int { return b.subs.Len() }

// RetainedCount is the number of retained messages.
func (b *Broker) RetainedCount() int { return b.retained.Len() }
