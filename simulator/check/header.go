package check

import (
	"encoding/binary"
	"time"
)

// HeaderSize is the size of the header every simulated payload starts with.
const HeaderSize = 21

// Magic is the first byte of a header: payloads without it are not ours.
const Magic = 0xA5

// Header identifies one message of one run: who sent it, its place in the sender's sequence
// and when it was sent. Layout (big-endian):
//
//	0     Magic 0xA5
//	1–4   Run     — random per run, so retained messages of an earlier run are not counted
//	5–8   Sensor  — index of the sensor across the scenario (sender uplink, addressee downlink)
//	9–12  Seq     — 1, 2, 3 … per sensor and direction
//	13–20 Sent    — send time, Unix nanoseconds
type Header struct {
	Run    uint32
	Sensor uint32
	Seq    uint32
	Sent   time.Time
}

// AppendHeader appends h's HeaderSize bytes to dst.
func AppendHeader(dst []byte, h Header) []byte {
	dst = append(dst, Magic)
	dst = binary.BigEndian.AppendUint32(dst, h.Run)
	dst = binary.BigEndian.AppendUint32(dst, h.Sensor)
	dst = binary.BigEndian.AppendUint32(dst, h.Seq)
	return binary.BigEndian.AppendUint64(dst, uint64(h.Sent.UnixNano()))
}

// ParseHeader reads the header at the start of payload; ok is false when payload is too short
// or does not start with Magic.
func ParseHeader(payload []byte) (h Header, ok bool) {
	if len(payload) < HeaderSize || payload[0] != Magic {
		return Header{}, false
	}
	h.Run = binary.BigEndian.Uint32(payload[1:])
	h.Sensor = binary.BigEndian.Uint32(payload[5:])
	h.Seq = binary.BigEndian.Uint32(payload[9:])
	h.Sent = time.Unix(0, int64(binary.BigEndian.Uint64(payload[13:])))
	return h, true
}
