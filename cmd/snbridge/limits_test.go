package main

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"snbridge/mqtt/packet"
)

// The limits as a user of the binary meets them: the default in-flight window of 20, a
// connection beyond limits.max_connections refused with CONNACK 3 (mosquitto_sub says why), a
// packet above limits.max_packet_size closing its sender, each with its reason in the log.
func TestLimitsEndToEnd(t *testing.T) {
	if _, err := exec.LookPath("mosquitto_sub"); err != nil {
		t.Fatalf("mosquitto_sub not installed (make test-deps installs mosquitto-clients): %v", err)
	}
	dir := t.TempDir()
	cfg := filepath.Join(dir, "snbridge.yaml")
	os.WriteFile(cfg, []byte("limits:\n  max_connections: 2\n  max_packet_size: 1000\n"), 0o644)
	addr := freePort(t)
	d := startDaemon(t, "-c", cfg, "--mqtt", addr, "--data-dir", filepath.Join(dir, "data"))

	sub, _ := dialMQTT(t, addr, "window", true)
	sub.send(&packet.Subscribe{PacketID: 1, Subscriptions: []packet.Subscription{{Filter: "w", QoS: 1}}})
	if _, ok := sub.expect().(*packet.Suback); !ok {
		t.Fatal("no SUBACK")
	}
	pub, _ := dialMQTT(t, addr, "flood", true)
	const n = 25
	for i := range n {
		pub.send(&packet.Publish{Topic: "w", QoS: 1, PacketID: uint16(i + 1), Payload: []byte("x")})
		pub.expectAck(packet.PUBACK, uint16(i+1))
	}
	for i := range 20 {
		if _, ok := sub.expect().(*packet.Publish); !ok {
			t.Fatalf("delivery %d missing", i)
		}
	}
	sub.send(&packet.Pingreq{})
	if p := sub.expect(); p.Type() != packet.PINGRESP {
		t.Fatalf("got %v: more than the default 20 messages in flight", p.Type())
	}

	host, port, _ := net.SplitHostPort(addr)
	out, err := exec.Command("mosquitto_sub", "-h", host, "-p", port, "-t", "x", "-C", "1", "-W", "5").CombinedOutput()
	if err == nil || !strings.Contains(string(out), "unavailable") {
		t.Fatalf("a third connection: %v, %q; want CONNACK 3 (broker unavailable)", err, out)
	}

	big := append([]byte{0x30, 0xe9, 0x07, 0x00, 0x01, 'w'}, make([]byte, 998)...) // remaining length 1001
	pub.nc.Write(big)
	pub.nc.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := pub.r.ReadPacket(); err == nil {
		t.Fatal("a packet above max_packet_size did not close its sender")
	}
	if err := d.stop(t, syscall.SIGTERM); err != nil {
		t.Fatalf("exit after SIGTERM: %v", err)
	}
	logs := d.logs.String()
	for _, reason := range []string{"max connections reached", "exceeds the maximum packet size 1000"} {
		if !strings.Contains(logs, reason) {
			t.Errorf("no %q in the log:\n%s", reason, logs)
		}
	}
}

// An offline persistent session queues up to the default 1000 messages; beyond, new QoS 1
// messages are dropped (the documented policy), counted in $SYS, and logged; the 1000 arrive in
// order when the client is back.
func TestDefaultQueueBoundEndToEnd(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "snbridge.yaml")
	os.WriteFile(cfg, []byte("limits:\n  sys_interval: 1s\n"), 0o644)
	addr := freePort(t)
	d := startDaemon(t, "-c", cfg, "--mqtt", addr, "--data-dir", filepath.Join(dir, "data"))

	sub, _ := dialMQTT(t, addr, "offline", false)
	sub.send(&packet.Subscribe{PacketID: 1, Subscriptions: []packet.Subscription{{Filter: "q", QoS: 1}, {Filter: "$SYS/broker/publish/messages/dropped", QoS: 0}}})
	if _, ok := sub.expect().(*packet.Suback); !ok {
		t.Fatal("no SUBACK")
	}
	sub.send(&packet.Disconnect{})
	sub.nc.Close()
	// Offline only once the broker has detached it: its log line comes after.
	for i := 0; !strings.Contains(d.logs.String(), "client=offline remote="+sub.nc.LocalAddr().String()+" reason=DISCONNECT"); i++ {
		if i == 500 {
			t.Fatalf("the DISCONNECT was not logged:\n%s", d.logs.String())
		}
		time.Sleep(10 * time.Millisecond)
	}

	pub, _ := dialMQTT(t, addr, "pub", true)
	const n = 1005
	go func() { // pipelined: the acknowledgements wait for group commits
		for i := range n {
			pub.send(&packet.Publish{Topic: "q", QoS: 1, PacketID: uint16(i + 1), Payload: []byte(fmt.Sprint(i))})
		}
	}()
	for i := range n {
		pub.expectAck(packet.PUBACK, uint16(i+1))
	}

	back, present := dialMQTT(t, addr, "offline", false)
	if !present {
		t.Fatal("session not present")
	}
	next := 0
	dropped := ""
	for next < 1000 || dropped != "5" {
		switch p := back.expect().(type) {
		case *packet.Publish:
			if p.Topic != "q" {
				dropped = string(p.Payload)
				continue
			}
			if string(p.Payload) != fmt.Sprint(next) {
				t.Fatalf("message %d is %q", next, p.Payload)
			}
			next++
			back.send(&packet.Puback{PacketID: p.PacketID})
		}
	}
	back.send(&packet.Pingreq{})
	for {
		p := back.expect()
		if pp, ok := p.(*packet.Publish); ok && pp.Topic == "q" {
			t.Fatalf("message %q beyond the queue bound was kept", pp.Payload)
		}
		if p.Type() == packet.PINGRESP {
			break
		}
	}
	if err := d.stop(t, syscall.SIGTERM); err != nil {
		t.Fatalf("exit after SIGTERM: %v", err)
	}
	if !strings.Contains(d.logs.String(), "queue full") {
		t.Errorf("the drop was not logged:\n%s", d.logs.String())
	}
}
