package session

import (
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"snbridge/mqttsn/packet"
)

// recBroker records the calls a session makes and answers from its fields.
type recBroker struct {
	calls      []string
	present    bool
	connectErr error
	granted    byte
	subErr     error
	pending    int
	data       map[string][]byte
	puts       []string // keys written by PutData, in order
	published  []Message
	will       *Will
}

func (b *recBroker) log(f string, a ...any) { b.calls = append(b.calls, fmt.Sprintf(f, a...)) }

func (b *recBroker) Connect(o ConnectOptions) (bool, error) {
	w := "nil"
	if o.Will != nil {
		w = fmt.Sprintf("%s:%s:%d:%v", o.Will.Topic, o.Will.Payload, o.Will.QoS, o.Will.Retain)
		b.will = o.Will
	} else {
		b.will = nil
	}
	b.log("connect %s clean=%v will=%s q0=%v", o.ClientID, o.CleanSession, w, o.QueueQoS0)
	if o.CleanSession {
		b.data = nil
	}
	return b.present, b.connectErr
}
func (b *recBroker) Publish(m Message, id uint16) {
	b.published = append(b.published, m)
	b.log("publish %s %q q%d r=%v id=%d", m.Topic, m.Payload, m.QoS, m.Retain, id)
}
func (b *recBroker) Subscribe(f string, q byte) (byte, error) {
	b.log("subscribe %s q%d", f, q)
	return min(q, b.granted), b.subErr
}
func (b *recBroker) Unsubscribe(f string) error { b.log("unsubscribe %s", f); return nil }
func (b *recBroker) Ack(id uint16)              { b.log("ack %d", id) }
func (b *recBroker) Received(id uint16)         { b.log("received %d", id) }
func (b *recBroker) Pending() int               { return b.pending }
func (b *recBroker) SetWill(w *Will) {
	b.will = w
	if w == nil {
		b.log("setwill nil")
		return
	}
	b.log("setwill %s:%s:%d:%v", w.Topic, w.Payload, w.QoS, w.Retain)
}
func (b *recBroker) PutData(k string, v []byte) error {
	if b.data == nil {
		b.data = map[string][]byte{}
	}
	b.data[k] = append([]byte(nil), v...)
	b.puts = append(b.puts, k)
	return nil
}
func (b *recBroker) Data(k string) ([]byte, bool) { v, ok := b.data[k]; return v, ok && len(v) > 0 }
func (b *recBroker) Suspend()                     { b.log("suspend") }
func (b *recBroker) Resume()                      { b.log("resume") }
func (b *recBroker) Disconnect()                  { b.log("disconnect") }
func (b *recBroker) Lost()                        { b.log("lost") }

// conv drives one session on a fake clock and checks what it sends.
type conv struct {
	t      *testing.T
	cfg    *Config
	s      *Session
	b      *recBroker
	now    time.Time
	sent   []packet.Message
	timers map[TimerKind][]time.Time
	closed bool
}

var t0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

func newConv(t *testing.T, cfg *Config) *conv {
	if cfg == nil {
		cfg = &Config{}
	}
	b := &recBroker{granted: 2}
	return &conv{t: t, cfg: cfg, s: New(cfg, b), b: b, now: t0, timers: map[TimerKind][]time.Time{}}
}

func (c *conv) take(out []Action) {
	for _, a := range out {
		switch a.Kind {
		case Send:
			c.sent = append(c.sent, a.Msg)
		case Arm:
			c.timers[a.Timer] = append(c.timers[a.Timer], a.At)
		case Close:
			c.closed = true
		}
	}
}

func (c *conv) in(m packet.Message) { c.t.Helper(); c.take(c.s.Handle(c.now, m, nil)) }

func (c *conv) deliver(topic, payload string, qos byte, packetID uint16) {
	c.take(c.s.Deliver(c.now, Message{Topic: topic, Payload: []byte(payload), QoS: qos}, packetID, nil))
}

// advance moves the clock by d, firing due timers in order as a timer heap would.
func (c *conv) advance(d time.Duration) {
	end := c.now.Add(d)
	for {
		var kind TimerKind
		var at time.Time
		idx := -1
		for k, ts := range c.timers {
			for i, x := range ts {
				if !x.After(end) && (idx < 0 || x.Before(at)) {
					kind, at, idx = k, x, i
				}
			}
		}
		if idx < 0 {
			break
		}
		c.timers[kind] = append(c.timers[kind][:idx], c.timers[kind][idx+1:]...)
		if at.After(c.now) {
			c.now = at
		}
		c.take(c.s.Timer(c.now, kind, nil))
	}
	c.now = end
}

// expect checks the messages sent since the last expect.
func (c *conv) expect(want ...packet.Message) {
	c.t.Helper()
	got := c.sent
	c.sent = nil
	if len(got) != len(want) {
		c.t.Fatalf("sent %d messages %s, want %d %s", len(got), show(got), len(want), show(want))
	}
	for i := range got {
		if !reflect.DeepEqual(got[i], want[i]) {
			c.t.Fatalf("message %d: sent %s, want %s", i, show(got[i:i+1]), show(want[i:i+1]))
		}
	}
}

// calls checks the broker calls since the last check.
func (c *conv) calls(want ...string) {
	c.t.Helper()
	got := c.b.calls
	c.b.calls = nil
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		c.t.Fatalf("broker calls:\n  %s\nwant:\n  %s", strings.Join(got, "\n  "), strings.Join(want, "\n  "))
	}
}

func show(ms []packet.Message) string {
	var b strings.Builder
	for _, m := range ms {
		fmt.Fprintf(&b, "%T%+v ", m, m)
	}
	return b.String()
}

func (c *conv) connect(id string, clean bool, keepAlive uint16) {
	c.t.Helper()
	c.in(&packet.Connect{CleanSession: clean, ProtocolID: 1, Duration: keepAlive, ClientID: id})
	c.expect(&packet.Connack{})
	c.b.calls = nil
}
