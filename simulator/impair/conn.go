package impair

import (
	"net"
	"os"
	"sync"
	"time"
)

// maxDatagram is the largest datagram read from the wrapped connection; MQTT-SN traffic over UDP
// stays under the path MTU, and this keeps 10 000 wrapped sockets within a few tens of MB.
const maxDatagram = 4096

// Conn wraps a net.PacketConn and impairs the datagrams written to it (outbound) and read from
// it (inbound), each direction with its own Link. It starts two goroutines, stopped by Close.
type Conn struct {
	pc net.PacketConn

	mu       sync.Mutex
	out, in  *Link
	ready    []readyItem // inbound datagrams due, waiting for ReadFrom; bounded by cfg.Queue
	readyCap int
	readDL   time.Time
	readErr  error // the wrapped connection's read error, returned once ready is empty
	closed   bool

	wake     chan struct{} // scheduler: a new datagram was queued
	readable chan struct{} // ReadFrom: ready grew, the deadline changed, or the conn closed
	done     chan struct{}
	wg       sync.WaitGroup
	once     sync.Once
}

type readyItem struct {
	data []byte
	addr net.Addr
}

// Wrap returns pc impaired by out (datagrams written) and in (datagrams read). Seeds of the two
// configs should differ. The Conn owns pc: Close closes it.
func Wrap(pc net.PacketConn, out, in Config) (*Conn, error) {
	if err := out.Validate(); err != nil {
		return nil, err
	}
	if err := in.Validate(); err != nil {
		return nil, err
	}
	c := &Conn{
		pc:       pc,
		out:      NewLink(out),
		in:       NewLink(in),
		wake:     make(chan struct{}, 1),
		readable: make(chan struct{}, 1),
		done:     make(chan struct{}),
	}
	c.readyCap = c.in.cfg.Queue
	c.wg.Add(2)
	go c.readLoop()
	go c.schedule()
	return c, nil
}

// WriteTo impairs b on its way to addr. It never blocks on the link: a datagram is lost,
// delayed or sent, and len(b) is reported written as UDP would.
func (c *Conn) WriteTo(b []byte, addr net.Addr) (int, error) {
	now := time.Now()
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return 0, net.ErrClosed
	}
	c.out.Push(now, b, addr)
	if next, ok := c.out.Next(); ok && !next.After(now) {
		// Due now: send from the caller's goroutine, keeping a zero-delay link synchronous.
		c.flushOut(now)
	}
	c.mu.Unlock()
	c.poke(c.wake)
	return len(b), nil
}

// flushOut sends every outbound datagram due at now. Called with c.mu held.
func (c *Conn) flushOut(now time.Time) {
	for {
		data, addr, ok := c.out.PopRef(now)
		if !ok {
			return
		}
		_, _ = c.pc.WriteTo(data, addr) // UDP: a failed send is a lost datagram
		c.out.Release(data)
	}
}

// ReadFrom returns the next inbound datagram that survived the link and is due.
func (c *Conn) ReadFrom(b []byte) (int, net.Addr, error) {
	for {
		c.mu.Lock()
		if len(c.ready) > 0 {
			it := c.ready[0]
			copy(c.ready, c.ready[1:])
			c.ready[len(c.ready)-1] = readyItem{}
			c.ready = c.ready[:len(c.ready)-1]
			n := copy(b, it.data)
			c.in.Release(it.data)
			c.mu.Unlock()
			return n, it.addr, nil
		}
		if c.closed {
			c.mu.Unlock()
			return 0, nil, net.ErrClosed
		}
		if c.readErr != nil && c.in.Len() == 0 {
			err := c.readErr
			c.mu.Unlock()
			return 0, nil, err
		}
		dl := c.readDL
		c.mu.Unlock()

		var timeout <-chan time.Time
		if !dl.IsZero() {
			d := time.Until(dl)
			if d <= 0 {
				return 0, nil, os.ErrDeadlineExceeded
			}
			t := time.NewTimer(d)
			timeout = t.C
			select {
			case <-c.readable:
			case <-timeout:
			case <-c.done:
			}
			t.Stop()
			continue
		}
		select {
		case <-c.readable:
		case <-c.done:
		}
	}
}

// readLoop moves datagrams from the wrapped connection into the inbound link.
func (c *Conn) readLoop() {
	defer c.wg.Done()
	buf := make([]byte, maxDatagram)
	for {
		n, addr, err := c.pc.ReadFrom(buf)
		if err != nil {
			c.mu.Lock()
			c.readErr = err
			c.mu.Unlock()
			c.poke(c.readable)
			return
		}
		c.mu.Lock()
		c.in.Push(time.Now(), buf[:n], addr)
		c.mu.Unlock()
		c.poke(c.wake)
	}
}

// schedule releases delayed datagrams when they fall due, in both directions.
func (c *Conn) schedule() {
	defer c.wg.Done()
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		now := time.Now()
		c.mu.Lock()
		c.flushOut(now)
		moved := false
		for {
			data, addr, ok := c.in.PopRef(now)
			if !ok {
				break
			}
			if len(c.ready) >= c.readyCap {
				c.in.stats.Overflow++ // the reader is not keeping up: drop, as a full socket buffer would
				c.in.Release(data)
				continue
			}
			c.ready = append(c.ready, readyItem{data: data, addr: addr})
			moved = true
		}
		next, ok := c.out.Next()
		if inNext, inOK := c.in.Next(); inOK && (!ok || inNext.Before(next)) {
			next, ok = inNext, true
		}
		c.mu.Unlock()
		if moved {
			c.poke(c.readable)
		}
		wait := time.Hour
		if ok {
			wait = max(time.Until(next), 0)
		}
		timer.Reset(wait)
		select {
		case <-c.done:
			return
		case <-c.wake:
		case <-timer.C:
		}
	}
}

func (c *Conn) poke(ch chan struct{}) {
	select {
	case ch <- struct{}{}:
	default:
	}
}

// Close closes the wrapped connection, drops what the link still holds and stops the
// goroutines. It is idempotent.
func (c *Conn) Close() error {
	var err error
	c.once.Do(func() {
		c.mu.Lock()
		c.closed = true
		c.mu.Unlock()
		close(c.done)
		err = c.pc.Close()
		c.wg.Wait()
	})
	return err
}

// Stats returns the counters of both directions.
func (c *Conn) Stats() (out, in Stats) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.out.Stats(), c.in.Stats()
}

// LocalAddr is the wrapped connection's.
func (c *Conn) LocalAddr() net.Addr { return c.pc.LocalAddr() }

// SetDeadline sets the read deadline (writes never block on the link) and the wrapped write deadline.
func (c *Conn) SetDeadline(t time.Time) error {
	_ = c.SetReadDeadline(t)
	return c.pc.SetWriteDeadline(t)
}

// SetReadDeadline makes ReadFrom return os.ErrDeadlineExceeded after t.
func (c *Conn) SetReadDeadline(t time.Time) error {
	c.mu.Lock()
	c.readDL = t
	c.mu.Unlock()
	c.poke(c.readable)
	return nil
}

// SetWriteDeadline is applied to the wrapped connection's writes.
func (c *Conn) SetWriteDeadline(t time.Time) error { return c.pc.SetWriteDeadline(t) }

var _ net.PacketConn = (*Conn)(nil)
