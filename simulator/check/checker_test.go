package check

import (
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"snbridge/simulator/scenario"
)

var start = time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)

func TestHeaderSizeMatchesScenario(t *testing.T) {
	if HeaderSize != scenario.HeaderSize {
		t.Fatalf("check.HeaderSize %d != scenario.HeaderSize %d", HeaderSize, scenario.HeaderSize)
	}
}

func TestHeaderRoundTrip(t *testing.T) {
	h := Header{Run: 0xDEADBEEF, Sensor: 9999, Seq: 123456, Sent: start.Add(1234567)}
	b := AppendHeader([]byte("x"), h)
	if len(b) != 1+HeaderSize {
		t.Fatalf("appended %d bytes", len(b)-1)
	}
	got, ok := ParseHeader(append(b[1:], "tail"...))
	if !ok || got.Run != h.Run || got.Sensor != h.Sensor || got.Seq != h.Seq || !got.Sent.Equal(h.Sent) {
		t.Fatalf("ParseHeader = %+v %v, want %+v", got, ok, h)
	}
	for _, bad := range [][]byte{nil, b[1:HeaderSize], append([]byte{0x00}, b[2:]...)} {
		if _, ok := ParseHeader(bad); ok {
			t.Errorf("ParseHeader(% x) accepted", bad)
		}
	}
}

type world struct {
	t *testing.T
	c *Checker
}

// newWorld: groups g0 (clean link) and g1 (duplicating link); sensors 0..3 in g0 with uplink
// QoS -1, 0, 1, 2; sensors 4..7 in g1 likewise; sensor 8 in g0 receives QoS 1 commands.
func newWorld(t *testing.T) world {
	c := New(Config{Run: 77, Start: start, Sensors: 9,
		Groups:     []Group{{Name: "g0"}, {Name: "g1", LinkDuplicates: true}},
		SensorName: func(s uint32) string { return fmt.Sprintf("s%d", s) }})
	for s := range 8 {
		if err := c.Track(Uplink, uint32(s), s/4, s%4-1); err != nil {
			t.Fatal(err)
		}
	}
	if err := c.Track(Downlink, 8, 0, 1); err != nil {
		t.Fatal(err)
	}
	return world{t, c}
}

func (w world) send(dir Direction, sensor uint32, n int, acked bool) {
	for seq := uint32(1); seq <= uint32(n); seq++ {
		w.c.Sent(dir, sensor, seq, start.Add(time.Duration(seq)*time.Millisecond))
		if acked {
			w.c.Acked(dir, sensor, seq)
		}
	}
}

func (w world) deliver(dir Direction, sensor uint32, seqs ...uint32) {
	for _, seq := range seqs {
		sent := start.Add(time.Duration(seq) * time.Millisecond)
		p := AppendHeader(nil, Header{Run: 77, Sensor: sensor, Seq: seq, Sent: sent})
		w.c.Observe(dir, p, sent.Add(10*time.Millisecond))
	}
}

func seqs(from, to uint32, skip ...uint32) []uint32 {
	var out []uint32
next:
	for s := from; s <= to; s++ {
		for _, k := range skip {
			if s == k {
				continue next
			}
		}
		out = append(out, s)
	}
	return out
}

func summaryOf(r Result, dir Direction, qos int) StreamSummary {
	for _, s := range r.Streams {
		if s.Direction == dir && s.QoS == qos {
			return s
		}
	}
	return StreamSummary{}
}

func TestPerfectRunPasses(t *testing.T) {
	w := newWorld(t)
	for s := range uint32(8) {
		w.send(Uplink, s, 10, s%4 >= 2)
		w.deliver(Uplink, s, seqs(1, 10)...)
	}
	r := w.c.Result()
	if !r.Pass || len(r.Violations) != 0 {
		t.Fatalf("perfect run failed: %v", r.Violations)
	}
	// 4 uplink QoS levels and sensor 8's (silent) downlink; 2 groups × 4 + 1.
	if len(r.Streams) != 5 || len(r.Groups) != 9 {
		t.Fatalf("%d streams, %d groups", len(r.Streams), len(r.Groups))
	}
	if s := summaryOf(r, Uplink, 1); s.Counts.Sent != 20 || s.Counts.Delivered != 20 || s.Counts.Acked != 20 || s.Latency.P50 != 10*time.Millisecond {
		t.Fatalf("QoS 1 summary %+v", s)
	}
}

