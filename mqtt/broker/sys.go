package broker

import (
	"strconv"
	"time"

	"snbridge/mqtt/topic"
)

// runSys publishes $SYS/broker/... every SysInterval, retained at QoS 0, with mosquitto's
// names (FIELD-NOTES §6.3).
func (b *Broker) runSys(quit <-chan struct{}) {
	t := time.NewTicker(b.opts.SysInterval)
	defer t.Stop()
	b.publishSys()
	for {
		select {
		case <-t.C:
			b.publishSys()
		case <-quit:
			return
		}
	}
}

// sysValues are the current $SYS topics and values.
func (b *Broker) sysValues() [][2]string {
	st := &b.stats
	i := func(n int64) string { return strconv.FormatInt(n, 10) }
	b.mu.Lock()
	total := int64(len(b.sessions))
	b.mu.Unlock()
	connected := st.connected.Load() + int64(b.localCount())
	disconnected := max(total-connected, 0)
	// The maximum follows network clients as they connect (conn.handshake); in-process
	// clients count in it as sampled here, so that it is never below connected.
	for {
		mx := st.maxConnected.Load()
		if connected <= mx || st.maxConnected.CompareAndSwap(mx, connected) {
			break
		}
	}
	vals := [][2]string{
		{"$SYS/broker/version", "snbridge " + b.opts.Version},
		{"$SYS/broker/uptime", i(int64(time.Since(b.started)/time.Second)) + " seconds"},
		{"$SYS/broker/clients/connected", i(connected)},
		{"$SYS/broker/clients/disconnected", i(disconnected)},
		{"$SYS/broker/clients/total", i(total)},
		{"$SYS/broker/clients/maximum", i(st.maxConnected.Load())},
		{"$SYS/broker/messages/received", i(st.msgsReceived.Load())},
		{"$SYS/broker/messages/sent", i(st.msgsSent.Load())},
		{"$SYS/broker/publish/messages/received", i(st.pubReceived.Load())},
		{"$SYS/broker/publish/messages/sent", i(st.pubSent.Load())},
		{"$SYS/broker/publish/messages/dropped", i(st.pubDropped.Load())},
		{"$SYS/broker/bytes/received", i(st.bytesReceived.Load())},
		{"$SYS/broker/bytes/sent", i(st.bytesSent.Load())},
		{"$SYS/broker/subscriptions/count", i(int64(b.subs.Len()))},
		// The broker's own $SYS messages are not counted.
		{"$SYS/broker/retained messages/count", i(int64(b.retained.Len()) - b.sysRetained.Load())},
	}
	if b.store != nil {
		ss := b.store.Stats()
		vals = append(vals,
			[2]string{"$SYS/broker/store/messages/count", i(ss.Messages)},
			[2]string{"$SYS/broker/store/messages/bytes", i(ss.Bytes)})
	}
	return vals
}

func (b *Broker) localCount() int {
	b.connMu.Lock()
	defer b.connMu.Unlock()
	return len(b.locals)
}

func (b *Broker) publishSys() {
	var buf []topic.Subscriber[*session]
	vals := b.sysValues()
	defer b.sysRetained.Store(int64(len(vals)))
	for _, kv := range vals {
		// Not stored: the values are recomputed after a restart.
		b.route(&message{topic: kv[0], payload: []byte(kv[1]), retain: true}, nil, &buf, nil)
	}
}
