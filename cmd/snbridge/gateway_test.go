package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"
	"go.uber.org/goleak"

	mqttpacket "snbridge/mqtt/packet"
	"snbridge/mqttsn/client"
	"snbridge/mqttsn/mqttsntest/gwbench"
	"snbridge/mqttsn/packet"
)

// The MQTT-SN gateway inside snbridge, end to end: MQTT-SN clients (mqttsn/client) over real
// UDP on one side, paho MQTT clients over TCP on the other, run() in between.

const waitFor = 5 * time.Second

// snbridgeInProcess runs run() with the args until the test ends; it returns the MQTT and
// MQTT-SN addresses it listens on.
func snbridgeInProcess(t *testing.T, config string, args ...string) (mqttAddr, snAddr string, logs *syncBuffer) {
	t.Helper()
	dir := t.TempDir()
	cfg := filepath.Join(dir, "snbridge.yaml")
	if err := os.WriteFile(cfg, []byte(config), 0o644); err != nil {
		t.Fatal(err)
	}
	args = append([]string{"-c", cfg, "--mqtt", "127.0.0.1:0", "--mqttsn", "127.0.0.1:0", "--data-dir", filepath.Join(dir, "data")}, args...)
	logs, _ = runInProcess(t, args)
	return waitListening(t, logs.String, "mqtt"), waitListening(t, logs.String, "mqttsn"), logs
}

// runInProcess runs run() with args until stop is called or the test ends, and returns once
// the MQTT-SN listener is up. When the test fails its log is shown.
func runInProcess(t *testing.T, args []string) (logs *syncBuffer, stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	logs = &syncBuffer{}
	done := make(chan error, 1)
	go func() { done <- run(ctx, args, io.Discard, logs) }()
	waitListening(t, logs.String, "mqttsn")
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("snbridge log:\n%s", logs.String())
		}
	})
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			select {
			case err := <-done:
				if err != nil {
					t.Errorf("run: %v", err)
				}
			case <-time.After(10 * time.Second):
				t.Error("run did not return after cancel")
			}
		})
	}
	t.Cleanup(stop)
	return logs, stop
}

// pahoMessage is what a paho subscription received.
type pahoMessage struct {
	topic   string
	payload string
	qos     byte
	retain  bool
}

// pahoClient connects a paho client to addr; it is disconnected when the test ends.
func pahoClient(t *testing.T, addr, id string) paho.Client {
	t.Helper()
	c := paho.NewClient(paho.NewClientOptions().AddBroker("tcp://" + addr).SetClientID(id).SetAutoReconnect(false))
	if tok := c.Connect(); !tok.WaitTimeout(waitFor) || tok.Error() != nil {
		t.Fatalf("paho %s connect: %v", id, tok.Error())
	}
	t.Cleanup(func() { c.Disconnect(100) })
	return c
}

// pahoSubscribe subscribes c to filter at qos and returns the channel of what arrives.
func pahoSubscribe(t *testing.T, c paho.Client, filter string, qos byte) <-chan pahoMessage {
	t.Helper()
	ch := make(chan pahoMessage, 100)
	tok := c.Subscribe(filter, qos, func(_ paho.Client, m paho.Message) {
		ch <- pahoMessage{m.Topic(), string(m.Payload()), m.Qos(), m.Retained()}
	})
	if !tok.WaitTimeout(waitFor) || tok.Error() != nil {
		t.Fatalf("paho subscribe %s: %v", filter, tok.Error())
	}
	return ch
}

func pahoPublish(t *testing.T, c paho.Client, topic string, qos byte, retain bool, payload string) {
	t.Helper()
	if tok := c.Publish(topic, qos, retain, payload); !tok.WaitTimeout(waitFor) || tok.Error() != nil {
		t.Fatalf("paho publish %s: %v", topic, tok.Error())
	}
}

func receive[M any](t *testing.T, ch <-chan M, what string) M {
	t.Helper()
	select {
	case m := <-ch:
		return m
	case <-time.After(waitFor):
		t.Fatalf("nothing received: %s", what)
	}
	var zero M
	return zero
}

