// Package broker is the MQTT 3.1.1 broker core: sessions, QoS flows, wills, keepalive, retained
// messages, $SYS, authentication and ACLs (through the Auth interface), listeners (TCP, TLS,
// WebSocket), and in-process clients (ConnectLocal) for the MQTT-SN gateway and the bridge.
//
// Contract: knows nothing of MQTT-SN or the bridge; those attach as in-process clients through
// LocalClient, with the same session, QoS, will, retain and queueing semantics as a TCP client.
// New restores the state kept in Options.Store and starts nothing; Serve blocks until its
// context ends or Shutdown is called; Shutdown is idempotent and waits for every goroutine the
// broker started. The caller owns the store and closes it after Shutdown.
//
// # Concurrency
//
// Each network connection has a read loop, and a write loop only while the socket has a backlog.
// On plain TCP a delivery is written at once, with a non-blocking write, by the goroutine that
// routes it, when nothing else is queued for that socket; what the socket does not take, and
// everything on TLS and WebSocket connections, goes to the write loop, which swaps out
// everything queued, encodes it into one buffer and writes it with one call (it lingers 2 s on
// TLS and WebSocket, and exits when drained on TCP). A socket fed by many publishers at once
// (more than 8 direct writes within a millisecond: a fan-in's subscriber) gets a write loop
// instead, which batches what they queue; it yields twice for more before it exits. A
// connection's own replies (CONNACK, acknowledgements, SUBACK, PINGRESP), and the messages
// that its PUBACKs let into its window, are written by its read loop, in one write, before it
// next waits for the client. An idle connection thus costs one goroutine and no write buffer.
// Publishing takes no global lock: the subscription trie is read under an RWMutex, then each
// matching session is locked on its own while the message is handed to it. A message is one
// allocation (payloads up to 64 bytes are stored inline), shared by every subscriber.
//
// # Durability
//
// With a store, a QoS 1/2 PUBLISH whose routing wrote anything (a retained message, a message
// for a persistent session) is acknowledged (PUBACK, PUBREC, or the local done) only once the
// write is durable. One committer goroutine groups the writes of every connection into one
// Commit; a connection keeps reading meanwhile, and its later acknowledgements queue behind
// the pending one, so they stay in order [MQTT-4.6.0-2..3]. Deletes after acknowledgements
// use CommitLazy: a crash may redeliver, never lose. Packet ids of QoS 1 messages in flight are
// not stored: after a restart those messages are sent again from the queue with new ids.
//
// # Limits and overflow policies
//
//   - In-flight window (Options.MaxInflight, default 20): QoS 1/2 deliveries awaiting an
//     acknowledgement per session; more wait in the session's queue, in order.
//   - Session queue (Options.MaxQueued, default 1000): when full, the oldest queued QoS 0
//     message is dropped; if there is none, the new message is dropped (QoS 1/2 drops are
//     logged at the first and every 1000th); every drop counts in
//     $SYS/broker/publish/messages/dropped. QoS 0 messages are queued for offline sessions only
//     for in-process clients that ask (LocalOptions.QueueQoS0, MQTT-SN §6.14).
//   - Slow consumer: QoS 0 messages beyond Options.OutboundQueue waiting for a client's socket
//     are dropped and counted; QoS 1/2 messages beyond the window wait in the session queue,
//     whose policy above applies, connected or not (as mosquitto's max_queued_messages). A
//     network client that does not read its socket at all, so that more than
//     4×OutboundQueue + 4×MaxInflight packets pile up for it, is disconnected (its will is
//     published; a persistent session keeps its queue).
//   - A client that sends a malformed packet, a packet above Options.MaxPacketSize, a second
//     CONNECT, or anything before CONNECT is disconnected and the reason logged; nobody else
//     notices. Beyond Options.MaxConnections new connections are closed at once.
//
// # Choices where MQTT 3.1.1 leaves room
//
//   - A takeover by the same client id closes the older connection without publishing its
//     will: the client is back. Broker shutdown publishes no wills.
//   - A refused authentication answers CONNACK 4 when a user name was given, 5 otherwise.
//   - A PUBLISH denied by the ACL is acknowledged as usual and dropped (counted).
//   - An invalid filter in SUBSCRIBE gets 0x80 for that filter, not a disconnect.
//   - $SYS/broker/retained messages/count does not count the broker's own $SYS messages.
package broker
