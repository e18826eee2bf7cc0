package forwarder

import (
	"fmt"
	"net"
	"os"
	"sync"
	"time"

	"snbridge/mqttsn/packet"
)

// InboxSize is how many datagrams a node holds before dropping.
const InboxSize = 64

// Forwarder owns one socket shared by its nodes. Close stops it.
type Forwarder struct {
	pc      net.PacketConn
	gateway net.Addr

	mu      sync.Mutex
	nodes   map[string]*Node
	closed  bool
	dropped uint64 // datagrams for unknown nodes or full inboxes, and malformed envelopes
	wg      sync.WaitGroup
	once    sync.Once
}

// New starts a forwarder relaying over pc to gateway. The forwarder owns pc.
func New(pc net.PacketConn, gateway net.Addr) *Forwarder {
	f := &Forwarder{pc: pc, gateway: gateway, nodes: map[string]*Node{}}
	f.wg.Add(1)
	go f.readLoop()
	return f
}

// NodeID is the conventional 2-octet wireless node id of the n-th node of a forwarder.
func NodeID(n uint16) []byte { return []byte{byte(n >> 8), byte(n)} }

// Node returns a new node with the given wireless node id (1..252 octets, unique).
func (f *Forwarder) Node(id []byte) (*Node, error) {
	if len(id) == 0 || len(id) > packet.MaxNodeIDLen {
		return nil, fmt.Errorf("forwarder: node id of %d octets (want 1..%d)", len(id), packet.MaxNodeIDLen)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.closed {
		return nil, net.ErrClosed
	}
	if f.nodes[string(id)] != nil {
		return nil, fmt.Errorf("forwarder: node id %x already in use", id)
	}
	n := &Node{f: f, id: append([]byte(nil), id...), inbox: make(chan []byte, InboxSize),
		done: make(chan struct{}), dlChanged: make(chan struct{}, 1)}
	f.nodes[string(id)] = n
	return n, nil
}

// Dropped counts datagrams the forwarder could not hand to a node.
func (f *Forwarder) Dropped() uint64 {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.dropped
}

func (f *Forwarder) readLoop() {
	defer f.wg.Done()
	buf := make([]byte, 65535)
	for {
		n, _, err := f.pc.ReadFrom(buf)
		if err != nil {
			return
		}
		_, id, inner, err := packet.DecapsulateForwarder(buf[:n])
		f.mu.Lock()
		node := f.nodes[string(id)]
		if err != nil || node == nil {
			f.dropped++
			f.mu.Unlock()
			continue
		}
		select {
		case node.inbox <- append([]byte(nil), inner...):
		default:
			f.dropped++
		}
		f.mu.Unlock()
	}
}

// Close closes the socket and every node. It is idempotent.
func (f *Forwarder) Close() error {
	var err error
	f.once.Do(func() {
		f.mu.Lock()
		f.closed = true
		for _, n := range f.nodes {
			n.closeLocked()
		}
		f.mu.Unlock()
		err = f.pc.Close()
		f.wg.Wait()
	})
	return err
}

// Node is one sensor's view of the forwarder: a net.PacketConn that talks to the gateway only.
type Node struct {
	f         *Forwarder
	id        []byte
	inbox     chan []byte
	done      chan struct{}
	closeOnce sync.Once

	mu        sync.Mutex
	readDL    time.Time
	dlChanged chan struct{}
	wbuf      []byte
}

// ID is the node's wireless node id.
func (n *Node) ID() []byte { return n.id }

// WriteTo wraps b in an envelope and sends it to the gateway; addr is ignored, a node has one
// peer.
func (n *Node) WriteTo(b []byte, _ net.Addr) (int, error) {
	select {
	case <-n.done:
		return 0, net.ErrClosed
	default:
	}
	n.mu.Lock()
	env, err := packet.AppendEncapsulated(n.wbuf[:0], 0, n.id, b)
	if err != nil {
		n.mu.Unlock()
		return 0, err
	}
	n.wbuf = env
	_, err = n.f.pc.WriteTo(env, n.f.gateway)
	n.mu.Unlock()
	if err != nil {
		return 0, err
	}
	return len(b), nil
}

// ReadFrom returns the next message the gateway sent to this node; the address is the gateway's.
func (n *Node) ReadFrom(b []byte) (int, net.Addr, error) {
	for {
		n.mu.Lock()
		dl := n.readDL
		n.mu.Unlock()
		var timeout <-chan time.Time
		var t *time.Timer
		if !dl.IsZero() {
			d := time.Until(dl)
			if d <= 0 {
				return 0, nil, os.ErrDeadlineExceeded
			}
			t = time.NewTimer(d)
			timeout = t.C
		}
		select {
		case d := <-n.inbox:
			if t != nil {
				t.Stop()
			}
			return copy(b, d), n.f.gateway, nil
		case <-n.done:
			if t != nil {
				t.Stop()
			}
			return 0, nil, net.ErrClosed
		case <-timeout:
		case <-n.dlChanged:
			if t != nil {
				t.Stop()
			}
		}
	}
}

// Close detaches the node from its forwarder; the shared socket stays open.
func (n *Node) Close() error {
	n.f.mu.Lock()
	delete(n.f.nodes, string(n.id))
	n.closeLocked()
	n.f.mu.Unlock()
	return nil
}

func (n *Node) closeLocked() { n.closeOnce.Do(func() { close(n.done) }) }

// LocalAddr is the shared socket's address.
func (n *Node) LocalAddr() net.Addr { return n.f.pc.LocalAddr() }

// SetDeadline sets the read deadline; writes do not block.
func (n *Node) SetDeadline(t time.Time) error { return n.SetReadDeadline(t) }

// SetReadDeadline makes a pending and future ReadFrom fail with os.ErrDeadlineExceeded after t.
func (n *Node) SetReadDeadline(t time.Time) error {
	n.mu.Lock()
	n.readDL = t
	n.mu.Unlock()
	select {
	case n.dlChanged <- struct{}{}:
	default:
	}
	return nil
}

// SetWriteDeadline is accepted and ignored: writes never block.
func (n *Node) SetWriteDeadline(time.Time) error { return nil }

var _ net.PacketConn = (*Node)(nil)