// snClient dials the gateway at addr; it is closed when the test ends.
func snClient(t *testing.T, addr string, opts client.Options) *client.Client {
	t.Helper()
	if opts.RetryInterval == 0 {
		opts.RetryInterval = time.Second
	}
	c, err := client.Dial(context.Background(), "udp", addr, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func snConnect(t *testing.T, addr string, opts client.Options) *client.Client {
	t.Helper()
	c := snClient(t, addr, opts)
	ctx, cancel := context.WithTimeout(context.Background(), waitFor)
	defer cancel()
	if err := c.Connect(ctx); err != nil {
		t.Fatalf("mqtt-sn %s connect: %v", opts.ClientID, err)
	}
	return c
}

func snSubscribe(t *testing.T, c *client.Client, filter string, qos client.QoS) <-chan client.Message {
	t.Helper()
	ch := make(chan client.Message, 100)
	ctx, cancel := context.WithTimeout(context.Background(), waitFor)
	defer cancel()
	if _, err := c.Subscribe(ctx, filter, qos, func(m client.Message) { ch <- m }); err != nil {
		t.Fatalf("mqtt-sn subscribe %s: %v", filter, err)
	}
	return ch
}

func snPublish(t *testing.T, c *client.Client, topic string, qos client.QoS, retain bool, payload string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitFor)
	defer cancel()
	if err := c.Publish(ctx, topic, []byte(payload), qos, retain); err != nil {
		t.Fatalf("mqtt-sn publish %s at %v: %v", topic, qos, err)
	}
}

// noLeaks checks, once the test and its cleanups are done, that no goroutine it started runs.
func noLeaks(t *testing.T) {
	before := goleak.IgnoreCurrent()
	t.Cleanup(func() { goleak.VerifyNone(t, before) })
}

const e2eConfig = `
mqttsn:
  advertise_interval: 0s
  retry_interval: 1s
  predefined:
    - {client: "*", topic: "yaml/predefined", id: 700}
`

func TestGatewayEndToEnd(t *testing.T) {
	noLeaks(t)
	mqttAddr, snAddr, _ := snbridgeInProcess(t, e2eConfig, "--predefined", "../../configs/predefined.conf")
	sub := pahoClient(t, mqttAddr, "e2e-paho")

	t.Run("uplink at QoS 0, 1, 2", func(t *testing.T) {
		up := pahoSubscribe(t, sub, "up/#", 2)
		sn := snConnect(t, snAddr, client.Options{ClientID: "e2e-up", CleanSession: true})
		for _, qos := range []client.QoS{client.QoS0, client.QoS1, client.QoS2} {
			topic := fmt.Sprintf("up/q%d", qos)
			snPublish(t, sn, topic, qos, false, "hello "+topic)
			got := receive(t, up, topic)
			want := pahoMessage{topic, "hello " + topic, byte(qos), false}
			if got != want {
				t.Errorf("paho got %+v, want %+v", got, want)
			}
		}
	})

	t.Run("downlink at QoS 0, 1, 2", func(t *testing.T) {
		sn := snConnect(t, snAddr, client.Options{ClientID: "e2e-down", CleanSession: true})
		down := snSubscribe(t, sn, "down/#", client.QoS2) // wildcard: the gateway REGISTERs each topic
		capped := snSubscribe(t, sn, "capped", client.QoS1)
		for _, qos := range []byte{0, 1, 2} {
			topic := fmt.Sprintf("down/q%d", qos)
			pahoPublish(t, sub, topic, qos, false, "to "+topic)
			m := receive(t, down, topic)
			if m.Topic != topic || string(m.Payload) != "to "+topic || m.QoS != client.QoS(qos) || m.Retain {
				t.Errorf("mqtt-sn got %q %q %v retain=%v, want %q at QoS %d", m.Topic, m.Payload, m.QoS, m.Retain, topic, qos)
			}
		}
		// Delivery at min(published, granted).
		pahoPublish(t, sub, "capped", 2, false, "capped")
		if m := receive(t, capped, "capped"); m.QoS != client.QoS1 || string(m.Payload) != "capped" {
			t.Errorf("capped: got %q at %v, want QoS 1", m.Payload, m.QoS)
		}
	})

	t.Run("QoS -1 on predefined topics from the file and the YAML", func(t *testing.T) {
		pre := pahoSubscribe(t, sub, "sensors/announce", 1)
		yml := pahoSubscribe(t, sub, "yaml/predefined", 1)
		sn := snClient(t, snAddr, client.Options{ClientID: "e2e-qos-1", PredefinedTopics: map[string]uint16{"sensors/announce": 1, "yaml/predefined": 700}})
		snPublish(t, sn, "sensors/announce", client.QoSMinus1, false, "from the file")
		snPublish(t, sn, "yaml/predefined", client.QoSMinus1, false, "from the yaml")
		if got, want := receive(t, pre, "sensors/announce"), (pahoMessage{"sensors/announce", "from the file", 0, false}); got != want {
			t.Errorf("got %+v, want %+v", got, want)
		}
		if got, want := receive(t, yml, "yaml/predefined"), (pahoMessage{"yaml/predefined", "from the yaml", 0, false}); got != want {
			t.Errorf("got %+v, want %+v", got, want)
		}
	})

	t.Run("per-client predefined topics from the file, and a short topic", func(t *testing.T) {
		energy := pahoSubscribe(t, sub, "meters/0042/energy", 2)
		short := pahoSubscribe(t, sub, "zz", 2)
		sn := snConnect(t, snAddr, client.Options{ClientID: "meter-0042", CleanSession: true,
			PredefinedTopics: map[string]uint16{"meters/0042/energy": 100, "meters/0042/alarm": 101}})
		alarm := snSubscribe(t, sn, "meters/0042/alarm", client.QoS1)        // by predefined id 101
		snPublish(t, sn, "meters/0042/energy", client.QoS1, false, "42 kWh") // by predefined id 100
		if got, want := receive(t, energy, "per-client predefined publish"), (pahoMessage{"meters/0042/energy", "42 kWh", 1, false}); got != want {
			t.Errorf("got %+v, want %+v", got, want)
		}
		snPublish(t, sn, "zz", client.QoS1, false, "short")
		if got, want := receive(t, short, "short topic publish"), (pahoMessage{"zz", "short", 1, false}); got != want {
			t.Errorf("got %+v, want %+v", got, want)
		}
		pahoPublish(t, sub, "meters/0042/alarm", 1, false, "overload")
		m := receive(t, alarm, "per-client predefined subscription")
		if m.Topic != "meters/0042/alarm" || m.TopicIDType != packet.TopicIDPredefined || m.TopicID != 101 || string(m.Payload) != "overload" {
			t.Errorf("got %q (%v %d) %q", m.Topic, m.TopicIDType, m.TopicID, m.Payload)
		}
	})

	t.Run("retained both ways", func(t *testing.T) {
		sn := snConnect(t, snAddr, client.Options{ClientID: "e2e-retain", CleanSession: true})
		snPublish(t, sn, "ret/from-sn", client.QoS1, true, "kept by the broker")
		late := pahoClient(t, mqttAddr, "e2e-paho-late")
		got := receive(t, pahoSubscribe(t, late, "ret/from-sn", 1), "retained from MQTT-SN")
		if want := (pahoMessage{"ret/from-sn", "kept by the broker", 1, true}); got != want {
			t.Errorf("paho got %+v, want %+v", got, want)
		}
		pahoPublish(t, sub, "ret/from-paho", 1, true, "kept for sensors")
		m := receive(t, snSubscribe(t, sn, "ret/from-paho", client.QoS1), "retained from MQTT")
		if m.Topic != "ret/from-paho" || string(m.Payload) != "kept for sensors" || !m.Retain || m.QoS != client.QoS1 {
			t.Errorf("mqtt-sn got %q %q %v retain=%v", m.Topic, m.Payload, m.QoS, m.Retain)
		}
	})

	t.Run("retained messages on a wildcard subscription, REGISTERed first", func(t *testing.T) {
		pahoPublish(t, sub, "ret/wild/a", 1, true, "retained for a wildcard")
		sn := snConnect(t, snAddr, client.Options{ClientID: "e2e-retain-wild", CleanSession: true})
		m := receive(t, snSubscribe(t, sn, "ret/wild/#", client.QoS1), "retained on a wildcard subscription")
		// A normal topic id the client learnt from the gateway's REGISTER (§6.10), not a SUBACK.
		if m.Topic != "ret/wild/a" || !m.Retain || m.TopicIDType != packet.TopicIDNormal || m.TopicID == 0 {
			t.Errorf("mqtt-sn got %q (%v %d) retain=%v", m.Topic, m.TopicIDType, m.TopicID, m.Retain)
		}
	})

	t.Run("will changed with WILLTOPICUPD and WILLMSGUPD is the one published", func(t *testing.T) {
		wills := pahoSubscribe(t, sub, "willupd/#", 1)
		sn := snConnect(t, snAddr, client.Options{ClientID: "e2e-will-upd", KeepAlive: time.Second,
			Will: &client.Will{Topic: "willupd/first", Payload: []byte("first will")}})
		ctx, cancel := context.WithTimeout(context.Background(), waitFor)
		defer cancel()
		if err := sn.WillTopicUpdate(ctx, "willupd/second", client.QoS1, true); err != nil {
			t.Fatal(err)
		}
		if err := sn.WillMessageUpdate(ctx, []byte("second will")); err != nil {
			t.Fatal(err)
		}
		sn.Close() // silent: lost after keep-alive + 50 %
		got := receive(t, wills, "the updated will")
		if want := (pahoMessage{"willupd/second", "second will", 1, false}); got != want { // [MQTT-3.3.1-9]
			t.Errorf("paho got %+v, want %+v", got, want)
		}
		late := pahoSubscribe(t, pahoClient(t, mqttAddr, "e2e-will-late"), "willupd/#", 1)
		if got, want := receive(t, late, "the updated will, retained"), (pahoMessage{"willupd/second", "second will", 1, true}); got != want {
			t.Errorf("late paho got %+v, want %+v", got, want)
		}
		select {
		case m := <-wills:
			t.Errorf("a second will: %+v", m)
		case <-time.After(100 * time.Millisecond):
		}
	})

	t.Run("will published when the sensor is lost, not after DISCONNECT", func(t *testing.T) {
		wills := pahoSubscribe(t, sub, "will/#", 1)
		polite := snConnect(t, snAddr, client.Options{ClientID: "e2e-polite", KeepAlive: time.Second,
			Will: &client.Will{Topic: "will/polite", Payload: []byte("should not appear"), QoS: client.QoS1}})
		ctx, cancel := context.WithTimeout(context.Background(), waitFor)
		defer cancel()
		if err := polite.Disconnect(ctx); err != nil {
			t.Fatal(err)
		}
		lost := snConnect(t, snAddr, client.Options{ClientID: "e2e-lost", KeepAlive: time.Second,
			Will: &client.Will{Topic: "will/lost", Payload: []byte("sensor lost"), QoS: client.QoS1}})
		lost.Close() // silent from now on: the gateway's keep-alive supervision (1.5 s) gives up
		got := receive(t, wills, "will of the lost sensor")
		if want := (pahoMessage{"will/lost", "sensor lost", 1, false}); got != want {
			t.Errorf("paho got %+v, want %+v", got, want)
		}
	})
}

// A bad predefined-topics file stops snbridge before it serves, naming the file and line.
func TestGatewayBadPredefinedFile(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "predefined.conf")
	os.WriteFile(bad, []byte("*, a/b, 1\n*, c/d, 0\n"), 0o644)
	err := run(context.Background(), []string{"--mqtt", "127.0.0.1:0", "--mqttsn", "127.0.0.1:0", "--predefined", bad, "--data-dir", filepath.Join(dir, "data")}, io.Discard, io.Discard)
	if err == nil || !strings.Contains(err.Error(), bad+":2") {
		t.Fatalf("run with a bad predefined file: %v", err)
	}
	cfg := filepath.Join(dir, "c.yaml")
	os.WriteFile(cfg, []byte("mqttsn:\n  predefined:\n    - {client: \"*\", topic: \"a/b\", id: 2}\n"), 0o644)
	os.WriteFile(bad, []byte("*, a/b, 1\n"), 0o644)
	err = run(context.Background(), []string{"-c", cfg, "--mqtt", "127.0.0.1:0", "--mqttsn", "127.0.0.1:0", "--predefined", bad, "--data-dir", filepath.Join(dir, "data")}, io.Discard, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "mqttsn.predefined[0]") {
		t.Fatalf("run with a YAML entry clashing with the file: %v", err)
	}
}

