package gateway

import (
	"container/heap"
	"errors"
	"net"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"

	"snbridge/mqttsn/packet"
	"snbridge/mqttsn/session"
)

// inbound is one datagram for a shard. msg is set when the read loop already decoded it.
type inbound struct {
	key  peerKey
	addr net.Addr
	data []byte
	msg  packet.Message
}

type eventKind uint8

const (
	evDeliver eventKind = iota
	evClosed
	evPublished
	evRelease
	evStored
)

// event is something the broker did for a client, queued to the client's shard.
type event struct {
	c        *client
	msg      Message
	err      error
	gen      uint32
	packetID uint16 // evDeliver, evRelease
	msgID    uint16 // evPublished
	kind     eventKind
}

// shard owns a set of clients: their sessions, their timers, and the order of their events.
// Only its goroutine touches them.
type shard struct {
	g      *Gateway
	index  int
	in     chan *inBatch
	queued atomic.Int64 // datagrams in the batches of in: at most InboundQueue
	wake   chan struct{}

	mu     sync.Mutex
	events []event // from broker goroutines; bounded by EventQueue for QoS 0 deliveries
	spare  []event

	byKey  map[peerKey]*client
	byID   map[string]*client
	timers timerHeap
	dead   int // clients removed since the heap was last compacted
	out    []session.Action
	outbox *outbox
}

func newShard(g *Gateway, index int) *shard {
	return &shard{
		g: g, index: index, in: make(chan *inBatch, g.cfg.inboundQueue()), wake: make(chan struct{}, 1),
		byKey: make(map[peerKey]*client), byID: make(map[string]*client), outbox: newOutbox(g),
	}
}

// enqueue hands the shard a batch of datagrams without blocking. A batch that does not fit in
// the queue is dropped whole: its senders retransmit after T_RETRY.
func (sh *shard) enqueue(b *inBatch) {
	n := int64(len(b.items))
	if sh.queued.Add(n) <= int64(sh.g.cfg.inboundQueue()) {
		select {
		case sh.in <- b: // room for a batch per queued datagram: never full here
			return
		default:
		}
	}
	sh.queued.Add(-n)
	sh.g.stats.inboundDropped.Add(uint64(n))
	b.release()
}

// client is one peer with a session.
type client struct {
	sh   *shard
	sess *session.Session
	bs   BrokerSession
	addr net.Addr // non-UDP transports only
	key  peerKey
	gen  uint32 // bumped on each broker Connect: events of an older attachment are ignored
	// transit counts deliveries handed over by the broker and not yet seen by the session, so
	// that Pending covers them: an awake sensor gets PINGRESP only after all of them (E17).
	transit atomic.Int32
	dropped uint32 // session.Dropped already added to the gateway's counters
	closed  bool
	// storing counts the client's PutData writes not yet durable; while it is non-zero the
	// client's datagrams wait in held, so no reply promises state a crash could still lose.
	storing  int
	held     []packet.Message
	onStored func(error) // posts evStored; bound on the first PutData
}

func (sh *shard) run(stop <-chan struct{}) {
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	var armed int64
	for sh.step(stop, timer, &armed) {
	}
	sh.detachAll()
}

// step waits for and handles one batch of input: datagrams (and the broker events they caused),
// broker events, or timers; then it writes what they produced. It reports false once stop is
// closed. A panic (a bug) is logged and counted rather than taking the broker's process down
// with it.
func (sh *shard) step(stop <-chan struct{}, timer *time.Timer, armed *int64) (more bool) {
	defer func() {
		if r := recover(); r != nil {
			sh.internalError(r)
			more = true
		}
		sh.outbox.flush()
	}()
	if next := sh.timers.next(); next != *armed {
		*armed = next
		if next != 0 {
			timer.Reset(time.Until(time.Unix(0, next)))
		}
	}
	select {
	case <-stop:
		return false
	case b := <-sh.in:
		sh.handleBatch(b)
		select {
		case <-sh.wake: // what the broker did meanwhile, often the PUBACKs of this batch
			sh.drainEvents()
		default:
		}
	case <-sh.wake:
		sh.drainEvents()
	case <-timer.C:
		*armed = 0
		sh.fireTimers()
	}
	return true
}

