package gateway

import (
	"context"
	"errors"
	"hash/fnv"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"snbridge/mqttsn/packet"
	"snbridge/mqttsn/topics"
)

// ErrServing is returned by a second call to Serve.
var ErrServing = errors.New("gateway: Serve already called")

// Gateway is an MQTT-SN gateway in front of a Broker. Create it with New, run it with Serve.
type Gateway struct {
	cfg    Config
	broker Broker
	log    *slog.Logger
	shards []*shard
	stats  counters
	routes sync.Map // peerKey → *shard: which shard owns a known peer

	started  atomic.Bool
	stopping atomic.Bool
	stopOnce sync.Once
	stop     chan struct{} // closed by Shutdown
	done     chan struct{} // closed when Serve has returned

	anonMu     sync.Mutex
	anon       BrokerSession // the broker session of QoS −1 publishers (§7.1)
	anonClosed atomic.Bool
}

// transport is one net.PacketConn the gateway serves.
type transport struct {
	conn net.PacketConn
	udp  *net.UDPConn // the same conn when it is UDP: reads and writes without allocating addresses
}

// peerKey identifies a peer: its transport, its address and, behind a forwarder, its wireless
// node id (§5.5: each node id is a peer of its own).
type peerKey struct {
	t    *transport
	ap   netip.AddrPort // UDP
	addr string         // other transports: net.Addr.String()
	node string         // forwarder node id, "" when not encapsulated
}

