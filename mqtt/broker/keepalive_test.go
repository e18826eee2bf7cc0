package broker

import (
	"context"
	"net"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"snbridge/mqtt/packet"
)

// localRecorder is a LocalHandler that records deliveries.
type localRecorder struct {
	mu     sync.Mutex
	msgs   []Message
	pids   []uint16
	closed []error
}

func (r *localRecorder) Deliver(m Message, pid uint16) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.msgs = append(r.msgs, m)
	r.pids = append(r.pids, pid)
}

func (r *localRecorder) Closed(reason error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.closed = append(r.closed, reason)
}

func (r *localRecorder) got() ([]Message, []uint16) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Message(nil), r.msgs...), append([]uint16(nil), r.pids...)
}

func (r *localRecorder) closedWith() []error {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]error(nil), r.closed...)
}

// pipeClient connects a client over net.Pipe, so that the test runs on synctest's clock.
func pipeClient(t *testing.T, b *Broker, connect *packet.Connect) (net.Conn, *packet.Reader) {
	t.Helper()
	server, client := net.Pipe()
	b.startConn(server, "pipe")
	connect.ProtocolName, connect.ProtocolLevel = "MQTT", 4
	buf, _ := packet.Append(nil, connect)
	if _, err := client.Write(buf); err != nil {
		t.Fatal(err)
	}
	r := packet.NewReader(client, 0)
	if p, err := r.ReadPacket(); err != nil || p.(*packet.Connack).ReturnCode != 0 {
		t.Fatalf("CONNACK: %v %v", p, err)
	}
	return client, r
}

// A silent client is disconnected after 1.5 × keepalive and its will published
// [MQTT-3.1.2-24]; a client that pings in time is kept.
func TestKeepAliveExpiryPublishesWill(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b, err := New(Options{SysInterval: -1, Logger: testLogger(t)})
		if err != nil {
			t.Fatal(err)
		}
		defer b.Shutdown(context.Background())
		rec := &localRecorder{}
		watcher, _, err := b.ConnectLocal(LocalOptions{ClientID: "watcher", CleanSession: true}, rec)
		if err != nil {
			t.Fatal(err)
		}
		watcher.Subscribe("will/#", 0)

		silent, _ := pipeClient(t, b, &packet.Connect{ClientID: "silent", CleanSession: true, KeepAlive: 10,
			Will: &packet.Will{Topic: "will/silent", Payload: []byte("timeout")}})
		defer silent.Close()
		pinger, pr := pipeClient(t, b, &packet.Connect{ClientID: "pinger", CleanSession: true, KeepAlive: 10,
			Will: &packet.Will{Topic: "will/pinger", Payload: []byte("x")}})
		defer pinger.Close()
		go func() {
			ping, _ := packet.Append(nil, &packet.Pingreq{})
			for i := 0; i < 4; i++ {
				time.Sleep(9 * time.Second)
				if _, err := pinger.Write(ping); err != nil {
					return
				}
				if _, err := pr.ReadPacket(); err != nil {
					return
				}
			}
		}()

		time.Sleep(14 * time.Second)
		synctest.Wait()
		if msgs, _ := rec.got(); len(msgs) != 0 {
			t.Fatalf("will published before 1.5 × keepalive: %v", msgs)
		}
		time.Sleep(2 * time.Second)
		synctest.Wait()
		msgs, _ := rec.got()
		if len(msgs) != 1 || msgs[0].Topic != "will/silent" || string(msgs[0].Payload) != "timeout" {
			t.Fatalf("after 16 s: %v, want the silent client's will only", msgs)
		}
		time.Sleep(20 * time.Second) // the pinger pinged every 9 s until 36 s
		synctest.Wait()
		if msgs, _ := rec.got(); len(msgs) != 1 {
			t.Fatalf("pinging client timed out: %v", msgs)
		}
	})
}

// An idle connection's write loop exits after writerLinger; the next packet starts another.
func TestIdleWriterExitsAndRestarts(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b, err := New(Options{SysInterval: -1, Logger: testLogger(t)})
		if err != nil {
			t.Fatal(err)
		}
		defer b.Shutdown(context.Background())
		client, r := pipeClient(t, b, &packet.Connect{ClientID: "idle", CleanSession: true})
		defer client.Close()
		sub, _ := packet.Append(nil, &packet.Subscribe{PacketID: 1, Subscriptions: []packet.Subscription{{Filter: "t", QoS: 0}}})
		client.Write(sub)
		if _, err := r.ReadPacket(); err != nil {
			t.Fatal(err)
		}
		writing := func() bool {
			b.connMu.Lock()
			defer b.connMu.Unlock()
			for c := range b.conns {
				c.out.mu.Lock()
				defer c.out.mu.Unlock()
				return c.out.writing
			}
			return false
		}
		synctest.Wait()
		if !writing() {
			t.Fatal("no write loop right after SUBACK")
		}
		time.Sleep(writerLinger + time.Second)
		synctest.Wait()
		if writing() {
			t.Fatal("write loop still running on an idle connection")
		}
		pub, _, _ := b.ConnectLocal(LocalOptions{ClientID: "pub", CleanSession: true}, &localRecorder{})
		pub.Publish(Message{Topic: "t", Payload: []byte("wake")}, nil)
		p, err := r.ReadPacket()
		if err != nil || string(p.(*packet.Publish).Payload) != "wake" {
			t.Fatalf("after restart: %v %v", p, err)
		}
	})
}
