// Package broker is the MQTT 3.1.1 broker core: sessions, QoS flows, wills, keepalive, retained
// messages, $SYS, authentication and ACLs (through the Auth interface), listeners (TCP, TLS,
// WebSocket), and in-process clients (ConnectLocal) for the MQTT-SN gateway and the bridge.
//
// Contract: knows nothing of MQTT-SN or the bridge; those attach as in-process clients through
// LocalClient, with the same session, QoS, will, retain and queueing semantics as a TCP client
// (a handler that is a LocalReleaser takes QoS 2 in two steps, Received then Ack, and gets the
// PUBREL resends as a TCP client would).
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
// are lazy (CommitLazy, nobody waits), but pass through the same committer, so that they land
// after the writes submitted before them (a subscriber may acknowledge a message before the
// write that stores it is on disk): a crash may redeliver, never lose. The other durable writes
// (a session made or discarded on CONNECT, subscriptions, wills, LoseDetached, Reauthorize,
// LocalClient.PutData) pass through the committer too, their caller waiting for them: a clean takeover's delete
// lands after the messages, data and deletes already queued for that client id, so the
// discarded session cannot come back after a restart, and CONNACK waits for it. On Shutdown the
// committer drains its queue before it stops; writes after go straight to the store.
//
// Known gap (a duplicate, never a loss): a delivery to a connected persistent subscriber goes
// out while routing, before the publisher (conn's PUBLISH handling, LocalClient.Publish)
// submits the batch that stores it. A subscriber that completes the delivery in that window
// (PUBACK, or PUBCOMP for QoS 2) queues its lazy delete ahead of that store write, which then
// lands after it: the message stays stored, and after the next restart — a crash or a clean
// Shutdown alike — it is resent as in flight, with its packet id and DUP. A QoS 2 subscriber
// has finished that id's flow, so it takes the resend as a new message. Closing it needs the
// publisher's place in the committer reserved before routing, or the delete of a delivery
// whose write is not yet submitted held until it is.
//
// Outbound packet ids survive a crash. A stored delivery's packet id is given by its store
// sequence number (1..65535 in turn; another id, stored, only if that one is still in flight),
// so after a restart it goes out again with the id it may already have had: a QoS 2 subscriber
// that PUBREC'd it answers PUBREC again instead of delivering it twice [MQTT-4.3.3-2]. A
// delivery sent at once on routing is stored with its id and DUP, and after a restart is resent
// first, as in flight, with DUP [MQTT-4.4.0-1]; one sent later from the queue comes back with
// its id but DUP 0. PUBREL answers a PUBREC only once the PUBREC'd state is durable, so the
// flow resumes with PUBREL, never with the PUBLISH [MQTT-4.3.3-1].
//
// The packet id of an inbound QoS 2 PUBLISH of a persistent session is stored in the same
// write as the message it routed, so PUBREC means "stored and id remembered": resent with DUP
// after a crash, it is acknowledged, not routed again [MQTT-4.3.3-2]; PUBREL deletes the id
// lazily, so after a crash a restored id counts only for a PUBLISH with DUP: with DUP 0 it is
// a new message reusing the id [MQTT-3.3.1-1], and routed. LocalOptions.QueueQoS0 is stored with the session too, so that a sleeping
// MQTT-SN client restored after a restart keeps buffering QoS 0 before it wakes. Both are
// session data under keys starting with 0x00, which LocalClient.PutData refuses.
//
// # Limits and overflow policies
//
//   - In-flight window (Options.MaxInflight, default 20): QoS 1/2 deliveries awaiting an
//     acknowledgement per session; more wait in the session's queue, in order.
//   - Session queue (Options.MaxQueued, default 1000): when full, the oldest queued QoS 0
//     message is dropped; if there is none, the new message is dropped (QoS 1/2 drops are
//     logged at the first and every 1000th), except as below; every drop counts in
//     $SYS/broker/publish/messages/dropped. QoS 0 messages are queued for offline sessions only
//     for in-process clients that ask (LocalOptions.QueueQoS0, MQTT-SN §6.14).
//   - Backpressure: a QoS 1/2 PUBLISH that the full queue of a connected session (network or
//     in-process, not suspended) cannot take waits beside that queue, and the publisher's
//     acknowledgement (PUBACK, PUBREC, LocalClient.Publish's done) waits until every such
//     session has taken it, in order with the connection's other acknowledgements. A network
//     publisher with 64 acknowledgements held is not read from until one goes, so TCP holds it
//     back. The wait ends, and the policy above applies (drop, count, log, acknowledge), after
//     Options.AdmissionWait (default 5 s) or when the subscriber goes offline or is suspended:
//     a stuck subscriber (or two clients each waiting to publish to the other) slows its
//     publishers for that long, never freezes the broker. Offline sessions keep the plain
//     bounded queue. A QoS 0 flood is never held.
//   - Slow consumer: QoS 0 messages beyond Options.OutboundQueue waiting for a client's socket
//     are dropped and counted; QoS 1/2 messages beyond the window wait in the session queue,
//     whose policies above apply. A network client that does not read its socket at all, so
//     that more than 4×OutboundQueue + 4×MaxInflight packets pile up for it, is disconnected
//     (its will is published; a persistent session keeps its queue).
//   - A client that sends a malformed packet, a packet above Options.MaxPacketSize, a second
//     CONNECT, or anything before CONNECT is disconnected and the reason logged; nobody else
//     notices. Beyond Options.MaxConnections a new connection's CONNECT is answered with
//     CONNACK 3 (server unavailable) and the connection closed; past 16 such at once, or
//     without a CONNECT within a second, it is closed without an answer.
//
// # Choices where MQTT 3.1.1 leaves room
//
//   - A takeover by the same client id closes the older connection without publishing its
//     will: the client is back. Broker shutdown publishes no wills.
//   - A refused authentication answers CONNACK 4 when a user name was given, 5 otherwise.
//   - CONNACK 3 (server unavailable) answers a CONNECT beyond Options.MaxConnections, and one
//     whose new persistent session the store cannot record (ConnectLocal returns the error).
//     Likewise a persistent session's subscription the store cannot record gets 0x80.
//   - A PUBLISH denied by the ACL is acknowledged as usual and dropped (counted). So is any
//     client's PUBLISH or will to a $SYS topic: those are the broker's own, as in mosquitto.
//   - An invalid filter in SUBSCRIBE gets 0x80 for that filter, not a disconnect.
//   - Subscriptions are authorised when made, not per message: after the rules change,
//     Reauthorize removes those no longer allowed from sessions with a client, and a
//     persistent session's are checked again when its client reconnects (with the user name
//     it then gives). The client is not told.
//   - $SYS/broker/retained messages/count does not count the broker's own $SYS messages.
package broker
