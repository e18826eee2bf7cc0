package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"
	"go.uber.org/goleak"

	"snbridge/mqtt/packet"
)

// syncBuffer is an io.Writer safe for the logger and the test to share.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.buf.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.buf.String()
}

var listenRE = regexp.MustCompile(`msg=listening listener=(\S+) addr=(\S+)`)

// waitListening waits for the log line of the named listener and returns its address.
func waitListening(t *testing.T, logs func() string, name string) string {
	t.Helper()
	for i := 0; i < 500; i++ {
		for _, m := range listenRE.FindAllStringSubmatch(logs(), -1) {
			if m[1] == name {
				return m[2]
			}
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("listener %s did not start; log:\n%s", name, logs())
	return ""
}

func TestVersionAndBadArguments(t *testing.T) {
	var out, errb bytes.Buffer
	if err := run(context.Background(), []string{"--version"}, &out, &errb); err != nil || out.String() != "snbridge dev\n" {
		t.Fatalf("--version: %v %q", err, out.String())
	}
	if err := run(context.Background(), []string{"--no-such-flag"}, &out, &errb); err == nil || !strings.Contains(err.Error(), "no-such-flag") {
		t.Fatalf("unknown flag: %v", err)
	}
	if err := run(context.Background(), []string{"--mqtt", "nonsense"}, &out, &errb); err == nil || !strings.Contains(err.Error(), "--mqtt") {
		t.Fatalf("bad address: %v", err)
	}
	cfg := filepath.Join(t.TempDir(), "c.yaml")
	os.WriteFile(cfg, []byte("listeners:\n  mqtt: :1883\n  bogus: 1\n"), 0o644)
	if err := run(context.Background(), []string{"-c", cfg}, &out, &errb); err == nil || !strings.Contains(err.Error(), "bogus") || !strings.Contains(err.Error(), ":3") {
		t.Fatalf("unknown config key: %v", err)
	}
}

// run serves MQTT on the flags' address, with the config file's settings, until ctx ends.
func TestRunServesUntilCancelled(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	dir := t.TempDir()
	cfg := filepath.Join(dir, "snbridge.yaml")
	os.WriteFile(cfg, []byte("limits:\n  sys_interval: 1s\nlisteners:\n  mqtt: 127.0.0.1:1\n"), 0o644)
	ctx, cancel := context.WithCancel(context.Background())
	var logs syncBuffer
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"-c", cfg, "--mqtt", "127.0.0.1:0", "--mqttsn", "127.0.0.1:0", "--ws", "127.0.0.1:0", "--data-dir", filepath.Join(dir, "data"), "--log-level", "debug"}, io.Discard, &logs)
	}()
	addr := waitListening(t, logs.String, "mqtt")
	wsAddr := waitListening(t, logs.String, "ws")
	wsc := paho.NewClient(paho.NewClientOptions().AddBroker("ws://" + wsAddr + "/mqtt").SetClientID("w"))
	if tok := wsc.Connect(); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		t.Fatal("websocket connect:", tok.Error())
	}
	wsc.Disconnect(10)
	got := make(chan string, 10)
	c := paho.NewClient(paho.NewClientOptions().AddBroker("tcp://" + addr).SetClientID("t"))
	if tok := c.Connect(); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		t.Fatal("connect:", tok.Error())
	}
	// $SYS comes from the config file's sys_interval.
	c.Subscribe("$SYS/broker/version", 0, func(_ paho.Client, m paho.Message) { got <- string(m.Payload()) }).Wait()
	select {
	case v := <-got:
		if v != "snbridge dev" {
			t.Fatalf("$SYS/broker/version = %q", v)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no $SYS/broker/version")
	}
	c.Disconnect(50)
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("run: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("run did not return after cancel")
	}
	if !strings.Contains(logs.String(), "snbridge stopped") {
		t.Fatalf("log:\n%s", logs.String())
	}
	if _, err := os.Stat(filepath.Join(dir, "data", "snbridge.db")); err != nil {
		t.Fatalf("store file: %v", err)
	}
}

