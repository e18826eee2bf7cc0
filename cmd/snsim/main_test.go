package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"snbridge/simulator/simtest"
)

// leakCheck verifies, after every cleanup of the test has run, that no goroutine is left.
func leakCheck(t *testing.T) {
	t.Cleanup(func() { goleak.VerifyNone(t) })
}

// world is mosquitto plus the fake MQTT-SN gateway in front of it, which can break a guarantee
// on purpose (simtest.Faults); snbridge_test.go runs against the snbridge daemon.
type world struct {
	broker, gateway string
}

func newWorld(t *testing.T, faults simtest.Faults) world {
	t.Helper()
	broker := simtest.Mosquitto(t)
	pb, err := simtest.DialPaho(broker, "fakegw-"+strings.ReplaceAll(t.Name(), "/", "-"))
	if err != nil {
		t.Fatal(err)
	}
	gw, err := simtest.StartFakeGateway(pb, nil, faults)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { gw.Close(); pb.Close() })
	return world{broker: broker, gateway: gw.Addr()}
}

func scenarioFile(t *testing.T, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "quick.yaml")
	if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

const quick = `
drain: 1s
groups:
  - {name: q0, count: 4, publish: {topic: "quick/{group}/{id}", qos: 0, interval: 20ms, messages: 10}}
  - {name: q1, count: 4, publish: {topic: "quick/{group}/{id}", qos: 1, interval: 20ms, messages: 10}}
  - {name: q2, count: 4, publish: {topic: "quick/{group}/{id}", qos: 2, interval: 20ms, messages: 10}}
  - name: act
    count: 3
    subscriptions: [{topic: "quick/{id}/cmd", qos: 1, command_rate: 30/s, commands: 5}]
`

func TestRunAgainstMosquittoPasses(t *testing.T) {
	leakCheck(t)
	w := newWorld(t, simtest.Faults{})
	dir := t.TempDir()
	html, js := filepath.Join(dir, "r.html"), filepath.Join(dir, "r.json")
	var out, errb bytes.Buffer
	err := run(context.Background(), []string{"run", scenarioFile(t, quick), "--gateway", w.gateway, "--broker", w.broker,
		"--json", js, "--report", html, "--progress=false"}, &out, &errb)
	if err != nil {
		t.Fatalf("%v\n%s\n%s", err, out.String(), errb.String())
	}
	if !strings.Contains(out.String(), "VERDICT: PASS") {
		t.Fatalf("summary:\n%s", out.String())
	}
	var rep struct {
		Pass    bool `json:"pass"`
		Streams []struct {
			Direction string                        `json:"direction"`
			Counts    struct{ Sent, Delivered int } `json:"counts"`
		} `json:"streams"`
	}
	b, err := os.ReadFile(js)
	if err != nil || json.Unmarshal(b, &rep) != nil {
		t.Fatalf("json report: %v\n%s", err, b)
	}
	total := map[string]int{}
	for _, s := range rep.Streams {
		if s.Counts.Sent != s.Counts.Delivered {
			t.Errorf("%+v", s)
		}
		total[s.Direction] += s.Counts.Delivered
	}
	if !rep.Pass || total["uplink"] != 120 || total["downlink"] != 15 {
		t.Fatalf("report %+v", rep)
	}
	page, err := os.ReadFile(html)
	if err != nil || !bytes.Contains(page, []byte("<svg")) {
		t.Fatalf("html report: %v", err)
	}
}

func TestRunReportsABrokenGuaranteeInItsExitStatus(t *testing.T) {
	leakCheck(t)
	w := newWorld(t, simtest.Faults{DropAckedQoS1Every: 5})
	var out, errb bytes.Buffer
	err := run(context.Background(), []string{"run", scenarioFile(t, quick), "--gateway", w.gateway, "--broker", w.broker, "--progress=false"}, &out, &errb)
	if !errors.Is(err, errVerdict) {
		t.Fatalf("err = %v, want the verdict error (exit status 2)\n%s", err, out.String())
	}
	if !strings.Contains(out.String(), "VERDICT: FAIL") || !strings.Contains(out.String(), "acknowledged messages never delivered") {
		t.Fatalf("summary:\n%s", out.String())
	}
}

func TestBench(t *testing.T) {
	leakCheck(t)
	w := newWorld(t, simtest.Faults{})
	var out, errb bytes.Buffer
	js := filepath.Join(t.TempDir(), "bench.json")
	err := run(context.Background(), []string{"bench", "--gateway", w.gateway, "--broker", w.broker, "-n", "20",
		"--rate", "400", "--duration", "2s", "--json", js, "--progress=false"}, &out, &errb)
	if err != nil {
		t.Fatalf("%v\n%s\n%s", err, out.String(), errb.String())
	}
	var res []benchResult
	b, _ := os.ReadFile(js)
	if err := json.Unmarshal(b, &res); err != nil || len(res) != 2 {
		t.Fatalf("bench json %v: %s", err, b)
	}
	for i, r := range res {
		if r.QoS != i || r.Clients != 20 || r.PayloadBytes != 32 || !r.Pass || r.Delivered < 200 || (i == 1 && r.Delivered != r.Sent) || r.MsgsPerSecond < 50 || r.P99Millis <= 0 || r.ConnectsPerSec <= 0 {
			t.Errorf("QoS %d: %+v", i, r)
		}
	}
	for _, want := range []string{"bench QoS 0: 20 clients, 32-byte payloads", "bench QoS 1:", "msg/s end to end", "p99"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
}

func TestUsageErrors(t *testing.T) {
	var out, errb bytes.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for _, args := range [][]string{nil, {"fly"}, {"run"}, {"run", "a.yaml", "b.yaml"}, {"run", "/nonexistent.yaml"},
		{"run", "x.yaml", "--duration", "-1s"}, {"bench", "--qos", "3"}, {"bench", "--payload", "8"}, {"run", "--colour"},
		{"bench", "--retry", "0s"}, {"bench", "--retries", "0"}} {
		if err := run(ctx, args, &out, &errb); err == nil || errors.Is(err, errVerdict) {
			t.Errorf("run(%q) = %v", args, err)
		}
	}
	out.Reset()
	if err := run(ctx, []string{"--version"}, &out, &errb); err != nil || !strings.HasPrefix(out.String(), "snsim ") {
		t.Errorf("--version: %q %v", out.String(), err)
	}
}
