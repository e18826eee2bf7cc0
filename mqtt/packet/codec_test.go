package packet_test

import (
	"bytes"
	"errors"
	"io"
	"reflect"
	"strings"
	"testing"
	"testing/iotest"

	"snbridge/mqtt/mqtttest"
	"snbridge/mqtt/packet"
)

// split returns a golden encoding's first byte and body (after the remaining length).
func split(t testing.TB, b []byte) (byte, []byte) {
	t.Helper()
	n, shift, i := 0, 0, 1
	for ; b[i]&0x80 != 0; i++ {
		n |= int(b[i]&0x7f) << shift
		shift += 7
	}
	n |= int(b[i]) << shift
	if n != len(b)-i-1 {
		t.Fatalf("fixture % x: remaining length %d, but %d bytes follow", b, n, len(b)-i-1)
	}
	return b[0], b[i+1:]
}

func TestGoldenDecode(t *testing.T) {
	for _, f := range mqtttest.Golden {
		h, body := split(t, f.Bytes)
		got, err := packet.Decode(h, body)
		if err != nil {
			t.Errorf("%s: Decode: %v", f.Name, err)
			continue
		}
		if !reflect.DeepEqual(got, f.Packet) {
			t.Errorf("%s: Decode = %#v, want %#v", f.Name, got, f.Packet)
		}
		if got.Type().String() != strings.Fields(f.Name)[0] {
			t.Errorf("%s: Type() = %v", f.Name, got.Type())
		}
	}
}

func TestGoldenEncode(t *testing.T) {
	for _, f := range mqtttest.Golden {
		prefix := []byte("prefix")
		got, err := packet.Append(prefix, f.Packet)
		if err != nil {
			t.Errorf("%s: Append: %v", f.Name, err)
			continue
		}
		if !bytes.Equal(got[:len(prefix)], prefix) || !bytes.Equal(got[len(prefix):], f.Bytes) {
			t.Errorf("%s: Append =\n% x\nwant\n% x", f.Name, got[len(prefix):], f.Bytes)
		}
		if n, err := packet.Size(f.Packet); err != nil || n != len(f.Bytes) {
			t.Errorf("%s: Size = %d, %v; want %d", f.Name, n, err, len(f.Bytes))
		}
	}
}

// Decode copies what it returns: the body may be reused.
func TestDecodeCopiesBody(t *testing.T) {
	f := mqtttest.Find("CONNECT will, user name, password")
	h, body := split(t, f.Bytes)
	body = bytes.Clone(body)
	p, err := packet.Decode(h, body)
	if err != nil {
		t.Fatal(err)
	}
	clear(body)
	if !reflect.DeepEqual(p, f.Packet) {
		t.Errorf("after the body was cleared the packet is %#v", p)
	}
}

func allGolden() []byte {
	var all []byte
	for _, f := range mqtttest.Golden {
		all = append(all, f.Bytes...)
	}
	return all
}

func TestReaderGoldenStream(t *testing.T) {
	sources := map[string]func() io.Reader{
		"whole":    func() io.Reader { return bytes.NewReader(allGolden()) },
		"one byte": func() io.Reader { return iotest.OneByteReader(bytes.NewReader(allGolden())) },
		"half":     func() io.Reader { return iotest.HalfReader(bytes.NewReader(allGolden())) },
	}
	for name, src := range sources {
		for _, reused := range []bool{false, true} {
			r := packet.NewReader(src(), 1024)
			for _, f := range mqtttest.Golden {
				var p packet.Packet
				var err error
				if reused {
					p, err = r.ReadReused()
				} else {
					p, err = r.ReadPacket()
				}
				if err != nil {
					t.Fatalf("%s reused=%v: %s: %v", name, reused, f.Name, err)
				}
				if !reflect.DeepEqual(p, f.Packet) {
					t.Errorf("%s reused=%v: got %#v, want %#v", name, reused, p, f.Packet)
				}
			}
			if p, err := r.ReadPacket(); err != io.EOF {
				t.Errorf("%s: after the last packet: %v, %v; want io.EOF", name, p, err)
			}
		}
	}
}