// New returns a gateway that attaches its clients to b.
func New(cfg Config, b Broker) *Gateway {
	g := &Gateway{cfg: cfg, broker: b, log: cfg.Logger, stop: make(chan struct{}), done: make(chan struct{})}
	if g.log == nil {
		g.log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	for range cfg.shards() {
		g.shards = append(g.shards, newShard(g))
	}
	return g
}

// Serve reads datagrams from every conn and serves the clients behind them until ctx is done or
// Shutdown is called; it blocks until every goroutine it started has stopped, then detaches the
// clients from the broker (normally: no will; a persistent session, its sleep buffer and its
// topic registry stay in the broker for the next gateway). It does not close the conns. It
// returns nil after a stop, or the first read error of a transport.
func (g *Gateway) Serve(ctx context.Context, conns ...net.PacketConn) error {
	if len(conns) == 0 {
		return errors.New("gateway: no transport to serve")
	}
	if g.started.Swap(true) {
		return ErrServing
	}
	defer close(g.done)
	ts := make([]*transport, len(conns))
	for i, c := range conns {
		ts[i] = &transport{conn: c}
		ts[i].udp, _ = c.(*net.UDPConn)
	}

	var shardsWG, readersWG sync.WaitGroup
	shardStop := make(chan struct{})
	for _, sh := range g.shards {
		shardsWG.Go(func() { sh.run(shardStop) })
	}
	errs := make(chan error, len(ts))
	for _, t := range ts {
		readersWG.Go(func() {
			if err := g.readLoop(t); err != nil {
				errs <- err
			}
		})
	}
	advStop := make(chan struct{})
	var advWG sync.WaitGroup
	if g.cfg.AdvertiseAddr != nil {
		advWG.Go(func() { g.advertise(ts, advStop) })
	}
	advWG.Go(func() { g.watchDormant(advStop) })
	g.log.Info("mqtt-sn gateway serving", "transports", len(ts), "shards", len(g.shards), "gateway_id", g.cfg.gatewayID())

	var err error
	select {
	case <-ctx.Done():
	case <-g.stop:
	case err = <-errs:
	}
	g.stopping.Store(true)
	close(advStop)
	advWG.Wait()
	for _, t := range ts {
		_ = t.conn.SetReadDeadline(time.Now()) // unblocks ReadFrom without closing the caller's conn
	}
	readersWG.Wait()
	for _, t := range ts {
		_ = t.conn.SetReadDeadline(time.Time{})
	}
	close(shardStop)
	shardsWG.Wait()
	g.anonMu.Lock()
	if g.anon != nil {
		g.anon.Disconnect()
		g.anon = nil
	}
	g.anonMu.Unlock()
	g.log.Info("mqtt-sn gateway stopped")
	return err
}

// Shutdown stops Serve and waits for it to return, or for ctx. It may be called any number of
// times, before, during or after Serve.
func (g *Gateway) Shutdown(ctx context.Context) error {
	g.stopOnce.Do(func() { close(g.stop) })
	if !g.started.Load() {
		return nil
	}
	select {
	case <-g.done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (g *Gateway) readLoop(t *transport) error {
	buf := make([]byte, 65536)
	for {
		var (
			n    int
			ap   netip.AddrPort
			addr net.Addr
			err  error
		)
		if t.udp != nil {
			n, ap, err = t.udp.ReadFromUDPAddrPort(buf)
			ap = netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())
		} else {
			n, addr, err = t.conn.ReadFrom(buf)
		}
		if err != nil {
			if g.stopping.Load() {
				return nil
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				continue
			}
			return err
		}
		g.stats.received.Add(1)
		g.dispatch(t, ap, addr, buf[:n])
	}
}

// dispatch routes one datagram: to the shard owning its peer, or to the stateless handling of
// unknown peers. CONNECT and PINGREQ with a client id go to the shard of their client id, where
// a client whose address changed (NAT) is found again.
func (g *Gateway) dispatch(t *transport, ap netip.AddrPort, addr net.Addr, b []byte) {
	key := peerKey{t: t, ap: ap}
	if addr != nil {
		key.addr = addr.String()
	}
	maxSize := g.cfg.maxPacketSize()
	if len(b) > maxSize && (len(b) < 2 || b[1] != byte(packet.TypeEncapsulated)) {
		g.stats.oversized.Add(1) // checked before decoding: never spend work on it
		return
	}
	typ, _, _, err := packet.ParseHeader(b)
	if err != nil {
		g.stats.malformed.Add(1)
		return
	}
	if typ == packet.TypeEncapsulated {
		_, node, inner, err := packet.DecapsulateForwarder(b)
		if err != nil {
			g.stats.malformed.Add(1)
			return
		}
		key.node, b = string(node), inner
		typ, _, _, _ = packet.ParseHeader(b)
	}
	if len(b) > maxSize {
		g.stats.oversized.Add(1)
		return
	}
	switch typ {
	case packet.TypeSearchGW, packet.TypeAdvertise, packet.TypeGWInfo:
		g.stateless(key, addr, b) // discovery needs no session, whoever asks (§6.1)
		return
	}
	var routeByID string
	var msg packet.Message
	if typ == packet.TypeConnect || (typ == packet.TypePingreq && len(b) > 2) {
		if msg, err = packet.Decode(b); err != nil {
			g.stats.malformed.Add(1)
			return
		}
		switch m := msg.(type) {
		case *packet.Connect:
			routeByID = m.ClientID
		case *packet.Pingreq:
			routeByID = m.ClientID
		}
	}
	var sh *shard
	if routeByID != "" {
		sh = g.shardFor(routeByID)
		g.routes.Store(key, sh) // before the shard sees it: the datagrams that follow go there too
	} else if v, ok := g.routes.Load(key); ok {
		sh = v.(*shard)
	} else if typ == packet.TypeConnect {
		sh = g.shards[0] // empty client id: refused there with CONNACK 0x03
	} else {
		g.stateless(key, addr, b)
		return
	}
	in := inbound{key: key, addr: addr, msg: msg}
	if msg == nil {
		in.data = append([]byte(nil), b...) // the read buffer is reused; the shard decodes this copy
	}
	select {
	case sh.in <- in:
	default:
		g.stats.inboundDropped.Add(1) // the client retransmits after T_RETRY
	}
}

func (g *Gateway) shardFor(clientID string) *shard {
	h := fnv.New32a()
	h.Write([]byte(clientID))
	return g.shards[h.Sum32()%uint32(len(g.shards))]
}

// stateless answers a peer the gateway holds no session for (§6.1 SEARCHGW, §6.8 QoS −1,
// E28 DISCONNECT for anything else).
func (g *Gateway) stateless(key peerKey, addr net.Addr, b []byte) {
	msg, err := packet.Decode(b)
	if err != nil {
		g.stats.malformed.Add(1)
		return
	}
	switch m := msg.(type) {
	case *packet.SearchGW:
		// E24: answered to the sender; a broadcast transport may relay it further.
		g.reply(key, addr, &packet.GWInfo{GatewayID: g.cfg.gatewayID()})
	case *packet.Publish:
		if m.QoS != packet.QoSMinus1 {
			g.stats.unexpected.Add(1)
			g.reply(key, addr, &packet.Disconnect{})
			return
		}
		g.publishQoSMinus1(m)
	case *packet.Advertise, *packet.GWInfo:
		// other gateways, or clients answering SEARCHGW for us: nothing to do
	default:
		g.stats.unexpected.Add(1)
		g.reply(key, addr, &packet.Disconnect{})
	}
}

// publishQoSMinus1 forwards a QoS −1 PUBLISH as QoS 0 (§6.8). Only predefined ids known to
// every client (`*`) and short names name a topic without a session; anything else is dropped (E7).
func (g *Gateway) publishQoSMinus1(m *packet.Publish) {
	var name string
	switch m.TopicIDType {
	case packet.TopicIDPredefined:
		n, ok := g.cfg.Predefined.Name(topics.AllClients, m.TopicID)
		if !ok {
			g.stats.unexpected.Add(1)
			return
		}
		name = n
	case packet.TopicIDShort:
		name = topics.ShortName(m.TopicID)
		if topics.HasWildcard(name) {
			g.stats.unexpected.Add(1)
			return
		}
	default:
		g.stats.unexpected.Add(1)
		return
	}
	g.anonMu.Lock()
	defer g.anonMu.Unlock()
	if g.anon != nil && g.anonClosed.Load() {
		g.anon = nil
	}
	if g.anon == nil {
		g.anonClosed.Store(false)
		bs, _, err := g.broker.Connect(ConnectOptions{ClientID: g.cfg.qosMinus1Client(), CleanSession: true}, anonHandler{g})
		if err != nil {
			g.log.Warn("mqtt-sn: QoS -1 publisher cannot attach", "err", err)
			return
		}
		g.anon = bs
	}
	g.anon.Publish(Message{Topic: name, Payload: append([]byte(nil), m.Data...), Retain: m.Retain}, nil)
	g.stats.qosMinus1.Add(1)
}

type anonHandler struct{ g *Gateway }

func (anonHandler) Deliver(Message, uint16) {}
func (anonHandler) Release(uint16)          {}
func (h anonHandler) Closed(error)          { h.g.anonClosed.Store(true) }

// reply encodes m and sends it to a peer, in the forwarder envelope when the peer is behind one.
func (g *Gateway) reply(key peerKey, addr net.Addr, m packet.Message) {
	b, err := m.Append(make([]byte, 0, 16))
	if err != nil {
		return
	}
	g.write(key, addr, b, nil)
}

// write sends an encoded message to a peer; scratch (may be nil) holds the envelope.
func (g *Gateway) write(key peerKey, addr net.Addr, b, scratch []byte) []byte {
	if key.node != "" {
		var err error
		scratch, err = packet.AppendEncapsulated(scratch[:0], 0, []byte(key.node), b)
		if err != nil {
			return scratch
		}
		b = scratch
	}
	var err error
	if key.t.udp != nil {
		_, err = key.t.udp.WriteToUDPAddrPort(b, key.ap)
	} else {
		_, err = key.t.conn.WriteTo(b, addr)
	}
	if err != nil {
		g.stats.sendErrors.Add(1)
	} else {
		g.stats.sent.Add(1)
	}
	return scratch
}

// advertise broadcasts ADVERTISE every T_ADV on each transport of the advertise address's
// network (§6.1); the first one goes out at once.
func (g *Gateway) advertise(ts []*transport, stop <-chan struct{}) {
	iv := g.cfg.advertiseInterval()
	secs := min(iv/time.Second, 0xFFFF)
	b, _ := (&packet.Advertise{GatewayID: g.cfg.gatewayID(), Duration: uint16(secs)}).Append(nil)
	to := g.cfg.AdvertiseAddr
	tick := time.NewTicker(iv)
	defer tick.Stop()
	for {
		for _, t := range ts {
			if t.conn.LocalAddr().Network() != to.Network() {
				continue
			}
			if _, err := t.conn.WriteTo(b, to); err != nil {
				g.stats.sendErrors.Add(1)
			} else {
				g.stats.sent.Add(1)
			}
		}
		select {
		case <-stop:
			return
		case <-tick.C:
		}
	}
}