func freeUDPPort(t *testing.T) string {
	t.Helper()
	c, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := c.LocalAddr().String()
	c.Close()
	return addr
}

// A sleeping sensor with a persistent session (CleanSession 0) keeps its buffered messages, its
// subscriptions and its topic registry across a restart of the snbridge process — stopped with
// SIGTERM, or killed with SIGKILL — and wakes to all of it with a PINGREQ carrying its client id
// (MQTT-SN §6.14), on the same data directory.
func TestSleepingSensorAcrossRestart(t *testing.T) {
	for _, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGKILL} {
		t.Run(sig.String(), func(t *testing.T) { sleepAcrossRestart(t, sig) })
	}
}

func sleepAcrossRestart(t *testing.T, sig syscall.Signal) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "snbridge.yaml")
	os.WriteFile(cfg, []byte("mqttsn:\n  advertise_interval: 0s\n  retry_interval: 1s\n"), 0o644)
	mqttAddr, snAddr := freePort(t), freeUDPPort(t)
	args := []string{"-c", cfg, "--mqtt", mqttAddr, "--mqttsn", snAddr, "--data-dir", filepath.Join(dir, "data")}
	d := startDaemon(t, args...)
	waitListening(t, d.logs.String, "mqttsn")

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	got := make(chan client.Message, 100)
	sleeper := snClient(t, snAddr, client.Options{ClientID: "sleeper", KeepAlive: time.Minute})
	if err := sleeper.Connect(ctx); err != nil {
		t.Fatal(err)
	}
	pub := pahoClient(t, mqttAddr, "sleep-paho")
	up := pahoSubscribe(t, pub, "sleep/up", 1)
	// The registry: an id the sensor registered for publishing, an id the gateway assigned in
	// SUBACK; and a wildcard subscription whose topics the gateway will REGISTER.
	snPublish(t, sleeper, "sleep/up", client.QoS1, false, "before")
	receive(t, up, "publish before sleeping")
	for filter, qos := range map[string]client.QoS{"sleep/named": client.QoS1, "sleep/wild/#": client.QoS2} {
		if _, err := sleeper.Subscribe(ctx, filter, qos, func(m client.Message) { got <- m }); err != nil {
			t.Fatal(err)
		}
	}
	if err := sleeper.Sleep(ctx, 10*time.Minute); err != nil {
		t.Fatal(err)
	}

	type msg struct {
		topic, payload string
		qos            client.QoS
	}
	sent := []msg{
		{"sleep/named", "named at QoS 1", 1},
		{"sleep/wild/two", "wild at QoS 2", 2},
		{"sleep/wild/one", "wild at QoS 1", 1},
		{"sleep/named", "named at QoS 0", 0},
		{"sleep/wild/zero", "wild at QoS 0", 0},
	}
	for _, m := range sent {
		pahoPublish(t, pub, m.topic, byte(m.qos), false, m.payload)
	}
	select {
	case m := <-got:
		t.Fatalf("asleep, yet received %q", m.Payload)
	case <-time.After(200 * time.Millisecond):
	}
	pub.Disconnect(50)

	err := d.stop(t, sig)
	if sig == syscall.SIGTERM && err != nil {
		t.Fatalf("exit after SIGTERM: %v; log:\n%s", err, d.logs.String())
	}
	d2 := startDaemon(t, args...)
	waitListening(t, d2.logs.String, "mqttsn")

	if err := sleeper.Poll(ctx); err != nil {
		t.Fatalf("wake after the restart: %v; log:\n%s", err, d2.logs.String())
	}
	var woke []msg
	for len(got) > 0 {
		m := <-got
		woke = append(woke, msg{m.Topic, string(m.Payload), m.QoS})
	}
	if !slices.Equal(woke, sent) {
		t.Errorf("woken after the restart to\n%+v\nwant\n%+v", woke, sent)
	}

	// Awake again: the id registered before the restart still names sleep/up (a QoS 0 PUBLISH
	// with an unknown id would be dropped), and the subscriptions still deliver.
	if err := sleeper.Wake(ctx); err != nil {
		t.Fatal(err)
	}
	pub2 := pahoClient(t, mqttAddr, "sleep-paho-2")
	up2 := pahoSubscribe(t, pub2, "sleep/up", 1)
	snPublish(t, sleeper, "sleep/up", client.QoS0, false, "after")
	if m := receive(t, up2, "publish with the id registered before the restart"); m.payload != "after" {
		t.Errorf("got %+v", m)
	}
	pahoPublish(t, pub2, "sleep/named", 1, false, "awake")
	if m := receive(t, got, "subscription kept across the restart"); m.Topic != "sleep/named" || string(m.Payload) != "awake" {
		t.Errorf("got %q %q", m.Topic, m.Payload)
	}
}

