package check

import (
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"
)

// Direction of a message: sensor to broker (publish) or broker to actuator (command).
type Direction uint8

const (
	Uplink   Direction = iota // a sensor's PUBLISH, observed by the checker's MQTT subscriber
	Downlink                  // a command published by the checker, observed by the actuator
)

func (d Direction) String() string {
	if d == Downlink {
		return "downlink"
	}
	return "uplink"
}

// MarshalText names the direction in JSON.
func (d Direction) MarshalText() ([]byte, error) { return []byte(d.String()), nil }

// Group describes a group of sensors to the checker.
type Group struct {
	Name string
	// LinkDuplicates is true when the group's link duplicates datagrams: QoS 0/−1 carry no
	// message id, so a duplicate of them is then expected rather than a fault.
	LinkDuplicates bool
}

// Config sets up a Checker.
type Config struct {
	Run     uint32    // the run id carried in every header
	Start   time.Time // time zero of the timeline
	Sensors int       // sensor indexes are 0..Sensors-1
	Groups  []Group
	// SensorName names a sensor in violation messages (its client id); nil prints the index.
	SensorName func(sensor uint32) string
	// Bucket is the width of a timeline step. Default 1s.
	Bucket time.Duration
}

// maxTimeline bounds the timeline: a run longer than this many buckets piles into the last.
const maxTimeline = 24 * 3600

// Checker accounts for every message of a run. It is safe for concurrent use.
type Checker struct {
	cfg Config

	mu       sync.Mutex
	streams  [2][]*stream // by direction, then sensor index
	hist     [2][4]Histogram
	timeline []Point
	foreign  uint64 // payloads without our header or of another run
	unknown  uint64 // headers naming a sensor or direction we do not track
	totals   Progress
}

// stream is one sensor's messages in one direction.
type stream struct {
	group    int
	qos      int8
	sent     uint32  // highest seq sent; seqs are 1..sent
	state    []uint8 // per seq-1: stateSent | stateAcked | stateFailed
	count    []uint8 // per seq-1: deliveries, saturating at 255
	maxFirst uint32  // highest seq delivered so far
	phantom  uint64  // deliveries of seqs never sent
	late     []latePair
}

// latePair records a first delivery of Seq after After had already been delivered.
type latePair struct{ Seq, After uint32 }

const (
	stateSent uint8 = 1 << iota
	stateAcked
	stateFailed
)

// Point is one step of the timeline.
type Point struct {
	T         float64 `json:"t"` // seconds since Start
	Sent      uint64  `json:"sent"`
	Delivered uint64  `json:"delivered"` // first deliveries
	Duplicate uint64  `json:"duplicate"`
}

// Progress is the running total, cheap to read for a live progress line.
type Progress struct {
	Sent       uint64
	Delivered  uint64 // first deliveries
	Duplicates uint64
	Failed     uint64 // publishes the client gave up on
	Missing    uint64 // sent but not delivered yet
}

// New returns a Checker for cfg.
func New(cfg Config) *Checker {
	if cfg.Bucket <= 0 {
		cfg.Bucket = time.Second
	}
	c := &Checker{cfg: cfg}
	c.streams[Uplink] = make([]*stream, cfg.Sensors)
	c.streams[Downlink] = make([]*stream, cfg.Sensors)
	return c
}

// Track declares that sensor sends (Uplink) or receives (Downlink) messages at qos −1..2;
// group indexes Config.Groups. Messages of an untracked stream are counted as unknown.
func (c *Checker) Track(dir Direction, sensor uint32, group, qos int) error {
	if int(sensor) >= c.cfg.Sensors || group < 0 || group >= len(c.cfg.Groups) || qos < -1 || qos > 2 || dir > Downlink {
		return fmt.Errorf("check: cannot track %v sensor %d group %d qos %d", dir, sensor, group, qos)
	}
	c.mu.Lock()
	c.streams[dir][sensor] = &stream{group: group, qos: int8(qos)}
	c.mu.Unlock()
	return nil
}

func (c *Checker) stream(dir Direction, sensor uint32) *stream {
	if dir > Downlink || int(sensor) >= len(c.streams[dir]) {
		return nil
	}
	return c.streams[dir][sensor]
}

func (c *Checker) point(at time.Time) *Point {
	i := int(at.Sub(c.cfg.Start) / c.cfg.Bucket)
	i = min(max(i, 0), maxTimeline-1)
	for len(c.timeline) <= i {
		c.timeline = append(c.timeline, Point{T: float64(len(c.timeline)) * c.cfg.Bucket.Seconds()})
	}
	return &c.timeline[i]
}

