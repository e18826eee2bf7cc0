package broker

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"os"
	"sync"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"
	"go.uber.org/goleak"

	"snbridge/mqtt/packet"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

func testLogger(t testing.TB) *slog.Logger {
	if os.Getenv("BROKER_TEST_LOG") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.DiscardHandler)
}

// startBroker serves a broker on a loopback port until the test ends.
func startBroker(t testing.TB, opts Options) (*Broker, string) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	opts.Listeners = append(opts.Listeners, Listener{Name: "mqtt", Listener: ln})
	if opts.Logger == nil {
		opts.Logger = testLogger(t)
	}
	if opts.SysInterval == 0 {
		opts.SysInterval = -1
	}
	b, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- b.Serve(context.Background()) }()
	select {
	case <-b.Ready():
	case err := <-done:
		t.Fatalf("Serve: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := b.Shutdown(ctx); err != nil {
			t.Errorf("Shutdown: %v", err)
		}
		if err := <-done; err != nil {
			t.Errorf("Serve returned %v", err)
		}
	})
	return b, ln.Addr().String()
}

// received collects messages of a paho client.
type received struct {
	mu   sync.Mutex
	msgs []paho.Message
	ch   chan struct{}
}

func newReceived() *received { return &received{ch: make(chan struct{}, 1000)} }

func (r *received) handler(_ paho.Client, m paho.Message) {
	r.mu.Lock()
	r.msgs = append(r.msgs, m)
	r.mu.Unlock()
	r.ch <- struct{}{}
}

// wait waits for n messages in total, or fails after 5 s.
func (r *received) wait(t testing.TB, n int) []paho.Message {
	t.Helper()
	deadline := time.After(5 * time.Second)
	for {
		r.mu.Lock()
		if len(r.msgs) >= n {
			out := append([]paho.Message(nil), r.msgs...)
			r.mu.Unlock()
			return out
		}
		r.mu.Unlock()
		select {
		case <-r.ch:
		case <-deadline:
			r.mu.Lock()
			defer r.mu.Unlock()
			t.Fatalf("received %d messages, want %d", len(r.msgs), n)
		}
	}
}

func (r *received) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.msgs)
}

type clientOpt func(*paho.ClientOptions)

func newPaho(t testing.TB, addr, id string, clean bool, opts ...clientOpt) paho.Client {
	t.Helper()
	o := paho.NewClientOptions().AddBroker("tcp://" + addr).SetClientID(id).SetCleanSession(clean).
		SetAutoReconnect(false).SetConnectRetry(false).SetConnectTimeout(5 * time.Second).
		SetKeepAlive(30 * time.Second).SetOrderMatters(true)
	for _, f := range opts {
		f(o)
	}
	c := paho.NewClient(o)
	if tok := c.Connect(); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		t.Fatalf("connect %s: %v", id, tok.Error())
	}
	t.Cleanup(func() {
		if c.IsConnectionOpen() {
			c.Disconnect(100)
		}
	})
	return c
}

func must(t testing.TB, tok paho.Token) {
	t.Helper()
	if !tok.WaitTimeout(5 * time.Second) {
		t.Fatal("token timed out")
	}
	if err := tok.Error(); err != nil {
		t.Fatal(err)
	}
}

// rawClient speaks MQTT with the codec directly, for what paho will not do (bad packets,
// missing acknowledgements, broken sockets).
type rawClient struct {
	t  testing.TB
	nc net.Conn
	r  *packet.Reader
}

func dialRaw(t testing.TB, addr string) *rawClient {
	t.Helper()
	nc, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { nc.Close() })
	return &rawClient{t: t, nc: nc, r: packet.NewReader(nc, 0)}
}

func (c *rawClient) send(p packet.Packet) {
	c.t.Helper()
	buf, err := packet.Append(nil, p)
	if err != nil {
		c.t.Fatal(err)
	}
	if _, err := c.nc.Write(buf); err != nil {
		c.t.Fatal(err)
	}
}

func (c *rawClient) read() (packet.Packet, error) {
	c.nc.SetReadDeadline(time.Now().Add(5 * time.Second))
	return c.r.ReadPacket()
}

func (c *rawClient) expect() packet.Packet {
	c.t.Helper()
	p, err := c.read()
	if err != nil {
		c.t.Fatalf("read: %v", err)
	}
	return p
}

func (c *rawClient) connect(p *packet.Connect) *packet.Connack {
	c.t.Helper()
	if p.ProtocolName == "" {
		p.ProtocolName, p.ProtocolLevel = "MQTT", 4
	}
	c.send(p)
	ack, ok := c.expect().(*packet.Connack)
	if !ok {
		c.t.Fatal("no CONNACK")
	}
	return ack
}

// expectClosed asserts the broker closes the connection (within 5 s, after at most 10 000
// more packets).
func (c *rawClient) expectClosed() {
	c.t.Helper()
	for i := 0; i < 10_000; i++ {
		if _, err := c.read(); err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				c.t.Fatal("connection still open after 5 s")
			}
			return
		}
	}
	c.t.Fatal("connection still open")
}