func (sh *shard) internalError(r any) {
	sh.g.stats.internalErrors.Add(1)
	sh.g.log.Error("mqtt-sn gateway: internal error", "panic", r, "stack", string(debug.Stack()))
}

// handleBatch handles a batch of datagrams from the read loop and releases it.
func (sh *shard) handleBatch(b *inBatch) {
	sh.queued.Add(-int64(len(b.items)))
	for i := range b.items {
		sh.handleGuarded(&b.items[i])
	}
	b.release()
}

// handleGuarded is handle with a panic confined to its datagram.
func (sh *shard) handleGuarded(in *inbound) {
	defer func() {
		if r := recover(); r != nil {
			sh.internalError(r)
		}
	}()
	sh.handle(in)
}

func (sh *shard) handle(in *inbound) {
	msg := in.msg
	if msg == nil {
		var err error
		if msg, err = packet.Decode(in.data); err != nil {
			sh.g.stats.malformed.Add(1)
			return
		}
	}
	now := time.Now()
	c := sh.byKey[in.key]
	switch m := msg.(type) {
	case *packet.Connect:
		if other := sh.byID[m.ClientID]; other != nil && other != c && m.ClientID != "" {
			sh.rekey(other, in.key, in.addr) // the same client from a new address (NAT)
			c = other
		}
		if c == nil {
			if rc := session.CheckConnect(&sh.g.cfg.Config, m); rc != packet.Accepted {
				sh.refuse(in, rc)
				return
			}
			if sh.g.stats.clients.Load() >= int64(sh.g.cfg.maxClients()) {
				sh.refuse(in, packet.Congestion)
				return
			}
			c = sh.newClient(in.key, in.addr)
		}
		sh.exec(c, c.sess.Handle(now, m, sh.out[:0]))
		if id := c.sess.ClientID(); id != "" && !c.closed {
			sh.byID[id] = c
			sh.g.stats.connects.Add(1)
			sh.g.log.Debug("mqtt-sn CONNECT", "client", id, "peer", keyString(c.key), "state", c.sess.State().String())
		}
		return
	case *packet.Pingreq:
		if m.ClientID != "" && (c == nil || c.sess.ClientID() != m.ClientID) {
			if other := sh.byID[m.ClientID]; other != nil {
				sh.rekey(other, in.key, in.addr)
				c = other
			} else {
				sh.resume(in, m, now)
				return
			}
		}
	}
	if c == nil {
		sh.g.routes.CompareAndDelete(in.key, sh)
		if m := sh.g.stateless(in.data); m != nil {
			sh.reply(in.key, in.addr, m) // after what this batch already has for the peer
		}
		return
	}
	sh.exec(c, c.sess.Handle(now, msg, sh.out[:0]))
}

// resume finds a sleeping persistent client after a gateway restart by its waking PINGREQ.
func (sh *shard) resume(in *inbound, m *packet.Pingreq, now time.Time) {
	c := sh.newClient(in.key, in.addr)
	out, ok := c.sess.Resume(now, m.ClientID, sh.out[:0])
	if !ok {
		sh.remove(c)
		sh.g.stats.unexpected.Add(1)
		sh.send(c, &packet.Disconnect{})
		return
	}
	sh.byID[m.ClientID] = c
	sh.exec(c, out)
	sh.exec(c, c.sess.Handle(now, m, sh.out[:0]))
}

func (sh *shard) refuse(in *inbound, rc packet.ReturnCode) {
	sh.g.stats.refused.Add(1)
	sh.g.log.Info("mqtt-sn CONNECT refused", "peer", keyString(in.key), "code", rc.String())
	sh.g.routes.CompareAndDelete(in.key, sh)
	sh.reply(in.key, in.addr, &packet.Connack{ReturnCode: rc})
}