func TestPasswdCommand(t *testing.T) {
	file := filepath.Join(t.TempDir(), "passwd")
	if err := runIO(context.Background(), []string{"passwd", file, "alice"}, strings.NewReader("s3cret\n"), io.Discard, io.Discard); err != nil {
		t.Fatal(err)
	}
	data, _ := os.ReadFile(file)
	if !strings.HasPrefix(string(data), "alice:$2") {
		t.Fatalf("password file: %q", data)
	}
	if err := runIO(context.Background(), []string{"passwd", file}, strings.NewReader("x\n"), io.Discard, io.Discard); err == nil {
		t.Fatal("missing USER accepted")
	}
	if err := runIO(context.Background(), []string{"passwd", file, "bob"}, strings.NewReader("\n"), io.Discard, io.Discard); err == nil {
		t.Fatal("empty password accepted")
	}
}

// ---- tests of the built binary ----

var (
	buildOnce sync.Once
	buildDir  string
	buildErr  error
)

func binary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		buildDir, buildErr = os.MkdirTemp("", "snbridge-bin")
		if buildErr != nil {
			return
		}
		out, err := exec.Command("go", "build", "-o", buildDir, ".").CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return filepath.Join(buildDir, "snbridge")
}

func TestMain(m *testing.M) {
	code := m.Run()
	if buildDir != "" {
		os.RemoveAll(buildDir)
	}
	os.Exit(code)
}

func freePort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

type daemon struct {
	cmd  *exec.Cmd
	logs *syncBuffer
	done chan error
}

// startDaemon runs the binary and waits until its MQTT listener is up. The MQTT-SN gateway
// listens on a free loopback port unless args say otherwise (a later flag wins).
func startDaemon(t *testing.T, args ...string) *daemon {
	t.Helper()
	d := &daemon{logs: &syncBuffer{}, done: make(chan error, 1)}
	d.cmd = exec.Command(binary(t), append([]string{"--mqttsn", "127.0.0.1:0"}, args...)...)
	d.cmd.Stderr = d.logs
	d.cmd.Stdout = d.logs
	if err := d.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { d.done <- d.cmd.Wait() }()
	t.Cleanup(func() {
		d.cmd.Process.Kill()
		<-d.done
	})
	waitListening(t, d.logs.String, "mqtt")
	return d
}

func (d *daemon) stop(t *testing.T, sig syscall.Signal) error {
	t.Helper()
	d.cmd.Process.Signal(sig)
	select {
	case err := <-d.done:
		d.done <- err
		return err
	case <-time.After(10 * time.Second):
		t.Fatalf("snbridge did not exit on %v; log:\n%s", sig, d.logs.String())
		return nil
	}
}

func connectPaho(t *testing.T, addr, id string, clean bool, h paho.MessageHandler) paho.Client {
	t.Helper()
	o := paho.NewClientOptions().AddBroker("tcp://" + addr).SetClientID(id).SetCleanSession(clean).
		SetAutoReconnect(false).SetOrderMatters(true).SetDefaultPublishHandler(h)
	c := paho.NewClient(o)
	if tok := c.Connect(); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		t.Fatalf("connect %s: %v", id, tok.Error())
	}
	return c
}

// Every QoS 1 and QoS 2 message the broker acknowledged reaches its persistent subscriber after
// kill -9 and a restart on the same data directory.
func TestKillMinus9KeepsAcknowledgedMessages(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	addr := freePort(t)
	args := []string{"--mqtt", addr, "--data-dir", dir}
	d := startDaemon(t, args...)

	sub := connectPaho(t, addr, "durable-sub", false, nil)
	if tok := sub.Subscribe("k/#", 1, nil); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		t.Fatal("subscribe:", tok.Error())
	}
	sub.Disconnect(50)

	const n = 300 // the last 50 at QoS 2: PUBREC, too, waits for the disk
	pub := connectPaho(t, addr, "pub", true, nil)
	toks := make([]paho.Token, n)
	for i := range n {
		qos := byte(1)
		if i >= n-50 {
			qos = 2
		}
		toks[i] = pub.Publish(fmt.Sprintf("k/%d", i%7), qos, false, fmt.Sprint(i))
	}
	for i, tok := range toks {
		if !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
			t.Fatalf("publish %d not acknowledged: %v", i, tok.Error())
		}
	}
	// Every PUBACK is in: kill the broker without a chance to flush anything.
	if err := d.stop(t, syscall.SIGKILL); err == nil {
		t.Fatal("killed process exited cleanly?")
	}
	pub.Disconnect(0)

	d2 := startDaemon(t, args...)
	var mu sync.Mutex
	seen := map[string]bool{}
	all := make(chan struct{})
	c := connectPaho(t, addr, "durable-sub", false, func(_ paho.Client, m paho.Message) {
		mu.Lock()
		defer mu.Unlock()
		seen[string(m.Payload())] = true
		if len(seen) == n {
			close(all)
		}
	})
	defer c.Disconnect(50)
	select {
	case <-all:
	case <-time.After(15 * time.Second):
		mu.Lock()
		t.Fatalf("after kill -9 and restart, %d of %d acknowledged messages arrived", len(seen), n)
	}
	// SIGTERM: a clean stop, exit status 0.
	if err := d2.stop(t, syscall.SIGTERM); err != nil {
		t.Fatalf("exit after SIGTERM: %v; log:\n%s", err, d2.logs.String())
	}
}

