package gwbench

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"time"

	mqtt "snbridge/mqtt/packet"
	"snbridge/mqttsn/packet"
)

// exchange sends m on conn (to the wireless node id node behind the forwarder encapsulation
// when node is not nil) and waits for a message of type want from the gateway, retransmitting
// m every second until timeout. buf is the write buffer, rbuf the read buffer.
func exchange(ctx context.Context, conn *net.UDPConn, node []byte, m packet.Message, want packet.MsgType, timeout time.Duration, buf *[]byte, rbuf []byte) (packet.Message, error) {
	var err error
	inner, err := packet.Append(nil, m)
	if err != nil {
		return nil, err
	}
	*buf = (*buf)[:0]
	if node != nil {
		if *buf, err = packet.AppendEncapsulated(*buf, 0, node, inner); err != nil {
			return nil, err
		}
	} else {
		*buf = append(*buf, inner...)
	}
	deadline := time.Now().Add(timeout)
	for {
		if _, err := conn.Write(*buf); err != nil {
			return nil, err
		}
		retry := time.Now().Add(time.Second)
		if deadline.Before(retry) {
			retry = deadline
		}
		conn.SetReadDeadline(retry)
		for {
			n, err := conn.Read(rbuf)
			if err != nil {
				var ne net.Error
				if errors.As(err, &ne) && ne.Timeout() {
					break
				}
				return nil, err
			}
			d := rbuf[:n]
			if node != nil {
				_, from, in, err := packet.DecapsulateForwarder(d)
				if err != nil || !bytes.Equal(from, node) {
					continue
				}
				d = in
			}
			if t, _, _, err := packet.ParseHeader(d); err != nil || t != want {
				continue
			}
			return packet.Decode(d)
		}
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		if !time.Now().Before(deadline) {
			return nil, fmt.Errorf("no %v within %v", want, timeout)
		}
	}
}

// mqttConn is the subscriber's MQTT connection.
type mqttConn struct {
	nc  net.Conn
	r   *mqtt.Reader
	buf []byte
}

func dialMQTT(ctx context.Context, addr, clientID string, timeout time.Duration) (*mqttConn, error) {
	d := net.Dialer{Timeout: timeout}
	nc, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	c := &mqttConn{nc: nc, r: mqtt.NewReader(nc, 1<<20), buf: make([]byte, 0, 4096)}
	nc.SetDeadline(time.Now().Add(timeout))
	defer nc.SetDeadline(time.Time{})
	if err := c.send(&mqtt.Connect{CleanSession: true, ClientID: clientID}); err != nil {
		nc.Close()
		return nil, err
	}
	p, err := c.r.ReadPacket()
	if err != nil {
		nc.Close()
		return nil, fmt.Errorf("waiting for CONNACK: %w", err)
	}
	if ack, ok := p.(*mqtt.Connack); !ok || ack.ReturnCode != mqtt.Accepted {
		nc.Close()
		return nil, fmt.Errorf("CONNECT refused: %v", p)
	}
	return c, nil
}

func (c *mqttConn) send(p mqtt.Packet) error {
	var err error
	if c.buf, err = mqtt.Append(c.buf[:0], p); err != nil {
		return err
	}
	_, err = c.nc.Write(c.buf)
	c.buf = c.buf[:0]
	return err
}

func (c *mqttConn) subscribe(filter string, qos byte, timeout time.Duration) error {
	c.nc.SetDeadline(time.Now().Add(timeout))
	defer c.nc.SetDeadline(time.Time{})
	if err := c.send(&mqtt.Subscribe{PacketID: 1, Subscriptions: []mqtt.Subscription{{Filter: filter, QoS: qos}}}); err != nil {
		return err
	}
	for {
		p, err := c.r.ReadPacket()
		if err != nil {
			return fmt.Errorf("waiting for SUBACK: %w", err)
		}
		if s, ok := p.(*mqtt.Suback); ok {
			if len(s.ReturnCodes) != 1 || s.ReturnCodes[0] == mqtt.SubackFailure {
				return errors.New("subscription refused")
			}
			return nil
		}
	}
}