func (sh *shard) newClient(key peerKey, addr net.Addr) *client {
	if old := sh.byKey[key]; old != nil {
		sh.evict(old) // another client id from the same address: the old one is gone
	}
	c := &client{sh: sh, key: key, addr: addr}
	c.sess = session.New(&sh.g.cfg.Config, c)
	sh.byKey[key] = c
	sh.g.routes.Store(key, sh)
	sh.g.stats.clients.Add(1)
	return c
}

// rekey moves c to a new address.
func (sh *shard) rekey(c *client, key peerKey, addr net.Addr) {
	if c.key == key {
		return
	}
	if old := sh.byKey[key]; old != nil && old != c {
		sh.evict(old)
	}
	if sh.byKey[c.key] == c {
		delete(sh.byKey, c.key)
	}
	sh.g.routes.CompareAndDelete(c.key, sh)
	sh.g.log.Debug("mqtt-sn client moved", "client", c.sess.ClientID(), "to", keyString(key))
	c.key, c.addr = key, addr
	sh.byKey[key] = c
	sh.g.routes.Store(key, sh)
}

// evict ends a client replaced by another at its address: it is lost (will published).
func (sh *shard) evict(c *client) {
	if c.bs != nil {
		c.bs.Lost()
	}
	sh.remove(c)
}

func (sh *shard) remove(c *client) {
	if c.closed {
		return
	}
	c.closed = true
	if sh.byKey[c.key] == c {
		delete(sh.byKey, c.key)
	}
	if id := c.sess.ClientID(); sh.byID[id] == c {
		delete(sh.byID, id)
	}
	sh.g.routes.CompareAndDelete(c.key, sh)
	sh.g.stats.clients.Add(-1)
	if sh.dead++; sh.dead > 64 && sh.dead > len(sh.timers)/2 {
		sh.compactTimers() // a long sleep timer must not keep a closed client in memory for hours
	}
	if c.sess.State() == session.Lost {
		sh.g.stats.lost.Add(1)
		sh.g.log.Info("mqtt-sn client lost", "client", c.sess.ClientID(), "peer", keyString(c.key))
	}
}

// exec carries out a session's actions.
func (sh *shard) exec(c *client, actions []session.Action) {
	for _, a := range actions {
		switch a.Kind {
		case session.Send:
			if c.storing > 0 {
				c.held = append(c.held, a.Msg)
			} else {
				sh.send(c, a.Msg)
			}
		case session.Arm:
			heap.Push(&sh.timers, timerEntry{at: a.At.UnixNano(), c: c, kind: a.Timer})
		case session.Close:
			sh.remove(c)
		}
	}
	clear(actions) // drop references to sent messages
	sh.out = actions[:0]
	if d := c.sess.Dropped; d != c.dropped {
		sh.g.stats.downlinkDropped.Add(uint64(d - c.dropped))
		c.dropped = d
	}
}

// send queues m for c; it is written at the end of the shard's current step.
func (sh *shard) send(c *client, m packet.Message) {
	if err := sh.outbox.add(c.key, c.addr, m); err != nil {
		sh.g.log.Warn("mqtt-sn: cannot encode", "type", m.Type(), "client", c.sess.ClientID(), "err", err)
	}
}

// reply queues m for a peer without a session.
func (sh *shard) reply(key peerKey, addr net.Addr, m packet.Message) {
	if err := sh.outbox.add(key, addr, m); err != nil {
		sh.g.log.Warn("mqtt-sn: cannot encode", "type", m.Type(), "peer", keyString(key), "err", err)
	}
}

func (sh *shard) fireTimers() {
	now := time.Now()
	t := now.UnixNano()
	for sh.timers.Len() > 0 && sh.timers[0].at <= t {
		e := heap.Pop(&sh.timers).(timerEntry)
		if e.c.closed {
			continue
		}
		sh.exec(e.c, e.c.sess.Timer(now, e.kind, sh.out[:0]))
	}
}

