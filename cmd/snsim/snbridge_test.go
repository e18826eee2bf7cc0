package main

// End-to-end tests against the snbridge daemon, built from cmd/snbridge (simtest.StartSnbridge):
// the scenarios of issue 5, each judged by the verdict the QoS guarantees demand. They run in
// plain `go test` (and `make test`); `make test-e2e` runs just these. Each test has its own
// daemon, so they run in parallel (at most -parallel, GOMAXPROCS by default, at a time).

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"snbridge/simulator/simtest"
)

// heavy admits one 1 000-sensor scenario at a time: two of them at once, under the race
// detector on a busy 2-core machine, starve the simulated sensors of CPU until they give up.
var heavy = make(chan struct{}, 1)

func oneHeavyAtATime(t *testing.T) {
	heavy <- struct{}{}
	t.Cleanup(func() { <-heavy })
}

// gatewayTuning shortens the gateway's retransmission timer so a lossy run ends in seconds.
const gatewayTuning = "retry_interval: 500ms\nmax_retries: 8"

type jsonReport struct {
	Pass    bool `json:"pass"`
	Streams []struct {
		Direction string `json:"direction"`
		QoS       int    `json:"qos"`
		Pass      bool   `json:"pass"`
		Counts    struct {
			Sent, Acked, Delivered, Lost, LostAcked, Duplicates int
		} `json:"counts"`
	} `json:"streams"`
	Link       struct{ Lost, Duplicated int } `json:"link"`
	Violations []string                       `json:"violations"`
	Errors     []string                       `json:"errors"`
}

func runAgainstSnbridge(t *testing.T, args ...string) (jsonReport, string, error) {
	t.Helper()
	sb := simtest.StartSnbridge(t, gatewayTuning)
	js := filepath.Join(t.TempDir(), "report.json")
	var out, errb bytes.Buffer
	err := run(context.Background(), append(append([]string{"run"}, args...), "--gateway", sb.Gateway, "--broker", sb.Broker,
		"--json", js, "--progress=false"), &out, &errb)
	var rep jsonReport
	if b, rerr := os.ReadFile(js); rerr == nil {
		_ = json.Unmarshal(b, &rep)
	}
	if t.Failed() || err != nil {
		t.Logf("snbridge log:\n%s", sb.Log.String())
	}
	return rep, out.String() + errb.String(), err
}

func TestSnbridge1000LossySensorsKeepTheirGuarantees(t *testing.T) {
	t.Parallel()
	oneHeavyAtATime(t)
	html := filepath.Join(t.TempDir(), "report.html")
	rep, out, err := runAgainstSnbridge(t, "../../configs/scenarios/lossy-1000.yaml", "--report", html)
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	// The run's own report renders: headless Chromium draws a page with charts and tables.
	if png := simtest.Screenshot(t, html); len(png) < 20000 {
		t.Errorf("screenshot of the report only %d bytes: page probably blank", len(png))
	}
	if !rep.Pass || rep.Link.Lost == 0 || rep.Link.Duplicated == 0 {
		t.Fatalf("report %+v\n%s", rep, out)
	}
	for _, s := range rep.Streams {
		if s.Counts.Sent < 3000 {
			t.Errorf("QoS %d: only %d sent", s.QoS, s.Counts.Sent)
		}
		if s.QoS >= 1 && (s.Counts.LostAcked != 0 || s.Counts.Acked < s.Counts.Sent*9/10) {
			t.Errorf("QoS %d: %+v", s.QoS, s.Counts)
		}
		if s.QoS == 2 && s.Counts.Duplicates != 0 {
			t.Errorf("QoS 2 duplicated: %+v", s.Counts)
		}
	}
}

func TestSnbridgeSleepingActuatorsReceiveCommands(t *testing.T) {
	t.Parallel()
	oneHeavyAtATime(t)
	sc := filepath.Join(t.TempDir(), "sleepy.yaml")
	if err := os.WriteFile(sc, []byte(`
duration: 12s
drain: 10s
seed: 5
groups:
  - name: valve
    count: 1000
    client_id: "valve-{index:04}"
    clean_session: false
    ramp: 5s
    will: {topic: "e2e/{group}/{id}/status", message: "offline", qos: 1}
    subscriptions: [{topic: "e2e/{group}/{id}/cmd", qos: 1, command_rate: 100/s}]
    sleep: {awake: 2s, duration: 4s, wake: pingreq}
    impair: {loss: 10%, duplicate: 10%}
  - name: pump
    count: 50
    client_id: "pump-{index:02}"
    clean_session: false
    ramp: 2s
    subscriptions: [{topic: "e2e/{group}/{id}/cmd", qos: 1, command_rate: 20/s}]
    sleep: {awake: 2s, duration: 3s, wake: connect}
    publish: {topic: "e2e/{group}/{id}/flow", qos: 1, interval: 1s}
    impair: {loss: 10%, duplicate: 10%}
`), 0o600); err != nil {
		t.Fatal(err)
	}
	rep, out, err := runAgainstSnbridge(t, sc)
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if !rep.Pass {
		t.Fatalf("verdict FAIL:\n%s", out)
	}
	down := 0
	for _, s := range rep.Streams {
		if s.Direction == "downlink" {
			down += s.Counts.Delivered
			if s.Counts.LostAcked != 0 || s.Counts.Delivered < s.Counts.Acked {
				t.Errorf("commands QoS %d: %+v", s.QoS, s.Counts)
			}
		}
	}
	if down < 1000 {
		t.Fatalf("only %d commands delivered\n%s", down, out)
	}
}