// Sent records that sensor handed message seq to its client at at. Seqs of a stream start at
// 1 and are recorded in order; call Sent before the message can possibly be delivered.
func (c *Checker) Sent(dir Direction, sensor, seq uint32, at time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	s := c.stream(dir, sensor)
	if s == nil || seq == 0 {
		c.unknown++
		return
	}
	for s.sent < seq {
		s.state = append(s.state, 0)
		s.count = append(s.count, 0)
		s.sent++
	}
	if s.state[seq-1]&stateSent == 0 {
		s.state[seq-1] |= stateSent
		c.totals.Sent++
		c.point(at).Sent++
	}
}

// Acked records that the sender's QoS 1/2 flow for seq completed (PUBACK or PUBCOMP received):
// from now on losing it is the receiving side's fault.
func (c *Checker) Acked(dir Direction, sensor, seq uint32) { c.mark(dir, sensor, seq, stateAcked) }

// Excuse withdraws the guarantee for every message up to seq not delivered yet: the receiver's
// session was lost and a new one made (a clean-session actuator that the gateway declared lost),
// so the broker owed those messages to nobody. They count as failed, not as lost-acked.
func (c *Checker) Excuse(dir Direction, sensor, upTo uint32) {
	c.mu.Lock()
	defer c.mu.Unlock()
	s := c.stream(dir, sensor)
	if s == nil {
		return
	}
	for i := range min(upTo, s.sent) {
		if s.count[i] == 0 && s.state[i]&stateSent != 0 {
			if s.state[i]&stateFailed == 0 {
				c.totals.Failed++
			}
			s.state[i] = s.state[i]&^stateAcked | stateFailed
		}
	}
}

// Failed records that the sender gave up on seq (retries exhausted, rejected).
func (c *Checker) Failed(dir Direction, sensor, seq uint32) {
	c.mark(dir, sensor, seq, stateFailed)
}

func (c *Checker) mark(dir Direction, sensor, seq uint32, bit uint8) {
	c.mu.Lock()
	defer c.mu.Unlock()
	s := c.stream(dir, sensor)
	if s == nil || seq == 0 || seq > s.sent {
		c.unknown++
		return
	}
	if bit == stateFailed && s.state[seq-1]&stateFailed == 0 {
		c.totals.Failed++
	}
	s.state[seq-1] |= bit
}

// Outcome classifies an observed payload.
type Outcome uint8

const (
	First     Outcome = iota // first delivery of a message sent in this run
	Duplicate                // a message delivered before
	Phantom                  // a sequence number its sender never sent
	Foreign                  // not our header, or an earlier run's (a retained message, a will)
	Unknown                  // our run, but a sensor or direction not tracked
)

// Observe accounts a payload received at at in direction dir.
func (c *Checker) Observe(dir Direction, payload []byte, at time.Time) Outcome {
	h, ok := ParseHeader(payload)
	if !ok || h.Run != c.cfg.Run {
		c.mu.Lock()
		c.foreign++
		c.mu.Unlock()
		return Foreign
	}
	return c.Delivered(dir, h, at)
}

// Ignore counts a payload that is ours but not a message of the direction observed — a
// command seen by the uplink subscriber because its topic matches the sensors' filter.
func (c *Checker) Ignore() {
	c.mu.Lock()
	c.foreign++
	c.mu.Unlock()
}

// Delivered accounts a delivery whose header is already parsed.
func (c *Checker) Delivered(dir Direction, h Header, at time.Time) Outcome {
	c.mu.Lock()
	defer c.mu.Unlock()
	s := c.stream(dir, h.Sensor)
	if s == nil {
		c.unknown++
		return Unknown
	}
	if h.Seq == 0 || h.Seq > s.sent || s.state[h.Seq-1]&stateSent == 0 {
		s.phantom++
		return Phantom
	}
	i := h.Seq - 1
	if s.count[i] < 255 {
		s.count[i]++
	}
	if s.count[i] > 1 {
		c.totals.Duplicates++
		c.point(at).Duplicate++
		return Duplicate
	}
	c.totals.Delivered++
	c.point(at).Delivered++
	c.hist[dir][s.qos+1].Add(at.Sub(h.Sent))
	if h.Seq < s.maxFirst {
		if len(s.late) < 1024 {
			s.late = append(s.late, latePair{h.Seq, s.maxFirst})
		}
	} else {
		s.maxFirst = h.Seq
	}
	return First
}

// Progress returns the running totals.
func (c *Checker) Progress() Progress {
	c.mu.Lock()
	defer c.mu.Unlock()
	p := c.totals
	p.Missing = p.Sent - p.Delivered
	return p
}

