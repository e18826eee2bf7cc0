//go:build unix

package client

import (
	"context"
	"net"
	"syscall"
	"testing"
)

// Dial's socket may send to a broadcast SearchAddr (Linux refuses with EACCES otherwise).
func TestDialAllowsBroadcast(t *testing.T) {
	c, err := Dial(context.Background(), "udp", "127.0.0.1:1884", Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	raw, err := c.conn.(*net.UDPConn).SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	var v int
	var gerr error
	raw.Control(func(fd uintptr) { v, gerr = syscall.GetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_BROADCAST) })
	if gerr != nil || v == 0 {
		t.Errorf("SO_BROADCAST = %d, %v", v, gerr)
	}
}