// post queues a broker event for the shard's goroutine. It never blocks.
func (sh *shard) post(ev event) {
	sh.mu.Lock()
	if ev.kind == evDeliver && ev.msg.QoS == 0 && len(sh.events) >= sh.g.cfg.eventQueue() {
		sh.mu.Unlock()
		ev.c.transit.Add(-1)
		sh.g.stats.eventsDropped.Add(1)
		return
	}
	sh.events = append(sh.events, ev)
	sh.mu.Unlock()
	select {
	case sh.wake <- struct{}{}:
	default:
	}
}

func (sh *shard) drainEvents() {
	sh.mu.Lock()
	evs := sh.events
	sh.events, sh.spare = sh.spare[:0], nil
	sh.mu.Unlock()
	now := time.Now()
	for i := range evs {
		ev := &evs[i]
		c := ev.c
		switch ev.kind {
		case evDeliver:
			c.transit.Add(-1)
		case evStored:
			sh.stored(c, ev.err) // the replies are owed even to an attachment that has ended
			continue
		}
		if c.closed || ev.gen != c.gen {
			continue // for an attachment that has ended
		}
		switch ev.kind {
		case evDeliver:
			sh.exec(c, c.sess.Deliver(now, ev.msg, ev.packetID, sh.out[:0]))
		case evClosed:
			c.bs = nil
			sh.exec(c, c.sess.Closed(sh.out[:0]))
		case evPublished:
			sh.exec(c, c.sess.PublishDone(now, ev.msgID, ev.err, sh.out[:0]))
		case evRelease:
			sh.exec(c, c.sess.Release(now, ev.packetID, sh.out[:0]))
		}
	}
	clear(evs)
	sh.mu.Lock()
	if sh.spare == nil {
		sh.spare = evs[:0]
	}
	sh.mu.Unlock()
}

// stored is a PutData write of c made durable (or failed): once none is left, the datagrams
// held behind them go out, in order. A failed write is logged; the replies still go (the state
// is the broker's in memory, and the store's failure is the operator's to see).
func (sh *shard) stored(c *client, err error) {
	if err != nil {
		sh.g.log.Error("mqtt-sn: session state not stored", "client", c.sess.ClientID(), "err", err)
	}
	if c.storing--; c.storing > 0 {
		return
	}
	for i, m := range c.held {
		sh.send(c, m)
		c.held[i] = nil
	}
	c.held = c.held[:0]
}

// detachAll ends every client's broker attachment at shutdown, without will.
func (sh *shard) detachAll() {
	for _, c := range sh.byKey {
		if c.bs != nil {
			c.bs.Disconnect()
			c.bs = nil
		}
		sh.remove(c)
	}
}

// ---- session.Broker, implemented over the gateway's BrokerSession ----

type handler struct {
	c   *client
	gen uint32
}

func (h *handler) Deliver(m Message, packetID uint16) {
	h.c.transit.Add(1)
	h.c.sh.post(event{kind: evDeliver, c: h.c, gen: h.gen, msg: m, packetID: packetID})
}

func (h *handler) Release(packetID uint16) {
	h.c.sh.post(event{kind: evRelease, c: h.c, gen: h.gen, packetID: packetID})
}

func (h *handler) Closed(reason error) {
	h.c.sh.post(event{kind: evClosed, c: h.c, gen: h.gen, err: reason})
}

func (c *client) Connect(opts ConnectOptions) (bool, error) {
	c.gen++
	bs, present, err := c.sh.g.broker.Connect(opts, &handler{c: c, gen: c.gen})
	if err != nil {
		c.bs = nil
		return false, err
	}
	c.bs = bs
	return present, nil
}

func (c *client) Publish(m Message, msgID uint16) {
	if c.bs == nil {
		return
	}
	if msgID == 0 {
		c.bs.Publish(m, nil)
		return
	}
	p, _ := publishDonePool.Get().(*publishDone)
	if p == nil {
		p = new(publishDone)
		p.fn = p.done
	}
	p.c, p.gen, p.msgID = c, c.gen, msgID
	c.bs.Publish(m, p.fn)
}

// publishDone reports to a client's shard that the broker accepted one of its QoS 1/2
// PUBLISHes. It is pooled with its callback bound once, so that a publish allocates none.
type publishDone struct {
	c     *client
	gen   uint32
	msgID uint16
	fn    func(error) // p.done
}

