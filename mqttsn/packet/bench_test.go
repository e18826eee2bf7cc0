package packet_test

import (
	"bytes"
	"testing"

	"snbridge/mqttsn/packet"
)

var (
	benchPublish  = &packet.Publish{QoS: packet.QoS1, TopicID: 1, MsgID: 2, Data: bytes.Repeat([]byte{0x5A}, 32)}
	benchConnect  = &packet.Connect{Will: true, CleanSession: true, ProtocolID: packet.ProtocolID, Duration: 60, ClientID: "sensor-000001"}
	benchPuback   = &packet.Puback{TopicID: 1, MsgID: 2, ReturnCode: packet.Accepted}
	benchRegister = &packet.Register{MsgID: 1, TopicName: "building/3/floor/2/room/17/temperature"}
)

func benchDecode(b *testing.B, m packet.Message) {
	buf, err := packet.Marshal(m)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(buf)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := packet.Decode(buf); err != nil {
			b.Fatal(err)
		}
	}
}

func benchAppend(b *testing.B, m packet.Message) {
	buf := make([]byte, 0, 512)
	b.ReportAllocs()
	for b.Loop() {
		var err error
		if buf, err = m.Append(buf[:0]); err != nil {
			b.Fatal(err)
		}
	}
	b.SetBytes(int64(len(buf)))
}

func BenchmarkDecodePublish32(b *testing.B) { benchDecode(b, benchPublish) }
func BenchmarkDecodeConnect(b *testing.B)   { benchDecode(b, benchConnect) }
func BenchmarkDecodePuback(b *testing.B)    { benchDecode(b, benchPuback) }
func BenchmarkDecodeRegister(b *testing.B)  { benchDecode(b, benchRegister) }
func BenchmarkAppendPublish32(b *testing.B) { benchAppend(b, benchPublish) }
func BenchmarkAppendConnect(b *testing.B)   { benchAppend(b, benchConnect) }
func BenchmarkAppendPuback(b *testing.B)    { benchAppend(b, benchPuback) }
func BenchmarkAppendRegister(b *testing.B)  { benchAppend(b, benchRegister) }

// The gateway's hot path: one Publish value reused for every datagram; must not allocate.
func BenchmarkUnmarshalPublish32Reused(b *testing.B) {
	buf, _ := packet.Marshal(benchPublish)
	var p packet.Publish
	b.SetBytes(int64(len(buf)))
	b.ReportAllocs()
	for b.Loop() {
		if err := p.Unmarshal(buf); err != nil {
			b.Fatal(err)
		}
	}
}

// Peeking at the type before choosing a decoder (e.g. to route forwarder envelopes).
func BenchmarkParseHeader(b *testing.B) {
	buf, _ := packet.Marshal(benchPublish)
	b.ReportAllocs()
	for b.Loop() {
		if _, _, _, err := packet.ParseHeader(buf); err != nil {
			b.Fatal(err)
		}
	}
}
