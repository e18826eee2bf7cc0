package gateway

import (
	"context"
	"sync"
	"testing"
	"time"

	snclient "snbridge/mqttsn/client"
	"snbridge/mqttsn/topics"
)

// TestWithClientLibrary runs the project's MQTT-SN client against the gateway over loopback UDP:
// connect with will, publish at every QoS, subscribe with a wildcard (gateway REGISTER), short
// and predefined topics, sleep and poll for buffered messages.
func TestWithClientLibrary(t *testing.T) {
	b := newFakeBroker()
	pre := &topics.PredefinedTable{}
	pre.Add("*", "pre/cmd", 40)
	cfg := Config{}
	cfg.Predefined = pre
	tg := startGateway(t, cfg, b)
	app := newApp(b, "app", "lib/up/#", "ab")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	var mu sync.Mutex
	var got []string
	gotCh := make(chan struct{}, 16)
	handler := func(m snclient.Message) {
		mu.Lock()
		got = append(got, m.Topic+"="+string(m.Payload))
		mu.Unlock()
		gotCh <- struct{}{}
	}
	c, err := snclient.Dial(ctx, "udp", tg.addr.String(), snclient.Options{
		ClientID: "lib-1", KeepAlive: time.Minute, CleanSession: true, RetryInterval: time.Second,
		Will:             &snclient.Will{Topic: "lib/up/will", Payload: []byte("bye"), QoS: 1},
		PredefinedTopics: map[string]uint16{"pre/cmd": 40},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Connect(ctx); err != nil {
		t.Fatal(err)
	}
	for q := snclient.QoS(0); q <= 2; q++ {
		if err := c.Publish(ctx, "lib/up/t", []byte{'0' + byte(q)}, q, false); err != nil {
			t.Fatalf("publish QoS %d: %v", q, err)
		}
		if m := recvApp(t, app); m.Topic != "lib/up/t" || m.QoS != byte(q) {
			t.Errorf("QoS %d arrived as %+v", q, m)
		}
	}
	if err := c.Publish(ctx, "ab", []byte("short"), 1, false); err != nil {
		t.Fatal(err)
	}
	if m := recvApp(t, app); m.Topic != "ab" {
		t.Errorf("short topic arrived as %+v", m)
	}
	if _, err := c.Subscribe(ctx, "lib/down/#", 1, handler); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Subscribe(ctx, "pre/cmd", 1, handler); err != nil {
		t.Fatal(err)
	}
	app.c.Publish(Message{Topic: "lib/down/x", Payload: []byte("1"), QoS: 1}, nil)
	app.c.Publish(Message{Topic: "pre/cmd", Payload: []byte("2"), QoS: 0}, nil)
	for i := 0; i < 2; i++ {
		select {
		case <-gotCh:
		case <-ctx.Done():
			t.Fatalf("handler got %v", got)
		}
	}
	if err := c.Sleep(ctx, 5*time.Minute); err != nil {
		t.Fatal(err)
	}
	app.c.Publish(Message{Topic: "lib/down/y", Payload: []byte("3"), QoS: 1}, nil)
	app.c.Publish(Message{Topic: "lib/down/y", Payload: []byte("4"), QoS: 0}, nil)
	if err := c.Poll(ctx); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	want := []string{"lib/down/x=1", "pre/cmd=2", "lib/down/y=3", "lib/down/y=4"}
	if len(got) != len(want) {
		t.Errorf("handler got %v, want %v", got, want)
	} else {
		for i := range want {
			if got[i] != want[i] {
				t.Errorf("handler got %v, want %v", got, want)
				break
			}
		}
	}
	mu.Unlock()
	if err := c.Connect(ctx); err != nil { // back to active from asleep (E14)
		t.Fatal(err)
	}
	if err := c.Disconnect(ctx); err != nil {
		t.Fatal(err)
	}
	waitStats(t, tg.g, func(st Stats) bool { return st.Clients == 0 })
}