// The load generator of make bench-gateway against run(), small: every message arrives, at QoS 0
// and QoS 1, and every client connects, with a socket each and behind the forwarder
// encapsulation.
func TestGatewayBenchLoads(t *testing.T) {
	noLeaks(t)
	mqttAddr, snAddr, _ := snbridgeInProcess(t, e2eConfig)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for _, cfg := range []gwbench.FlowConfig{
		{Clients: 5, Messages: 200, QoS: 0, SubscriberQoS: -1, Rate: 2000},
		{Clients: 5, Messages: 200, QoS: 1, SubscriberQoS: -1},
		{Clients: 5, Messages: 200, QoS: 1, SubscriberQoS: 0},
	} {
		cfg.Gateway, cfg.Broker = snAddr, mqttAddr
		r, err := gwbench.RunFlow(ctx, cfg)
		if err != nil {
			t.Fatalf("%v: %v", r, err)
		}
		if r.Delivered != 1000 || r.Lost() != 0 || r.Duplicates != 0 || r.P99 <= 0 || r.PerSecond() <= 0 {
			t.Errorf("want all 1000 messages once: %v", r)
		}
	}
	for _, fwd := range []bool{false, true} {
		sw, r, err := gwbench.Connect(ctx, gwbench.ConnectConfig{Gateway: snAddr, Clients: 200, Workers: 4, Forwarder: fwd})
		sw.Close()
		if err != nil || r.Connected != 200 {
			t.Errorf("forwarder %v: %v, %v", fwd, r, err)
		}
	}
}