// rawMQTT is an MQTT client on the codec, for flows paho hides (a PUBLISH resent with DUP, a
// PUBREL held back).
type rawMQTT struct {
	t  *testing.T
	nc net.Conn
	r  *packet.Reader
}

func dialMQTT(t *testing.T, addr, id string, clean bool) (*rawMQTT, bool) {
	t.Helper()
	nc, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { nc.Close() })
	c := &rawMQTT{t: t, nc: nc, r: packet.NewReader(nc, 0)}
	c.send(&packet.Connect{ProtocolName: "MQTT", ProtocolLevel: 4, ClientID: id, CleanSession: clean, KeepAlive: 60})
	ack, ok := c.expect().(*packet.Connack)
	if !ok || ack.ReturnCode != 0 {
		t.Fatalf("connect %s: %+v", id, ack)
	}
	return c, ack.SessionPresent
}

func (c *rawMQTT) send(p packet.Packet) {
	c.t.Helper()
	buf, err := packet.Append(nil, p)
	if err == nil {
		_, err = c.nc.Write(buf)
	}
	if err != nil {
		c.t.Fatal(err)
	}
}

func (c *rawMQTT) expect() packet.Packet {
	c.t.Helper()
	c.nc.SetReadDeadline(time.Now().Add(10 * time.Second))
	p, err := c.r.ReadPacket()
	if err != nil {
		c.t.Fatal(err)
	}
	return p
}

// expectAck reads the next packet and checks its type and packet id.
func (c *rawMQTT) expectAck(typ packet.Type, pid uint16) {
	c.t.Helper()
	p := c.expect()
	var got uint16
	switch a := p.(type) {
	case *packet.Puback:
		got = a.PacketID
	case *packet.Pubrec:
		got = a.PacketID
	case *packet.Pubcomp:
		got = a.PacketID
	case *packet.Pubrel:
		got = a.PacketID
	}
	if p.Type() != typ || got != pid {
		c.t.Fatalf("got %v %d, want %v %d", p.Type(), got, typ, pid)
	}
}

