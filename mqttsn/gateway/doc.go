// Package gateway is the I/O shell of the MQTT-SN gateway: it reads datagrams from transports
// (any net.PacketConn), drives the sessions on a fixed set of shard goroutines and reaches the
// broker through a small interface it declares itself.
package gateway
