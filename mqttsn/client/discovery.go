package client

import (
	"context"
	"fmt"
	"net"
	"time"

	"snbridge/mqttsn/packet"
)

// GatewayInfo answers SearchGateway.
type GatewayInfo struct {
	GatewayID uint8
	From      net.Addr // who answered: the gateway, or a client answering for it
	Address   []byte   // GwAdd when a client answered on the gateway's behalf (§5.4.3)
}

// gwInfoFrom carries the sender of a GWINFO to SearchGateway's waiter.
type gwInfoFrom struct {
	packet.GWInfo
	from net.Addr
}

// SearchGateway sends SEARCHGW with radius to Options.SearchAddr (default: the client's gateway
// address) and returns the first GWINFO, from whoever answers (§6.1). Unanswered searches are
// repeated at doubling intervals, starting at RetryInterval, MaxRetries times.
func (c *Client) SearchGateway(ctx context.Context, radius uint8) (GatewayInfo, error) {
	addr := c.opts.SearchAddr
	if addr == nil {
		addr = c.Gateway()
	}
	w := c.addWaiter(func(m packet.Message) bool { _, ok := m.(*gwInfoFrom); return ok }, false)
	defer c.removeWaiter(w)
	search := &packet.SearchGW{Radius: radius}
	interval := c.opts.RetryInterval
	t := time.NewTimer(interval)
	defer t.Stop()
	for tries := 0; ; tries++ {
		if err := c.sendTo(search, addr); err != nil {
			return GatewayInfo{}, err
		}
		select {
		case m := <-w.ch:
			g := m.(*gwInfoFrom)
			return GatewayInfo{GatewayID: g.GatewayID, From: g.from, Address: g.GatewayAddr}, nil
		case <-t.C:
			if tries >= c.opts.MaxRetries {
				return GatewayInfo{}, fmt.Errorf("mqtt-sn client: search gateway: %w", ErrTimeout)
			}
			interval *= 2
			t.Reset(interval)
		case <-ctx.Done():
			return GatewayInfo{}, ctx.Err()
		case <-c.closed:
			return GatewayInfo{}, ErrClosed
		}
	}
}