func TestQoS1LosingAnAcknowledgedMessageFails(t *testing.T) {
	w := newWorld(t)
	w.send(Uplink, 2, 10, true)
	w.deliver(Uplink, 2, seqs(1, 10, 3, 7)...)
	r := w.c.Result()
	s := summaryOf(r, Uplink, 1)
	if r.Pass || s.Pass || s.Counts.LostAcked != 2 || s.Counts.Lost != 2 {
		t.Fatalf("pass %v, counts %+v", r.Pass, s.Counts)
	}
	if len(r.Violations) != 1 || !strings.Contains(r.Violations[0], "2 acknowledged messages never delivered (s2 #3, s2 #7)") {
		t.Fatalf("violations %q", r.Violations)
	}
}

func TestQoS1UnacknowledgedLossIsNotTheReceiversFault(t *testing.T) {
	w := newWorld(t)
	w.send(Uplink, 2, 4, false)
	w.c.Acked(Uplink, 2, 1)
	w.c.Failed(Uplink, 2, 2)
	w.deliver(Uplink, 2, 1)
	r := w.c.Result()
	s := summaryOf(r, Uplink, 1)
	if !r.Pass || s.Counts.Lost != 3 || s.Counts.Failed != 1 || s.Counts.LostAcked != 0 {
		t.Fatalf("pass %v %v, counts %+v", r.Pass, r.Violations, s.Counts)
	}
}

func TestDuplicatesJudgedPerQoSAndLink(t *testing.T) {
	w := newWorld(t)
	for s := range uint32(8) {
		w.send(Uplink, s, 3, s%4 >= 2)
		w.deliver(Uplink, s, 1, 2, 2, 3)
	}
	r := w.c.Result()
	// Broken: QoS 2 in both groups; QoS -1 and 0 on g0's clean link. Fine: QoS 1; QoS -1/0 on g1.
	want := map[string]bool{"group g0, uplink QoS -1": true, "group g0, uplink QoS 0": true,
		"group g0, uplink QoS 2": true, "group g1, uplink QoS 2": true}
	if len(r.Violations) != len(want) {
		t.Fatalf("violations %q", r.Violations)
	}
	for _, v := range r.Violations {
		if !want[v[:strings.Index(v, ":")]] || !strings.Contains(v, "1 duplicates") {
			t.Errorf("unexpected violation %q", v)
		}
	}
	if summaryOf(r, Uplink, 1).Counts.Duplicates != 2 || !summaryOf(r, Uplink, 1).Pass {
		t.Errorf("QoS 1 duplicates should be counted and allowed: %+v", summaryOf(r, Uplink, 1))
	}
	for _, g := range r.Groups {
		wantPass := !want[fmt.Sprintf("group %s, uplink QoS %d", g.Group, g.QoS)]
		if g.Pass != wantPass {
			t.Errorf("group %s QoS %d pass %v", g.Group, g.QoS, g.Pass)
		}
	}
}

func TestQoS0MayLose(t *testing.T) {
	w := newWorld(t)
	w.send(Uplink, 1, 100, false)
	w.deliver(Uplink, 1, seqs(1, 100, 5, 50, 99)...)
	r := w.c.Result()
	if s := summaryOf(r, Uplink, 0); !r.Pass || s.Counts.Lost != 3 || s.Counts.DeliveryRate() != 0.97 {
		t.Fatalf("pass %v, %+v", r.Pass, s.Counts)
	}
}

