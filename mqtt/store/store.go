package store

import "errors"

// ErrClosed is returned by every operation on a closed store.
var ErrClosed = errors.New("store: closed")

// Message is an application message as the store keeps it: retained, queued for an offline
// persistent session, or in flight to a session.
type Message struct {
	Topic    string
	Payload  []byte
	QoS      byte
	Retain   bool
	PacketID uint16 // non-zero once assigned to an in-flight delivery; 0 while only queued
	Dup      bool   // sent at least once (redeliver with DUP set [MQTT-4.4.0-1])
	Received bool   // QoS 2 outbound: PUBREC seen, PUBREL is what remains to send
}

// Session is the durable record of a persistent (CleanSession 0) session.
type Session struct {
	ClientID      string
	Subscriptions map[string]byte // filter → granted QoS
}

// Batch collects writes that become durable together. The zero Batch is empty and ready.
// Writes apply in the order they were added.
type Batch struct {
	Ops []Op
}

// OpKind names one kind of write.
type OpKind uint8

const (
	OpPutRetained        OpKind = iota + 1 // Key = topic, Msg
	OpDeleteRetained                       // Key = topic
	OpPutSession                           // ClientID; creates the session if absent, keeps its contents
	OpDeleteSession                        // ClientID; removes subscriptions, messages and data too
	OpPutSubscription                      // ClientID, Key = filter, QoS
	OpDeleteSubscription                   // ClientID, Key = filter
	OpPutMessage                           // ClientID, Seq, Msg (insert or replace)
	OpDeleteMessage                        // ClientID, Seq
	OpPutData                              // ClientID, Key, Value: opaque state of an adapter (MQTT-SN topic ids, will)
	OpDeleteData                           // ClientID, Key
)

// Op is one write of a Batch.
type Op struct {
	Kind     OpKind
	ClientID string
	Key      string
	Seq      uint64
	QoS      byte
	Msg      Message
	Value    []byte
}

func (b *Batch) add(op Op) { b.Ops = append(b.Ops, op) }

// Len is the number of writes in the batch.
func (b *Batch) Len() int { return len(b.Ops) }

// Reset empties the batch, keeping its capacity.
func (b *Batch) Reset() { b.Ops = b.Ops[:0] }

func (b *Batch) PutRetained(m Message) { b.add(Op{Kind: OpPutRetained, Key: m.Topic, Msg: m}) }
func (b *Batch) DeleteRetained(topic string) {
	b.add(Op{Kind: OpDeleteRetained, Key: topic})
}
func (b *Batch) PutSession(clientID string) { b.add(Op{Kind: OpPutSession, ClientID: clientID}) }
func (b *Batch) DeleteSession(clientID string) {
	b.add(Op{Kind: OpDeleteSession, ClientID: clientID})
}
func (b *Batch) PutSubscription(clientID, filter string, qos byte) {
	b.add(Op{Kind: OpPutSubscription, ClientID: clientID, Key: filter, QoS: qos})
}
func (b *Batch) DeleteSubscription(clientID, filter string) {
	b.add(Op{Kind: OpDeleteSubscription, ClientID: clientID, Key: filter})
}
func (b *Batch) PutMessage(clientID string, seq uint64, m Message) {
	b.add(Op{Kind: OpPutMessage, ClientID: clientID, Seq: seq, Msg: m})
}
func (b *Batch) DeleteMessage(clientID string, seq uint64) {
	b.add(Op{Kind: OpDeleteMessage, ClientID: clientID, Seq: seq})
}
func (b *Batch) PutData(clientID, key string, value []byte) {
	b.add(Op{Kind: OpPutData, ClientID: clientID, Key: key, Value: value})
}
func (b *Batch) DeleteData(clientID, key string) {
	b.add(Op{Kind: OpDeleteData, ClientID: clientID, Key: key})
}

// Store is the broker's persistence. Implementations are safe for concurrent use.
//
// Commit makes a batch durable: when it returns nil, the writes survive a crash (kill -9) of the
// process. Concurrent Commits are grouped into one disk write (group commit), so callers that
// must not acknowledge before durability simply call Commit from their own goroutine.
// CommitLazy applies a batch whose durability may lag (deletes after an acknowledgement, where a
// crash only means a harmless redelivery); it is durable at the next Commit or at Close.
type Store interface {
	Commit(b *Batch) error
	CommitLazy(b *Batch) error

	// Load calls the visitors with everything stored, sessions with their messages in Seq order.
	Load(v Visitor) error

	// Stats reports the number of stored messages (retained + queued) and the file size.
	Stats() Stats

	// Close flushes and releases the store; further calls return ErrClosed. Idempotent.
	Close() error
}

// Visitor receives the stored state on Load. Nil fields are skipped. An error stops Load.
type Visitor struct {
	Retained func(m Message) error
	Session  func(s Session) error
	Message  func(clientID string, seq uint64, m Message) error
	Data     func(clientID, key string, value []byte) error
}

// Stats is a snapshot for $SYS/broker/store/....
type Stats struct {
	Messages int64
	Bytes    int64
}
