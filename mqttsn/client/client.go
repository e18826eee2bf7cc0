package client

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"snbridge/mqttsn/packet"
)

// QoS is a quality-of-service level, −1..2 (an alias of packet.QoS).
type QoS = packet.QoS

// QoS levels.
const (
	QoSMinus1 = packet.QoSMinus1 // publish without a connection, to a pre-defined or short topic (§6.8)
	QoS0      = packet.QoS0
	QoS1      = packet.QoS1
	QoS2      = packet.QoS2
)

// Errors returned by the client. Rejections by the gateway are returned as packet.ReturnCode
// values (packet.Congestion, packet.InvalidTopicID, packet.NotSupported), wrapped with context:
// test them with errors.Is.
var (
	// ErrTimeout: no reply after MaxRetries retransmissions (§6.13).
	ErrTimeout = errors.New("mqtt-sn client: no reply from gateway")
	// ErrClosed: the client was closed.
	ErrClosed = errors.New("mqtt-sn client: closed")
	// ErrNotConnected: the operation needs an active connection (Connect or Wake first).
	ErrNotConnected = errors.New("mqtt-sn client: not connected")
	// ErrNotAsleep: Poll needs the asleep state (Sleep first).
	ErrNotAsleep = errors.New("mqtt-sn client: not asleep")
	// ErrInvalidTopic: an empty topic, a wildcard in a topic name, or a topic QoS −1 cannot
	// use (QoS −1 needs a pre-defined id or a two-character short name, §6.8).
	ErrInvalidTopic = errors.New("mqtt-sn client: invalid topic")
	// ErrInvalidQoS: a QoS outside −1..2, or −1 where only 0..2 is allowed.
	ErrInvalidQoS = errors.New("mqtt-sn client: invalid QoS")
	// ErrGatewayDisconnect: the gateway sent an unsolicited DISCONNECT (§6.12).
	ErrGatewayDisconnect = errors.New("mqtt-sn client: disconnected by gateway")
	// ErrTooLarge: the encoded message exceeds Options.MaxPacketSize.
	ErrTooLarge = errors.New("mqtt-sn client: message larger than MaxPacketSize")
)

// Will is the last will the gateway publishes when the client is lost (§6.3).
type Will struct {
	Topic   string
	Payload []byte
	QoS     QoS // 0..2
	Retain  bool
}

// Message is an application message received on a subscription.
type Message struct {
	Topic       string // topic name; empty for a pre-defined id missing from Options.PredefinedTopics
	TopicIDType packet.TopicIDType
	TopicID     uint16
	Payload     []byte // owned by the handler
	QoS         QoS
	Retain      bool
	Dup         bool
}

// Handler receives messages. Handlers run one at a time, in arrival order, on a goroutine of the
// client (not the one reading the network), so a handler may call the client (Publish, …); it
// must not call Close.
type Handler func(Message)

// Advertisement is an ADVERTISE heard from a gateway (§6.1).
type Advertisement struct {
	GatewayID uint8
	Interval  time.Duration // time until its next ADVERTISE
	From      net.Addr
}

