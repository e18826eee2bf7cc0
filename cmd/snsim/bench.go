package main

import (
	"encoding/json"
	"fmt"
	"io"
	"time"

	"snbridge/simulator/report"
	"snbridge/simulator/scenario"
)

// benchScenario is the scenario of one bench run: n clients publishing qos messages of payload
// bytes at a total rate for d, each to a topic of its own, all observed by one MQTT subscriber.
func benchScenario(n, qos int, rate float64, d time.Duration, payload, perSocket int) (*scenario.Scenario, error) {
	if qos < 0 || qos > 2 {
		return nil, fmt.Errorf("bench: qos %d: want 0, 1 or 2", qos)
	}
	g := scenario.Group{
		Name:     fmt.Sprintf("qos%d", qos),
		Count:    n,
		ClientID: "bench-{index:05}",
		Publish: &scenario.Publish{Topic: "bench/{id}", QoS: qos, Rate: scenario.Rate(rate),
			PayloadSize: payload},
	}
	if perSocket > 0 {
		g.Forwarder = &scenario.Forwarder{SensorsPerSocket: perSocket}
	}
	sc := &scenario.Scenario{Name: fmt.Sprintf("bench-qos%d", qos), Duration: d, Drain: 3 * time.Second,
		Groups: []scenario.Group{g}}
	if err := sc.Complete(); err != nil {
		return nil, fmt.Errorf("bench: %w", err)
	}
	return sc, nil
}

// benchResult is the figure set of one bench run.
type benchResult struct {
	QoS            int     `json:"qos"`
	Clients        int     `json:"clients"`
	PayloadBytes   int     `json:"payload_bytes"`
	Seconds        float64 `json:"seconds"`
	Sent           uint64  `json:"sent"`
	Delivered      uint64  `json:"delivered"`
	MsgsPerSecond  float64 `json:"msgs_per_second"`
	P50Millis      float64 `json:"p50_ms"`
	P99Millis      float64 `json:"p99_ms"`
	ConnectsPerSec float64 `json:"connects_per_second"`
	Pass           bool    `json:"pass"`
}

func benchOf(r *report.Report, qos, payload int) benchResult {
	b := benchResult{QoS: qos, Clients: r.Sensors, PayloadBytes: payload, Pass: r.Passed(),
		P50Millis: ms(r.Latency.P50), P99Millis: ms(r.Latency.P99)}
	for _, s := range r.Streams {
		b.Sent += s.Counts.Sent
		b.Delivered += s.Counts.Delivered
	}
	// End-to-end rate over the seconds in which deliveries happened.
	first, last := -1, -1
	for i, p := range r.Timeline {
		if p.Delivered > 0 {
			if first < 0 {
				first = i
			}
			last = i
		}
	}
	if first >= 0 {
		b.Seconds = float64(last - first + 1)
		b.MsgsPerSecond = float64(b.Delivered) / b.Seconds
	}
	if r.AllConnected > 0 {
		b.ConnectsPerSec = float64(r.Connected) / r.AllConnected.Seconds()
	}
	return b
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

func writeBench(w io.Writer, r *report.Report, qos, payload int) {
	b := benchOf(r, qos, payload)
	verdict := "PASS"
	if !b.Pass {
		verdict = "FAIL"
	}
	fmt.Fprintf(w, "bench QoS %d: %d clients, %d-byte payloads, gateway %s, subscriber on %s\n", qos, b.Clients, payload, r.Gateway, r.Broker)
	fmt.Fprintf(w, "  connects:   %d in %s (%.0f/s)\n", r.Connected, r.AllConnected.Round(time.Millisecond), b.ConnectsPerSec)
	fmt.Fprintf(w, "  delivered:  %d of %d, %.0f msg/s end to end\n", b.Delivered, b.Sent, b.MsgsPerSecond)
	fmt.Fprintf(w, "  latency:    p50 %.2fms  p99 %.2fms\n", b.P50Millis, b.P99Millis)
	fmt.Fprintf(w, "  verdict:    %s\n", verdict)
	for _, v := range r.Violations {
		fmt.Fprintf(w, "    - %s\n", v)
	}
	for _, e := range r.Errors {
		fmt.Fprintf(w, "    error: %s\n", e)
	}
}

func writeBenchJSON(w io.Writer, results []benchResult) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(results)
}