// The broker's ACLs apply to sensors (anonymous local clients): a denied publish is answered
// with PUBACK "not supported" (0x03, the adapter's translation of broker.ErrNotAuthorized) and
// does not reach subscribers; a denied subscription gets SUBACK 0x03.
func TestGatewayACL(t *testing.T) {
	noLeaks(t)
	acl := filepath.Join(t.TempDir(), "acl")
	os.WriteFile(acl, []byte("topic readwrite sensors/#\ntopic read app/#\n"), 0o644)
	mqttAddr, snAddr, _ := snbridgeInProcess(t, e2eConfig+"auth:\n  acl_file: "+acl+"\n")
	watcher := pahoClient(t, mqttAddr, "acl-watcher")
	denied := pahoSubscribe(t, watcher, "forbidden/#", 1)
	allowed := pahoSubscribe(t, watcher, "sensors/#", 1)

	sn := snConnect(t, snAddr, client.Options{ClientID: "acl-sensor", CleanSession: true})
	ctx, cancel := context.WithTimeout(context.Background(), waitFor)
	defer cancel()
	if err := sn.Publish(ctx, "forbidden/x", []byte("no"), client.QoS1, false); !errors.Is(err, packet.NotSupported) {
		t.Fatalf("publish to a denied topic: %v, want PUBACK %v", err, packet.NotSupported)
	}
	if _, err := sn.Subscribe(ctx, "forbidden/#", client.QoS1, nil); !errors.Is(err, packet.NotSupported) {
		t.Fatalf("subscribe to a denied filter: %v, want SUBACK %v", err, packet.NotSupported)
	}
	snPublish(t, sn, "sensors/ok", client.QoS1, false, "yes")
	if m := receive(t, allowed, "allowed publish"); m.payload != "yes" {
		t.Fatalf("got %+v", m)
	}
	select {
	case m := <-denied:
		t.Fatalf("a denied publish reached a subscriber: %+v", m)
	default:
	}
}