// A QoS 2 PUBLISH that the broker PUBREC'd before kill -9, resent with DUP after the restart
// by a client whose session is persistent, reaches the subscriber once [MQTT-4.3.3-2].
func TestKillMinus9InboundQoS2ExactlyOnce(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	addr := freePort(t)
	args := []string{"--mqtt", addr, "--data-dir", dir}
	d := startDaemon(t, args...)
	sub := connectPaho(t, addr, "durable-sub", false, nil)
	if tok := sub.Subscribe("x/#", 1, nil); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		t.Fatal("subscribe:", tok.Error())
	}
	sub.Disconnect(50)

	pub, _ := dialMQTT(t, addr, "qos2-pub", false)
	pub.send(&packet.Publish{Topic: "x/1", QoS: 2, PacketID: 9, Payload: []byte("exactly-once")})
	pub.expectAck(packet.PUBREC, 9)
	if err := d.stop(t, syscall.SIGKILL); err == nil {
		t.Fatal("killed process exited cleanly?")
	}

	d2 := startDaemon(t, args...)
	pub, present := dialMQTT(t, addr, "qos2-pub", false)
	if !present {
		t.Fatal("publisher's session not present after kill -9 and restart")
	}
	pub.send(&packet.Publish{Topic: "x/1", QoS: 2, PacketID: 9, Dup: true, Payload: []byte("exactly-once")})
	pub.expectAck(packet.PUBREC, 9)
	pub.send(&packet.Pubrel{PacketID: 9})
	pub.expectAck(packet.PUBCOMP, 9)
	pub.send(&packet.Publish{Topic: "x/1", QoS: 1, PacketID: 10, Payload: []byte("marker")})
	pub.expectAck(packet.PUBACK, 10)

	var mu sync.Mutex
	var got []string
	marker := make(chan struct{})
	c := connectPaho(t, addr, "durable-sub", false, func(_ paho.Client, m paho.Message) {
		mu.Lock()
		defer mu.Unlock()
		got = append(got, string(m.Payload()))
		if string(m.Payload()) == "marker" {
			close(marker)
		}
	})
	defer c.Disconnect(50)
	select {
	case <-marker:
	case <-time.After(15 * time.Second):
		t.Fatal("marker not delivered")
	}
	mu.Lock()
	defer mu.Unlock()
	if fmt.Sprint(got) != "[exactly-once marker]" {
		t.Fatalf("subscriber got %q, want the QoS 2 message once, then the marker", got)
	}
	if err := d2.stop(t, syscall.SIGTERM); err != nil {
		t.Fatalf("exit after SIGTERM: %v", err)
	}
}

// A QoS 2 delivery the subscriber PUBREC'd before kill -9 goes on with PUBREL after the
// restart, and one it received without acknowledging comes again with the same packet id, so
// the subscriber's own QoS 2 state keeps it from delivering either twice [MQTT-4.3.3-1..2].
func TestKillMinus9OutboundQoS2Resumes(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	addr := freePort(t)
	args := []string{"--mqtt", addr, "--data-dir", dir}
	d := startDaemon(t, args...)
	sub, _ := dialMQTT(t, addr, "qos2-sub", false)
	sub.send(&packet.Subscribe{PacketID: 1, Subscriptions: []packet.Subscription{{Filter: "y/#", QoS: 2}}})
	sub.expect()
	pub := connectPaho(t, addr, "pub", true, nil)
	for _, m := range []string{"rec", "unacked"} {
		if tok := pub.Publish("y/1", 2, false, m); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
			t.Fatal("publish:", tok.Error())
		}
	}
	first, ok1 := sub.expect().(*packet.Publish)
	second, ok2 := sub.expect().(*packet.Publish)
	if !ok1 || !ok2 || string(first.Payload) != "rec" || string(second.Payload) != "unacked" {
		t.Fatalf("subscriber got %+v, %+v", first, second)
	}
	sub.send(&packet.Pubrec{PacketID: first.PacketID})
	if p, ok := sub.expect().(*packet.Pubrel); !ok || p.PacketID != first.PacketID {
		t.Fatalf("want PUBREL %d, got %+v", first.PacketID, p)
	}
	// PUBREL has come, PUBCOMP not sent: kill the broker.
	if err := d.stop(t, syscall.SIGKILL); err == nil {
		t.Fatal("killed process exited cleanly?")
	}
	pub.Disconnect(0)

	d2 := startDaemon(t, args...)
	sub, present := dialMQTT(t, addr, "qos2-sub", false)
	if !present {
		t.Fatal("subscriber's session not present after kill -9 and restart")
	}
	if p, ok := sub.expect().(*packet.Pubrel); !ok || p.PacketID != first.PacketID {
		t.Fatalf("after restart want PUBREL %d for the PUBREC'd message, got %+v", first.PacketID, p)
	}
	sub.send(&packet.Pubcomp{PacketID: first.PacketID})
	p, ok := sub.expect().(*packet.Publish)
	if !ok || string(p.Payload) != "unacked" || p.PacketID != second.PacketID || !p.Dup {
		t.Fatalf("after restart want PUBLISH %q id %d with DUP, got %+v", "unacked", second.PacketID, p)
	}
	sub.send(&packet.Pubrec{PacketID: p.PacketID})
	sub.expectAck(packet.PUBREL, p.PacketID)
	sub.send(&packet.Pubcomp{PacketID: p.PacketID})
	if err := d2.stop(t, syscall.SIGTERM); err != nil {
		t.Fatalf("exit after SIGTERM: %v", err)
	}
}

