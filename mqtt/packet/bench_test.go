package packet_test

import (
	"bytes"
	"testing"

	"snbridge/mqtt/packet"
)

var benchPackets = []struct {
	name string
	p    packet.Packet
}{
	{"PUBLISH-QoS1-32B", &packet.Publish{QoS: 1, Topic: "sensors/garden/t1", PacketID: 42, Payload: bytes.Repeat([]byte{'x'}, 32)}},
	{"CONNECT", &packet.Connect{CleanSession: true, KeepAlive: 60, ClientID: "sensor-0001",
		Will:         &packet.Will{Topic: "sensors/0001/status", Payload: []byte("offline"), QoS: 1, Retain: true},
		UsernameFlag: true, Username: "sensor", PasswordFlag: true, Password: []byte("secret")}},
	{"PUBACK", &packet.Puback{PacketID: 42}},
	{"SUBSCRIBE", &packet.Subscribe{PacketID: 7, Subscriptions: []packet.Subscription{
		{Filter: "sensors/+/t1", QoS: 1}, {Filter: "actuators/#", QoS: 2}}}},
}

// BenchmarkAppend encodes into a reused buffer: no allocation.
func BenchmarkAppend(b *testing.B) {
	for _, c := range benchPackets {
		b.Run(c.name, func(b *testing.B) {
			buf := make([]byte, 0, 256)
			b.ReportAllocs()
			for b.Loop() {
				var err error
				if buf, err = packet.Append(buf[:0], c.p); err != nil {
					b.Fatal(err)
				}
			}
			b.SetBytes(int64(len(buf)))
		})
	}
}

// BenchmarkDecode decodes into a new packet that owns copies of its bytes.
func BenchmarkDecode(b *testing.B) {
	for _, c := range benchPackets {
		b.Run(c.name, func(b *testing.B) {
			enc, err := packet.Append(nil, c.p)
			if err != nil {
				b.Fatal(err)
			}
			h, body := split(b, enc)
			b.SetBytes(int64(len(enc)))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := packet.Decode(h, body); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkReadReused reads a stream of the packet with a Reader, into the Reader's own values:
// the broker's read loop.
func BenchmarkReadReused(b *testing.B) {
	for _, c := range benchPackets {
		b.Run(c.name, func(b *testing.B) {
			enc, err := packet.Append(nil, c.p)
			if err != nil {
				b.Fatal(err)
			}
			r := packet.NewReader(&loopReader{data: bytes.Repeat(enc, 64)}, 0)
			b.SetBytes(int64(len(enc)))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := r.ReadReused(); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
