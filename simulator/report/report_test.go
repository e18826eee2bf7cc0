package report

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"snbridge/simulator/check"
	"snbridge/simulator/simtest"
)

var start = time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)

// sampleReport runs a small checker: group "temp" QoS 1 all delivered, group "door<&>" QoS 2
// with one duplicate (a broken guarantee), and one actuator receiving QoS 1 commands.
func sampleReport(t *testing.T) *Report {
	t.Helper()
	c := check.New(check.Config{Run: 5, Start: start, Sensors: 3,
		Groups: []check.Group{{Name: "temp"}, {Name: "door<&>"}, {Name: "valve"}}})
	_ = c.Track(check.Uplink, 0, 0, 1)
	_ = c.Track(check.Uplink, 1, 1, 2)
	_ = c.Track(check.Downlink, 2, 2, 1)
	for seq := uint32(1); seq <= 50; seq++ {
		at := start.Add(time.Duration(seq) * 100 * time.Millisecond)
		for s, dir := range []check.Direction{check.Uplink, check.Uplink, check.Downlink} {
			c.Sent(dir, uint32(s), seq, at)
			c.Acked(dir, uint32(s), seq)
			p := check.AppendHeader(nil, check.Header{Run: 5, Sensor: uint32(s), Seq: seq, Sent: at})
			c.Observe(dir, p, at.Add(time.Duration(seq)*time.Millisecond))
		}
	}
	c.Observe(check.Uplink, check.AppendHeader(nil, check.Header{Run: 5, Sensor: 1, Seq: 7, Sent: start}), start.Add(time.Second))
	return &Report{Scenario: "sample", Gateway: "127.0.0.1:1884", Broker: "127.0.0.1:1883", Started: start,
		Elapsed: 5 * time.Second, Sensors: 3, Connected: 3,
		Link: LinkStats{Datagrams: 400, Lost: 40, Duplicated: 12}, Protocol: ProtocolStats{Retransmissions: 7, GatewayDisconnects: 2},
		Result: c.Result()}
}

func TestSummaryShowsTablesAndVerdict(t *testing.T) {
	r := sampleReport(t)
	var b bytes.Buffer
	if err := WriteSummary(&b, r); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, want := range []string{
		"scenario sample: 3 sensors, 3 connected",
		"link: 400 datagrams, 40 lost, 12 duplicated",
		"protocol: 7 retransmissions, 2 disconnects by the gateway",
		"VERDICT: FAIL",
		"group door<&>, uplink QoS 2: 1 duplicates, QoS 2 is exactly once (sensor 1 #7 ×2)",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("summary lacks %q:\n%s", want, out)
		}
	}
	// One row per stream: uplink QoS 1 ok, uplink QoS 2 FAIL, downlink QoS 1 ok.
	rows := regexp.MustCompile(`(?m)^\s*(uplink|downlink)\s+(\d)\s+50\s+50\s+0\s+50\s.*\s(ok|FAIL)\s*$`).FindAllStringSubmatch(out, -1)
	if len(rows) != 3 || rows[0][3] != "ok" || rows[1][3] != "FAIL" || rows[2][1] != "downlink" {
		t.Errorf("stream rows %q in:\n%s", rows, out)
	}

	r.Result = check.New(check.Config{Sensors: 1, Groups: []check.Group{{Name: "g"}}}).Result()
	b.Reset()
	_ = WriteSummary(&b, r)
	if !strings.Contains(b.String(), "VERDICT: PASS") {
		t.Errorf("empty passing run:\n%s", b.String())
	}
	r.Errors = []string{"checker: connection to broker lost"}
	b.Reset()
	_ = WriteSummary(&b, r)
	if !strings.Contains(b.String(), "VERDICT: FAIL") || !strings.Contains(b.String(), "error: checker: connection to broker lost") {
		t.Errorf("a run error must fail the verdict:\n%s", b.String())
	}
}