// Counts is the accounting of a set of messages.
type Counts struct {
	Sent       uint64 `json:"sent"`
	Acked      uint64 `json:"acked"`        // QoS 1/2 flows completed at the sender
	Failed     uint64 `json:"failed"`       // the sender gave up
	Delivered  uint64 `json:"delivered"`    // distinct messages received
	Lost       uint64 `json:"lost"`         // sent, never received
	LostAcked  uint64 `json:"lost_acked"`   // acknowledged to the sender, never received
	Duplicates uint64 `json:"duplicates"`   // extra receptions
	OutOfOrder uint64 `json:"out_of_order"` // first received after a later message of the same sender
	// OutOfOrderAcked counts out-of-order pairs where both messages were acknowledged.
	OutOfOrderAcked uint64 `json:"out_of_order_acked"`
	Phantom         uint64 `json:"phantom"` // received but never sent
}

func (a *Counts) add(b Counts) {
	a.Sent += b.Sent
	a.Acked += b.Acked
	a.Failed += b.Failed
	a.Delivered += b.Delivered
	a.Lost += b.Lost
	a.LostAcked += b.LostAcked
	a.Duplicates += b.Duplicates
	a.OutOfOrder += b.OutOfOrder
	a.OutOfOrderAcked += b.OutOfOrderAcked
	a.Phantom += b.Phantom
}

// DeliveryRate is Delivered/Sent (1 when nothing was sent).
func (a Counts) DeliveryRate() float64 {
	if a.Sent == 0 {
		return 1
	}
	return float64(a.Delivered) / float64(a.Sent)
}

// StreamSummary is the accounting of one direction at one QoS, with its verdict.
type StreamSummary struct {
	Direction  Direction   `json:"direction"`
	QoS        int         `json:"qos"`
	Counts     Counts      `json:"counts"`
	Latency    Percentiles `json:"latency"`
	Pass       bool        `json:"pass"`
	Violations []string    `json:"violations,omitempty"`
}

// GroupSummary is the accounting of one group in one direction.
type GroupSummary struct {
	Group     string    `json:"group"`
	Direction Direction `json:"direction"`
	QoS       int       `json:"qos"`
	Counts    Counts    `json:"counts"`
	Pass      bool      `json:"pass"`
}

// Result is the final accounting of a run.
type Result struct {
	Run        uint32          `json:"run"`
	Streams    []StreamSummary `json:"streams"`
	Groups     []GroupSummary  `json:"groups"`
	Latency    Percentiles     `json:"latency"`
	Histogram  []Bucket        `json:"histogram"`
	Timeline   []Point         `json:"timeline"`
	Foreign    uint64          `json:"foreign"`
	Unknown    uint64          `json:"unknown"`
	Pass       bool            `json:"pass"`
	Violations []string        `json:"violations,omitempty"`
}

// maxExamples bounds the examples quoted in one violation message.
const maxExamples = 5