// Options configures a Client. The zero value of every field is usable except ClientID, which
// Connect, Wake and Poll need.
type Options struct {
	// ClientID: 1–23 characters (MQTT-SN §5.3.1).
	ClientID string
	// KeepAlive is sent in CONNECT; the client pings when it has sent nothing for that long.
	// 0 means 60 s; negative disables keep-alive (Duration 0). Whole seconds, at most 65535.
	KeepAlive time.Duration
	// CleanSession asks the gateway to discard subscriptions and will of a previous session.
	CleanSession bool
	// Will, if set, is handed to the gateway in the will handshake of Connect.
	Will *Will
	// RetryInterval is T_RETRY, the wait for a reply before retransmitting; 0 means 10 s.
	RetryInterval time.Duration
	// MaxRetries is N_RETRY, the retransmissions before giving up with ErrTimeout; 0 means 3,
	// negative means none.
	MaxRetries int
	// PredefinedTopics maps topic names to the pre-defined ids agreed with the gateway (§6.7).
	// Publish and Subscribe use the id for these names.
	PredefinedTopics map[string]uint16
	// OnMessage receives messages no subscription's handler matches (e.g. a persistent session's
	// subscriptions after a restart of the program). Nil drops them (they are still acked).
	OnMessage Handler
	// SearchAddr is where SearchGateway sends SEARCHGW: nil means the gateway address. A
	// broadcast address needs a conn with broadcast enabled, as Dial's is.
	SearchAddr net.Addr
	// OnAdvertise is called for every ADVERTISE received, from any sender. A gateway
	// advertises to a broadcast or multicast address and port (§6.1), which Dial's socket, on
	// a port of its own, does not hear: to listen, give New a conn bound to that port (or
	// joined to that group).
	OnAdvertise func(Advertisement)
	// OnConnectionLost is called when keep-alive fails or the gateway disconnects the client,
	// and with AutoReconnect when a request goes unanswered after MaxRetries retransmissions.
	OnConnectionLost func(error)
	// AutoReconnect makes a lost active client connect again by itself (§6.13): RetryInterval
	// after the loss, then at doubling intervals up to WaitInterval, and WaitInterval (T_WAIT)
	// after a CONNACK "congestion". With SearchAddr set it first looks for a gateway there
	// (SEARCHGW) and moves to the one that answers; otherwise it reconnects to the same one.
	// Subscriptions are made again, even those of a persistent session (CONNACK does not say
	// whether the gateway kept it; retained messages may come again). Without AutoReconnect a
	// lost client stays lost until Connect. A sleeping client is never reconnected.
	AutoReconnect bool
	// OnReconnect is called each time AutoReconnect has connected the client again.
	OnReconnect func()
	// WaitInterval is T_WAIT, the back-off after a "congestion" refusal (§6.2, §7.2: more than
	// 5 minutes), also the longest pause between reconnection attempts; 0 means 5 minutes.
	WaitInterval time.Duration
	// QueueSize bounds the messages waiting for handlers; 0 means 256. When it is full, QoS 0
	// messages are dropped and QoS 1/2 ones are left unacknowledged so the gateway retransmits.
	QueueSize int
	// MaxPacketSize is the largest datagram sent or received; 0 means 65535.
	MaxPacketSize int
	// Logger receives the client's logs; nil discards them.
	Logger *slog.Logger
}

// State is the connection state of the client (§6.14).
type State int32

// States.
const (
	StateDisconnected State = iota
	StateActive
	StateAsleep
	StateAwake // polling while asleep: between PINGREQ and PINGRESP
	StateLost  // keep-alive failed or the gateway disconnected us
)

func (s State) String() string {
	switch s {
	case StateDisconnected:
		return "disconnected"
	case StateActive:
		return "active"
	case StateAsleep:
		return "asleep"
	case StateAwake:
		return "awake"
	case StateLost:
		return "lost"
	}
	return fmt.Sprintf("State(%d)", int32(s))
}

// Client is an MQTT-SN client bound to one gateway. Its methods are safe for concurrent use.
type Client struct {
	conn      net.PacketConn
	gw        atomic.Pointer[net.Addr] // UseGateway and AutoReconnect may change it
	opts      Options
	keepAlive time.Duration
	log       *slog.Logger

	sendMu   sync.Mutex
	sendBuf  []byte
	lastSend atomic.Int64 // UnixNano of the last datagram sent to the gateway

	mu      sync.Mutex
	state   State
	waiters []*waiter
	byName  map[string]uint16 // registered normal topic ids, both directions
	byID    map[uint16]string
	predef  map[uint16]string // reverse of Options.PredefinedTopics
	subs    []*subscription
	qos2In  map[uint16]struct{} // incoming QoS 2 msg ids delivered, awaiting PUBREL

	msgID atomic.Uint32

	// One QoS 1/2 PUBLISH in flight (§6.6), one REGISTER (§6.5), one SUBSCRIBE/UNSUBSCRIBE (§6.9).
	pubSem, regSem, subSem chan struct{}

	dispatch  chan func()
	kick      chan struct{} // wakes the keep-alive loop after a state change
	closed    chan struct{}
	closeOnce sync.Once
	closeErr  error
	wg        sync.WaitGroup
}

type subscription struct {
	filter  string // topic filter, short name, or the pre-defined name
	typ     packet.TopicIDType
	id      uint16 // pre-defined id
	qos     QoS    // requested, to subscribe again after a reconnection
	handler Handler
}

type waiter struct {
	match func(packet.Message) bool
	ch    chan packet.Message
	touch chan struct{} // if non-nil, poked for every datagram from the gateway
}