// --mqttsn off runs the broker alone; an MQTT-SN address in use stops snbridge with an error
// naming the listener, before anything is served.
func TestGatewayOffAndAddressInUse(t *testing.T) {
	noLeaks(t)
	dir := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	logs := &syncBuffer{}
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"--mqtt", "127.0.0.1:0", "--mqttsn", "off", "--data-dir", filepath.Join(dir, "data")}, io.Discard, logs)
	}()
	waitListening(t, logs.String, "mqtt")
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("run: %v", err)
	}
	if strings.Contains(logs.String(), "listener=mqttsn") || strings.Contains(logs.String(), "mqtt-sn gateway serving") {
		t.Fatalf("--mqttsn off started the gateway:\n%s", logs.String())
	}

	busy, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	err = run(context.Background(), []string{"--mqtt", "127.0.0.1:0", "--mqttsn", busy.LocalAddr().String(), "--data-dir", filepath.Join(dir, "data")}, io.Discard, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "mqtt-sn listener") {
		t.Fatalf("run with the MQTT-SN address in use: %v", err)
	}
}

// The mqttsn section of the config file reaches the gateway: gateway_id and the ADVERTISE
// interval and address (§6.1, on a broadcast address), keepalive_max_idle (E22) and
// limits.max_connections (CONNACK 0x01 "congestion" past it).
func TestGatewayConfigApplied(t *testing.T) {
	noLeaks(t)
	adv, err := net.ListenPacket("udp4", "127.255.255.255:0") // the loopback broadcast address
	if err != nil {
		t.Fatal(err)
	}
	defer adv.Close()
	config := fmt.Sprintf(`
limits:
  max_connections: 2
mqttsn:
  gateway_id: 42
  advertise_interval: 1s
  advertise_address: %s
  keepalive_max_idle: 1s
  retry_interval: 1s
`, adv.LocalAddr())
	mqttAddr, snAddr, _ := snbridgeInProcess(t, config)
	ctx, cancel := context.WithTimeout(context.Background(), 2*waitFor)
	defer cancel()

	t.Run("ADVERTISE and GWINFO carry gateway_id", func(t *testing.T) {
		buf := make([]byte, 64)
		for range 2 { // the first at once, the next one advertise_interval later
			adv.SetReadDeadline(time.Now().Add(waitFor))
			n, _, err := adv.ReadFrom(buf)
			if err != nil {
				t.Fatalf("no ADVERTISE on %s: %v", adv.LocalAddr(), err)
			}
			if got, want := buf[:n], []byte{0x05, 0x00, 42, 0x00, 0x01}; !slices.Equal(got, want) {
				t.Fatalf("ADVERTISE % x, want % x (gw 42, 1 s)", got, want)
			}
		}
		info, err := snClient(t, snAddr, client.Options{}).SearchGateway(ctx, 1)
		if err != nil || info.GatewayID != 42 {
			t.Fatalf("SearchGateway: %+v, %v", info, err)
		}
	})

	t.Run("keepalive_max_idle", func(t *testing.T) {
		err := snClient(t, snAddr, client.Options{ClientID: "idle-long", KeepAlive: 2 * time.Second}).Connect(ctx)
		if !errors.Is(err, packet.NotSupported) {
			t.Fatalf("CONNECT with a keep-alive above keepalive_max_idle: %v, want CONNACK %v", err, packet.NotSupported)
		}
		wills := pahoSubscribe(t, pahoClient(t, mqttAddr, "idle-watcher"), "will/#", 1)
		silent := snClient(t, snAddr, client.Options{ClientID: "idle-zero", KeepAlive: -1,
			Will: &client.Will{Topic: "will/idle-zero", Payload: []byte("silent too long")}})
		if err := silent.Connect(ctx); err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		silent.Close() // keep-alive 0, and silent: held to keepalive_max_idle (1 s + 50 %)
		if m := receive(t, wills, "will of the keep-alive-0 sensor"); m.topic != "will/idle-zero" {
			t.Errorf("got %+v", m)
		}
		if d := time.Since(start); d < 1400*time.Millisecond {
			t.Errorf("lost after %v, before keepalive_max_idle + 50%%", d)
		}
	})

	t.Run("max_connections answered with congestion", func(t *testing.T) {
		for _, id := range []string{"one", "two"} {
			snConnect(t, snAddr, client.Options{ClientID: id, KeepAlive: time.Second})
		}
		err := snClient(t, snAddr, client.Options{ClientID: "three", KeepAlive: time.Second}).Connect(ctx)
		if !errors.Is(err, packet.Congestion) {
			t.Fatalf("third sensor: %v, want CONNACK %v", err, packet.Congestion)
		}
	})
}

