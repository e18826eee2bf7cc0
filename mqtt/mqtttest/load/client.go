package load

import (
	"context"
	"errors"
	"fmt"
	"net"
	"time"

	"snbridge/mqtt/packet"
)

// conn is one MQTT connection of the generator.
type conn struct {
	nc  net.Conn
	r   *packet.Reader
	buf []byte // write buffer, reused
}

// dial opens a TCP connection and completes CONNECT/CONNACK.
func dial(ctx context.Context, addr, clientID string, timeout time.Duration) (*conn, error) {
	d := net.Dialer{Timeout: timeout}
	nc, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	c := &conn{nc: nc, r: packet.NewReader(nc, 1<<20), buf: make([]byte, 0, 4096)}
	if tcp, ok := nc.(*net.TCPConn); ok {
		_ = tcp.SetNoDelay(true)
	}
	nc.SetDeadline(time.Now().Add(timeout))
	if err := c.send(&packet.Connect{CleanSession: true, ClientID: clientID}); err != nil {
		nc.Close()
		return nil, err
	}
	p, err := c.r.ReadPacket()
	if err != nil {
		nc.Close()
		return nil, fmt.Errorf("%s: waiting for CONNACK: %w", clientID, err)
	}
	ack, ok := p.(*packet.Connack)
	if !ok {
		nc.Close()
		return nil, fmt.Errorf("%s: got %v, want CONNACK", clientID, p.Type())
	}
	if ack.ReturnCode != packet.Accepted {
		nc.Close()
		return nil, fmt.Errorf("%s: %w", clientID, ack.ReturnCode)
	}
	nc.SetDeadline(time.Time{})
	return c, nil
}

// send encodes p and writes it at once.
func (c *conn) send(p packet.Packet) error {
	var err error
	if c.buf, err = packet.Append(c.buf[:0], p); err != nil {
		return err
	}
	_, err = c.nc.Write(c.buf)
	return err
}

// subscribe subscribes and waits for the SUBACK.
func (c *conn) subscribe(filter string, qos byte, timeout time.Duration) error {
	c.nc.SetDeadline(time.Now().Add(timeout))
	defer c.nc.SetDeadline(time.Time{})
	if err := c.send(&packet.Subscribe{PacketID: 1, Subscriptions: []packet.Subscription{{Filter: filter, QoS: qos}}}); err != nil {
		return err
	}
	for {
		p, err := c.r.ReadPacket()
		if err != nil {
			return fmt.Errorf("waiting for SUBACK: %w", err)
		}
		if s, ok := p.(*packet.Suback); ok {
			if len(s.ReturnCodes) != 1 || s.ReturnCodes[0] == packet.SubackFailure {
				return errors.New("subscription refused")
			}
			return nil
		}
	}
}

func (c *conn) close() {
	_ = c.send(&packet.Disconnect{})
	c.nc.Close()
}