// New starts a client that talks to gateway over conn, which it owns from now on (Close closes
// it). It starts the goroutine reading conn; call Connect to connect.
func New(conn net.PacketConn, gateway net.Addr, opts Options) (*Client, error) {
	if conn == nil || gateway == nil {
		return nil, errors.New("mqtt-sn client: nil conn or gateway address")
	}
	if err := opts.normalize(); err != nil {
		return nil, err
	}
	opts.PredefinedTopics = maps.Clone(opts.PredefinedTopics) // the caller may change theirs
	c := &Client{
		conn:     conn,
		opts:     opts,
		log:      opts.Logger.With("client_id", opts.ClientID, "gateway", gateway.String()),
		byName:   map[string]uint16{},
		byID:     map[uint16]string{},
		predef:   map[uint16]string{},
		qos2In:   map[uint16]struct{}{},
		pubSem:   make(chan struct{}, 1),
		regSem:   make(chan struct{}, 1),
		subSem:   make(chan struct{}, 1),
		dispatch: make(chan func(), opts.QueueSize),
		kick:     make(chan struct{}, 1),
		closed:   make(chan struct{}),
	}
	switch {
	case opts.KeepAlive == 0:
		c.keepAlive = 60 * time.Second
	case opts.KeepAlive > 0:
		c.keepAlive = opts.KeepAlive.Round(time.Second)
		if c.keepAlive < opts.KeepAlive {
			c.keepAlive += time.Second
		}
	}
	for name, id := range opts.PredefinedTopics {
		c.predef[id] = name
	}
	c.gw.Store(&gateway)
	c.lastSend.Store(time.Now().UnixNano())
	c.wg.Add(3)
	go c.readLoop()
	go c.dispatchLoop()
	go c.keepAliveLoop()
	return c, nil
}

