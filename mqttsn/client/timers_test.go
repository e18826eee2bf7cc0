package client_test

import (
	"bytes"
	"context"
	"errors"
	"net"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"snbridge/mqttsn/client"
	"snbridge/mqttsn/mqttsntest"
	"snbridge/mqttsn/packet"
)

// memAddr and memConn are an in-memory datagram link, so timer tests run on synctest's fake
// clock: a goroutine blocked on a channel is durably blocked, a socket read is not.
type memAddr string

func (a memAddr) Network() string { return "mem" }
func (a memAddr) String() string  { return string(a) }

type memConn struct {
	local  memAddr
	in     chan []byte
	peer   *memConn
	closed chan struct{}
	once   sync.Once
}

func memPipe() (a, b *memConn) {
	a = &memConn{local: "client", in: make(chan []byte, 64), closed: make(chan struct{})}
	b = &memConn{local: "gateway", in: make(chan []byte, 64), closed: make(chan struct{})}
	a.peer, b.peer = b, a
	return a, b
}

func (c *memConn) ReadFrom(p []byte) (int, net.Addr, error) {
	select {
	case b := <-c.in:
		return copy(p, b), c.peer.local, nil
	case <-c.closed:
		return 0, nil, net.ErrClosed
	}
}

func (c *memConn) WriteTo(p []byte, _ net.Addr) (int, error) {
	select {
	case <-c.closed:
		return 0, net.ErrClosed
	case <-c.peer.closed: // the datagram is lost
	case c.peer.in <- bytes.Clone(p):
	}
	return len(p), nil
}

func (c *memConn) Close() error                     { c.once.Do(func() { close(c.closed) }); return nil }
func (c *memConn) LocalAddr() net.Addr              { return c.local }
func (c *memConn) SetDeadline(time.Time) error      { return nil }
func (c *memConn) SetReadDeadline(time.Time) error  { return nil }
func (c *memConn) SetWriteDeadline(time.Time) error { return nil }

// memGW is the gateway end of a memConn inside a synctest bubble.
type memGW struct {
	t    *testing.T
	conn *memConn
}

func (g memGW) expect(name string) {
	g.t.Helper()
	want := mqttsntest.MustGet(name).Bytes
	select {
	case got := <-g.conn.in:
		if !bytes.Equal(got, want) {
			m, err := packet.Decode(got)
			g.t.Fatalf("gateway expected %s\n want % X\n  got % X = %#v (%v)", name, want, got, m, err)
		}
	case <-time.After(time.Hour): // fake time: fails fast if the client never sends
		g.t.Fatalf("gateway expected %s, got nothing", name)
	}
}

// quiet asserts that the client has nothing more to say once every goroutine is blocked.
func (g memGW) quiet() {
	g.t.Helper()
	synctest.Wait()
	select {
	case got := <-g.conn.in:
		m, err := packet.Decode(got)
		g.t.Fatalf("gateway got an unexpected % X = %#v (%v)", got, m, err)
	default:
	}
}

func (g memGW) send(name string) {
	g.t.Helper()
	g.conn.WriteTo(mqttsntest.Bytes(name), g.conn.peer.local)
}

func newMemClient(t *testing.T, opts client.Options) (*client.Client, memGW) {
	t.Helper()
	cc, gc := memPipe()
	c, err := client.New(cc, memAddr("gateway"), opts)
	if err != nil {
		t.Fatal(err)
	}
	g := memGW{t: t, conn: gc}
	t.Cleanup(func() {
		c.Close()
		gc.Close()
	})
	return c, g
}

func memConnect(t *testing.T, c *client.Client, g memGW) {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- c.Connect(context.Background()) }()
	g.expect("CONNECT persistent keepalive=60 id=sensor-1")
	g.send("CONNACK accepted")
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

// The client pings after a keep-alive period without sending, and only then; when PINGRESP
// never comes it retransmits N_RETRY times and reports the connection lost.
func TestKeepAlive(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		lost := make(chan error, 1)
		opts := sensor1 // KeepAlive 60 s
		opts.OnConnectionLost = func(err error) { lost <- err }
		c, g := newMemClient(t, opts) // RetryInterval 10 s, MaxRetries 3 by default
		memConnect(t, c, g)
		start := time.Now()

		time.Sleep(59 * time.Second)
		g.quiet()
		g.expect("PINGREQ")
		if d := time.Since(start); d != 60*time.Second {
			t.Fatalf("PINGREQ after %v idle, want 60s", d)
		}
		g.send("PINGRESP")

		// Sending anything counts as activity: a publish at +90 s moves the next ping to +150 s.
		time.Sleep(30 * time.Second)
		if err := c.Publish(context.Background(), "ab", []byte("1"), client.QoS0, true); err != nil {
			t.Fatal(err)
		}
		g.expect("PUBLISH qos0 retain short=ab data=1")
		time.Sleep(59 * time.Second)
		g.quiet()
		g.expect("PINGREQ")
		if d := time.Since(start); d != 150*time.Second {
			t.Fatalf("second PINGREQ at +%v, want +150s", d)
		}
		// No PINGRESP: three retransmissions 10 s apart, then lost.
		for range 3 {
			g.expect("PINGREQ")
		}
		err := <-lost
		if !errors.Is(err, client.ErrTimeout) {
			t.Fatalf("OnConnectionLost(%v), want ErrTimeout", err)
		}
		if d := time.Since(start); d != 190*time.Second {
			t.Fatalf("lost at +%v, want +190s (4 × T_RETRY after the ping)", d)
		}
		if s := c.State(); s != client.StateLost {
			t.Fatalf("state %v, want lost", s)
		}
		g.quiet() // no more pings once lost
	})
}

