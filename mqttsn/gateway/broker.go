package gateway

import "snbridge/mqttsn/session"

// The broker as the gateway reaches it. It mirrors the broker core's in-process client API
// (broker.ConnectLocal and *broker.LocalClient) with the gateway's own types, so that the gateway
// never imports the broker (DESIGN §3); cmd/snbridge adapts one to the other.

// Message is a message to or from the broker (mirrors broker.Message).
type Message = session.Message

// Will is a client's will (mirrors broker.Will).
type Will = session.Will

// ConnectOptions attach a client (mirrors broker.LocalOptions without Username: sensors are
// anonymous local clients). The gateway always sets QueueQoS0, so a sleeping sensor's buffer
// keeps QoS 0 messages (§6.14), and MaxInflight from its Config.
type ConnectOptions = session.ConnectOptions

// ErrNotAuthorized, returned (or wrapped) by Broker.Connect or passed to a publish's done, is
// answered with return code 0x03; any other error with 0x01 (congestion).
var ErrNotAuthorized = session.ErrNotAuthorized

// Broker attaches clients to the broker (broker.ConnectLocal).
type Broker interface {
	// Connect attaches a session exactly as a TCP CONNECT would (takeover, clean session,
	// session present, will). Queued messages of a persistent session are delivered through
	// h.Deliver right away.
	Connect(opts ConnectOptions, h Handler) (s BrokerSession, sessionPresent bool, err error)
}

// Handler receives what the broker sends to one client (broker.LocalHandler). Its methods are
// called from broker goroutines and do not block: the gateway queues the event to the shard that
// owns the client.
type Handler interface {
	// Deliver hands over a message; packetID is non-zero for QoS 1/2 and is what Ack takes.
	Deliver(m Message, packetID uint16)
	// Closed: taken over by another connection with the same client id, or broker shutdown.
	Closed(reason error)
	// Release: the broker resends PUBREL (on attach or Resume) for a QoS 2 delivery marked
	// Received on an earlier connection [MQTT-4.4.0-1]; Ack completes it.
	Release(packetID uint16)
}

// BrokerSession is one attached client (*broker.LocalClient).
type BrokerSession interface {
	// Publish hands a message to the broker; done (may be nil) is called exactly once, when it
	// is accepted — durable for QoS 1/2 when the store is on — or refused, possibly from another
	// goroutine.
	Publish(m Message, done func(error))
	Subscribe(filter string, qos byte) (granted byte, err error) // granted 0x80 or err: refused
	Unsubscribe(filter string) error
	Received(packetID uint16) // the client received a QoS 2 delivery (PUBREC): resend PUBREL, not PUBLISH
	Ack(packetID uint16)      // completes a QoS 1 or QoS 2 delivery
	// Pending counts queued and in-flight deliveries not yet acked; a message stays counted
	// until Deliver has returned for it (the gateway counts it from there on), so that an awake
	// sensor's PINGRESP waits for everything the broker held (§6.14, E17).
	Pending() int
	SetWill(w *Will) // nil deletes
	// PutData keeps state with the session (empty value: none); Data sees it at once. done is
	// called exactly once, when the write is durable or has failed — possibly before PutData
	// returns, possibly from another goroutine — and in the order of the PutData calls.
	PutData(key string, value []byte, done func(error))
	Data(key string) ([]byte, bool)
	Suspend()    // sensor asleep: offline, session kept, messages queued
	Resume()     // sensor awake: deliver what was queued
	Disconnect() // normal end, no will; a clean session is discarded
	Lost()       // abnormal end: the will is published; a clean session is discarded
}
