package gateway

import (
	"log/slog"
	"net"
	"runtime"
	"time"

	"snbridge/mqttsn/session"
)

// Config of a Gateway. Every zero value means the default written beside it. The embedded
// session.Config holds the per-client settings (predefined topics, topic limit, T_RETRY,
// N_RETRY, max idle, sleep buffer, max in-flight deliveries, max packet size, client id length).
type Config struct {
	session.Config

	GatewayID         uint8         // GwId in ADVERTISE and GWINFO; 0 = 1
	AdvertiseAddr     net.Addr      // where ADVERTISE goes (a broadcast or multicast address); nil = no ADVERTISE
	AdvertiseInterval time.Duration // T_ADV, also the ADVERTISE Duration (§6.1); 0 = 15 min
	MaxClients        int           // connected clients; past it CONNECT gets CONNACK 0x01; 0 = 100 000
	Shards            int           // goroutines owning the sessions; 0 = GOMAXPROCS
	InboundQueue      int           // datagrams queued per shard; a full queue drops (the sender retries); 0 = 4096 (†)
	EventQueue        int           // broker events queued per shard; when full QoS 0 deliveries are dropped; 0 = 65 536
	QoSMinus1Client   string        // client id of the broker session QoS −1 PUBLISHes go through; "" = "mqttsn-qos-1"
	Logger            *slog.Logger  // nil = discard

	// † Batched reads empty a socket's buffer (4 MiB in snbridge: a few thousand small
	// datagrams) into the shards' queues at once, so a burst waits in these queues instead.
}

func (c *Config) gatewayID() uint8 {
	if c.GatewayID == 0 {
		return 1
	}
	return c.GatewayID
}

func (c *Config) advertiseInterval() time.Duration {
	if c.AdvertiseInterval <= 0 {
		return 15 * time.Minute
	}
	return c.AdvertiseInterval
}

func (c *Config) maxClients() int    { return or(c.MaxClients, 100_000) }
func (c *Config) shards() int        { return or(c.Shards, runtime.GOMAXPROCS(0)) }
func (c *Config) inboundQueue() int  { return or(c.InboundQueue, 4096) }
func (c *Config) eventQueue() int    { return or(c.EventQueue, 65_536) }
func (c *Config) maxPacketSize() int { return or(c.MaxPacketSize, 1024) }
func (c *Config) qosMinus1Client() string {
	if c.QoSMinus1Client == "" {
		return "mqttsn-qos-1"
	}
	return c.QoSMinus1Client
}

func or(v, def int) int {
	if v <= 0 {
		return def
	}
	return v
}
