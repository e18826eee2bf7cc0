package gateway

import (
	"net"
	"net/netip"

	"snbridge/mqttsn/packet"
)

// ioBatch is the number of datagrams read, or written, by one system call where the platform
// batches them (recvmmsg/sendmmsg on Linux), and the most a shard collects before writing.
const ioBatch = 64

// maxEnvelope is the longest forwarder envelope (§5.5: its Length octet counts it whole).
const maxEnvelope = 255

// inBatch is what one read batch holds for one shard: handed over with one channel send and one
// wake-up instead of one per datagram.
type inBatch struct {
	items []inbound
	data  []byte        // the items' datagrams back to back: the read buffers are reused at once
	free  chan *inBatch // its read loop's spare batches
}

// add appends a datagram; dg (a read buffer) is copied unless the read loop decoded it already.
func (b *inBatch) add(in inbound, dg []byte) {
	if in.msg == nil {
		off := len(b.data)
		b.data = append(b.data, dg...)
		in.data = b.data[off:len(b.data):len(b.data)]
	}
	b.items = append(b.items, in)
}

// release gives the batch back to its read loop once the shard has handled it: the sessions
// keep no reference to a datagram (they copy what they keep; packet's byte fields alias it).
func (b *inBatch) release() {
	clear(b.items)
	b.items, b.data = b.items[:0], b.data[:0]
	select {
	case b.free <- b:
	default: // enough spares: left to the collector
	}
}

// handOff groups one read batch's datagrams by shard.
type handOff struct {
	g       *Gateway
	pending []*inBatch    // by shard index
	free    chan *inBatch // batches the shards have released, for reuse
}

func (g *Gateway) newHandOff() *handOff {
	return &handOff{g: g, pending: make([]*inBatch, len(g.shards)), free: make(chan *inBatch, 4*len(g.shards)+4)}
}

func (h *handOff) add(sh *shard, in inbound, dg []byte) {
	b := h.pending[sh.index]
	if b == nil {
		b = h.batch()
		h.pending[sh.index] = b
	}
	b.add(in, dg)
}

// batch is a spare batch, or a new one.
func (h *handOff) batch() *inBatch {
	select {
	case b := <-h.free:
		return b
	default:
		return &inBatch{items: make([]inbound, 0, 8), data: make([]byte, 0, 512), free: h.free}
	}
}

// flush hands every shard its share of the read batch.
func (h *handOff) flush() {
	for i, b := range h.pending {
		if b != nil {
			h.g.shards[i].enqueue(b)
			h.pending[i] = nil
		}
	}
}

// outbox collects a shard's datagrams while it handles one batch of input (datagrams, broker
// events or timers) and writes them together at the end of it, or when ioBatch are waiting:
// nothing waits longer than the batch that produced it.
type outbox struct {
	g       *Gateway
	pending []outDatagram // len: waiting; the buffers past it are kept for reuse
	n       int
	scratch []byte // an encoded message before it goes into its forwarder envelope
	udp     udpWriter
}

// outDatagram is one encoded datagram for a peer.
type outDatagram struct {
	t    *transport
	ap   netip.AddrPort // UDP
	addr net.Addr       // other transports
	buf  []byte
}

func newOutbox(g *Gateway) *outbox {
	return &outbox{g: g, pending: make([]outDatagram, ioBatch)}
}

// add encodes m for the peer, in the forwarder envelope when the peer is behind one.
func (o *outbox) add(key peerKey, addr net.Addr, m packet.Message) error {
	if o.n == len(o.pending) {
		o.flush()
	}
	d := &o.pending[o.n]
	var err error
	if d.buf, o.scratch, err = appendDatagram(d.buf[:0], o.scratch, key.node, m); err != nil {
		return err
	}
	d.t, d.ap, d.addr = key.t, key.ap, addr
	o.n++
	return nil
}

// flush writes what is waiting: runs of datagrams for one UDP transport in batches, others one
// by one.
func (o *outbox) flush() {
	ds := o.pending[:o.n]
	for len(ds) > 0 {
		t := ds[0].t
		if t.udp == nil {
			o.g.count(o.g.writeTo(t, ds[0].ap, ds[0].addr, ds[0].buf))
			ds = ds[1:]
			continue
		}
		run := 1
		for run < len(ds) && ds[run].t == t {
			run++
		}
		sent, failed := o.udp.write(o.g, t, ds[:run])
		o.g.stats.sent.Add(uint64(sent))
		o.g.stats.sendErrors.Add(uint64(failed))
		ds = ds[run:]
	}
	for i := range o.pending[:o.n] {
		o.pending[i].t, o.pending[i].addr = nil, nil
	}
	o.n = 0
}
