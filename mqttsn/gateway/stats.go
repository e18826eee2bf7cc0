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
	SendErrors     uint64 // failed writes
	QoSMinus1      uint64 // QoS −1 PUBLISHes forwarded
	Connects       uint64 // CONNECTs accepted
	Refused        uint64 // CONNECTs refused (limits, protocol, broker)
	Lost           uint64 // clients lost (keep-alive, sleep timer, retries exhausted)
	Clients        int64  // sessions held now (active, asleep, awake)
}

type counters struct {
	received, sent, malformed, oversized, unexpected, inboundDropped, eventsDropped atomic.Uint64
	sendErrors, qosMinus1, connects, refused, lost                                  atomic.Uint64
	clients                                                                         atomic.Int64
}

// Stats returns a snapshot of the counters.
func (g *Gateway) Stats() Stats {
	c := &g.stats
	return Stats{
		Received: c.received.Load(), Sent: c.sent.Load(), Malformed: c.malformed.Load(),
		Oversized: c.oversized.Load(), Unexpected: c.unexpected.Load(),
		InboundDropped: c.inboundDropped.Load(), EventsDropped: c.eventsDropped.Load(),
		SendErrors: c.sendErrors.Load(), QoSMinus1: c.qosMinus1.Load(), Connects: c.connects.Load(),
		Refused: c.refused.Load(), Lost: c.lost.Load(), Clients: c.clients.Load(),
	}
}
