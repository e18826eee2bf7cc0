package client_test

import (
	"bytes"
	"context"
	"errors"
	"net"
	"os"
	"testing"
	"time"

	"go.uber.org/goleak"

	"snbridge/mqttsn/client"
	"snbridge/mqttsn/mqttsntest"
	"snbridge/mqttsn/packet"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
	os.Exit(0)
}

// step is the bound of every wait for the other side in the loopback tests.
const step = 5 * time.Second

// fakeGW is a scripted gateway on a loopback UDP socket: it expects the client's datagrams to be
// golden fixtures, byte for byte, and answers with fixtures.
type fakeGW struct {
	t    *testing.T
	conn net.PacketConn
	peer net.Addr
}

func newFakeGW(t *testing.T) *fakeGW {
	t.Helper()
	conn, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return &fakeGW{t: t, conn: conn}
}

// read returns the next datagram from the client.
func (g *fakeGW) read() []byte {
	g.t.Helper()
	buf := make([]byte, 65535)
	g.conn.SetReadDeadline(time.Now().Add(step))
	n, from, err := g.conn.ReadFrom(buf)
	if err != nil {
		g.t.Fatalf("gateway: waiting for the client: %v", err)
	}
	g.peer = from
	return buf[:n]
}

// expect reads a datagram and checks that it is the fixture called name.
func (g *fakeGW) expect(name string) {
	g.t.Helper()
	got, want := g.read(), mqttsntest.MustGet(name).Bytes
	if !bytes.Equal(got, want) {
		m, err := packet.Decode(got)
		g.t.Fatalf("gateway expected %s\n want % X\n  got % X = %#v (%v)", name, want, got, m, err)
	}
}

// send sends the fixture called name to the client.
func (g *fakeGW) send(name string) {
	g.t.Helper()
	g.sendBytes(mqttsntest.Bytes(name))
}

func (g *fakeGW) sendBytes(b []byte) {
	g.t.Helper()
	if g.peer == nil {
		g.t.Fatal("gateway: no client address yet")
	}
	if _, err := g.conn.WriteTo(b, g.peer); err != nil {
		g.t.Fatal(err)
	}
}

// newClient returns a client of g, closed at the end of the test.
func newClient(t *testing.T, g *fakeGW, opts client.Options) *client.Client {
	t.Helper()
	if opts.RetryInterval == 0 {
		opts.RetryInterval = 100 * time.Millisecond
	}
	ctx, cancel := context.WithTimeout(context.Background(), step)
	defer cancel()
	c, err := client.Dial(ctx, "udp", g.conn.LocalAddr().String(), opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := c.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return c
}

// async runs op on its own goroutine; the returned channel yields its error.
func async(op func(ctx context.Context) error) <-chan error {
	done := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*step)
		defer cancel()
		done <- op(ctx)
	}()
	return done
}

func wait(t *testing.T, done <-chan error) error {
	t.Helper()
	select {
	case err := <-done:
		return err
	case <-time.After(2 * step):
		t.Fatal("operation did not return")
		return nil
	}
}

func mustWait(t *testing.T, what string, done <-chan error) {
	t.Helper()
	if err := wait(t, done); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

// connect runs a plain CONNECT/CONNACK for a client with ClientID sensor-1, KeepAlive 60 s.
func connect(t *testing.T, g *fakeGW, c *client.Client) {
	t.Helper()
	done := async(c.Connect)
	g.expect("CONNECT persistent keepalive=60 id=sensor-1")
	g.send("CONNACK accepted")
	mustWait(t, "Connect", done)
}

// subscribeLED subscribes c to cmd/s1/led at QoS 1 (topic id 5 granted), handing what
// arrives to got.
func subscribeLED(t *testing.T, g *fakeGW, c *client.Client, got chan<- client.Message) {
	t.Helper()
	done := async(func(ctx context.Context) error {
		_, err := c.Subscribe(ctx, "cmd/s1/led", client.QoS1, func(m client.Message) { got <- m })
		return err
	})
	g.expect("SUBSCRIBE qos1 name=cmd/s1/led msgid=1")
	g.send("SUBACK qos1 id=5 msgid=1 accepted")
	mustWait(t, "Subscribe", done)
}

func receive(t *testing.T, ch <-chan client.Message) client.Message {
	t.Helper()
	select {
	case m := <-ch:
		return m
	case <-time.After(step):
		t.Fatal("no message delivered to the handler")
		return client.Message{}
	}
}

func isErr(err, target error) bool { return errors.Is(err, target) }

// expectMsg reads a datagram and checks that it is the encoding of want.
func (g *fakeGW) expectMsg(want packet.Message) {
	g.t.Helper()
	wb, err := packet.Marshal(want)
	if err != nil {
		g.t.Fatal(err)
	}
	if got := g.read(); !bytes.Equal(got, wb) {
		m, err := packet.Decode(got)
		g.t.Fatalf("gateway expected %#v\n want % X\n  got % X = %#v (%v)", want, wb, got, m, err)
	}
}

func (g *fakeGW) sendMsg(m packet.Message) {
	g.t.Helper()
	b, err := packet.Marshal(m)
	if err != nil {
		g.t.Fatal(err)
	}
	g.sendBytes(b)
}