func TestOutOfOrder(t *testing.T) {
	w := newWorld(t)
	w.send(Uplink, 1, 5, false) // QoS 0: reordering allowed
	w.deliver(Uplink, 1, 1, 3, 2, 5, 4)
	w.send(Uplink, 2, 5, true) // QoS 1, all acknowledged: reordering is a violation
	w.deliver(Uplink, 2, 1, 2, 4, 3, 5)
	r := w.c.Result()
	if s := summaryOf(r, Uplink, 0); s.Counts.OutOfOrder != 2 || !s.Pass {
		t.Errorf("QoS 0: %+v", s)
	}
	s := summaryOf(r, Uplink, 1)
	if s.Counts.OutOfOrder != 1 || s.Counts.OutOfOrderAcked != 1 || s.Pass {
		t.Errorf("QoS 1: %+v", s)
	}
	if len(r.Violations) != 1 || !strings.Contains(r.Violations[0], "s2 #3 after #4") {
		t.Errorf("violations %q", r.Violations)
	}
}

func TestExcuseWithdrawsTheGuarantee(t *testing.T) {
	w := newWorld(t)
	w.send(Downlink, 8, 6, true)
	w.deliver(Downlink, 8, 1, 3)
	w.c.Excuse(Downlink, 8, 4) // the actuator's clean session was lost after #4 was sent
	w.deliver(Downlink, 8, 4)  // a late copy still counts as delivered
	r := w.c.Result()
	s := summaryOf(r, Downlink, 1)
	// #2 and #4 excused (failed), #4 then delivered; #5 and #6 acknowledged and lost: a violation.
	if s.Counts.Failed != 2 || s.Counts.Lost != 3 || s.Counts.LostAcked != 2 || s.Counts.Delivered != 3 || r.Pass {
		t.Fatalf("%+v pass %v", s.Counts, r.Pass)
	}
}

func TestPhantomForeignAndUnknown(t *testing.T) {
	w := newWorld(t)
	w.send(Uplink, 2, 2, true)
	w.deliver(Uplink, 2, 1, 2)
	if o := w.c.Observe(Uplink, AppendHeader(nil, Header{Run: 77, Sensor: 2, Seq: 9}), start); o != Phantom {
		t.Errorf("seq never sent: %v", o)
	}
	if o := w.c.Observe(Uplink, AppendHeader(nil, Header{Run: 76, Sensor: 2, Seq: 1}), start); o != Foreign {
		t.Errorf("earlier run: %v", o)
	}
	if o := w.c.Observe(Uplink, []byte("offline"), start); o != Foreign {
		t.Errorf("a will message: %v", o)
	}
	if o := w.c.Observe(Uplink, AppendHeader(nil, Header{Run: 77, Sensor: 8, Seq: 1}), start); o != Unknown {
		t.Errorf("sensor 8 does not publish: %v", o)
	}
	r := w.c.Result()
	if r.Pass || r.Foreign != 2 || r.Unknown != 1 || !strings.Contains(r.Violations[0], "1 messages delivered that were never sent (s2)") {
		t.Fatalf("pass %v foreign %d unknown %d %q", r.Pass, r.Foreign, r.Unknown, r.Violations)
	}
}

func TestDownlinkAccountedSeparately(t *testing.T) {
	w := newWorld(t)
	w.send(Downlink, 8, 4, true)
	w.deliver(Downlink, 8, 1, 2, 4)
	w.deliver(Uplink, 8, 3) // a command seen on the wrong side is not a delivery
	r := w.c.Result()
	s := summaryOf(r, Downlink, 1)
	if s.Counts.Sent != 4 || s.Counts.Delivered != 3 || s.Counts.LostAcked != 1 || r.Pass {
		t.Fatalf("downlink %+v pass %v", s, r.Pass)
	}
	if !strings.Contains(r.Violations[0], "group g0, downlink QoS 1") {
		t.Fatalf("violations %q", r.Violations)
	}
}

