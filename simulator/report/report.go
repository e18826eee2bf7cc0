package report

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"snbridge/simulator/check"
)

// Report is everything a run produced: its setup, what the engine saw and the checker's result.
type Report struct {
	Scenario  string        `json:"scenario"`
	Gateway   string        `json:"gateway"`
	Broker    string        `json:"broker"`
	Started   time.Time     `json:"started"`
	Elapsed   time.Duration `json:"elapsed_ns"`
	Sensors   int           `json:"sensors"`
	Connected int           `json:"connected"` // sensors that completed CONNECT at least once
	// AllConnected is how long after the start the last sensor completed its first CONNECT
	// (zero if some never did): Connected/AllConnected is the connect rate.
	AllConnected time.Duration `json:"all_connected_ns"`
	// ConnectFailures counts CONNECT attempts that were rejected or timed out.
	ConnectFailures int `json:"connect_failures"`
	// Link is what the simulated impairments did to the datagrams, all sensors together.
	Link LinkStats `json:"link"`
	// Protocol counts what the sensors went through.
	Protocol ProtocolStats `json:"protocol"`
	// Errors are problems of the run itself (not verdicts), e.g. the checker lost its broker.
	Errors []string `json:"errors,omitempty"`
	check.Result
}

// LinkStats sums the impairments applied.
type LinkStats struct {
	Datagrams  uint64 `json:"datagrams"`
	Lost       uint64 `json:"lost"`
	Duplicated uint64 `json:"duplicated"`
	Reordered  uint64 `json:"reordered"`
	Overflow   uint64 `json:"overflow"`
}

// ProtocolStats are the sensors' protocol events over the run.
type ProtocolStats struct {
	Retransmissions    int64 `json:"retransmissions"`     // messages sent again after T_RETRY
	GatewayDisconnects int64 `json:"gateway_disconnects"` // DISCONNECTs the gateway sent unasked
	Rejections         int64 `json:"rejections"`          // PUBACKs with a return code other than accepted
	Malformed          int64 `json:"malformed"`           // datagrams from the gateway that did not decode
	UnknownTopicIDs    int64 `json:"unknown_topic_ids"`   // PUBLISHes on a topic id never registered or subscribed
}

// Passed is the verdict: every guarantee kept and the run itself sound.
func (r *Report) Passed() bool { return r.Result.Pass && len(r.Errors) == 0 }

// WriteJSON writes the report for machines.
func WriteJSON(w io.Writer, r *Report) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(struct {
		*Report
		Pass bool `json:"pass"`
	}{r, r.Passed()})
}

// qosName spells a QoS level as the tables print it.
func qosName(q int) string { return fmt.Sprintf("QoS %d", q) }

// fmtDur prints a latency compactly: 850µs, 12.3ms, 1.20s.
func fmtDur(d time.Duration) string {
	switch {
	case d <= 0:
		return "-"
	case d < time.Millisecond:
		return fmt.Sprintf("%dµs", d/time.Microsecond)
	case d < time.Second:
		return fmt.Sprintf("%.1fms", float64(d)/float64(time.Millisecond))
	default:
		return fmt.Sprintf("%.2fs", d.Seconds())
	}
}

// WriteSummary writes the final human summary: one line per direction and QoS, one per group,
// the latency percentiles, then the verdict and every broken guarantee.
func WriteSummary(w io.Writer, r *Report) error {
	var b strings.Builder
	fmt.Fprintf(&b, "scenario %s: %d sensors, %d connected, gateway %s, broker %s, %s\n",
		r.Scenario, r.Sensors, r.Connected, r.Gateway, r.Broker, r.Elapsed.Round(time.Millisecond))
	if p := r.Protocol; p != (ProtocolStats{}) {
		fmt.Fprintf(&b, "protocol: %d retransmissions, %d disconnects by the gateway, %d rejections, %d malformed, %d unknown topic ids\n",
			p.Retransmissions, p.GatewayDisconnects, p.Rejections, p.Malformed, p.UnknownTopicIDs)
	}
	if r.Link.Datagrams > 0 {
		fmt.Fprintf(&b, "link: %d datagrams, %d lost, %d duplicated, %d reordered, %d overflowed\n",
			r.Link.Datagrams, r.Link.Lost, r.Link.Duplicated, r.Link.Reordered, r.Link.Overflow)
	}
	b.WriteString("\n")
	tw := tabwriter.NewWriter(&b, 2, 8, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "direction\tQoS\tsent\tacked\tfailed\tdelivered\tlost\tlost acked\tdup\tout of order\tp50\tp99\tverdict\t")
	for _, s := range r.Streams {
		c := s.Counts
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t%s\t%s\t%s\t\n", s.Direction, s.QoS, c.Sent, c.Acked,
			c.Failed, c.Delivered, c.Lost, c.LostAcked, c.Duplicates, c.OutOfOrder, fmtDur(s.Latency.P50), fmtDur(s.Latency.P99), verdict(s.Pass))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	b.WriteString("\n")
	tw = tabwriter.NewWriter(&b, 2, 8, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "group\tdirection\tQoS\tsent\tdelivered\tdelivery\tlost\tdup\tverdict\t")
	for _, g := range r.Groups {
		c := g.Counts
		fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%d\t%.2f%%\t%d\t%d\t%s\t\n", g.Group, g.Direction, g.QoS, c.Sent, c.Delivered,
			100*c.DeliveryRate(), c.Lost, c.Duplicates, verdict(g.Pass))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	l := r.Latency
	fmt.Fprintf(&b, "\nlatency (%d samples): min %s  p50 %s  p90 %s  p99 %s  p99.9 %s  max %s\n",
		l.Count, fmtDur(l.Min), fmtDur(l.P50), fmtDur(l.P90), fmtDur(l.P99), fmtDur(l.P999), fmtDur(l.Max))
	if r.Foreign > 0 || r.Unknown > 0 {
		fmt.Fprintf(&b, "ignored: %d foreign payloads (wills, earlier runs), %d of unknown senders\n", r.Foreign, r.Unknown)
	}
	for _, e := range r.Errors {
		fmt.Fprintf(&b, "error: %s\n", e)
	}
	if r.Passed() {
		b.WriteString("\nVERDICT: PASS — every QoS guarantee held\n")
	} else {
		b.WriteString("\nVERDICT: FAIL\n")
		for _, v := range r.Violations {
			fmt.Fprintf(&b, "  - %s\n", v)
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func verdict(pass bool) string {
	if pass {
		return "ok"
	}
	return "FAIL"
}

// Live is the state shown on the live progress line.
type Live struct {
	Elapsed   time.Duration
	Sensors   int
	Connected int // currently connected (awake or asleep)
	Rate      float64
	check.Progress
}

// ProgressLine renders the one-line live status, without line ending.
func ProgressLine(l Live) string {
	return fmt.Sprintf("%6.1fs  sensors %d/%d  sent %d  delivered %d  %.0f msg/s  missing %d  dup %d  failed %d",
		l.Elapsed.Seconds(), l.Connected, l.Sensors, l.Sent, l.Delivered, l.Rate, l.Missing, l.Duplicates, l.Failed)
}