// With no reply at all a QoS 1 publish is sent 1 + MaxRetries times, RetryInterval apart.
func TestPublishGivesUpAfterRetries(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		opts := sensor1
		opts.RetryInterval = 15 * time.Second
		opts.MaxRetries = 2
		opts.PredefinedTopics = map[string]uint16{"sensors/s1/switch": 10}
		c, g := newMemClient(t, opts)
		memConnect(t, c, g)
		start := time.Now()
		err := c.Publish(context.Background(), "sensors/s1/switch", []byte("on"), client.QoS1, false)
		if !errors.Is(err, client.ErrTimeout) {
			t.Fatalf("Publish = %v, want ErrTimeout", err)
		}
		if d := time.Since(start); d != 45*time.Second {
			t.Fatalf("gave up after %v, want 3 × 15s", d)
		}
		var first, dups int
		for len(g.conn.in) > 0 {
			var p packet.Publish
			if err := p.Unmarshal(<-g.conn.in); err != nil {
				t.Fatal(err)
			}
			if p.MsgID != 1 || p.TopicIDType != packet.TopicIDPredefined || p.TopicID != 10 {
				t.Fatalf("sent %+v", p)
			}
			if p.Dup {
				dups++
			} else {
				first++
			}
		}
		if first != 1 || dups != 2 {
			t.Fatalf("sent %d first and %d DUP copies, want 1 and 2", first, dups)
		}
	})
}

// Concurrent QoS 1 publishes: the second PUBLISH goes out only after the first is acknowledged
// (§6.6: one QoS 1/2 publish in flight).
func TestConcurrentPublishesAreSerialized(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		opts := sensor1
		opts.PredefinedTopics = map[string]uint16{"sensors/s1/switch": 10}
		c, g := newMemClient(t, opts)
		memConnect(t, c, g)

		var wg sync.WaitGroup
		errs := make(chan error, 2)
		for range 2 {
			wg.Go(func() {
				errs <- c.Publish(context.Background(), "sensors/s1/switch", []byte("on"), client.QoS1, false)
			})
		}
		for msgID := uint16(1); msgID <= 2; msgID++ {
			synctest.Wait()
			if n := len(g.conn.in); n != 1 {
				t.Fatalf("%d datagrams in flight, want 1", n)
			}
			var p packet.Publish
			if err := p.Unmarshal(<-g.conn.in); err != nil || p.MsgID != msgID || p.Dup {
				t.Fatalf("PUBLISH %+v, %v; want msg id %d", p, err, msgID)
			}
			g.conn.WriteTo(mustMarshal(t, &packet.Puback{TopicID: 10, MsgID: msgID}), nil)
		}
		wg.Wait()
		for range 2 {
			if err := <-errs; err != nil {
				t.Fatal(err)
			}
		}
	})
}

func TestPublishHonoursContext(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		opts := sensor1
		opts.PredefinedTopics = map[string]uint16{"sensors/s1/switch": 10}
		c, g := newMemClient(t, opts)
		memConnect(t, c, g)
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		err := c.Publish(ctx, "sensors/s1/switch", []byte("on"), client.QoS1, false)
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("Publish = %v, want context.DeadlineExceeded", err)
		}
		<-g.conn.in // the one PUBLISH sent
		// The slot is free again: the next publish goes out at once.
		go c.Publish(context.Background(), "sensors/s1/switch", []byte("on"), client.QoS1, false)
		synctest.Wait()
		if len(g.conn.in) != 1 {
			t.Fatal("the next publish did not go out")
		}
	})
}

func TestCloseEndsOperations(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c, g := newMemClient(t, sensor1)
		done := make(chan error, 1)
		go func() { done <- c.Connect(context.Background()) }()
		g.expect("CONNECT persistent keepalive=60 id=sensor-1")
		if err := c.Close(); err != nil {
			t.Fatal(err)
		}
		if err := <-done; !errors.Is(err, client.ErrClosed) {
			t.Fatalf("Connect after Close = %v, want ErrClosed", err)
		}
		if err := c.Close(); err != nil {
			t.Fatalf("second Close: %v", err)
		}
		if err := c.Publish(context.Background(), "ab", nil, client.QoSMinus1, false); !errors.Is(err, client.ErrClosed) {
			t.Fatalf("Publish after Close = %v, want ErrClosed", err)
		}
	})
}

func mustMarshal(t *testing.T, m packet.Message) []byte {
	t.Helper()
	b, err := packet.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
