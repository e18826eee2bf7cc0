package broker

import (
	"context"
	"testing"
	"testing/synctest"
	"time"

	"snbridge/mqtt/store"
)

func TestSysTopics(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b, err := New(Options{Store: store.NewMemory(), Version: "1.2.3", Logger: testLogger(t)})
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		served := make(chan error)
		go func() { served <- b.Serve(ctx) }()
		<-b.Ready()
		synctest.Wait()

		all := &localRecorder{}
		hash, _, _ := b.ConnectLocal(LocalOptions{ClientID: "hash", CleanSession: true}, all)
		hash.Subscribe("#", 0)
		rec := &localRecorder{}
		sys, _, _ := b.ConnectLocal(LocalOptions{ClientID: "sys", CleanSession: true}, rec)
		sys.Subscribe("$SYS/broker/#", 0)
		pub, _, _ := b.ConnectLocal(LocalOptions{ClientID: "pub", CleanSession: true}, &localRecorder{})
		publishSync(t, pub, Message{Topic: "r", Payload: []byte("x"), Retain: true})

		time.Sleep(10 * time.Second)
		synctest.Wait()
		latest := map[string]Message{}
		msgs, _ := rec.got()
		for _, m := range msgs {
			latest[m.Topic] = m
		}
		want := map[string]string{
			"$SYS/broker/version":                   "snbridge 1.2.3",
			"$SYS/broker/uptime":                    "10 seconds",
			"$SYS/broker/clients/connected":         "3",
			"$SYS/broker/clients/total":             "3",
			"$SYS/broker/clients/maximum":           "3",
			"$SYS/broker/retained messages/count":   "1",
			"$SYS/broker/subscriptions/count":       "2",
			"$SYS/broker/publish/messages/received": "1",
			"$SYS/broker/store/messages/count":      "1",
		}
		for topic, v := range want {
			if got := string(latest[topic].Payload); got != v {
				t.Errorf("%s = %q, want %q", topic, got, v)
			}
		}
		for _, name := range []string{"clients/disconnected", "messages/received", "messages/sent",
			"publish/messages/sent", "publish/messages/dropped", "bytes/received", "bytes/sent", "store/messages/bytes"} {
			if _, ok := latest["$SYS/broker/"+name]; !ok {
				t.Errorf("$SYS/broker/%s not published", name)
			}
		}
		// Retained: a late subscriber gets them at once.
		late := &localRecorder{}
		lc, _, _ := b.ConnectLocal(LocalOptions{ClientID: "late", CleanSession: true}, late)
		lc.Subscribe("$SYS/broker/uptime", 0)
		if m, _ := late.got(); len(m) != 1 || !m[0].Retain {
			t.Fatalf("late subscriber: %+v", m)
		}
		if m, _ := all.got(); len(m) != 1 || m[0].Topic != "r" {
			t.Fatalf("'#' subscriber got %d messages; $SYS must not match '#'", len(m))
		}
		cancel()
		if err := <-served; err != nil {
			t.Fatal(err)
		}
	})
}
