package gateway

import "sync/atomic"

// Stats are the gateway's counters since it started.
type Stats struct {
	Received       uint64 // datagrams read
	Sent           uint64 // datagrams written
	Malformed      uint64 // datagrams that did not decode (dropped)
	Oversized      uint64 // datagrams longer than MaxPacketSize (dropped)
	Unexpected     uint64 // packets from unknown peers answered with DISCONNECT, or of no use (dropped)
	InboundDropped uint64 // datagrams dropped because a shard's queue was full
	EventsDropped  uint64 // QoS 0 deliveries dropped because a shard's event queue was full
	DownDropped    uint64 // deliveries a session dropped: sleep-buffer overflow (oldest QoS 0), too big for MaxPacketSize, topic refused by the client
	SendErrors     uint64 // failed writes
	QoSMinus1      uint64 // QoS −1 PUBLISHes forwarded
	Connects       uint64 // CONNECTs handled and not refused (a will handshake counts when it starts)
	Refused        uint64 // CONNECTs refused (limits, protocol, broker)
	Lost           uint64 // clients lost (keep-alive, sleep timer, retries exhausted)
	InternalErrors uint64 // panics recovered in a shard (bugs: see the log)
	Clients        int64  // sessions held now (active, asleep, awake)
}

type counters struct {
	received, sent, malformed, oversized, unexpected, inboundDropped, eventsDropped atomic.Uint64
	sendErrors, qosMinus1, connects, refused, lost, downlinkDropped, internalErrors atomic.Uint64
	clients                                                                         atomic.Int64
}

// Stats returns a snapshot of the counters.
func (g *Gateway) Stats() Stats {
	c := &g.stats
	return Stats{
		Received: c.received.Load(), Sent: c.sent.Load(), Malformed: c.malformed.Load(),
		Oversized: c.oversized.Load(), Unexpected: c.unexpected.Load(),
		InboundDropped: c.inboundDropped.Load(), EventsDropped: c.eventsDropped.Load(), DownDropped: c.downlinkDropped.Load(),
		SendErrors: c.sendErrors.Load(), QoSMinus1: c.qosMinus1.Load(), Connects: c.connects.Load(),
		Refused: c.refused.Load(), Lost: c.lost.Load(), InternalErrors: c.internalErrors.Load(),
		Clients: c.clients.Load(),
	}
}