// The will of a persistent sleeper survives a restart of snbridge (§6.3, §6.14): published when
// its sleep timer ran out while snbridge was down, whether it comes back or never does, and when
// it comes back in time but then sleeps past its timer.
func TestSleeperWillAcrossRestart(t *testing.T) {
	noLeaks(t)
	dir := t.TempDir()
	cfg := filepath.Join(dir, "snbridge.yaml")
	os.WriteFile(cfg, []byte("mqttsn:\n  advertise_interval: 0s\n  retry_interval: 1s\n"), 0o644)
	mqttAddr, snAddr := freePort(t), freeUDPPort(t)
	args := []string{"-c", cfg, "--mqtt", mqttAddr, "--mqttsn", snAddr, "--data-dir", filepath.Join(dir, "data"), "--log-level", "debug"}
	_, stop := runInProcess(t, args)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	sleeper := func(id string, d time.Duration) *client.Client {
		c := snClient(t, snAddr, client.Options{ClientID: id, Will: &client.Will{Topic: "will/" + id, Payload: []byte(id + " lost"), QoS: client.QoS1, Retain: true}})
		if err := c.Connect(ctx); err != nil {
			t.Fatal(err)
		}
		if err := c.Sleep(ctx, d); err != nil {
			t.Fatal(err)
		}
		return c
	}
	late := sleeper("late", time.Second)           // lost after 1.5 s (2.5 s at most): while snbridge is down
	punctual := sleeper("punctual", 6*time.Second) // lost after 9 s: after it came back once
	sleeper("absent", time.Second)                 // never comes back (its will is retained: it may come before the watcher subscribes)
	slept := time.Now()
	stop()
	time.Sleep(time.Until(slept.Add(3 * time.Second)))
	runInProcess(t, args)
	wills := pahoSubscribe(t, pahoClient(t, mqttAddr, "will-watcher"), "will/#", 1)

	if err := punctual.Poll(ctx); err != nil {
		t.Fatalf("punctual sleeper after the restart: %v", err)
	}
	if err := late.Poll(ctx); !errors.Is(err, client.ErrGatewayDisconnect) {
		t.Fatalf("late sleeper after the restart: %v, want ErrGatewayDisconnect (lost meanwhile)", err)
	}
	got := map[string]string{}
	for timeout := time.After(20 * time.Second); len(got) < 3; {
		select {
		case m := <-wills:
			got[m.topic] = m.payload
		case <-timeout:
			t.Fatalf("wills received: %v, want the three sleepers'", got)
		}
	}
	if got["will/late"] != "late lost" || got["will/punctual"] != "punctual lost" || got["will/absent"] != "absent lost" {
		t.Fatalf("wills %v", got)
	}
	if d := time.Since(slept); d < 9*time.Second {
		t.Errorf("punctual sleeper lost %v after it slept, before its sleep timer (renewed at its PINGRESP)", d)
	}
}