func TestTimelineAndProgress(t *testing.T) {
	w := newWorld(t)
	for seq := uint32(1); seq <= 30; seq++ {
		at := start.Add(time.Duration(seq) * 100 * time.Millisecond) // 0.1s .. 3.0s
		w.c.Sent(Uplink, 2, seq, at)
		if seq%3 != 0 {
			w.c.Observe(Uplink, AppendHeader(nil, Header{Run: 77, Sensor: 2, Seq: seq, Sent: at}), at)
		}
	}
	p := w.c.Progress()
	if p.Sent != 30 || p.Delivered != 20 || p.Missing != 10 {
		t.Fatalf("progress %+v", p)
	}
	r := w.c.Result()
	if len(r.Timeline) != 4 || r.Timeline[0].Sent != 9 || r.Timeline[1].Sent != 10 || r.Timeline[3].Sent != 1 || r.Timeline[2].T != 2 {
		t.Fatalf("timeline %+v", r.Timeline)
	}
}

func TestTrackRejectsNonsense(t *testing.T) {
	c := New(Config{Sensors: 2, Groups: []Group{{Name: "g"}}})
	for _, bad := range [][3]int{{2, 0, 0}, {0, 1, 0}, {0, 0, 3}, {0, 0, -2}} {
		if err := c.Track(Uplink, uint32(bad[0]), bad[1], bad[2]); err == nil {
			t.Errorf("Track(%v) accepted", bad)
		}
	}
}

func TestHistogramQuantiles(t *testing.T) {
	var h Histogram
	for ms := 1; ms <= 1000; ms++ {
		h.Add(time.Duration(ms) * time.Millisecond)
	}
	for _, c := range []struct {
		q    float64
		want time.Duration
	}{{0.5, 500 * time.Millisecond}, {0.9, 900 * time.Millisecond}, {0.99, 990 * time.Millisecond}} {
		got := h.Quantile(c.q)
		if got < c.want || float64(got) > float64(c.want)*1.1 {
			t.Errorf("q%.2f = %v, want within 10%% above %v", c.q, got, c.want)
		}
	}
	if h.Quantile(1) != time.Second || h.Quantile(0) != time.Millisecond || h.Mean() != 500500*time.Microsecond {
		t.Errorf("max %v min %v mean %v", h.Quantile(1), h.Quantile(0), h.Mean())
	}
	var sum uint64
	for _, b := range h.Buckets() {
		sum += b.Count
	}
	if sum != 1000 {
		t.Errorf("buckets hold %d samples", sum)
	}
}

func TestConcurrentUse(t *testing.T) {
	c := New(Config{Run: 1, Start: start, Sensors: 8, Groups: []Group{{Name: "g"}}})
	var wg sync.WaitGroup
	for s := range uint32(8) {
		_ = c.Track(Uplink, s, 0, 1)
		wg.Go(func() {
			for seq := uint32(1); seq <= 500; seq++ {
				c.Sent(Uplink, s, seq, start)
				c.Acked(Uplink, s, seq)
				c.Observe(Uplink, AppendHeader(nil, Header{Run: 1, Sensor: s, Seq: seq, Sent: start}), start)
				_ = c.Progress()
			}
		})
	}
	wg.Wait()
	if r := c.Result(); !r.Pass || summaryOf(r, Uplink, 1).Counts.Delivered != 4000 {
		t.Fatalf("%+v", r.Streams)
	}
}

func BenchmarkObserve(b *testing.B) {
	c := New(Config{Run: 1, Start: start, Sensors: 1, Groups: []Group{{Name: "g"}}})
	_ = c.Track(Uplink, 0, 0, 1)
	p := make([]byte, 0, 32)
	b.ReportAllocs()
	seq := uint32(0)
	for b.Loop() {
		seq++
		c.Sent(Uplink, 0, seq, start)
		p = AppendHeader(p[:0], Header{Run: 1, Seq: seq, Sent: start})
		c.Observe(Uplink, p, start)
	}
}

func FuzzParseHeader(f *testing.F) {
	f.Add(AppendHeader(nil, Header{Run: 1, Sensor: 2, Seq: 3, Sent: start}))
	f.Add([]byte{Magic})
	f.Fuzz(func(t *testing.T, b []byte) {
		h, ok := ParseHeader(b)
		if !ok {
			return
		}
		if again := AppendHeader(nil, h); string(again) != string(b[:HeaderSize]) {
			t.Fatalf("round trip % x → % x", b[:HeaderSize], again)
		}
	})
}
