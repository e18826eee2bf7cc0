package simulator

import (
	"context"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"snbridge/simulator/check"
	"snbridge/simulator/report"
	"snbridge/simulator/scenario"
	"snbridge/simulator/simtest"
)

// hubObserver adapts the in-memory hub to the Observer interface.
type hubObserver struct{ h *simtest.Hub }

func (o hubObserver) Subscribe(filters []string, handler func(string, []byte)) error {
	return o.h.SubscribeFilters(filters, handler)
}
func (o hubObserver) Publish(topic string, qos byte, payload []byte, done func(error)) {
	done(o.h.Publish(topic, qos, false, payload))
}
func (o hubObserver) Err() error   { return nil }
func (o hubObserver) Close() error { return nil }

func runFake(t *testing.T, yaml string, faults simtest.Faults) *report.Report {
	t.Helper()
	sc, err := scenario.Parse([]byte(yaml))
	if err != nil {
		t.Fatal(err)
	}
	sc.Name = t.Name()
	hub := simtest.NewHub()
	gw, err := simtest.StartFakeGateway(hub, map[uint16]string{1: "site/meters/energy"}, faults)
	if err != nil {
		t.Fatal(err)
	}
	defer gw.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	rep, err := Run(ctx, sc, Options{Gateway: gw.Addr(), Observer: hubObserver{hub}, RetryInterval: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	return rep
}

func streamOf(r *report.Report, dir check.Direction, qos int) check.StreamSummary {
	for _, s := range r.Streams {
		if s.Direction == dir && s.QoS == qos {
			return s
		}
	}
	return check.StreamSummary{}
}

func summary(r *report.Report) string {
	var b strings.Builder
	_ = report.WriteSummary(&b, r)
	return b.String()
}

const everyQoS = `
drain: 500ms
groups:
  - {name: q0, count: 5, client_id: "q0-{index}", publish: {topic: "t/{group}/{id}", qos: 0, interval: 20ms, messages: 10}}
  - {name: q1, count: 5, client_id: "q1-{index}", publish: {topic: "t/{group}/{id}", qos: 1, interval: 20ms, messages: 10}}
  - {name: q2, count: 5, client_id: "q2-{index}", publish: {topic: "t/{group}/{id}", qos: 2, interval: 20ms, messages: 10}}
`

func TestEveryQoSOnACleanLinkPasses(t *testing.T) {
	defer goleak.VerifyNone(t)
	r := runFake(t, everyQoS, simtest.Faults{})
	if !r.Passed() || r.Connected != 15 {
		t.Fatalf("verdict:\n%s", summary(r))
	}
	for q := 0; q <= 2; q++ {
		s := streamOf(r, check.Uplink, q)
		if s.Counts.Sent != 50 || s.Counts.Delivered != 50 || s.Counts.Duplicates != 0 {
			t.Errorf("QoS %d: %+v", q, s.Counts)
		}
		if q > 0 && s.Counts.Acked != 50 {
			t.Errorf("QoS %d acked %d", q, s.Counts.Acked)
		}
	}
}

func TestGatewayLosingAcknowledgedQoS1Fails(t *testing.T) {
	defer goleak.VerifyNone(t)
	r := runFake(t, everyQoS, simtest.Faults{DropAckedQoS1Every: 7})
	s := streamOf(r, check.Uplink, 1)
	if r.Passed() || s.Pass || s.Counts.LostAcked != 7 {
		t.Fatalf("a gateway dropping every 7th acknowledged QoS 1 message passed:\n%s", summary(r))
	}
	if !strings.Contains(strings.Join(r.Violations, "\n"), "group q1, uplink QoS 1: 7 acknowledged messages never delivered") {
		t.Fatalf("violations %q", r.Violations)
	}
}

func TestGatewayDuplicatingQoS2Fails(t *testing.T) {
	defer goleak.VerifyNone(t)
	r := runFake(t, everyQoS, simtest.Faults{DuplicateQoS2: true})
	if s := streamOf(r, check.Uplink, 2); r.Passed() || s.Counts.Duplicates != 50 {
		t.Fatalf("a gateway duplicating QoS 2 passed:\n%s", summary(r))
	}
	if !streamOf(r, check.Uplink, 1).Pass {
		t.Fatal("QoS 1 was blamed for QoS 2's duplicates")
	}
}

func TestLossyLinkRetriesKeepQoS1And2Whole(t *testing.T) {
	defer goleak.VerifyNone(t)
	r := runFake(t, `
drain: 1s
seed: 3
groups:
  - {name: q0, count: 20, publish: {topic: "l/{id}", qos: 0, interval: 30ms, messages: 10}, impair: {loss: 10%, duplicate: 10%}}
  - {name: q1, count: 20, publish: {topic: "l/{id}", qos: 1, interval: 30ms, messages: 10}, impair: {loss: 10%, duplicate: 10%}}
  - {name: q2, count: 20, publish: {topic: "l/{id}", qos: 2, interval: 30ms, messages: 10}, impair: {loss: 10%, duplicate: 10%}}
`, simtest.Faults{})
	if !r.Passed() {
		t.Fatalf("verdict:\n%s", summary(r))
	}
	q0, q1, q2 := streamOf(r, check.Uplink, 0), streamOf(r, check.Uplink, 1), streamOf(r, check.Uplink, 2)
	if q1.Counts.Acked+q1.Counts.Failed < 195 || q1.Counts.LostAcked != 0 || q2.Counts.Duplicates != 0 {
		t.Fatalf("QoS 1 %+v QoS 2 %+v", q1.Counts, q2.Counts)
	}
	if q0.Counts.Lost == 0 || r.Link.Lost == 0 || r.Link.Duplicated == 0 {
		t.Fatalf("the link did not impair: QoS 0 %+v link %+v", q0.Counts, r.Link)
	}
}

func TestSleepingActuatorsReceiveEveryCommand(t *testing.T) {
	defer goleak.VerifyNone(t)
	r := runFake(t, `
duration: 3s
drain: 1s
groups:
  - name: valve
    count: 10
    client_id: "valve-{index}"
    clean_session: false
    will: {topic: "v/{id}/status", message: "offline"}
    subscriptions: [{topic: "v/{id}/cmd", qos: 1, command_rate: 20/s}]
    sleep: {awake: 300ms, duration: 1s, wake: pingreq}
  - name: pump
    count: 4
    subscriptions: [{topic: "p/{id}/cmd", qos: 2, command_rate: 10/s}]
    sleep: {awake: 200ms, duration: 1s, wake: connect}
    publish: {topic: "p/{id}/flow", qos: 1, interval: 100ms}
`, simtest.Faults{})
	if !r.Passed() {
		t.Fatalf("verdict:\n%s", summary(r))
	}
	d1, d2 := streamOf(r, check.Downlink, 1), streamOf(r, check.Downlink, 2)
	if d1.Counts.Sent < 30 || d1.Counts.Delivered != d1.Counts.Sent || d2.Counts.Sent < 10 || d2.Counts.Delivered != d2.Counts.Sent {
		t.Fatalf("commands: QoS 1 %+v QoS 2 %+v\n%s", d1.Counts, d2.Counts, summary(r))
	}
	if up := streamOf(r, check.Uplink, 1); up.Counts.Delivered == 0 || up.Counts.Delivered != up.Counts.Sent {
		t.Fatalf("pumps' publishes: %+v", up.Counts)
	}
}

func TestForwarderAndTopicTypes(t *testing.T) {
	defer goleak.VerifyNone(t)
	r := runFake(t, `
drain: 500ms
groups:
  - {name: fw, count: 30, forwarder: {sensors_per_socket: 10}, publish: {topic: "f/{group}/{id}", qos: 1, interval: 20ms, messages: 5, payload_template: '{"seq":{seq}}'},
     subscriptions: [{topic: "f/{id}/cmd", qos: 1, command_rate: 100/s, commands: 2}]}
  - {name: meter, count: 3, publish: {topic: "site/meters/energy", topic_id_type: predefined, topic_id: 1, qos: -1, interval: 20ms, messages: 5}}
  - {name: beacon, count: 3, client_id: "bc{index}", publish: {topic: "b{index}", topic_id_type: short, qos: 0, interval: 20ms, messages: 5}}
`, simtest.Faults{})
	if !r.Passed() {
		t.Fatalf("verdict:\n%s", summary(r))
	}
	for q, want := range map[int]uint64{1: 150, -1: 15, 0: 15} {
		if s := streamOf(r, check.Uplink, q); s.Counts.Delivered != want || s.Counts.Duplicates != 0 || s.Counts.Phantom != 0 {
			t.Errorf("QoS %d: %+v, want %d delivered", q, s.Counts, want)
		}
	}
	// The commands' topics match the uplink filter f/+/+: the observer sees them and must not
	// take them for publishes.
	if d := streamOf(r, check.Downlink, 1); d.Counts.Delivered != 60 || r.Foreign < 60 {
		t.Errorf("commands %+v, foreign %d", d.Counts, r.Foreign)
	}
	if r.Connected != 33 {
		t.Errorf("connected %d, want 33 (QoS −1 sensors never connect)", r.Connected)
	}
}

func TestNoGatewayIsAnError(t *testing.T) {
	defer goleak.VerifyNone(t)
	sc, _ := scenario.Parse([]byte("drain: 100ms\ngroups: [{name: a, count: 2, publish: {topic: t, qos: 1, interval: 10ms, messages: 1}}]\n"))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	// A port nobody listens on: every CONNECT times out.
	r, err := Run(ctx, sc, Options{Gateway: "127.0.0.1:9", Observer: hubObserver{simtest.NewHub()},
		RetryInterval: 20 * time.Millisecond, Retries: 1, ConnectRounds: 1})
	if err != nil {
		t.Fatal(err)
	}
	if r.Passed() || !strings.Contains(strings.Join(r.Errors, "\n"), "2 sensors never connected") {
		t.Fatalf("errors %q", r.Errors)
	}
	if _, err := Run(ctx, sc, Options{Gateway: "not an address", Observer: hubObserver{simtest.NewHub()}}); err == nil {
		t.Fatal("bad gateway address accepted")
	}
}

func TestFilterOf(t *testing.T) {
	cases := map[string]string{"site/{group}/{id}/temp": "site/+/+/temp", "a/b": "a/b", "b{index}": "+", "x-{n}/y": "+/y"}
	for p, want := range cases {
		if got := filterOf(p); got != want {
			t.Errorf("filterOf(%q) = %q, want %q", p, got, want)
		}
	}
}

func TestProgressLineIsWritten(t *testing.T) {
	defer goleak.VerifyNone(t)
	sc, err := scenario.Parse([]byte("drain: 200ms\ngroups: [{name: a, count: 3, publish: {topic: 'p/{id}', qos: 1, interval: 20ms, messages: 20}}]\n"))
	if err != nil {
		t.Fatal(err)
	}
	hub := simtest.NewHub()
	gw, err := simtest.StartFakeGateway(hub, nil, simtest.Faults{})
	if err != nil {
		t.Fatal(err)
	}
	defer gw.Close()
	var out lockedWriter
	r, err := Run(context.Background(), sc, Options{Gateway: gw.Addr(), Observer: hubObserver{hub},
		Progress: &out, ProgressEvery: 50 * time.Millisecond})
	if err != nil || !r.Passed() {
		t.Fatalf("%v\n%s", err, summary(r))
	}
	s := out.String()
	if !strings.Contains(s, "\r\033[K") || !strings.Contains(s, "sensors ") || !strings.Contains(s, "msg/s") {
		t.Fatalf("progress output %q", s)
	}
}

type lockedWriter = simtest.LogBuffer