var publishDonePool sync.Pool // of *publishDone

// done is called once per Publish (BrokerSession's contract), so p can go back to the pool.
func (p *publishDone) done(err error) {
	ev := event{kind: evPublished, c: p.c, gen: p.gen, msgID: p.msgID, err: err}
	p.c = nil
	publishDonePool.Put(p)
	ev.c.sh.post(ev)
}

func (c *client) Subscribe(filter string, qos byte) (byte, error) {
	if c.bs == nil {
		return 0x80, errDetached
	}
	return c.bs.Subscribe(filter, qos)
}

func (c *client) Unsubscribe(filter string) error {
	if c.bs == nil {
		return errDetached
	}
	return c.bs.Unsubscribe(filter)
}

func (c *client) Received(packetID uint16) {
	if c.bs != nil {
		c.bs.Received(packetID)
	}
}

func (c *client) Ack(packetID uint16) {
	if c.bs != nil {
		c.bs.Ack(packetID)
	}
}

func (c *client) Pending() int {
	n := int(c.transit.Load())
	if c.bs != nil {
		n += c.bs.Pending()
	}
	return n
}

func (c *client) SetWill(w *Will) {
	if c.bs != nil {
		c.bs.SetWill(w)
	}
}

// PutData hands the write to the broker without waiting for it: the shard goes on with other
// clients, and this client's replies wait until it is durable (shard.stored).
func (c *client) PutData(key string, value []byte) error {
	if c.bs == nil {
		return errDetached
	}
	if c.onStored == nil {
		c.onStored = func(err error) { c.sh.post(event{kind: evStored, c: c, err: err}) }
	}
	c.storing++
	c.bs.PutData(key, value, c.onStored)
	return nil
}

func (c *client) Data(key string) ([]byte, bool) {
	if c.bs == nil {
		return nil, false
	}
	return c.bs.Data(key)
}

func (c *client) Suspend() {
	if c.bs != nil {
		c.bs.Suspend()
	}
}

func (c *client) Resume() {
	if c.bs != nil {
		c.bs.Resume()
	}
}

func (c *client) Disconnect() {
	if c.bs != nil {
		c.bs.Disconnect()
		c.bs = nil
		c.gen++
	}
}

func (c *client) Lost() {
	if c.bs != nil {
		c.bs.Lost()
		c.bs = nil
		c.gen++
	}
}

// ---- timers ----

type timerEntry struct {
	at   int64
	c    *client
	kind session.TimerKind
}

type timerHeap []timerEntry

func (h timerHeap) Len() int           { return len(h) }
func (h timerHeap) Less(i, j int) bool { return h[i].at < h[j].at }
func (h timerHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *timerHeap) Push(x any)        { *h = append(*h, x.(timerEntry)) }
func (h *timerHeap) Pop() any {
	old := *h
	e := old[len(old)-1]
	old[len(old)-1] = timerEntry{}
	*h = old[:len(old)-1]
	return e
}

func (sh *shard) compactTimers() {
	live := sh.timers[:0]
	for _, e := range sh.timers {
		if !e.c.closed {
			live = append(live, e)
		}
	}
	clear(sh.timers[len(live):])
	sh.timers = live
	heap.Init(&sh.timers)
	sh.dead = 0
}

func (h timerHeap) next() int64 {
	if len(h) == 0 {
		return 0
	}
	return h[0].at
}

func keyString(k peerKey) string {
	s := k.addr
	if k.t != nil && k.t.udp != nil {
		s = k.ap.String()
	}
	if k.node != "" {
		s += "/node=" + hexString(k.node)
	}
	return s
}

func hexString(s string) string {
	const digits = "0123456789abcdef"
	b := make([]byte, 0, 2*len(s))
	for i := 0; i < len(s); i++ {
		b = append(b, digits[s[i]>>4], digits[s[i]&15])
	}
	return string(b)
}

var errDetached = errors.New("gateway: client not attached to the broker")
