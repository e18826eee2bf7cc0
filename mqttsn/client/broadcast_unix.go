//go:build unix

package client

import "syscall"

// allowBroadcast lets Dial's socket send SEARCHGW to a broadcast SearchAddr (§6.1).
func allowBroadcast(fd uintptr) error {
	return syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_BROADCAST, 1)
}