// ReadPacket's packets are the caller's; ReadReused's share the Reader's buffer.
func TestReaderOwnership(t *testing.T) {
	a := mqtttest.Find("PUBLISH QoS 0").Bytes
	b := mqtttest.Find("PUBLISH QoS 1").Bytes
	stream := bytes.Repeat(append(append([]byte{}, a...), b...), 2)

	r := packet.NewReader(bytes.NewReader(stream), 0)
	p1, _ := r.ReadPacket()
	if _, err := r.ReadPacket(); err != nil {
		t.Fatal(err)
	}
	if got := string(p1.(*packet.Publish).Payload); got != "hello" {
		t.Errorf("ReadPacket's payload changed to %q after the next read", got)
	}

	p3, err := r.ReadReused()
	if err != nil {
		t.Fatal(err)
	}
	pub := p3.(*packet.Publish)
	if string(pub.Payload) != "hello" || pub.Topic != "a/b" {
		t.Fatalf("ReadReused = %#v", pub)
	}
	p4, err := r.ReadReused()
	if err != nil {
		t.Fatal(err)
	}
	if p4 != p3 {
		t.Errorf("ReadReused returned a new *Publish, want the Reader's own")
	}
	if pub.QoS != 1 || pub.PacketID != 1 || string(pub.Payload) != "hi" {
		t.Errorf("second ReadReused = %#v", pub)
	}
}