// Result judges the run so far against what each QoS promises:
//
//   - QoS 1 and 2 lose nothing: a message acknowledged to its sender (PUBACK, PUBCOMP) must
//     arrive. A message the sender gave up on, or whose flow never completed, is reported as
//     failed/lost but is not the receiver's fault.
//   - QoS 2 never duplicates.
//   - QoS 0 and −1 may lose; they may duplicate only when the link duplicates (no message id
//     lets a gateway tell a copy from a new message).
//   - Acknowledged QoS 1/2 messages of one sender arrive in order (MQTT's ordered topics,
//     [MQTT-4.6.0-6]).
//   - Nothing arrives that was never sent.
func (c *Checker) Result() Result {
	c.mu.Lock()
	defer c.mu.Unlock()
	type key struct {
		dir   Direction
		qos   int8
		group int
	}
	counts := map[key]*Counts{}
	examples := map[key]*[4][]string{} // lostAcked, duplicates (QoS 2 or clean link), ooo, phantom
	for dir := Uplink; dir <= Downlink; dir++ {
		for idx, s := range c.streams[dir] {
			if s == nil {
				continue
			}
			k := key{dir, s.qos, s.group}
			cn := counts[k]
			if cn == nil {
				cn = &Counts{}
				counts[k] = cn
				examples[k] = &[4][]string{}
			}
			ex := examples[k]
			name := c.name(uint32(idx))
			for i := range s.sent {
				st, n := s.state[i], s.count[i]
				if st&stateSent == 0 {
					continue
				}
				cn.Sent++
				if st&stateAcked != 0 {
					cn.Acked++
				}
				if st&stateFailed != 0 {
					cn.Failed++
				}
				if n == 0 {
					cn.Lost++
					if st&stateAcked != 0 {
						cn.LostAcked++
						if len(ex[0]) < maxExamples {
							ex[0] = append(ex[0], fmt.Sprintf("%s #%d", name, i+1))
						}
					}
				} else {
					cn.Delivered++
					cn.Duplicates += uint64(n - 1)
					if n > 1 && len(ex[1]) < maxExamples {
						ex[1] = append(ex[1], fmt.Sprintf("%s #%d ×%d", name, i+1, n))
					}
				}
			}
			for _, lp := range s.late {
				cn.OutOfOrder++
				if s.state[lp.Seq-1]&stateAcked != 0 && s.state[lp.After-1]&stateAcked != 0 {
					cn.OutOfOrderAcked++
					if len(ex[2]) < maxExamples {
						ex[2] = append(ex[2], fmt.Sprintf("%s #%d after #%d", name, lp.Seq, lp.After))
					}
				}
			}
			cn.Phantom += s.phantom
			if s.phantom > 0 && len(ex[3]) < maxExamples {
				ex[3] = append(ex[3], name)
			}
		}
	}

	res := Result{Run: c.cfg.Run, Pass: true, Foreign: c.foreign, Unknown: c.unknown}
	keys := make([]key, 0, len(counts))
	for k := range counts {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		a, b := keys[i], keys[j]
		if a.dir != b.dir {
			return a.dir < b.dir
		}
		if a.qos != b.qos {
			return a.qos < b.qos
		}
		return a.group < b.group
	})
	streamIdx := map[[2]int]int{}
	for _, k := range keys {
		cn := *counts[k]
		g := c.cfg.Groups[k.group]
		v := judge(k.dir, int(k.qos), g, cn, examples[k])
		res.Groups = append(res.Groups, GroupSummary{Group: g.Name, Direction: k.dir, QoS: int(k.qos), Counts: cn, Pass: len(v) == 0})
		sk := [2]int{int(k.dir), int(k.qos)}
		i, ok := streamIdx[sk]
		if !ok {
			i = len(res.Streams)
			streamIdx[sk] = i
			res.Streams = append(res.Streams, StreamSummary{
				Direction: k.dir, QoS: int(k.qos), Pass: true,
				Latency: c.hist[k.dir][k.qos+1].Percentiles(),
			})
		}
		ss := &res.Streams[i]
		ss.Counts.add(cn)
		for _, msg := range v {
			ss.Pass = false
			ss.Violations = append(ss.Violations, msg)
			res.Violations = append(res.Violations, msg)
			res.Pass = false
		}
	}
	var all Histogram
	for d := range c.hist {
		for q := range c.hist[d] {
			all.Merge(&c.hist[d][q])
		}
	}
	res.Latency = all.Percentiles()
	res.Histogram = all.Buckets()
	res.Timeline = append([]Point(nil), c.timeline...)
	return res
}

func (c *Checker) name(sensor uint32) string {
	if c.cfg.SensorName != nil {
		return c.cfg.SensorName(sensor)
	}
	return fmt.Sprintf("sensor %d", sensor)
}

func judge(dir Direction, qos int, g Group, cn Counts, ex *[4][]string) []string {
	where := fmt.Sprintf("group %s, %s QoS %d", g.Name, dir, qos)
	list := func(s []string, total uint64) string {
		more := ""
		if total > uint64(len(s)) {
			more = ", …"
		}
		return strings.Join(s, ", ") + more
	}
	var v []string
	if qos >= 1 && cn.LostAcked > 0 {
		v = append(v, fmt.Sprintf("%s: %d acknowledged messages never delivered (%s)", where, cn.LostAcked, list(ex[0], cn.LostAcked)))
	}
	dupForbidden := qos == 2 || (qos <= 0 && !g.LinkDuplicates)
	if dupForbidden && cn.Duplicates > 0 {
		why := "QoS 2 is exactly once"
		if qos <= 0 {
			why = "at most once, and the link does not duplicate"
		}
		v = append(v, fmt.Sprintf("%s: %d duplicates, %s (%s)", where, cn.Duplicates, why, list(ex[1], cn.Duplicates)))
	}
	if qos >= 1 && cn.OutOfOrderAcked > 0 {
		v = append(v, fmt.Sprintf("%s: %d acknowledged messages delivered out of order [MQTT-4.6.0-6] (%s)", where, cn.OutOfOrderAcked, list(ex[2], cn.OutOfOrderAcked)))
	}
	if cn.Phantom > 0 {
		v = append(v, fmt.Sprintf("%s: %d messages delivered that were never sent (%s)", where, cn.Phantom, list(ex[3], cn.Phantom)))
	}
	return v
}