// A sensor's QoS 1 PUBLISH to a TCP subscriber whose queue is full: the gateway's PUBACK waits
// for the broker's acknowledgement (publisher backpressure), while the gateway keeps serving
// other sensors; once the subscriber makes room, the PUBACK comes and the message is delivered.
func TestGatewayPublishHeldByFullSubscriber(t *testing.T) {
	noLeaks(t)
	const config = e2eConfig + `
limits:
  max_inflight: 1
  max_queued: 1
  admission_wait: 1m
`
	mqttAddr, snAddr, _ := snbridgeInProcess(t, config)
	sub, _ := dialMQTT(t, mqttAddr, "full-sub", true)
	sub.send(&mqttpacket.Subscribe{PacketID: 1, Subscriptions: []mqttpacket.Subscription{{Filter: "held/#", QoS: 1}}})
	sub.expect()
	pub := pahoClient(t, mqttAddr, "filler")
	pahoPublish(t, pub, "held/t", 1, false, "in flight")
	pahoPublish(t, pub, "held/t", 1, false, "queued")

	sensor := snConnect(t, snAddr, client.Options{ClientID: "held-sensor", CleanSession: true, RetryInterval: 30 * time.Second})
	published := make(chan error, 1)
	go func() {
		published <- sensor.Publish(context.Background(), "held/t", []byte("from the sensor"), client.QoS1, false)
	}()
	// The gateway is not stuck behind the held acknowledgement: other sensors are served.
	for i := range 4 {
		other := snConnect(t, snAddr, client.Options{ClientID: fmt.Sprint("other-", i), CleanSession: true})
		ctx, cancel := context.WithTimeout(context.Background(), waitFor)
		if err := other.Ping(ctx); err != nil {
			t.Fatalf("another sensor's PINGREQ while a PUBACK is held: %v", err)
		}
		cancel()
	}
	select {
	case err := <-published:
		t.Fatalf("sensor's PUBLISH acknowledged (%v) while the subscriber's queue is full", err)
	default:
	}
	var got []string
	for len(got) < 3 {
		p, ok := sub.expect().(*mqttpacket.Publish)
		if !ok {
			continue
		}
		got = append(got, string(p.Payload))
		sub.send(&mqttpacket.Puback{PacketID: p.PacketID})
	}
	if err := receive(t, published, "the sensor's PUBACK"); err != nil {
		t.Fatalf("sensor's PUBLISH: %v", err)
	}
	if fmt.Sprint(got) != "[in flight queued from the sensor]" {
		t.Fatalf("subscriber got %q", got)
	}
}
