package broker

import (
	"bufio"
	"context"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"snbridge/mqtt/packet"
	"snbridge/mqtt/store"
)

type discardHandler struct{ n atomic.Int64 }

func (h *discardHandler) Deliver(Message, uint16) { h.n.Add(1) }
func (h *discardHandler) Closed(error)            {}

// The publish path without sockets: validation, trie match, delivery to one subscriber.
func BenchmarkPublishLocalQoS0(b *testing.B) {
	br, _ := New(Options{})
	defer br.Shutdown(context.Background())
	h := &discardHandler{}
	sub, _, _ := br.ConnectLocal(LocalOptions{ClientID: "sub", CleanSession: true}, h)
	sub.Subscribe("sensors/+/temp", 0)
	pub, _, _ := br.ConnectLocal(LocalOptions{ClientID: "pub", CleanSession: true}, &discardHandler{})
	m := Message{Topic: "sensors/42/temp", Payload: make([]byte, 32)}
	b.ReportAllocs()
	for b.Loop() {
		pub.Publish(m, nil)
	}
	if h.n.Load() == 0 {
		b.Fatal("nothing delivered")
	}
}

// One subscriber, many TCP publishers over loopback, one message in flight each (the fan-in of
// issue 3's benchmark, client and broker in one process): QoS 0 and QoS 1 from 100 publishers to
// a clean subscriber, and QoS 1 from 10 publishers to a persistent subscriber with the bbolt
// store, where every PUBACK waits for a group commit.
func BenchmarkFanInTCP(b *testing.B) {
	for _, tc := range []struct {
		name       string
		qos        byte
		store      bool
		publishers int
	}{{"qos0", 0, false, 100}, {"qos1", 1, false, 100}, {"qos1-store-persistent", 1, true, 10}} {
		b.Run(tc.name, func(b *testing.B) {
			opts := Options{OutboundQueue: 100_000}
			if tc.store {
				st, err := store.Open(b.TempDir(), store.Options{})
				if err != nil {
					b.Fatal(err)
				}
				defer st.Close()
				opts.Store = st
			}
			br, addr := startBroker(b, opts)
			fanIn(b, br, addr, tc.qos, tc.store, tc.publishers)
		})
	}
}

func benchConn(b *testing.B, addr string, c *packet.Connect) (net.Conn, *bufio.Writer, *packet.Reader, *bufio.Reader) {
	nc, err := net.Dial("tcp", addr)
	if err != nil {
		b.Fatal(err)
	}
	w := bufio.NewWriter(nc)
	br := bufio.NewReader(nc)
	r := packet.NewReader(br, 0)
	c.ProtocolName, c.ProtocolLevel = "MQTT", 4
	buf, _ := packet.Append(nil, c)
	w.Write(buf)
	w.Flush()
	if _, err := r.ReadPacket(); err != nil {
		b.Fatal(err)
	}
	return nc, w, r, br
}

func fanIn(b *testing.B, br *Broker, addr string, qos byte, persistent bool, publishers int) {
	subConn, subW, subR, subBuf := benchConn(b, addr, &packet.Connect{ClientID: "bench-sub", CleanSession: !persistent})
	defer subConn.Close()
	buf, _ := packet.Append(nil, &packet.Subscribe{PacketID: 1, Subscriptions: []packet.Subscription{{Filter: "bench/#", QoS: qos}}})
	subW.Write(buf)
	subW.Flush()
	subR.ReadPacket()

	var got atomic.Int64
	subDone := make(chan struct{})
	go func() {
		defer close(subDone)
		var ack []byte
		for {
			p, err := subR.ReadReused()
			if err != nil {
				return
			}
			if pub, ok := p.(*packet.Publish); ok {
				got.Add(1)
				if pub.QoS == 1 {
					ack, _ = packet.Append(ack[:0], &packet.Puback{PacketID: pub.PacketID})
					subW.Write(ack)
				}
				if subBuf.Buffered() == 0 {
					subW.Flush() // acknowledge in batches, as an efficient client does
				}
			}
		}
	}()
	dropped0 := br.stats.pubDropped.Load()
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	var wg sync.WaitGroup
	per := b.N / publishers
	total := per * publishers
	for p := 0; p < publishers; p++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			nc, w, r, _ := benchConn(b, addr, &packet.Connect{ClientID: "bench-pub-" + string(rune('a'+p)), CleanSession: true})
			defer nc.Close()
			payload := make([]byte, 32)
			var out []byte
			for i := 0; i < per; i++ {
				out, _ = packet.Append(out[:0], &packet.Publish{QoS: qos, Topic: "bench/t", PacketID: uint16(i%60000 + 1), Payload: payload})
				w.Write(out)
				if qos == 1 {
					w.Flush()
					if _, err := r.ReadReused(); err != nil {
						return
					}
				}
			}
			w.Flush()
		}()
	}
	wg.Wait()
	deadline := time.Now().Add(30 * time.Second)
	for got.Load()+br.stats.pubDropped.Load()-dropped0 < int64(total) && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	elapsed := time.Since(start)
	b.StopTimer()
	b.ReportMetric(float64(got.Load())/elapsed.Seconds(), "msgs/s")
	b.ReportMetric(float64(br.stats.pubDropped.Load()-dropped0), "dropped")
	subConn.Close()
	<-subDone
}