// Debian's mosquitto_pub and mosquitto_sub against the running binary.
func TestMosquittoClients(t *testing.T) {
	for _, tool := range []string{"mosquitto_pub", "mosquitto_sub"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("%s not installed (make test-deps installs mosquitto-clients): %v", tool, err)
		}
	}
	addr := freePort(t)
	host, port, _ := net.SplitHostPort(addr)
	startDaemon(t, "--mqtt", addr, "--data-dir", filepath.Join(t.TempDir(), "data"))
	pub := func(args ...string) {
		t.Helper()
		out, err := exec.Command("mosquitto_pub", append([]string{"-h", host, "-p", port}, args...)...).CombinedOutput()
		if err != nil {
			t.Fatalf("mosquitto_pub %v: %v\n%s", args, err, out)
		}
	}
	pub("-t", "e2e/retained", "-m", "kept", "-r", "-q", "1")
	sub := exec.Command("mosquitto_sub", "-h", host, "-p", port, "-t", "e2e/#", "-v", "-q", "2", "-C", "3", "-W", "10")
	stdout, _ := sub.StdoutPipe()
	if err := sub.Start(); err != nil {
		t.Fatal(err)
	}
	lines := make(chan string, 10)
	go func() {
		s := bufio.NewScanner(stdout)
		for s.Scan() {
			lines <- s.Text()
		}
		close(lines)
	}()
	if l := <-lines; l != "e2e/retained kept" {
		t.Fatalf("first line %q, want the retained message", l)
	}
	pub("-t", "e2e/q1", "-m", "one", "-q", "1")
	pub("-t", "e2e/q2", "-m", "two", "-q", "2")
	var got []string
	for l := range lines {
		got = append(got, l)
	}
	if err := sub.Wait(); err != nil {
		t.Fatalf("mosquitto_sub: %v", err)
	}
	if fmt.Sprint(got) != "[e2e/q1 one e2e/q2 two]" {
		t.Fatalf("mosquitto_sub printed %q", got)
	}
}

// SIGHUP reloads the password file: a password changed with `snbridge passwd` works at once.
func TestSIGHUPReloadsPasswords(t *testing.T) {
	dir := t.TempDir()
	pw := filepath.Join(dir, "passwd")
	setPw := func(p string) {
		if err := runIO(context.Background(), []string{"passwd", pw, "alice"}, strings.NewReader(p+"\n"), io.Discard, io.Discard); err != nil {
			t.Fatal(err)
		}
	}
	setPw("old")
	cfg := filepath.Join(dir, "c.yaml")
	os.WriteFile(cfg, []byte("auth:\n  allow_anonymous: false\n  password_file: "+pw+"\n"), 0o644)
	addr := freePort(t)
	d := startDaemon(t, "-c", cfg, "--mqtt", addr, "--data-dir", filepath.Join(dir, "data"))
	try := func(password string) error {
		o := paho.NewClientOptions().AddBroker("tcp://" + addr).SetClientID("a").SetUsername("alice").SetPassword(password).SetAutoReconnect(false)
		c := paho.NewClient(o)
		tok := c.Connect()
		tok.WaitTimeout(5 * time.Second)
		if tok.Error() == nil {
			c.Disconnect(10)
		}
		return tok.Error()
	}
	if err := try("old"); err != nil {
		t.Fatalf("old password: %v", err)
	}
	setPw("new")
	d.cmd.Process.Signal(syscall.SIGHUP)
	for i := 0; i < 100 && !strings.Contains(d.logs.String(), "reloaded"); i++ {
		time.Sleep(20 * time.Millisecond)
	}
	if err := try("new"); err != nil {
		t.Fatalf("new password after SIGHUP: %v", err)
	}
	if err := try("old"); err == nil {
		t.Fatal("old password still accepted after SIGHUP")
	}
	if err := d.stop(t, syscall.SIGTERM); err != nil && !errors.Is(err, os.ErrProcessDone) {
		t.Fatalf("exit: %v", err)
	}
}