func (o *Options) normalize() error {
	if o.RetryInterval <= 0 {
		o.RetryInterval = 10 * time.Second
	}
	switch {
	case o.MaxRetries == 0:
		o.MaxRetries = 3
	case o.MaxRetries < 0:
		o.MaxRetries = 0
	}
	if o.QueueSize <= 0 {
		o.QueueSize = 256
	}
	if o.WaitInterval <= 0 {
		o.WaitInterval = 5 * time.Minute
	}
	if o.MaxPacketSize <= 0 || o.MaxPacketSize > packet.MaxLength {
		o.MaxPacketSize = packet.MaxLength
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if o.KeepAlive > 65535*time.Second {
		return fmt.Errorf("mqtt-sn client: KeepAlive %v exceeds 65535 s", o.KeepAlive)
	}
	if w := o.Will; w != nil {
		if w.Topic == "" {
			return fmt.Errorf("%w: empty will topic", ErrInvalidTopic)
		}
		if w.QoS < QoS0 || w.QoS > QoS2 {
			return fmt.Errorf("%w: will QoS %v", ErrInvalidQoS, w.QoS)
		}
	}
	for name, id := range o.PredefinedTopics {
		if name == "" || id == 0 || id == 0xFFFF {
			return fmt.Errorf("%w: pre-defined topic %q → %d (ids 0 and 0xFFFF are reserved)", ErrInvalidTopic, name, id)
		}
	}
	return nil
}

// Dial resolves address ("host:port") on network ("udp", "udp4", "udp6"), opens a socket for the
// client and returns it, not yet connected: call Connect (or publish at QoS −1 right away). The
// socket may send to a broadcast address (on Unix), so SearchAddr can be one.
func Dial(ctx context.Context, network, address string, opts Options) (*Client, error) {
	addrs, err := net.DefaultResolver.LookupNetIP(ctx, ipNetwork(network), hostOf(address))
	if err != nil {
		return nil, fmt.Errorf("mqtt-sn client: resolve %s: %w", address, err)
	}
	_, portStr, err := net.SplitHostPort(address)
	if err != nil {
		return nil, fmt.Errorf("mqtt-sn client: %w", err)
	}
	port, err := net.DefaultResolver.LookupPort(ctx, network, portStr)
	if err != nil {
		return nil, fmt.Errorf("mqtt-sn client: port %s: %w", portStr, err)
	}
	ip := addrs[0]
	for _, a := range addrs { // prefer IPv4, where most gateways listen
		if a.Unmap().Is4() {
			ip = a
			break
		}
	}
	gw := net.UDPAddrFromAddrPort(netip.AddrPortFrom(ip.Unmap(), uint16(port)))
	local := ":0"
	if gw.IP.IsLoopback() { // stay on the loopback interface when the gateway is local
		local = net.JoinHostPort(gw.IP.String(), "0")
	}
	lc := net.ListenConfig{Control: func(_, _ string, rc syscall.RawConn) error {
		var serr error
		if err := rc.Control(func(fd uintptr) { serr = allowBroadcast(fd) }); err != nil {
			return err
		}
		return serr
	}}
	conn, err := lc.ListenPacket(ctx, network, local)
	if err != nil {
		return nil, fmt.Errorf("mqtt-sn client: %w", err)
	}
	c, err := New(conn, gw, opts)
	if err != nil {
		conn.Close()
		return nil, err
	}
	return c, nil
}

func ipNetwork(network string) string {
	switch network {
	case "udp4":
		return "ip4"
	case "udp6":
		return "ip6"
	}
	return "ip"
}

func hostOf(address string) string {
	host, _, err := net.SplitHostPort(address)
	if err != nil {
		return address
	}
	return host
}

// State returns the connection state.
func (c *Client) State() State {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.state
}

// Gateway returns the gateway's address.
func (c *Client) Gateway() net.Addr { return *c.gw.Load() }

// LocalAddr returns the client's own address.
func (c *Client) LocalAddr() net.Addr { return c.conn.LocalAddr() }

// Close stops the client's goroutines and closes its conn, without telling the gateway (call
// Disconnect first for a clean end). Operations in progress return ErrClosed. Idempotent; must not
// be called from a Handler.
func (c *Client) Close() error {
	c.shutdown(nil)
	c.wg.Wait()
	return c.closeErr
}

func (c *Client) shutdown(cause error) {
	c.closeOnce.Do(func() {
		if cause != nil {
			c.log.Warn("mqtt-sn client stopped", "err", cause)
		}
		close(c.closed)
		c.closeErr = c.conn.Close()
		if errors.Is(c.closeErr, net.ErrClosed) {
			c.closeErr = nil
		}
	})
}

func (c *Client) setState(s State) {
	c.mu.Lock()
	c.state = s
	c.mu.Unlock()
	select {
	case c.kick <- struct{}{}:
	default:
	}
}

// nextMsgID returns the next message id, never 0 (erratum E10).
func (c *Client) nextMsgID() uint16 {
	for {
		if id := uint16(c.msgID.Add(1)); id != 0 {
			return id
		}
	}
}

// send encodes m and writes it to the gateway.
func (c *Client) send(m packet.Message) error { return c.sendTo(m, c.Gateway()) }

func (c *Client) sendTo(m packet.Message, to net.Addr) error {
	c.sendMu.Lock()
	defer c.sendMu.Unlock()
	b, err := m.Append(c.sendBuf[:0])
	if err != nil {
		return err
	}
	return c.write(b, m.Type(), to)
}

// sendPublish is send for the publish hot path: with the concrete type, p does not escape and
// a publish allocates nothing.
func (c *Client) sendPublish(p *packet.Publish) error {
	c.sendMu.Lock()
	defer c.sendMu.Unlock()
	b, err := p.Append(c.sendBuf[:0])
	if err != nil {
		return err
	}
	return c.write(b, packet.TypePublish, c.Gateway())
}

// write sends an encoded datagram; c.sendMu is held.
func (c *Client) write(b []byte, t packet.MsgType, to net.Addr) error {
	c.sendBuf = b[:0] // keep the grown buffer
	select {
	case <-c.closed:
		return ErrClosed
	default:
	}
	if len(b) > c.opts.MaxPacketSize {
		return fmt.Errorf("%w: %s of %d octets", ErrTooLarge, t, len(b))
	}
	if _, err := c.conn.WriteTo(b, to); err != nil {
		return fmt.Errorf("mqtt-sn client: send %s: %w", t, err)
	}
	if to == c.Gateway() {
		c.lastSend.Store(time.Now().UnixNano())
	}
	if c.log.Enabled(context.Background(), slog.LevelDebug) {
		c.log.Debug("sent", "type", t.String(), "to", to.String())
	}
	return nil
}

func (c *Client) addWaiter(match func(packet.Message) bool, touch bool) *waiter {
	w := &waiter{match: match, ch: make(chan packet.Message, 4)}
	if touch {
		w.touch = make(chan struct{}, 1)
	}
	c.mu.Lock()
	c.waiters = append(c.waiters, w)
	c.mu.Unlock()
	return w
}

func (c *Client) removeWaiter(w *waiter) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for i, x := range c.waiters {
		if x == w {
			c.waiters = append(c.waiters[:i], c.waiters[i+1:]...)
			return
		}
	}
}

// offer hands m to the first waiter it matches and reports whether one took it.
func (c *Client) offer(m packet.Message) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, w := range c.waiters {
		if w.match(m) {
			select {
			case w.ch <- m:
			default: // a retransmitted reply the waiter has not read yet
			}
			return true
		}
	}
	return false
}

