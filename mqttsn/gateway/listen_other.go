//go:build !unix

package gateway

// setBroadcast: outside Unix the socket is used as opened; broadcast ADVERTISE may need the
// platform's own setting.
func setBroadcast(uintptr) error { return nil }