func TestJSONCarriesVerdictAndCounts(t *testing.T) {
	r := sampleReport(t)
	var b bytes.Buffer
	if err := WriteJSON(&b, r); err != nil {
		t.Fatal(err)
	}
	var got struct {
		Scenario string `json:"scenario"`
		Pass     bool   `json:"pass"`
		Streams  []struct {
			Direction string `json:"direction"`
			QoS       int    `json:"qos"`
			Counts    struct {
				Sent       int `json:"sent"`
				Duplicates int `json:"duplicates"`
			} `json:"counts"`
			Latency struct {
				P99 int64 `json:"p99_ns"`
			} `json:"latency"`
		} `json:"streams"`
		Violations []string `json:"violations"`
		Timeline   []any    `json:"timeline"`
	}
	if err := json.Unmarshal(b.Bytes(), &got); err != nil {
		t.Fatalf("%v\n%s", err, b.String())
	}
	if got.Scenario != "sample" || got.Pass || len(got.Streams) != 3 || got.Streams[1].Counts.Duplicates != 1 ||
		got.Streams[2].Direction != "downlink" || got.Streams[0].Latency.P99 <= 0 || len(got.Violations) != 1 || len(got.Timeline) < 5 {
		t.Fatalf("decoded %+v", got)
	}
}

func writeHTML(t *testing.T, r *Report) string {
	t.Helper()
	var b bytes.Buffer
	if err := WriteHTML(&b, r); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

func TestHTMLIsSelfContained(t *testing.T) {
	page := writeHTML(t, sampleReport(t))
	if n := strings.Count(page, "<svg"); n != 4 {
		t.Errorf("%d charts, want 4 (throughput, percentiles, histogram, delivery)", n)
	}
	if strings.Count(page, "<svg") != strings.Count(page, "</svg>") {
		t.Error("unbalanced svg elements")
	}
	for _, banned := range []string{"<script", "src=", "<link", "@import", "url("} {
		if strings.Contains(page, banned) {
			t.Errorf("page contains %q: it must not load anything", banned)
		}
	}
	if m := regexp.MustCompile(`https?://[^"]*`).FindAllString(page, -1); len(m) != strings.Count(page, `xmlns="http://www.w3.org/2000/svg"`) {
		t.Errorf("page names URLs other than the SVG namespace: %q", m)
	}
	for _, want := range []string{"door&lt;&amp;&gt;", "FAIL", "sample", "<polyline", "QoS 2 is exactly once"} {
		if !strings.Contains(page, want) {
			t.Errorf("page lacks %q", want)
		}
	}
	if strings.Contains(page, "door<&>") {
		t.Error("group name not escaped")
	}
}

func TestHTMLWithoutData(t *testing.T) {
	r := &Report{Scenario: "empty", Result: check.New(check.Config{Groups: []check.Group{{Name: "g"}}}).Result()}
	page := writeHTML(t, r)
	if !strings.Contains(page, "PASS") || strings.Count(page, ">no data<") != 4 {
		t.Errorf("empty report:\n%s", page)
	}
}

func TestProgressLine(t *testing.T) {
	l := ProgressLine(Live{Elapsed: 12500 * time.Millisecond, Sensors: 1000, Connected: 998, Rate: 812.4,
		Progress: check.Progress{Sent: 9000, Delivered: 8900, Missing: 100, Duplicates: 3, Failed: 1}})
	want := "  12.5s  sensors 998/1000  sent 9000  delivered 8900  812 msg/s  missing 100  dup 3  failed 1"
	if l != want {
		t.Errorf("got  %q\nwant %q", l, want)
	}
}

func TestHTMLRendersInHeadlessChromium(t *testing.T) {
	page := filepath.Join(t.TempDir(), "report.html")
	if err := os.WriteFile(page, []byte(writeHTML(t, sampleReport(t))), 0o600); err != nil {
		t.Fatal(err)
	}
	png := simtest.Screenshot(t, page)
	// A blank page compresses to almost nothing; a page with tables and charts does not.
	if len(png) < 20000 {
		t.Errorf("screenshot only %d bytes: page probably blank", len(png))
	}
	fmt.Fprintf(os.Stderr, "screenshot %d bytes\n", len(png))
}