// exchange sends first and waits for a reply that match accepts, sending again after every
// RetryInterval without one, at most MaxRetries times (§6.13).
func (c *Client) exchange(ctx context.Context, first, again packet.Message, match func(packet.Message) bool) (packet.Message, error) {
	w := c.addWaiter(match, false)
	defer c.removeWaiter(w)
	if err := c.send(first); err != nil {
		return nil, err
	}
	m, err := c.await(ctx, w, again)
	if errors.Is(err, ErrTimeout) && c.opts.AutoReconnect && first.Type() != packet.TypeDisconnect {
		// §6.13: after N_RETRY retransmissions the client assumes the connection is gone.
		c.connectionLost(fmt.Errorf("mqtt-sn client: %w", err))
	}
	return m, err
}

// await waits for w's next reply, retransmitting again on T_RETRY expiry. A waiter with touch
// restarts T_RETRY whenever anything arrives from the gateway (§6.14, polling).
func (c *Client) await(ctx context.Context, w *waiter, again packet.Message) (packet.Message, error) {
	t := time.NewTimer(c.opts.RetryInterval)
	defer t.Stop()
	for retries := 0; ; {
		select {
		case m := <-w.ch:
			return m, nil
		case <-w.touch:
			t.Reset(c.opts.RetryInterval)
		case <-t.C:
			if retries >= c.opts.MaxRetries {
				return nil, fmt.Errorf("%w: %s unanswered after %d retransmissions", ErrTimeout, again.Type(), retries)
			}
			retries++
			c.log.Debug("retransmitting", "type", again.Type().String(), "attempt", retries)
			if err := c.send(again); err != nil {
				return nil, err
			}
			t.Reset(c.opts.RetryInterval)
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-c.closed:
			return nil, ErrClosed
		}
	}
}

// acquire takes a one-slot semaphore, giving up with the context or when the client closes.
func (c *Client) acquire(ctx context.Context, sem chan struct{}) error {
	select {
	case sem <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	case <-c.closed:
		return ErrClosed
	}
}

func release(sem chan struct{}) { <-sem }

func (c *Client) requireState(states ...State) error {
	s := c.State()
	for _, ok := range states {
		if s == ok {
			return nil
		}
	}
	if s == StateAsleep || s == StateAwake {
		return fmt.Errorf("%w (asleep: Wake first)", ErrNotConnected)
	}
	return ErrNotConnected
}

// enqueue hands fn to the dispatcher without blocking; false when the queue is full.
func (c *Client) enqueue(fn func()) bool {
	select {
	case c.dispatch <- fn:
		return true
	default:
		return false
	}
}

// barrier waits until everything queued for handlers before it has run.
func (c *Client) barrier(ctx context.Context) error {
	done := make(chan struct{})
	select {
	case c.dispatch <- func() { close(done) }:
	case <-ctx.Done():
		return ctx.Err()
	case <-c.closed:
		return ErrClosed
	}
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	case <-c.closed:
		return ErrClosed
	}
}

func (c *Client) dispatchLoop() {
	defer c.wg.Done()
	for {
		select {
		case fn := <-c.dispatch:
			fn()
		case <-c.closed:
			return
		}
	}
}

func (c *Client) notifyLost(err error) {
	if f := c.opts.OnConnectionLost; f != nil {
		if !c.enqueue(func() { f(err) }) {
			c.log.Warn("handler queue full: OnConnectionLost dropped", "err", err)
		}
	}
}

func (c *Client) readLoop() {
	defer c.wg.Done()
	buf := make([]byte, c.opts.MaxPacketSize)
	for {
		n, from, err := c.conn.ReadFrom(buf)
		if err != nil {
			select {
			case <-c.closed:
				return
			default:
			}
			if errors.Is(err, net.ErrClosed) {
				c.shutdown(err)
				return
			}
			c.log.Debug("read error", "err", err)
			continue
		}
		c.handle(buf[:n], from)
	}
}

// sameAddr compares network addresses by value (IPv4-mapped IPv6 equals IPv4).
func sameAddr(a, b net.Addr) bool {
	ua, ok1 := a.(*net.UDPAddr)
	ub, ok2 := b.(*net.UDPAddr)
	if ok1 && ok2 {
		pa, pb := ua.AddrPort(), ub.AddrPort()
		return pa.Addr().Unmap() == pb.Addr().Unmap() && pa.Port() == pb.Port()
	}
	return a.Network() == b.Network() && a.String() == b.String()
}
