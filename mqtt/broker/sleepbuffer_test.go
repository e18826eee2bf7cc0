package broker

import (
	"context"
	"fmt"
	"testing"

	"snbridge/mqtt/store"
)

// A sleeping MQTT-SN sensor is a suspended persistent session with QueueQoS0: its buffer keeps
// QoS 0 messages too, and like the rest of its queue they survive a restart (MQTT-SN §6.14).
// Once delivered they are gone from the store: a further restart does not deliver them again.
func TestSleepBufferQoS0SurvivesRestart(t *testing.T) {
	dir := t.TempDir()
	restart := func(b *Broker, st store.Store) {
		t.Helper()
		if err := b.Shutdown(context.Background()); err != nil {
			t.Fatal(err)
		}
		if err := st.Close(); err != nil {
			t.Fatal(err)
		}
	}
	open := func() (*Broker, store.Store) {
		t.Helper()
		st, err := store.Open(dir, store.Options{})
		if err != nil {
			t.Fatal(err)
		}
		b, _ := startBroker(t, Options{Store: st})
		return b, st
	}
	opts := LocalOptions{ClientID: "sleeper", QueueQoS0: true}

	b, st := open()
	lc, _, _ := b.ConnectLocal(opts, &localRecorder{})
	lc.Subscribe("s/#", 1)
	lc.Suspend()
	pub, _, _ := b.ConnectLocal(LocalOptions{ClientID: "pub", CleanSession: true}, &localRecorder{})
	for i := range 4 {
		publishSync(t, pub, Message{Topic: "s/x", Payload: []byte(fmt.Sprint(i)), QoS: byte(i % 2)})
	}
	restart(b, st)

	b, st = open()
	rec := &localRecorder{}
	lc, present, _ := b.ConnectLocal(opts, rec)
	if !present {
		t.Fatal("session not present after restart")
	}
	msgs, pids := rec.got()
	if got := fmt.Sprint(payloads(msgs)); got != "[0 1 2 3]" {
		t.Fatalf("after restart the sleeper got %v, want [0 1 2 3]", got)
	}
	for _, pid := range pids {
		if pid != 0 {
			lc.Ack(pid)
		}
	}
	lc.Suspend()
	restart(b, st)

	b, st = open()
	rec = &localRecorder{}
	b.ConnectLocal(opts, rec)
	if msgs, _ := rec.got(); len(msgs) != 0 {
		t.Fatalf("delivered and acknowledged messages came back after a second restart: %v", payloads(msgs))
	}
	restart(b, st)
}

func payloads(msgs []Message) []string {
	var out []string
	for _, m := range msgs {
		out = append(out, string(m.Payload))
	}
	return out
}

// QueueQoS0 is kept with a persistent session: restored after a restart, a sleeping client
// that has not come back yet still has its QoS 0 messages buffered (MQTT-SN §6.14).
func TestQueueQoS0SurvivesRestart(t *testing.T) {
	st := store.NewMemory()
	b1, err := New(Options{Store: st, Logger: testLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	sensor, _, _ := b1.ConnectLocal(LocalOptions{ClientID: "sensor", CleanSession: false, QueueQoS0: true}, &localRecorder{})
	sensor.Subscribe("cmd", 0)
	sensor.Suspend() // asleep
	b1.Shutdown(context.Background())

	b2, err := New(Options{Store: st, Logger: testLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	defer b2.Shutdown(context.Background())
	pub, _, _ := b2.ConnectLocal(LocalOptions{ClientID: "app", CleanSession: true}, &localRecorder{})
	publishSync(t, pub, Message{Topic: "cmd", Payload: []byte("wake up")})
	rec := &localRecorder{}
	sensor2, _, _ := b2.ConnectLocal(LocalOptions{ClientID: "sensor", CleanSession: false, QueueQoS0: true}, rec)
	defer sensor2.Disconnect()
	msgs, _ := rec.got()
	if len(msgs) != 1 || string(msgs[0].Payload) != "wake up" {
		t.Fatalf("sensor got %v after the restart, want the QoS 0 message buffered while it slept", msgs)
	}
}
