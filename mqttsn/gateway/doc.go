// Package gateway is the I/O shell of the MQTT-SN gateway: it reads datagrams from transports
// (any net.PacketConn), drives the sessions on a fixed set of shard goroutines and reaches the
// broker through a small interface it declares itself (Broker, Handler, BrokerSession — the
// broker core's in-process client API with the gateway's own types; cmd/snbridge adapts).
//
// Contract:
//   - Serve(ctx, conns...) blocks until ctx is done or Shutdown is called, serving every conn at
//     once (UDP now; DTLS, serial and radio links are other PacketConns). It never closes the
//     conns. Shutdown is idempotent. On the way out every client is detached from the broker
//     without a will, so persistent sessions, their sleep buffers and topic registries stay in the
//     broker for the next gateway.
//   - One read loop per transport decodes just enough to route: a known peer's datagrams go to
//     the shard that owns it; CONNECT and PINGREQ with a client id go to the shard of the client
//     id, where a client whose address changed (NAT) is found again and moved; a peer without a
//     session is answered statelessly: SEARCHGW → GWINFO unicast to the searcher, QoS −1
//     PUBLISH on a global predefined id or a short name → published at QoS 0 through one shared broker
//     session (Config.QoSMinus1Client, §7.1), ADVERTISE/GWINFO ignored, anything else →
//     DISCONNECT (E28). Only CONNECT creates state (and a PINGREQ(id) that finds a sleeping
//     persistent session in the broker after a restart).
//   - GWINFO is unicast, not broadcast (E24 allows it where the transport cannot broadcast the
//     reply usefully): a datagram socket does not tell whether a SEARCHGW came to a broadcast
//     address, and on UDP/IP every searching client listens on its own ephemeral port, so a
//     broadcast GWINFO would reach the searcher only — exactly as the unicast does — and wake
//     every host of the subnet. The §6.1 suppression of duplicate searches and answers concerns
//     a shared radio medium; there a forwarder carries SEARCHGW and GWINFO (0xFE envelope).
//     ADVERTISE is the broadcast (or multicast) part of discovery: AdvertiseAddr.
//   - A peer is (transport, address, forwarder node id): a 0xFE envelope is accepted on any
//     transport, each node id behind a forwarder is a peer of its own, and replies go back in
//     the same envelope with the same node id (§5.5).
//   - Shards (Config.Shards, default GOMAXPROCS) own their sessions and one timer heap each; a
//     session is a state machine (package session), not a goroutine. An idle connected sensor
//     costs well under 2 KiB in the gateway (TestIdleClientMemory).
//   - Datagrams move in batches: on Linux a UDP transport reads up to 64 per recvmmsg, each
//     shard gets its share of a read batch with one hand-off, and writes what one batch of
//     input (datagrams, broker events or timers) produced with sendmmsg at the end of it, or
//     as soon as 64 wait — nothing is held back longer. Elsewhere, and on other transports,
//     one datagram per system call. A datagram longer than MaxPacketSize plus the largest
//     forwarder envelope is cut short by the read and counted as oversized.
//   - Queues are bounded, each with its overflow policy: a shard's datagram queue
//     (InboundQueue datagrams) drops a batch that does not fit whole — the sensors retransmit
//     after T_RETRY; a shard's broker
//     event queue (EventQueue) drops QoS 0 deliveries when full and always keeps QoS 1/2 and
//     acknowledgements, which the broker bounds by MaxInflight per client; a session's downlink
//     buffer (SleepBuffer) drops the oldest QoS 0 message first (E18). Every drop is counted in
//     Stats, as are malformed and oversized datagrams (dropped silently, E30) and refusals.
//   - CONNECT past MaxClients is answered CONNACK 0x01 (congestion).
//   - Persistence: a CleanSession-0 client's topic registry, will and sleep state are kept with
//     its broker session (BrokerSession.PutData, keys session.DataTopics, DataWill, DataSleep).
//     The shard never waits for those writes: it hands them to the broker (which groups them
//     with everyone's into one commit) and holds the client's outgoing datagrams until they
//     are durable — the CONNACK of a persistent CONNECT, REGACK, WILL*RESP, the DISCONNECT
//     that puts a sensor to sleep, the PINGRESP that ends a wake-up, and whatever that client
//     is sent after them, in order; other clients are served meanwhile. A reply sent is
//     thus never for state a crash loses; a crash before it loses at most the unanswered
//     request, which the sensor retransmits. A failed write is logged and the replies still
//     go (the broker keeps the state in memory). A sleeping client's buffer is the broker's queue of the suspended session. After a restart the
//     client's waking PINGREQ(id) re-attaches it asleep and the wake-up proceeds as usual; a
//     sleeper whose sleep timer ran out meanwhile is lost and its will published. A sleeper that
//     never comes back is lost when its sleep timer runs out, when the Broker also offers
//     DetachedSessions (its session and queue stay, as for any lost client). Known limit: a
//     client whose wildcard subscriptions bring more distinct topics than its topic-id limit
//     (session.Config.MaxTopics) gets no new ones — dropped and counted in DownDropped — until
//     it connects with CleanSession (ids are not recycled: a client may still publish on an
//     id the gateway gave it, and a reused id would misroute such a message).
//   - QoS 2 downlink in two steps with the broker: the client's PUBREC is passed on
//     (BrokerSession.Received), so a later connection of the client gets the broker's PUBREL
//     resend (Handler.Release) rather than the PUBLISH again [MQTT-4.4.0-1].
package gateway
