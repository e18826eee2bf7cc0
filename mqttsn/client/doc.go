// Package client is a Go MQTT-SN v1.2 client: connect with will, register, publish at every QoS
// with retries, subscribe with a handler, sleep and wake, predefined and short topics, discovery.
//
// A Client talks to one gateway over any net.PacketConn (UDP, DTLS, a serial radio): New takes the
// conn and the gateway's address, Dial opens a UDP socket for you. Every operation takes a
// context, is safe for concurrent use, and follows the spec's procedures (§6):
//
//   - Connect runs CONNECT, the will handshake when Options.Will is set, and CONNACK;
//   - Publish takes a topic name and registers it on first use (cached), or uses the pre-defined
//     id from Options.PredefinedTopics, or a two-character short name; QoS 1 and 2 wait for the
//     acknowledgements, retransmitting with DUP every RetryInterval (T_RETRY) up to MaxRetries
//     (N_RETRY) times; one QoS 1/2 publish is in flight at a time and concurrent callers queue;
//     PUBACK "invalid topic ID" re-registers the name and publishes once more; QoS −1 needs no
//     connection;
//   - Subscribe routes matching messages to a Handler; REGISTERs from the gateway are answered
//     and remembered; incoming PUBLISHes are acknowledged at their QoS and QoS 2 retransmissions
//     are not delivered twice;
//   - Sleep, Poll and Wake implement sleeping clients (§6.14); a Poll answered with DISCONNECT
//     (the gateway no longer holds the session) returns ErrGatewayDisconnect at once;
//   - keep-alive PINGREQs are sent while active (§6.11); the client is lost when they go
//     unanswered or the gateway sends DISCONNECT (OnConnectionLost);
//   - discovery (§6.1): SearchGateway sends SEARCHGW to Options.SearchAddr (Dial's socket may
//     broadcast) and returns the first GWINFO, UseGateway moves a disconnected client to the
//     gateway found, Options.OnAdvertise reports ADVERTISEs;
//   - Options.AutoReconnect reconnects a lost client by itself (§6.13): also when a request
//     goes unanswered after MaxRetries retransmissions, first to a gateway answering SEARCHGW
//     at SearchAddr when one is set, with back-off up to WaitInterval and T_WAIT (WaitInterval)
//     after a CONNACK "congestion"; subscriptions are made again, a persistent session's too
//     (MQTT-SN's CONNACK does not say whether the gateway kept it). Operations under way when
//     the loss is noticed return their error (ErrTimeout); the next ones succeed once
//     reconnected (OnReconnect).
//
// Rejections by the gateway come back as packet.ReturnCode errors (errors.Is(err,
// packet.Congestion)); lost replies end in ErrTimeout. After a "congestion" the spec asks the
// client to leave the rejected procedure alone for at least T_WAIT (§6.2, §6.6): AutoReconnect
// does so; for Publish, Register and Subscribe it is the caller's to do. The client runs three
// goroutines — one reading the conn, one running handlers in arrival order, one for keep-alive
// and reconnection — all stopped by Close.
package client
