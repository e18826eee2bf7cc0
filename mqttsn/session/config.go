package session

import (
	"errors"
	"time"

	"snbridge/mqttsn/topics"
)

// Config is shared read-only by every session of a gateway. Every zero value means the default
// given beside it, so the zero Config is usable.
type Config struct {
	Predefined     *topics.PredefinedTable // predefined topic ids; nil = none
	MaxTopics      int                     // normal topic ids per client; 0 = 256
	RetryInterval  time.Duration           // T_RETRY for gateway REGISTER and PUBLISH (§7.2); 0 = 10 s
	MaxRetries     int                     // N_RETRY retransmissions before the client is lost; 0 = 3, <0 = none
	MaxIdle        time.Duration           // longest keep-alive accepted, and the one given to a client asking for none (E22); 0 = 65535 s, <0 = no limit
	SleepBuffer    int                     // downlink messages held per client (asleep or not); 0 = 64
	MaxInflight    int                     // broker deliveries outstanding per client (LocalOptions); 0 = 4
	MaxPacketSize  int                     // largest datagram sent to a client; bigger ones are dropped (§6.10); 0 = 1024
	MaxClientIDLen int                     // longest client id accepted (E23); 0 = 64
}

func (c *Config) maxTopics() int       { return orInt(c.MaxTopics, 256) }
func (c *Config) retryInterval() int64 { return int64(orDur(c.RetryInterval, 10*time.Second)) }
func (c *Config) sleepBuffer() int     { return orInt(c.SleepBuffer, 64) }
func (c *Config) maxInflight() int     { return orInt(c.MaxInflight, 4) }
func (c *Config) maxPacketSize() int   { return orInt(c.MaxPacketSize, 1024) }
func (c *Config) maxClientIDLen() int  { return orInt(c.MaxClientIDLen, 64) }

// maxIdle is the longest keep-alive accepted; 0 means no limit.
func (c *Config) maxIdle() time.Duration {
	switch {
	case c.MaxIdle < 0:
		return 0
	case c.MaxIdle == 0:
		return 65535 * time.Second
	}
	return c.MaxIdle
}

func (c *Config) maxRetries() int {
	switch {
	case c.MaxRetries < 0:
		return 0
	case c.MaxRetries == 0:
		return 3
	}
	return c.MaxRetries
}

func orInt(v, def int) int {
	if v <= 0 {
		return def
	}
	return v
}

func orDur(v, def time.Duration) time.Duration {
	if v <= 0 {
		return def
	}
	return v
}

// Supervision returns how long the gateway waits for a client that announced duration d
// (keep-alive or sleep) before it is lost: d +50% up to one minute, +10% above (§7.2).
func Supervision(d time.Duration) time.Duration {
	if d <= time.Minute {
		return d + d/2
	}
	return d + d/10
}

// Message is a message between the session and the broker (mirrors broker.Message).
type Message struct {
	Topic   string
	Payload []byte
	QoS     byte
	Retain  bool
	Dup     bool
}

// Will is a client's will (mirrors broker.Will).
type Will struct {
	Topic   string
	Payload []byte
	QoS     byte
	Retain  bool
}

// ConnectOptions attach a client to the broker (mirrors broker.LocalOptions).
type ConnectOptions struct {
	ClientID     string
	CleanSession bool
	Will         *Will
	QueueQoS0    bool // always true: a sleeping client's buffer keeps QoS 0 too (§6.14)
	MaxInflight  int
}

// ErrNotAuthorized is what a Broker returns (wrapped or not) when the client may not connect or
// publish; the session answers it with return code 0x03. Other errors are answered with 0x01.
var ErrNotAuthorized = errors.New("not authorized")

// Broker is the broker session of one client as its Session uses it. The gateway implements it
// over its own broker interface; tests use a recording fake. Calls are made from the goroutine
// driving the session and must not block for long.
type Broker interface {
	// Connect attaches the client's broker session (takeover, clean session, will); queued
	// messages of a persistent session then arrive through Session.Deliver.
	Connect(opts ConnectOptions) (sessionPresent bool, err error)
	// Publish hands a message to the broker. For QoS 1/2 (msgID ≠ 0) the owner calls
	// Session.PublishDone(msgID, err) once the broker has accepted it.
	Publish(m Message, msgID uint16)
	Subscribe(filter string, qos byte) (granted byte, err error)
	Unsubscribe(filter string) error
	// Received records that the client has received QoS 2 delivery packetID (PUBREC): after a
	// reconnect or wake-up the broker then resends PUBREL for it (Session.Release), not the
	// PUBLISH. Ack completes it.
	Received(packetID uint16)
	Ack(packetID uint16)
	Pending() int
	SetWill(w *Will)
	// PutData keeps state with the broker session; Data sees it at once. The write may still
	// be on its way to the disk: the owner holds the replies of the call that made it (and
	// what follows them) until it is durable, so no reply promises state a crash can lose.
	PutData(key string, value []byte) error
	Data(key string) ([]byte, bool)
	Suspend()
	Resume()
	Disconnect()
	Lost()
}

// Keys under which a session keeps its state with the broker session (Broker.PutData).
const (
	DataTopics = "mqttsn.topics" // topics.Registry serialised form
	DataWill   = "mqttsn.will"   // will: flags octet (QoS<<5 | retain<<4), topic length (2), topic, payload
	DataSleep  = "mqttsn.sleep"  // asleep: duration in seconds (2), deadline in Unix seconds (8); empty = awake
)