func TestSnbridgeAcceptsForwarderEncapsulation(t *testing.T) {
	t.Parallel()
	sc := filepath.Join(t.TempDir(), "forwarded.yaml")
	if err := os.WriteFile(sc, []byte(`
duration: 6s
drain: 3s
groups:
  - name: field
    count: 200
    client_id: "fw{index:03}"
    forwarder: {sensors_per_socket: 100}
    ramp: 2s
    publish: {topic: "e2e/{group}/{id}", qos: 1, rate: 400/s, payload_size: 32}
    subscriptions: [{topic: "e2e/{id}/cmd", qos: 1, command_rate: 50/s}]
`), 0o600); err != nil {
		t.Fatal(err)
	}
	rep, out, err := runAgainstSnbridge(t, sc)
	if err != nil || !rep.Pass {
		t.Fatalf("%v\n%s", err, out)
	}
	// Every message through the forwarders, none lost. (QoS 1 is at least once: a sensor slow
	// to PUBACK on a busy machine gets the gateway's retransmission, a duplicate the verdict
	// allows.)
	for _, s := range rep.Streams {
		if s.Counts.Delivered < 100 || s.Counts.Delivered != s.Counts.Sent {
			t.Errorf("%s QoS %d: %+v", s.Direction, s.QoS, s.Counts)
		}
	}
}

// TestSnbridgeSleepingQoS2CommandsExactlyOnce: QoS 2 commands to persistent sensors that sleep
// and wake with CONNECT (pumps) or PINGREQ (valves) over a lossy, duplicating link. A
// duplicated wake CONNECT makes the gateway restart the connection (E27); a sleeper whose wake
// messages are all lost is declared lost by its sleep timer (E16) and connects anew; the
// broker's resends on waking race the sensor's acknowledgements. Through all of it a QoS 2
// command reaches its sensor exactly once.
func TestSnbridgeSleepingQoS2CommandsExactlyOnce(t *testing.T) {
	t.Parallel()
	sc := filepath.Join(t.TempDir(), "pumps.yaml")
	if err := os.WriteFile(sc, []byte(`
duration: 15s
drain: 8s
seed: 5
groups:
  - name: pump
    count: 50
    client_id: "q2pump-{index:02}"
    clean_session: false
    ramp: 2s
    subscriptions: [{topic: "e2e/{group}/{id}/cmd", qos: 2, command_rate: 20/s}]
    sleep: {awake: 2s, duration: 3s, wake: connect}
    publish: {topic: "e2e/{group}/{id}/flow", qos: 1, interval: 1s}
    impair: {loss: 10%, duplicate: 10%}
  - name: valve
    count: 50
    client_id: "q2valve-{index:02}"
    clean_session: false
    ramp: 2s
    subscriptions: [{topic: "e2e/{group}/{id}/cmd", qos: 2, command_rate: 20/s}]
    sleep: {awake: 1s, duration: 3s, wake: pingreq}
    impair: {loss: 10%, duplicate: 10%}
`), 0o600); err != nil {
		t.Fatal(err)
	}
	rep, out, err := runAgainstSnbridge(t, sc)
	if err != nil || !rep.Pass {
		t.Fatalf("%v\n%s", err, out)
	}
	if rep.Link.Lost == 0 || rep.Link.Duplicated == 0 {
		t.Fatalf("the link neither lost nor duplicated: %+v", rep.Link)
	}
	down := 0
	for _, s := range rep.Streams {
		if s.Direction == "downlink" {
			down += s.Counts.Delivered
			if s.QoS != 2 || s.Counts.Duplicates != 0 || s.Counts.Delivered != s.Counts.Sent {
				t.Errorf("commands: QoS %d %+v", s.QoS, s.Counts)
			}
		}
	}
	if down < 400 { // 2 × 20/s for 15 s
		t.Fatalf("only %d QoS 2 commands delivered\n%s", down, out)
	}
}
