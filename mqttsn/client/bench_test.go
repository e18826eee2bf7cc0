package client_test

import (
	"context"
	"net"
	"sync"
	"testing"
	"time"

	"snbridge/mqttsn/client"
)

// sinkConn swallows what the client sends; reads block until Close.
type sinkConn struct {
	closed chan struct{}
	once   sync.Once
}

func (c *sinkConn) ReadFrom([]byte) (int, net.Addr, error) { <-c.closed; return 0, nil, net.ErrClosed }
func (c *sinkConn) WriteTo(p []byte, _ net.Addr) (int, error) {
	return len(p), nil
}
func (c *sinkConn) Close() error                     { c.once.Do(func() { close(c.closed) }); return nil }
func (c *sinkConn) LocalAddr() net.Addr              { return memAddr("client") }
func (c *sinkConn) SetDeadline(time.Time) error      { return nil }
func (c *sinkConn) SetReadDeadline(time.Time) error  { return nil }
func (c *sinkConn) SetWriteDeadline(time.Time) error { return nil }

// The cost of the client itself per QoS −1 publish (no network): what a simulator with many
// sensors pays on top of the socket.
func BenchmarkPublishQoSMinus1(b *testing.B) {
	c, err := client.New(&sinkConn{closed: make(chan struct{})}, memAddr("gateway"), client.Options{
		ClientID:         "bench",
		PredefinedTopics: map[string]uint16{"sensors/bench/temp": 10},
	})
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	payload := make([]byte, 32)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if err := c.Publish(ctx, "sensors/bench/temp", payload, client.QoSMinus1, false); err != nil {
			b.Fatal(err)
		}
	}
}
