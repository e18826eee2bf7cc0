package session

import (
	"testing"
	"time"

	"snbridge/mqttsn/mqttsntest"
	"snbridge/mqttsn/packet"
	"snbridge/mqttsn/topics"
)

// FuzzSession drives a session with arbitrary datagrams, timer expiries and deliveries. It must
// never panic, and every message it asks to send must encode.
func FuzzSession(f *testing.F) {
	for _, fx := range mqttsntest.Golden {
		f.Add(append([]byte{0, byte(len(fx.Bytes))}, fx.Bytes...))
	}
	f.Add([]byte{5, 0, 6, 0, 7, 3})
	pre := &topics.PredefinedTable{}
	pre.Add("*", "pre/x", 10)
	f.Fuzz(func(t *testing.T, data []byte) {
		cfg := &Config{Predefined: pre, SleepBuffer: 4, MaxTopics: 4, RetryInterval: time.Second, MaxRetries: 1}
		b := &recBroker{granted: 2, present: len(data)%2 == 0}
		s := New(cfg, b)
		now := t0
		var out []Action
		check := func(acts []Action) {
			for _, a := range acts {
				if a.Kind == Send {
					if _, err := packet.Marshal(a.Msg); err != nil {
						t.Fatalf("session sent an unencodable %T%+v: %v", a.Msg, a.Msg, err)
					}
				}
			}
		}
		check(s.Handle(now, &packet.Connect{ProtocolID: 1, Duration: 10, ClientID: "f"}, out[:0]))
		for len(data) >= 2 {
			op, n := data[0], int(data[1])
			data = data[2:]
			now = now.Add(time.Duration(op) * 100 * time.Millisecond)
			switch op % 8 {
			case 5:
				check(s.Timer(now, TimerSupervise, out[:0]))
			case 6:
				check(s.Timer(now, TimerRetry, out[:0]))
			case 7:
				topic := []string{"a/b", "ab", "pre/x", "c"}[n%4]
				check(s.Deliver(now, Message{Topic: topic, Payload: []byte("p"), QoS: byte(n % 3)}, uint16(n), out[:0]))
			case 4:
				check(s.PublishDone(now, uint16(n), nil, out[:0]))
			default:
				if n > len(data) {
					n = len(data)
				}
				m, err := packet.Decode(data[:n])
				data = data[n:]
				if err == nil {
					check(s.Handle(now, m, out[:0]))
				}
			}
			if len(s.queue) > cfg.SleepBuffer+len(data)+64 {
				t.Fatalf("queue grew to %d", len(s.queue))
			}
		}
	})
}
