package broker

import (
	"log/slog"
	"sync"

	"snbridge/mqtt/store"
)

// load restores retained messages, persistent sessions with their subscriptions, their queued
// and in-flight messages, their inbound QoS 2 packet ids awaiting PUBREL, and adapter data.
func (b *Broker) load() error {
	get := func(id string) *session {
		s := b.sessions[id]
		if s == nil {
			s = newSession(b, id)
			s.persistent = true
			b.sessions[id] = s
		}
		return s
	}
	return b.store.Load(store.Visitor{
		Retained: func(m store.Message) error {
			b.retained.Set(m.Topic, &message{topic: m.Topic, payload: m.Payload, qos: m.QoS, retain: true})
			return nil
		},
		Session: func(ss store.Session) error {
			s := get(ss.ClientID)
			for f, q := range ss.Subscriptions {
				s.subs[f] = q
				b.subs.Subscribe(f, s, q)
			}
			return nil
		},
		Message: func(id string, seq uint64, m store.Message) error {
			s := get(id)
			d := &delivery{
				msg: &message{topic: m.Topic, payload: m.Payload, qos: m.QoS, retain: m.Retain},
				qos: m.QoS, retain: m.Retain, pid: m.PacketID, dup: m.Dup, received: m.Received, seq: seq,
			}
			if d.pid != 0 {
				s.inflight = append(s.inflight, d)
			} else {
				if d.qos == 0 {
					s.queued0++
				}
				s.queue = append(s.queue, d)
			}
			s.nextSeq = max(s.nextSeq, seq+1)
			return nil
		},
		Data: func(id, key string, value []byte) error {
			s := get(id)
			if s.restoreBrokerData(key) {
				return nil
			}
			if s.data == nil {
				s.data = make(map[string][]byte)
			}
			s.data[key] = value
			return nil
		},
	})
}

// committer groups the durable writes of every connection and in-process client into one
// Commit, then runs their callbacks in submission order. A connection thus keeps reading while
// its acknowledgements wait for the disk.
type committer struct {
	st  store.Store
	log *slog.Logger

	mu      sync.Mutex
	ops     []store.Op
	dones   []func(error)
	running bool // run has been started; before, submit commits on the caller's goroutine
	closed  bool
	wake    chan struct{}
}

// start marks the committer as served by a run goroutine the caller starts.
func (c *committer) start() {
	c.mu.Lock()
	c.running = true
	c.mu.Unlock()
}

func newCommitter(st store.Store, log *slog.Logger) *committer {
	return &committer{st: st, log: log, wake: make(chan struct{}, 1)}
}

// submit queues b's writes (copied; b may be reused) and done, called once they are durable.
// A nil b only orders done after what was submitted before.
func (c *committer) submit(b *store.Batch, done func(error)) {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		done(ErrServerClosed)
		return
	}
	if !c.running {
		c.mu.Unlock()
		var err error
		if b != nil && b.Len() > 0 {
			err = c.st.Commit(b)
		}
		done(err)
		return
	}
	if b != nil {
		c.ops = append(c.ops, b.Ops...)
	}
	c.dones = append(c.dones, done)
	c.mu.Unlock()
	select {
	case c.wake <- struct{}{}:
	default:
	}
}

// submitLazy queues b's writes behind everything submitted before, to be written without a
// sync of their own (store.CommitLazy) unless a durable write shares their group. Before run
// starts and after it stops, they go to the store at once.
func (c *committer) submitLazy(b *store.Batch) {
	c.mu.Lock()
	if !c.running || c.closed {
		c.mu.Unlock()
		if err := c.st.CommitLazy(b); err != nil {
			c.log.Error("store: lazy write failed", "err", err)
		}
		return
	}
	c.ops = append(c.ops, b.Ops...)
	c.mu.Unlock()
	select {
	case c.wake <- struct{}{}:
	default:
	}
}

func (c *committer) run(quit <-chan struct{}) {
	var batch store.Batch
	var dones []func(error)
	stop := false
	for {
		if !stop {
			select {
			case <-c.wake:
			case <-quit:
				stop = true
			}
		}
		c.mu.Lock()
		batch.Ops, c.ops = c.ops, batch.Ops[:0]
		dones, c.dones = c.dones, dones[:0]
		// Closed only once a round finds nothing queued: every write submitted before is then
		// in the store, and writes after go to it directly, still in order.
		closed := stop && len(batch.Ops) == 0 && len(dones) == 0
		c.closed = closed
		c.mu.Unlock()
		var err error
		switch {
		case batch.Len() == 0:
		case len(dones) == 0: // lazy writes only
			if err := c.st.CommitLazy(&batch); err != nil {
				c.log.Error("store: lazy write failed", "err", err)
			}
		default:
			err = c.st.Commit(&batch)
		}
		for _, d := range dones {
			d(err)
		}
		clear(batch.Ops)
		clear(dones)
		if closed {
			return
		}
	}
}
