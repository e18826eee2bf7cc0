//go:build unix

package broker

import (
	"net"
	"syscall"
)

// rawConnOf returns the raw connection of a plain TCP connection, for direct writes.
func rawConnOf(nc net.Conn) syscall.RawConn {
	tc, ok := nc.(*net.TCPConn)
	if !ok {
		return nil
	}
	raw, err := tc.SyscallConn()
	if err != nil {
		return nil
	}
	return raw
}

// tryWrite writes what the socket takes now, without waiting (the descriptor is non-blocking:
// a full socket answers EAGAIN), and returns how many bytes it took.
func tryWrite(raw syscall.RawConn, b []byte) int {
	var n int
	err := raw.Write(func(fd uintptr) bool {
		for n < len(b) {
			m, err := syscall.Write(int(fd), b[n:])
			if err == syscall.EINTR {
				continue
			}
			if err != nil || m <= 0 {
				break
			}
			n += m
		}
		return true // never wait for the socket: the write loop does that
	})
	if err != nil {
		return 0
	}
	return n
}