func TestReadReusedAllocatesNothingForPublish(t *testing.T) {
	pub := mqtttest.Find("PUBLISH QoS 1").Bytes
	ack := mqtttest.Find("PUBACK").Bytes
	src := &loopReader{data: bytes.Repeat(append(append([]byte{}, pub...), ack...), 50)}
	r := packet.NewReader(src, 0)
	if _, err := r.ReadReused(); err != nil { // first sight of the topic interns it
		t.Fatal(err)
	}
	allocs := testing.AllocsPerRun(1000, func() {
		if _, err := r.ReadReused(); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Errorf("ReadReused of PUBLISH/PUBACK: %v allocations per packet, want 0", allocs)
	}
}

func TestMalformed(t *testing.T) {
	for _, f := range mqtttest.Malformed {
		for _, reused := range []bool{false, true} {
			r := packet.NewReader(bytes.NewReader(f.Bytes), 1024)
			var err error
			if reused {
				_, err = r.ReadReused()
			} else {
				_, err = r.ReadPacket()
			}
			if !errors.Is(err, f.Err) {
				t.Errorf("%s: err = %v, want one wrapping %v", f.Name, err, f.Err)
				continue
			}
			if f.Rule != "" && !strings.Contains(err.Error(), f.Rule) {
				t.Errorf("%s: error %q does not cite %s", f.Name, err, f.Rule)
			}
			var pe *packet.Error
			if errors.As(err, &pe) && f.Rule != "" && pe.Rule != f.Rule {
				t.Errorf("%s: Error.Rule = %q, want %q", f.Name, pe.Rule, f.Rule)
			}
		}
	}
}

// A broker answers CONNACK 0x01 to another protocol level, and may log who it was.
func TestUnsupportedLevelKeepsConnect(t *testing.T) {
	f := mqtttest.Malformed[0]
	for _, m := range mqtttest.Malformed {
		if m.Name == "CONNECT level 3" {
			f = m
		}
	}
	h, body := split(t, f.Bytes)
	p, err := packet.Decode(h, body)
	if !errors.Is(err, packet.ErrUnsupportedLevel) || errors.Is(err, packet.ErrMalformed) {
		t.Fatalf("err = %v, want ErrUnsupportedLevel only", err)
	}
	c, ok := p.(*packet.Connect)
	if !ok || c.ProtocolLevel != 3 || c.ProtocolName != "MQTT" {
		t.Errorf("packet = %#v, want the CONNECT with level 3", p)
	}
}

// A stream error ends the stream: the Reader does not resynchronise on garbage.
func TestReaderFramingErrorIsSticky(t *testing.T) {
	stream := append([]byte{0x30, 0xff, 0xff, 0xff, 0xff, 0x01}, mqtttest.Find("PINGREQ").Bytes...)
	r := packet.NewReader(bytes.NewReader(stream), 0)
	_, err1 := r.ReadPacket()
	_, err2 := r.ReadPacket()
	if !errors.Is(err1, packet.ErrMalformed) || err2 != err1 {
		t.Errorf("errors %v then %v, want the same malformed-length error twice", err1, err2)
	}
}

// A decoding error inside a well-framed packet leaves the stream usable.
func TestReaderContinuesAfterBadPacket(t *testing.T) {
	stream := append([]byte{0x40, 0x02, 0x00, 0x00}, mqtttest.Find("PINGREQ").Bytes...)
	r := packet.NewReader(bytes.NewReader(stream), 0)
	if _, err := r.ReadPacket(); !errors.Is(err, packet.ErrMalformed) {
		t.Fatalf("PUBACK with packet id 0: %v", err)
	}
	if p, err := r.ReadPacket(); err != nil || p.Type() != packet.PINGREQ {
		t.Errorf("next packet: %v, %v; want PINGREQ", p, err)
	}
}

// stopReader hands out data once, then fails the test if read again.
type stopReader struct {
	t    *testing.T
	data []byte
}

func (s *stopReader) Read(p []byte) (int, error) {
	if s.data == nil {
		s.t.Fatal("the Reader read past the fixed header of a packet it should refuse")
	}
	n := copy(p, s.data)
	s.data = nil
	return n, nil
}

func TestReaderRefusesTooLargeBeforeReadingIt(t *testing.T) {
	header := []byte{0x30, 0x80, 0x80, 0x40} // PUBLISH, remaining length 1 MiB
	r := packet.NewReader(&stopReader{t: t, data: header}, 64<<10)
	_, err := r.ReadPacket()
	if !errors.Is(err, packet.ErrTooLarge) || !strings.Contains(err.Error(), "1048576") {
		t.Errorf("err = %v, want ErrTooLarge naming 1048576", err)
	}
	// at exactly the limit the packet is read
	limit := mqtttest.Find("PUBLISH QoS 1").Bytes
	r = packet.NewReader(bytes.NewReader(limit), len(limit)-2)
	if _, err := r.ReadPacket(); err != nil {
		t.Errorf("a packet of remaining length = max: %v", err)
	}
	r = packet.NewReader(bytes.NewReader(limit), len(limit)-3)
	if _, err := r.ReadPacket(); !errors.Is(err, packet.ErrTooLarge) {
		t.Errorf("a packet one byte over the max: %v", err)
	}
}

// A peer announcing a huge packet and sending little costs about what it sent.
func TestReaderGrowsWithTheData(t *testing.T) {
	header := []byte{0x30, 0xff, 0xff, 0xff, 0x7f} // remaining length 268435455
	data := append(header, make([]byte, 10_000)...)
	allocs := testing.AllocsPerRun(5, func() {
		r := packet.NewReader(bytes.NewReader(data), 0)
		if _, err := r.ReadPacket(); err != io.ErrUnexpectedEOF {
			t.Fatalf("err = %v, want io.ErrUnexpectedEOF", err)
		}
	})
	if allocs > 20 {
		t.Errorf("%v allocations", allocs)
	}
	var bytesAllocated = testing.Benchmark(func(b *testing.B) {
		b.ReportAllocs()
		for range b.N {
			r := packet.NewReader(bytes.NewReader(data), 0)
			_, _ = r.ReadPacket()
		}
	}).AllocedBytesPerOp()
	if bytesAllocated > 64<<10 {
		t.Errorf("reading 10 kB of a 256 MiB claim allocated %d bytes", bytesAllocated)
	}
}

func TestReaderEOF(t *testing.T) {
	r := packet.NewReader(bytes.NewReader(nil), 0)
	if _, err := r.ReadPacket(); err != io.EOF {
		t.Errorf("empty stream: %v, want io.EOF", err)
	}
	pub := mqtttest.Find("PUBLISH QoS 1").Bytes
	for cut := 1; cut < len(pub); cut++ {
		r := packet.NewReader(bytes.NewReader(pub[:cut]), 0)
		if _, err := r.ReadPacket(); err != io.ErrUnexpectedEOF {
			t.Errorf("stream cut after %d bytes: %v, want io.ErrUnexpectedEOF", cut, err)
		}
	}
}

func TestReaderPassesReadErrors(t *testing.T) {
	boom := errors.New("connection reset")
	r := packet.NewReader(iotest.ErrReader(boom), 0)
	if _, err := r.ReadPacket(); err != boom {
		t.Errorf("err = %v, want %v", err, boom)
	}
}

// Append refuses what a receiver would refuse, and leaves dst as it was.
func TestAppendRefuses(t *testing.T) {
	long := strings.Repeat("x", 65536)
	cases := []struct {
		name string
		p    packet.Packet
		rule string
	}{
		{"nil", nil, ""},
		{"nil *Publish", (*packet.Publish)(nil), ""},
		{"CONNECT name", &packet.Connect{ProtocolName: "MQIsdp", ProtocolLevel: 3}, "MQTT-3.1.2-1"},
		{"CONNECT level", &packet.Connect{ProtocolLevel: 5}, "MQTT-3.1.2-2"},
		{"CONNECT client id NUL", &packet.Connect{ClientID: "a\x00"}, "MQTT-1.5.3-2"},
		{"CONNECT client id too long", &packet.Connect{ClientID: long}, "§1.5.3"},
		{"CONNECT will QoS 3", &packet.Connect{Will: &packet.Will{Topic: "w", QoS: 3}}, "MQTT-3.1.2-14"},
		{"CONNECT will topic wildcard", &packet.Connect{Will: &packet.Will{Topic: "w/+"}}, "MQTT-3.3.2-2"},
		{"CONNECT will topic empty", &packet.Connect{Will: &packet.Will{}}, "MQTT-4.7.3-1"},
		{"CONNECT password without user", &packet.Connect{PasswordFlag: true, Password: []byte("p")}, "MQTT-3.1.2-22"},
		{"CONNECT user without flag", &packet.Connect{Username: "u"}, "MQTT-3.1.2-18"},
		{"CONNECT password without flag", &packet.Connect{UsernameFlag: true, Password: []byte("p")}, "MQTT-3.1.2-20"},
		{"CONNACK reserved code", &packet.Connack{ReturnCode: 6}, "§3.2.2.3"},
		{"CONNACK session present refused", &packet.Connack{SessionPresent: true, ReturnCode: packet.BadUsernameOrPassword}, "MQTT-3.2.2-4"},
		{"PUBLISH QoS 3", &packet.Publish{QoS: 3, Topic: "a", PacketID: 1}, "MQTT-3.3.1-4"},
		{"PUBLISH DUP QoS 0", &packet.Publish{Dup: true, Topic: "a"}, "MQTT-3.3.1-2"},
		{"PUBLISH wildcard", &packet.Publish{Topic: "a/#"}, "MQTT-3.3.2-2"},
		{"PUBLISH empty topic", &packet.Publish{}, "MQTT-4.7.3-1"},
		{"PUBLISH invalid UTF-8", &packet.Publish{Topic: "a\xff"}, "MQTT-1.5.3-1"},
		{"PUBLISH QoS 1 id 0", &packet.Publish{QoS: 1, Topic: "a"}, "MQTT-2.3.1-1"},
		{"PUBLISH too large", &packet.Publish{Topic: "a", Payload: make([]byte, packet.MaxRemainingLength)}, "§2.2.3"},
		{"PUBACK id 0", &packet.Puback{}, "MQTT-2.3.1-1"},
		{"PUBREL id 0", &packet.Pubrel{}, "MQTT-2.3.1-1"},
		{"SUBSCRIBE empty", &packet.Subscribe{PacketID: 1}, "MQTT-3.8.3-3"},
		{"SUBSCRIBE id 0", &packet.Subscribe{Subscriptions: []packet.Subscription{{Filter: "a"}}}, "MQTT-2.3.1-1"},
		{"SUBSCRIBE QoS 3", &packet.Subscribe{PacketID: 1, Subscriptions: []packet.Subscription{{Filter: "a", QoS: 3}}}, "MQTT-3-8.3-4"},
		{"SUBSCRIBE empty filter", &packet.Subscribe{PacketID: 1, Subscriptions: []packet.Subscription{{}}}, "MQTT-4.7.3-1"},
		{"SUBACK code 3", &packet.Suback{PacketID: 1, ReturnCodes: []byte{3}}, "MQTT-3.9.3-2"},
		{"SUBACK no code", &packet.Suback{PacketID: 1}, "MQTT-3.8.4-5"},
		{"UNSUBSCRIBE empty", &packet.Unsubscribe{PacketID: 1}, "MQTT-3.10.3-2"},
		{"UNSUBACK id 0", &packet.Unsuback{}, "MQTT-2.3.1-1"},
	}
	for _, c := range cases {
		dst := []byte{1, 2, 3}
		got, err := packet.Append(dst, c.p)
		if err == nil {
			t.Errorf("%s: Append succeeded: % x", c.name, got)
			continue
		}
		if !bytes.Equal(got, dst) {
			t.Errorf("%s: dst changed to % x", c.name, got)
		}
		if !strings.Contains(err.Error(), c.rule) {
			t.Errorf("%s: error %q does not cite %s", c.name, err, c.rule)
		}
		if _, serr := packet.Size(c.p); serr == nil {
			t.Errorf("%s: Size accepted it", c.name)
		}
	}
}

// The zero protocol name and level of a Connect mean MQTT 3.1.1.
func TestConnectDefaults(t *testing.T) {
	got, err := packet.Append(nil, &packet.Connect{CleanSession: true, KeepAlive: 60, ClientID: "c1"})
	if err != nil {
		t.Fatal(err)
	}
	if want := mqtttest.Find("CONNECT minimal").Bytes; !bytes.Equal(got, want) {
		t.Errorf("got % x, want % x", got, want)
	}
}

// The largest remaining lengths of 1, 2, 3 and 4 bytes (§2.2.3, Table 2.4).
func TestRemainingLengthBoundaries(t *testing.T) {
	for _, c := range []struct {
		n      int
		encode []byte
	}{
		{0, []byte{0x00}}, {127, []byte{0x7f}}, {128, []byte{0x80, 0x01}}, {16383, []byte{0xff, 0x7f}},
		{16384, []byte{0x80, 0x80, 0x01}}, {2097151, []byte{0xff, 0xff, 0x7f}},
		{2097152, []byte{0x80, 0x80, 0x80, 0x01}},
	} {
		// a QoS 0 PUBLISH to topic "a" with n-3 bytes of payload has remaining length n
		if c.n < 3 {
			continue
		}
		p := &packet.Publish{Topic: "a", Payload: make([]byte, c.n-3)}
		b, err := packet.Append(nil, p)
		if err != nil {
			t.Fatalf("n=%d: %v", c.n, err)
		}
		if !bytes.Equal(b[1:1+len(c.encode)], c.encode) {
			t.Errorf("n=%d: remaining length % x, want % x", c.n, b[1:1+len(c.encode)], c.encode)
		}
		r := packet.NewReader(bytes.NewReader(b), 0)
		q, err := r.ReadReused()
		if err != nil || len(q.(*packet.Publish).Payload) != c.n-3 {
			t.Errorf("n=%d: read back %v", c.n, err)
		}
	}
}

// The largest remaining length, read from its four bytes without reading the packet.
func TestRemainingLengthMaximum(t *testing.T) {
	r := packet.NewReader(bytes.NewReader([]byte{0x30, 0xff, 0xff, 0xff, 0x7f}), packet.MaxRemainingLength-1)
	if _, err := r.ReadPacket(); !errors.Is(err, packet.ErrTooLarge) || !strings.Contains(err.Error(), "268435455") {
		t.Errorf("err = %v, want ErrTooLarge naming 268435455", err)
	}
}

func TestStrings(t *testing.T) {
	if s := packet.PUBREL.String(); s != "PUBREL" {
		t.Errorf("PUBREL.String() = %q", s)
	}
	if s := packet.Type(15).String(); s != "Type(15)" {
		t.Errorf("Type(15).String() = %q", s)
	}
	var err error = packet.BadUsernameOrPassword
	if err.Error() != "connection refused: bad user name or password" {
		t.Errorf("BadUsernameOrPassword.Error() = %q", err)
	}
	if s := packet.ConnackCode(9).Error(); !strings.Contains(s, "reserved return code 9") {
		t.Errorf("ConnackCode(9).Error() = %q", s)
	}
}

// loopReader serves data over and over, as a busy connection would.
type loopReader struct {
	data []byte
	off  int
}

func (l *loopReader) Read(p []byte) (int, error) {
	n := copy(p, l.data[l.off:])
	l.off = (l.off + n) % len(l.data)
	return n, nil
}

type countingReader struct {
	r     io.Reader
	reads int
}

func (c *countingReader) Read(p []byte) (int, error) {
	c.reads++
	return c.r.Read(p)
}

// A larger read buffer reads more packets per read of the source.
func TestNewReaderSize(t *testing.T) {
	stream := bytes.Repeat(mqtttest.Find("PUBACK").Bytes, 1000) // 4000 bytes
	for _, c := range []struct {
		size, maxReads int
	}{{0, 20}, {8192, 2}} {
		src := &countingReader{r: bytes.NewReader(stream)}
		r := packet.NewReader(src, 0)
		if c.size > 0 {
			r = packet.NewReaderSize(src, 0, c.size)
		}
		for i := range 1000 {
			if _, err := r.ReadReused(); err != nil {
				t.Fatalf("packet %d: %v", i, err)
			}
		}
		if src.reads > c.maxReads || (c.size == 0 && src.reads < 8) {
			t.Errorf("buffer %d: %d reads of the source for 4000 bytes", c.size, src.reads)
		}
	}
}
