package main

import (
	"bytes"
	"context"
	"encoding/binary"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"snbridge/mqttsn/packet"
	"snbridge/simulator/simtest"
)

// lockedBuffer is a goroutine-safe writer whose content can be awaited.
type lockedBuffer struct{ simtest.LogBuffer }

// await polls until re matches, bounded in time.
func (l *lockedBuffer) await(t *testing.T, re *regexp.Regexp) []string {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if m := re.FindStringSubmatch(l.String()); m != nil {
			return m
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Fatalf("no %v in %q", re, l.String())
	return nil
}

func mustMarshal(t *testing.T, m packet.Message) []byte {
	t.Helper()
	b, err := packet.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// writePcap writes a little-endian µs pcap of raw-IPv4 UDP datagrams.
func writePcap(t *testing.T, dgrams [][]byte, sport, dport uint16) string {
	t.Helper()
	var b bytes.Buffer
	h := make([]byte, 24)
	binary.LittleEndian.PutUint32(h, 0xa1b2c3d4)
	binary.LittleEndian.PutUint16(h[4:], 2)
	binary.LittleEndian.PutUint16(h[6:], 4)
	binary.LittleEndian.PutUint32(h[16:], 65535)
	binary.LittleEndian.PutUint32(h[20:], 101)
	b.Write(h)
	for i, d := range dgrams {
		ip := make([]byte, 28, 28+len(d))
		ip[0], ip[9] = 0x45, 17
		binary.BigEndian.PutUint16(ip[2:], uint16(28+len(d)))
		copy(ip[12:], []byte{10, 0, 0, 7, 10, 0, 0, 1})
		binary.BigEndian.PutUint16(ip[20:], sport)
		binary.BigEndian.PutUint16(ip[22:], dport)
		binary.BigEndian.PutUint16(ip[24:], uint16(8+len(d)))
		ip = append(ip, d...)
		rec := make([]byte, 16)
		binary.LittleEndian.PutUint32(rec, uint32(1764073800+i))
		binary.LittleEndian.PutUint32(rec[8:], uint32(len(ip)))
		binary.LittleEndian.PutUint32(rec[12:], uint32(len(ip)))
		b.Write(rec)
		b.Write(ip)
	}
	p := filepath.Join(t.TempDir(), "trace.pcap")
	if err := os.WriteFile(p, b.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestDumpPcapFile(t *testing.T) {
	conn := mustMarshal(t, &packet.Connect{CleanSession: true, ProtocolID: 1, Duration: 30, ClientID: "s1"})
	pub := mustMarshal(t, &packet.Publish{QoS: packet.QoS1, TopicID: 1, MsgID: 2, Data: []byte("on")})
	file := writePcap(t, [][]byte{conn, pub, {0x02}}, 40000, 1884)
	var out, errb bytes.Buffer
	if err := run(context.Background(), []string{"dump", "-r", file}, &out, &errb); err != nil {
		t.Fatalf("%v: %s", err, errb.String())
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	want := []string{
		`10.0.0.7:40000 > 10.0.0.1:1884 CONNECT id="s1" keepalive=30s clean`,
		`10.0.0.7:40000 > 10.0.0.1:1884 PUBLISH qos=1 topic=normal:1 msgid=2 data(2)="on"`,
		`10.0.0.7:40000 > 10.0.0.1:1884 MALFORMED`,
	}
	if len(lines) != 3 {
		t.Fatalf("lines %q", lines)
	}
	for i, w := range want {
		if !strings.Contains(lines[i], w) || !strings.HasPrefix(lines[i], "12:30:0") {
			t.Errorf("line %d = %q, want %q", i, lines[i], w)
		}
	}

	out.Reset()
	if err := run(context.Background(), []string{"dump", "-r", file, "-p", "5000"}, &out, &errb); err != nil || out.Len() != 0 {
		t.Errorf("port filter 5000 printed %q (%v)", out.String(), err)
	}
	out.Reset()
	if err := run(context.Background(), []string{"dump", "-r", file, "-C", "1"}, &out, &errb); err != nil || strings.Count(out.String(), "\n") != 1 {
		t.Errorf("-C 1 printed %q (%v)", out.String(), err)
	}
	if err := run(context.Background(), []string{"dump", "-r", filepath.Join(t.TempDir(), "none.pcap")}, &out, &errb); err == nil {
		t.Error("missing file accepted")
	}
	if err := run(context.Background(), []string{"dump", "-r", "dump.go"}, &out, &errb); err == nil || !strings.Contains(err.Error(), "not a classic pcap") {
		t.Errorf("Go source as pcap: %v", err)
	}
}

func TestDumpRelayShowsBothDirections(t *testing.T) {
	defer goleak.VerifyNone(t)
	// A fake gateway answering CONNECT with CONNACK.
	gw, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer gw.Close()
	connack := mustMarshal(t, &packet.Connack{})
	var gwg sync.WaitGroup
	gwg.Go(func() {
		b := make([]byte, 512)
		for {
			n, from, err := gw.ReadFrom(b)
			if err != nil {
				return
			}
			if m, err := packet.Decode(b[:n]); err == nil && m.Type() == packet.TypeConnect {
				_, _ = gw.WriteTo(connack, from)
			}
		}
	})
	defer gwg.Wait()
	defer gw.Close()

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var out, errb lockedBuffer
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"dump", "-h", "127.0.0.1", "-p", "0", "--relay", gw.LocalAddr().String(), "-C", "2"}, &out, &errb)
	}()
	addr := errb.await(t, regexp.MustCompile(`on udp (\S+)`))[1]
	sensor, err := net.Dial("udp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer sensor.Close()
	_, _ = sensor.Write(mustMarshal(t, &packet.Connect{ProtocolID: 1, Duration: 10, ClientID: "relayed"}))
	_ = sensor.SetReadDeadline(time.Now().Add(5 * time.Second))
	b := make([]byte, 64)
	n, err := sensor.Read(b)
	if err != nil || !bytes.Equal(b[:n], connack) {
		t.Fatalf("sensor got % x, %v through the relay", b[:n], err)
	}
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("relay did not stop after -C 2")
	}
	s := out.String()
	if !strings.Contains(s, `CONNECT id="relayed"`) || !strings.Contains(s, gw.LocalAddr().String()+" > "+sensor.LocalAddr().String()+" CONNACK rc=accepted") {
		t.Fatalf("dump:\n%s", s)
	}
}

func TestDumpListenStopsOnCancel(t *testing.T) {
	defer goleak.VerifyNone(t)
	ctx, cancel := context.WithCancel(context.Background())
	var out, errb lockedBuffer
	done := make(chan error, 1)
	go func() { done <- run(ctx, []string{"dump", "-h", "127.0.0.1", "-p", "0"}, &out, &errb) }()
	addr := errb.await(t, regexp.MustCompile(`on udp (\S+)`))[1]
	c, err := net.Dial("udp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_, _ = c.Write([]byte{0x02, 0x16})
	out.await(t, regexp.MustCompile(`> 127\.0\.0\.1:\d+ PINGREQ`))
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("dump did not stop on cancel")
	}
}

func TestCommandErrors(t *testing.T) {
	var out, errb bytes.Buffer
	for _, args := range [][]string{nil, {"frobnicate"}, {"dump", "-p", "70000"}, {"dump", "extra"}, {"dump", "-r", "x", "--relay", "y:1"}} {
		if err := run(context.Background(), args, &out, &errb); err == nil {
			t.Errorf("run(%q) accepted", args)
		}
	}
}
