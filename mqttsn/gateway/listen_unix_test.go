//go:build unix

package gateway

import (
	"context"
	"syscall"
	"testing"
)

func getBroadcast(fd uintptr) (int, error) {
	return syscall.GetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_BROADCAST)
}

func TestListenUDPAllowsBroadcast(t *testing.T) {
	c, err := ListenUDP(context.Background(), "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	raw, err := c.SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	var v int
	var gerr error
	raw.Control(func(fd uintptr) { v, gerr = getBroadcast(fd) })
	if gerr != nil || v == 0 {
		t.Errorf("SO_BROADCAST = %d, %v", v, gerr)
	}
}
