package gateway

import (
	"context"
	"net"
	"syscall"
)

// ListenUDP opens a UDP transport for Serve on address (":1884", "[::]:1884"), with broadcast
// allowed so that ADVERTISE can go to a broadcast address (§6.1); a multicast AdvertiseAddr
// needs nothing more. The caller closes it after Serve has returned.
func ListenUDP(ctx context.Context, address string) (*net.UDPConn, error) {
	lc := net.ListenConfig{Control: func(network, address string, c syscall.RawConn) error {
		var serr error
		err := c.Control(func(fd uintptr) { serr = setBroadcast(fd) })
		if err != nil {
			return err
		}
		return serr
	}}
	pc, err := lc.ListenPacket(ctx, "udp", address)
	if err != nil {
		return nil, err
	}
	return pc.(*net.UDPConn), nil
}
