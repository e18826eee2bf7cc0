package impair

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"time"
)

// Config is what a link does to the datagrams crossing it. The zero value is a perfect link.
type Config struct {
	Loss      float64       // probability a datagram is dropped, 0..1
	Duplicate float64       // probability a datagram is delivered twice, 0..1
	Reorder   float64       // probability a datagram is held back by ReorderGap so later ones overtake it
	Delay     time.Duration // base one-way delay
	Jitter    time.Duration // delay varies uniformly in [Delay-Jitter, Delay+Jitter] (never below 0)
	// ReorderGap is how long a reordered datagram is held back. Default 10ms.
	ReorderGap time.Duration
	// Queue bounds the datagrams held in the link; beyond it they are dropped (counted in
	// Stats.Overflow). Default 1024.
	Queue int
	// Seed of the link's random generator: the same seed and the same traffic give the same fate.
	Seed uint64
}

// Validate reports a configuration that cannot be applied.
func (c Config) Validate() error {
	for _, p := range []struct {
		name string
		v    float64
	}{{"loss", c.Loss}, {"duplicate", c.Duplicate}, {"reorder", c.Reorder}} {
		if !(p.v >= 0 && p.v <= 1) {
			return fmt.Errorf("impair: %s %v: want a probability in [0,1]", p.name, p.v)
		}
	}
	if c.Delay < 0 || c.Jitter < 0 || c.ReorderGap < 0 || c.Queue < 0 {
		return errors.New("impair: delay, jitter, reorder gap and queue must not be negative")
	}
	return nil
}

// Stats counts what the link did.
type Stats struct {
	Passed     uint64 // datagrams handed to the link
	Lost       uint64 // dropped by the Loss probability
	Duplicated uint64 // extra copies made
	Reordered  uint64 // held back by ReorderGap
	Overflow   uint64 // dropped because the queue was full
	Delivered  uint64 // copies that left the link
}

func (s *Stats) add(o Stats) {
	s.Passed += o.Passed
	s.Lost += o.Lost
	s.Duplicated += o.Duplicated
	s.Reordered += o.Reordered
	s.Overflow += o.Overflow
	s.Delivered += o.Delivered
}

// Link is one direction of an impaired link, sans I/O: Push a datagram at a time, Pop what is
// due at a later time. It is deterministic for a given seed and sequence of calls, and not safe
// for concurrent use (Conn serialises it).
type Link struct {
	cfg   Config
	rng   *rand.Rand
	q     pending
	order uint64
	free  [][]byte
	stats Stats
}

// NewLink returns a link applying cfg (defaults filled in).
func NewLink(cfg Config) *Link {
	if cfg.ReorderGap == 0 {
		cfg.ReorderGap = 10 * time.Millisecond
	}
	if cfg.Queue == 0 {
		cfg.Queue = 1024
	}
	return &Link{cfg: cfg, rng: rand.New(rand.NewPCG(cfg.Seed, cfg.Seed^0x9e3779b97f4a7c15))}
}

// Push hands a datagram sent at now to the link; b is copied. It returns how many copies were
// queued (0 when lost or overflowed, 2 when duplicated).
func (l *Link) Push(now time.Time, b []byte, addr net.Addr) int {
	l.stats.Passed++
	if l.cfg.Loss > 0 && l.rng.Float64() < l.cfg.Loss {
		l.stats.Lost++
		return 0
	}
	copies := 1
	if l.cfg.Duplicate > 0 && l.rng.Float64() < l.cfg.Duplicate {
		copies = 2
		l.stats.Duplicated++
	}
	queued := 0
	for range copies {
		d := l.cfg.Delay
		if l.cfg.Jitter > 0 {
			d += time.Duration(l.rng.Int64N(int64(2*l.cfg.Jitter)+1)) - l.cfg.Jitter
			d = max(d, 0)
		}
		if l.cfg.Reorder > 0 && l.rng.Float64() < l.cfg.Reorder {
			d += l.cfg.ReorderGap
			l.stats.Reordered++
		}
		if len(l.q) >= l.cfg.Queue {
			l.stats.Overflow++
			continue
		}
		buf := l.buffer(len(b))
		copy(buf, b)
		l.order++
		l.q.push(item{at: now.Add(d), order: l.order, data: buf, addr: addr})
		queued++
	}
	return queued
}

// Next reports when the earliest queued datagram is due.
func (l *Link) Next() (time.Time, bool) {
	if len(l.q) == 0 {
		return time.Time{}, false
	}
	return l.q[0].at, true
}

// Len is the number of datagrams held.
func (l *Link) Len() int { return len(l.q) }

// Pop copies the earliest datagram due at or before now into dst. A datagram larger than dst
// is truncated, as a UDP read would.
func (l *Link) Pop(now time.Time, dst []byte) (n int, addr net.Addr, ok bool) {
	if len(l.q) == 0 || l.q[0].at.After(now) {
		return 0, nil, false
	}
	it := l.q.pop()
	n = copy(dst, it.data)
	l.Release(it.data)
	l.stats.Delivered++
	return n, it.addr, true
}

// PopRef is Pop without the copy: the returned slice belongs to the link and must be handed
// back with Release once used.
func (l *Link) PopRef(now time.Time) (data []byte, addr net.Addr, ok bool) {
	if len(l.q) == 0 || l.q[0].at.After(now) {
		return nil, nil, false
	}
	it := l.q.pop()
	l.stats.Delivered++
	return it.data, it.addr, true
}

// Release returns a slice obtained from PopRef for reuse.
func (l *Link) Release(b []byte) {
	if len(l.free) < l.cfg.Queue {
		l.free = append(l.free, b[:0])
	}
}

// Stats returns the counters so far.
func (l *Link) Stats() Stats { return l.stats }

func (l *Link) buffer(n int) []byte {
	for len(l.free) > 0 {
		b := l.free[len(l.free)-1]
		l.free = l.free[:len(l.free)-1]
		if cap(b) >= n {
			return b[:n]
		}
	}
	return make([]byte, n, max(n, 256))
}

type item struct {
	at    time.Time
	order uint64 // FIFO among datagrams due at the same instant
	data  []byte
	addr  net.Addr
}

// pending is a min-heap by (at, order), written out rather than through container/heap so that
// Push and Pop do not box an item per datagram.
type pending []item

func (p pending) less(i, j int) bool {
	if !p[i].at.Equal(p[j].at) {
		return p[i].at.Before(p[j].at)
	}
	return p[i].order < p[j].order
}

func (p *pending) push(it item) {
	*p = append(*p, it)
	q := *p
	for i := len(q) - 1; i > 0; {
		parent := (i - 1) / 2
		if !q.less(i, parent) {
			break
		}
		q[i], q[parent] = q[parent], q[i]
		i = parent
	}
}

func (p *pending) pop() item {
	q := *p
	top := q[0]
	last := len(q) - 1
	q[0] = q[last]
	q[last] = item{}
	q = q[:last]
	for i := 0; ; {
		l, r, m := 2*i+1, 2*i+2, i
		if l < len(q) && q.less(l, m) {
			m = l
		}
		if r < len(q) && q.less(r, m) {
			m = r
		}
		if m == i {
			break
		}
		q[i], q[m] = q[m], q[i]
		i = m
	}
	*p = q
	return top
}
