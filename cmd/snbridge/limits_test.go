package main

import (
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
