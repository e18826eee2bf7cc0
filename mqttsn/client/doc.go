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
//   - Sleep, Poll and Wake implement sleeping clients (§6.14); keep-alive PINGREQs are sent
//     while active; SearchGateway and Options.OnAdvertise cover discovery (§6.1).
//
// Rejections by the gateway come back as packet.ReturnCode errors (errors.Is(err,
// packet.Congestion)); lost replies end in ErrTimeout. The client runs three goroutines — one
// reading the conn, one running handlers in arrival order, one for keep-alive — all stopped by
// Close.
package client
