package main

import (
	"fmt"
	"path/filepath"
	"syscall"
	"testing"

	"snbridge/mqtt/packet"
)

// SIGTERM stops snbridge cleanly and flushes the store: after a restart, a persistent session
// has its subscription, gets what was queued for it, and none of what it had acknowledged.
func TestSIGTERMFlushesTheStore(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	addr := freePort(t)
	args := []string{"--mqtt", addr, "--data-dir", dir}
	d := startDaemon(t, args...)

	sub, _ := dialMQTT(t, addr, "flushed", false)
	sub.send(&packet.Subscribe{PacketID: 1, Subscriptions: []packet.Subscription{{Filter: "f/#", QoS: 1}}})
	if _, ok := sub.expect().(*packet.Suback); !ok {
		t.Fatal("no SUBACK")
	}
	pub := connectPaho(t, addr, "flush-pub", true, nil)
	const n = 50
	for i := range n {
		if tok := pub.Publish("f/acked", 1, false, fmt.Sprint(i)); !tok.Wait() || tok.Error() != nil {
			t.Fatal(tok.Error())
		}
		p, ok := sub.expect().(*packet.Publish)
		if !ok || string(p.Payload) != fmt.Sprint(i) {
			t.Fatalf("delivery %d: %+v", i, p)
		}
		sub.send(&packet.Puback{PacketID: p.PacketID})
	}
	sub.send(&packet.Pingreq{}) // answered after the PUBACKs before it were handled
	if _, ok := sub.expect().(*packet.Pingresp); !ok {
		t.Fatal("no PINGRESP")
	}
	sub.nc.Close()
	if tok := pub.Publish("f/queued", 1, false, "while offline"); !tok.Wait() || tok.Error() != nil {
		t.Fatal(tok.Error())
	}
	pub.Disconnect(10)
	if err := d.stop(t, syscall.SIGTERM); err != nil {
		t.Fatalf("exit after SIGTERM: %v; log:\n%s", err, d.logs.String())
	}

	d2 := startDaemon(t, args...)
	sub2, present := dialMQTT(t, addr, "flushed", false)
	if !present {
		t.Fatal("session present 0 after a clean restart")
	}
	p, ok := sub2.expect().(*packet.Publish)
	if !ok || p.Topic != "f/queued" {
		t.Fatalf("first after restart: %+v; want the queued message, no acknowledged one again", p)
	}
	sub2.send(&packet.Puback{PacketID: p.PacketID})
	pub2 := connectPaho(t, addr, "flush-pub", true, nil)
	if tok := pub2.Publish("f/live", 1, false, "x"); !tok.Wait() || tok.Error() != nil {
		t.Fatal(tok.Error())
	}
	if p, ok := sub2.expect().(*packet.Publish); !ok || p.Topic != "f/live" {
		t.Fatalf("after restart: %+v; want the subscription kept", p)
	}
	pub2.Disconnect(10)
	if err := d2.stop(t, syscall.SIGTERM); err != nil {
		t.Fatalf("exit after SIGTERM: %v", err)
	}
}
