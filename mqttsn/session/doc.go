// Package session is the per-client MQTT-SN state machine, without I/O: Handle(now, msg) returns
// the actions to take (reply, arm a timer, close), and Timer, Deliver, PublishDone and Closed feed
// it the other events. The state diagram of §6.14 is drawn above State.
//
// Contract: no network, no goroutines, no clock of its own; time comes in as an argument. The
// broker session is reached synchronously through the Broker interface the owner gives to New
// (the gateway implements it); only the completion of a QoS 1/2 publish comes back as an event
// (PublishDone), so a sensor is acknowledged only once the broker holds its message. The state
// a persistent session keeps with the broker (Broker.PutData: registry, will, sleep) may still
// be on its way to the disk when a call returns: the owner sends the call's replies only once
// it is durable. Timers are
// requested with Arm actions; a timer that fires early or late is harmless (the session keeps its
// own deadlines), so the owner never cancels one.
//
// Choices where the spec leaves room (the REC column of the digest's §6 table unless said):
//   - CONNECT: ProtocolId ≠ 1 or an empty / too long client id → CONNACK 0x03 (E21, E23);
//     Config.MaxIdle is the longest keep-alive accepted: a longer one → CONNACK 0x03 (the
//     gateway has no way to ask for a shorter one, and silently supervising a shorter period
//     would lose a client that keeps its word), keep-alive 0 is held to it as if the client had
//     asked for it (E22: accepted, but never unsupervised by default); CONNECT while active
//     restarts the connection (E27) — a persistent session (CleanSession 0 before and now, the
//     broker still holding it) keeps its exchanges in flight with their MsgIds and steps, and
//     its QoS 2 ids awaiting PUBREL, as an MQTT reconnect does [MQTT-4.4.0-1], so a duplicated
//     wake-up CONNECT cannot deliver a QoS 2 message twice; in asleep/awake it returns to
//     active, flags ignored (E14). Anything but the expected message during the will handshake
//     ends it with DISCONNECT; a repeated WILLTOPIC is a retransmission (§6.13) and is answered
//     with WILLMSGREQ again. Broker refusal → 0x03 if ErrNotAuthorized, else 0x01.
//   - Will (§6.3): CleanSession 0 without the Will flag keeps the stored will; an empty WILLTOPIC
//     (`02 07` or flags-only) deletes it and skips WILLMSGREQ (E19); WILLTOPICUPD/WILLMSGUPD are
//     supported, WILLMSGUPD without a will topic → 0x03 (E20).
//   - REGISTER with a wildcard → REGACK 0x03 (E13); id exhaustion → 0x01 (see package topics).
//   - PUBLISH: unknown topic id → PUBACK 0x02 at QoS 0, 1 and 2 (E6); reserved TopicIdType → 0x03
//     at QoS 1/2, dropped at QoS 0 (E26); QoS −1 from a connected client is QoS 0 (E7); a QoS 2
//     duplicate is acknowledged again and published once.
//   - SUBSCRIBE: SUBACK topic id 0x0000 for wildcards and short names (E5); an unknown predefined
//     id → 0x02; requested QoS −1 → 0x03 (E8); an unknown filter is still UNSUBACKed.
//   - Downlink: predefined id, else registered id, else short name, else a new id announced by
//     REGISTER first; one REGISTER or QoS 1/2 PUBLISH outstanding at a time, the rest queued in
//     order; PUBACK 0x02 from the client → REGISTER again then replay; REGACK error → the name is
//     no longer delivered; too big for MaxPacketSize → dropped silently (§6.10). Unacknowledged
//     REGISTER/PUBLISH/PUBREL are retransmitted every T_RETRY (DUP set), N_RETRY times; then an
//     active client is lost (will published) and an awake one goes back to sleep with the message
//     kept for its next wake-up.
//   - QoS 1/2 downlink MsgId = the broker's packet id, so it survives the session: a PUBREC tells
//     the broker (Broker.Received), which after a reconnect or wake-up resends PUBREL
//     (Session.Release → PUBREL with that MsgId) instead of the PUBLISH [MQTT-4.4.0-1]; a resent
//     PUBLISH carries DUP and its old MsgId, so a client holding it does not take it twice.
//     Broker resends of a delivery the session holds are held once; a resend of one the session
//     already acknowledged during this attachment (the client's ack of the step retransmitted on
//     waking overtook it) is stale and ignored.
//   - Supervision: keep-alive and sleep duration +50% up to a minute, +10% above (§7.2); any
//     message from an active client restarts it.
//   - Sleep (§6.14): DISCONNECT(d) → asleep, broker session suspended (its queue is the sleep
//     buffer, QoS 0 included); DISCONNECT(d') while asleep restarts the timer (E15); PINGREQ,
//     with or without the client id (E31), wakes it: REGISTERs and buffered PUBLISHes, then
//     PINGRESP only when everything the broker held is sent and acknowledged (E17), then asleep
//     again; a PINGREQ repeated while awake resends the outstanding REGISTER/PUBLISH/PUBREL at
//     once (the client's T_RETRY may be shorter than ours); sleep timer expiry → lost, will published (E16). Other messages from an asleep
//     client are served as if it were awake.
package session
