package mqtttest

import (
	"errors"
	"net"
	"reflect"
	"testing"
	"time"

	"snbridge/mqtt/packet"
)

// Conn is a raw MQTT client for conversation tests: it sends exactly the packets (or bytes) it
// is given and checks what comes back, so a test can break the rules a real client keeps.
type Conn struct {
	t       testing.TB
	nc      net.Conn
	r       *packet.Reader
	Timeout time.Duration // for each Expect/Read; 5 s unless changed
}

// Dial connects to addr (a loopback listener of the test); the connection is closed when the
// test ends.
func Dial(t testing.TB, addr string) *Conn {
	t.Helper()
	nc, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatalf("mqtttest: dial %s: %v", addr, err)
	}
	return NewConn(t, nc)
}

// NewConn wraps an open connection (one end of net.Pipe, say); it is closed when the test ends.
func NewConn(t testing.TB, nc net.Conn) *Conn {
	t.Cleanup(func() { nc.Close() })
	return &Conn{t: t, nc: nc, r: packet.NewReader(nc, 0), Timeout: 5 * time.Second}
}

// Send encodes and writes p; a packet Append refuses fails the test (use SendBytes for those).
func (c *Conn) Send(p packet.Packet) {
	c.t.Helper()
	b, err := packet.Append(nil, p)
	if err != nil {
		c.t.Fatalf("mqtttest: encoding %v: %v", p.Type(), err)
	}
	c.SendBytes(b)
}

// SendBytes writes b as it is.
func (c *Conn) SendBytes(b []byte) {
	c.t.Helper()
	c.nc.SetWriteDeadline(time.Now().Add(c.Timeout))
	if _, err := c.nc.Write(b); err != nil {
		c.t.Fatalf("mqtttest: write: %v", err)
	}
}

// Read returns the next packet, or the error that ended the wait (io.EOF once the peer closed,
// a timeout after c.Timeout).
func (c *Conn) Read() (packet.Packet, error) {
	c.nc.SetReadDeadline(time.Now().Add(c.Timeout))
	return c.r.ReadPacket()
}

// Expect reads the next packet and fails the test unless it equals want.
func (c *Conn) Expect(want packet.Packet) packet.Packet {
	c.t.Helper()
	got, err := c.Read()
	if err != nil {
		c.t.Fatalf("mqtttest: waiting for %v: %v", want.Type(), err)
	}
	if !reflect.DeepEqual(got, want) {
		c.t.Fatalf("mqtttest: got %#v, want %#v", got, want)
	}
	return got
}

// ExpectClosed fails the test unless the peer closes the connection (within c.Timeout) without
// sending anything more — what a server does with a malformed packet [MQTT-4.8.0-1].
func (c *Conn) ExpectClosed() {
	c.t.Helper()
	p, err := c.Read()
	var ne net.Error
	switch {
	case err == nil:
		c.t.Fatalf("mqtttest: got %#v, want the connection closed", p)
	case errors.As(err, &ne) && ne.Timeout():
		c.t.Fatalf("mqtttest: the connection is still open after %v", c.Timeout)
	}
}

// Connect sends a CONNECT with a clean session for clientID and expects CONNACK accepted.
func (c *Conn) Connect(clientID string) {
	c.t.Helper()
	c.Send(&packet.Connect{CleanSession: true, ClientID: clientID, KeepAlive: 60})
	c.Expect(&packet.Connack{})
}

// Close closes the connection (without DISCONNECT: an abnormal end, the will is published).
func (c *Conn) Close() { c.nc.Close() }
