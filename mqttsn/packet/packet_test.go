package packet_test

import (
	"bytes"
	"errors"
	"reflect"
	"strings"
	"testing"

	"snbridge/mqttsn/mqttsntest"
	"snbridge/mqttsn/packet"
)

// typeOctet returns the MsgType octet of a datagram in either Length form.
func typeOctet(b []byte) byte {
	if b[0] == 0x01 {
		return b[3]
	}
	return b[1]
}

func TestGoldenDecode(t *testing.T) {
	for _, f := range mqttsntest.Golden {
		t.Run(f.Name, func(t *testing.T) {
			m, err := packet.Decode(f.Bytes)
			if err != nil {
				t.Fatalf("Decode(% X): %v", f.Bytes, err)
			}
			if !reflect.DeepEqual(m, f.Msg) {
				t.Fatalf("Decode(% X)\n got %#v\nwant %#v", f.Bytes, m, f.Msg)
			}
			if got := byte(m.Type()); got != typeOctet(f.Bytes) {
				t.Errorf("Type() = 0x%02X, datagram says 0x%02X", got, typeOctet(f.Bytes))
			}
		})
	}
}

func TestGoldenEncode(t *testing.T) {
	for _, f := range mqttsntest.Golden {
		t.Run(f.Name, func(t *testing.T) {
			got, err := packet.Marshal(f.Msg)
			if err != nil {
				t.Fatalf("Marshal: %v", err)
			}
			if !bytes.Equal(got, f.Bytes) {
				t.Fatalf("Marshal\n got % X\nwant % X", got, f.Bytes)
			}
			// Append keeps what dst already holds.
			prefix := []byte{0xAA, 0xBB}
			got, err = packet.Append(prefix, f.Msg)
			if err != nil {
				t.Fatalf("Append: %v", err)
			}
			if !bytes.Equal(got[:2], []byte{0xAA, 0xBB}) || !bytes.Equal(got[2:], f.Bytes) {
				t.Fatalf("Append after a prefix\n got % X\nwant AA BB % X", got, f.Bytes)
			}
		})
	}
}

// Unmarshal into a zero value of the fixture's own type gives the same result as Decode.
func TestGoldenUnmarshal(t *testing.T) {
	for _, f := range mqttsntest.Golden {
		t.Run(f.Name, func(t *testing.T) {
			m := packet.New(f.Msg.Type())
			if err := m.Unmarshal(f.Bytes); err != nil {
				t.Fatalf("Unmarshal: %v", err)
			}
			if !reflect.DeepEqual(m, f.Msg) {
				t.Fatalf("Unmarshal\n got %#v\nwant %#v", m, f.Msg)
			}
		})
	}
}

func TestDecodeOnly(t *testing.T) {
	for _, f := range mqttsntest.DecodeOnly {
		t.Run(f.Name, func(t *testing.T) {
			m, err := packet.Decode(f.Bytes)
			if err != nil {
				t.Fatalf("Decode(% X): %v", f.Bytes, err)
			}
			if !reflect.DeepEqual(m, f.Msg) {
				t.Fatalf("Decode(% X)\n got %#v\nwant %#v", f.Bytes, m, f.Msg)
			}
			canon, err := packet.Marshal(m)
			if err != nil {
				t.Fatalf("Marshal: %v", err)
			}
			if bytes.Equal(canon, f.Bytes) {
				t.Fatalf("% X is canonical: it belongs in Golden", f.Bytes)
			}
			again, err := packet.Decode(canon)
			if err != nil || !reflect.DeepEqual(again, f.Msg) {
				t.Fatalf("canonical % X decodes to %#v, %v", canon, again, err)
			}
		})
	}
}

func TestMalformed(t *testing.T) {
	for _, f := range mqttsntest.Malformed {
		t.Run(f.Name, func(t *testing.T) {
			m, err := packet.Decode(f.Bytes)
			if err == nil {
				t.Fatalf("Decode(% X) = %#v, want error %v", f.Bytes, m, f.Err)
			}
			if m != nil {
				t.Errorf("Decode returned a message with the error: %#v", m)
			}
			if !errors.Is(err, f.Err) {
				t.Fatalf("Decode(% X) error %v, want %v", f.Bytes, err, f.Err)
			}
			var de *packet.DecodeError
			if !errors.As(err, &de) {
				t.Fatalf("error %T is not a *DecodeError", err)
			}
			if de.Field != f.Field || de.Offset != f.Offset {
				t.Errorf("DecodeError at %s offset %d, want %s offset %d (%v)", de.Field, de.Offset, f.Field, f.Offset, err)
			}
			if !strings.Contains(err.Error(), f.Err.Error()) {
				t.Errorf("message %q does not say %q", err, f.Err)
			}
		})
	}
}

// A failed Unmarshal leaves the receiver as it was.
func TestUnmarshalErrorKeepsReceiver(t *testing.T) {
	want := packet.Publish{QoS: packet.QoS2, TopicID: 7, MsgID: 9, Data: []byte("keep")}
	p := want
	for _, bad := range [][]byte{
		{0x06, 0x0C, 0x20, 0x00, 0x01, 0x00},       // truncated PUBLISH
		{0x07, 0x0D, 0x00, 0x01, 0x00, 0x02, 0x00}, // a PUBACK
		{0x02, 0x0C}, // PUBLISH with no body
		{0x09, 0x0C, 0x20, 0x00, 0x01, 0x00, 0x02, 0x41}, // Length 9, datagram 8
	} {
		if err := p.Unmarshal(bad); err == nil {
			t.Fatalf("Unmarshal(% X) succeeded", bad)
		}
		if !reflect.DeepEqual(p, want) {
			t.Fatalf("Unmarshal(% X) changed the receiver to %#v", bad, p)
		}
	}
	var rec packet.Pubrec
	rec.MsgID = 42
	if err := rec.Unmarshal([]byte{0x03, 0x0F, 0x00}); err == nil || rec.MsgID != 42 {
		t.Fatalf("Pubrec.Unmarshal of a short datagram: err %v, MsgID %d (want error, 42)", err, rec.MsgID)
	}
}

func TestUnmarshalWrongType(t *testing.T) {
	var c packet.Connack
	err := c.Unmarshal(mqttsntest.Bytes("PINGRESP"))
	if !errors.Is(err, packet.ErrWrongType) {
		t.Fatalf("Connack.Unmarshal(PINGRESP) = %v, want ErrWrongType", err)
	}
	var de *packet.DecodeError
	if !errors.As(err, &de) || de.Type != packet.TypeConnack || de.Field != "MsgType" || de.Offset != 1 {
		t.Fatalf("error %#v, want CONNACK MsgType at offset 1", err)
	}
	if !strings.Contains(err.Error(), "PINGRESP") {
		t.Errorf("%q does not name the type received", err)
	}
}

// The encoder picks the 1-octet Length up to a total of 255 and the 3-octet one from 256 on.
func TestLengthFormBoundary(t *testing.T) {
	for _, n := range []int{0, 1, 247, 248, 249, 250, 251, 1000} {
		p := &packet.Publish{TopicID: 1, Data: bytes.Repeat([]byte{'d'}, n)}
		b, err := packet.Marshal(p)
		if err != nil {
			t.Fatal(err)
		}
		short := 7 + n
		switch {
		case short <= 255:
			if len(b) != short || int(b[0]) != short || b[1] != 0x0C {
				t.Errorf("data %d: got header % X and %d octets, want 1-octet Length %d", n, b[:2], len(b), short)
			}
		default:
			long := 9 + n
			if len(b) != long || b[0] != 0x01 || int(b[1])<<8|int(b[2]) != long || b[3] != 0x0C {
				t.Errorf("data %d: got header % X and %d octets, want 3-octet Length %d", n, b[:4], len(b), long)
			}
		}
		back, err := packet.Decode(b)
		if err != nil || !bytes.Equal(back.(*packet.Publish).Data, p.Data) {
			t.Errorf("data %d: round trip %v", n, err)
		}
	}
}

func TestMaxLength(t *testing.T) {
	p := &packet.Publish{TopicID: 1, Data: make([]byte, packet.MaxLength-9)}
	b, err := packet.Marshal(p)
	if err != nil {
		t.Fatalf("a 65535-octet PUBLISH: %v", err)
	}
	if len(b) != packet.MaxLength || b[1] != 0xFF || b[2] != 0xFF {
		t.Fatalf("got %d octets, Length % X", len(b), b[:3])
	}
	if _, err := packet.Decode(b); err != nil {
		t.Fatalf("decode the largest message: %v", err)
	}
	p.Data = append(p.Data, 0)
	dst := []byte{1, 2, 3}
	out, err := packet.Append(dst, p)
	if !errors.Is(err, packet.ErrTooLong) {
		t.Fatalf("a 65536-octet PUBLISH: %v, want ErrTooLong", err)
	}
	if !bytes.Equal(out, []byte{1, 2, 3}) {
		t.Fatalf("dst changed on error: % X", out)
	}
}

func TestEncodeRejectsInvalid(t *testing.T) {
	cases := []struct {
		name string
		m    packet.Message
		err  error
	}{
		{"PUBLISH QoS 3", &packet.Publish{QoS: 3, TopicID: 1}, packet.ErrInvalid},
		{"PUBLISH QoS -2", &packet.Publish{QoS: -2, TopicID: 1}, packet.ErrInvalid},
		{"PUBLISH TopicIDType 4", &packet.Publish{TopicIDType: 4, TopicID: 1}, packet.ErrInvalid},
		{"SUBSCRIBE QoS 5", &packet.Subscribe{QoS: 5, TopicName: "a"}, packet.ErrInvalid},
		{"SUBSCRIBE name with predefined type", &packet.Subscribe{TopicIDType: packet.TopicIDPredefined, TopicName: "a/b"}, packet.ErrInvalid},
		{"SUBSCRIBE id with normal type", &packet.Subscribe{TopicID: 3}, packet.ErrInvalid},
		{"UNSUBSCRIBE name with short type", &packet.Unsubscribe{TopicIDType: packet.TopicIDShort, TopicName: "ab"}, packet.ErrInvalid},
		{"SUBACK QoS 3", &packet.Suback{QoS: 3}, packet.ErrInvalid},
		{"WILLTOPIC QoS 4", &packet.WillTopic{QoS: 4, Topic: "t"}, packet.ErrInvalid},
		{"WILLTOPIC delete with QoS", &packet.WillTopic{QoS: packet.QoS1}, packet.ErrInvalid},
		{"WILLTOPICUPD delete with Retain", &packet.WillTopicUpd{Retain: true}, packet.ErrInvalid},
		{"DISCONNECT Duration without HasDuration", &packet.Disconnect{Duration: 5}, packet.ErrInvalid},
		{"CONNECT too long", &packet.Connect{ProtocolID: 1, ClientID: strings.Repeat("c", 65532)}, packet.ErrTooLong},
		{"REGISTER too long", &packet.Register{TopicName: strings.Repeat("t", 65530)}, packet.ErrTooLong},
		{"ENCAPSULATED radius 4", &packet.Encapsulated{Radius: 4, NodeID: []byte{1}, Inner: []byte{2, 0x16}}, packet.ErrInvalid},
		{"ENCAPSULATED empty node id", &packet.Encapsulated{Inner: []byte{2, 0x16}}, packet.ErrInvalid},
		{"ENCAPSULATED node id of 253", &packet.Encapsulated{NodeID: make([]byte, 253), Inner: []byte{2, 0x16}}, packet.ErrTooLong},
		{"ENCAPSULATED inner bad length", &packet.Encapsulated{NodeID: []byte{1}, Inner: []byte{3, 0x16}}, packet.ErrInvalid},
		{"ENCAPSULATED nested", &packet.Encapsulated{NodeID: []byte{1}, Inner: []byte{4, 0xFE, 0, 9, 2, 0x16}}, packet.ErrInvalid},
		{"ENCAPSULATED no inner", &packet.Encapsulated{NodeID: []byte{1}}, packet.ErrInvalid},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dst := []byte{9}
			out, err := c.m.Append(dst)
			if !errors.Is(err, c.err) {
				t.Fatalf("Append = %v, want %v", err, c.err)
			}
			if !bytes.Equal(out, []byte{9}) {
				t.Fatalf("dst changed on error: % X", out)
			}
		})
	}
}

func TestNodeIDLimit(t *testing.T) {
	b, err := packet.AppendEncapsulated(nil, 3, bytes.Repeat([]byte{7}, packet.MaxNodeIDLen), []byte{2, 0x17})
	if err != nil {
		t.Fatalf("node id of %d octets: %v", packet.MaxNodeIDLen, err)
	}
	if b[0] != 255 {
		t.Fatalf("envelope Length %d, want 255", b[0])
	}
	r, id, inner, err := packet.DecapsulateForwarder(b)
	if err != nil || r != 3 || len(id) != packet.MaxNodeIDLen || !bytes.Equal(inner, []byte{2, 0x17}) {
		t.Fatalf("DecapsulateForwarder = %d, %d octets, % X, %v", r, len(id), inner, err)
	}
}

// A gateway answers a forwarded client inside the same envelope; the inner message decodes on its own.
func TestForwarderRoundTrip(t *testing.T) {
	in := mqttsntest.Bytes("ENCAPSULATED radius=1 node=0013a20040a1b2c3 PINGREQ")
	radius, node, inner, err := packet.DecapsulateForwarder(in)
	if err != nil {
		t.Fatal(err)
	}
	if radius != 1 || !bytes.Equal(node, []byte{0x00, 0x13, 0xA2, 0x00, 0x40, 0xA1, 0xB2, 0xC3}) {
		t.Fatalf("radius %d node % X", radius, node)
	}
	m, err := packet.Decode(inner)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := m.(*packet.Pingreq); !ok {
		t.Fatalf("inner message %#v, want PINGREQ", m)
	}
	reply, _ := packet.Marshal(&packet.Pingresp{})
	out, err := packet.AppendEncapsulated(nil, 0, node, reply)
	if err != nil {
		t.Fatal(err)
	}
	want := []byte{0x0B, 0xFE, 0x00, 0x00, 0x13, 0xA2, 0x00, 0x40, 0xA1, 0xB2, 0xC3, 0x02, 0x17}
	if !bytes.Equal(out, want) {
		t.Fatalf("reply % X, want % X", out, want)
	}
	if _, _, _, err := packet.DecapsulateForwarder(mqttsntest.Bytes("PINGREQ")); !errors.Is(err, packet.ErrWrongType) {
		t.Fatalf("DecapsulateForwarder(PINGREQ) = %v, want ErrWrongType", err)
	}
}

// Decoded byte fields alias the datagram (documented): the zero-copy promise of Publish.Unmarshal.
func TestPublishDataAliasesDatagram(t *testing.T) {
	b := mqttsntest.Bytes("PUBLISH qos0 id=1 data=hello")
	var p packet.Publish
	if err := p.Unmarshal(b); err != nil {
		t.Fatal(err)
	}
	b[7] = 'J'
	if string(p.Data) != "Jello" {
		t.Fatalf("Data = %q after changing the datagram; want it to alias", p.Data)
	}
}

func TestPublishUnmarshalReuseAllocatesNothing(t *testing.T) {
	b := mqttsntest.Bytes("PUBLISH qos1 id=1 msgid=2 data=21.5")
	var p packet.Publish
	allocs := testing.AllocsPerRun(100, func() {
		if err := p.Unmarshal(b); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Fatalf("Publish.Unmarshal into a reused value: %v allocs, want 0", allocs)
	}
	buf := make([]byte, 0, 64)
	allocs = testing.AllocsPerRun(100, func() {
		var err error
		if buf, err = p.Append(buf[:0]); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Fatalf("Publish.Append into a buffer with room: %v allocs, want 0", allocs)
	}
}

func TestParseHeader(t *testing.T) {
	typ, total, hdr, err := packet.ParseHeader(mqttsntest.Bytes("PUBLISH qos1 id=1 msgid=5 300 octets (3-octet Length)"))
	if err != nil || typ != packet.TypePublish || total != 309 || hdr != 4 {
		t.Fatalf("long form: %v %d %d %v", typ, total, hdr, err)
	}
	typ, total, hdr, err = packet.ParseHeader(mqttsntest.Bytes("ENCAPSULATED node=1234 CONNACK accepted"))
	if err != nil || typ != packet.TypeEncapsulated || total != 5 || hdr != 2 {
		t.Fatalf("envelope: %v %d %d %v", typ, total, hdr, err)
	}
}

func TestNames(t *testing.T) {
	for _, c := range []struct{ got, want string }{
		{packet.TypePubcomp.String(), "PUBCOMP"},
		{packet.TypeWillMsgResp.String(), "WILLMSGRESP"},
		{packet.TypeEncapsulated.String(), "ENCAPSULATED"},
		{packet.MsgType(0x03).String(), "RESERVED(0x03)"},
		{packet.MsgType(0x11).String(), "RESERVED(0x11)"},
		{packet.QoSMinus1.String(), "QoS-1"},
		{packet.QoS2.String(), "QoS2"},
		{packet.QoS(7).String(), "QoS(7)"},
		{packet.TopicIDShort.String(), "short"},
		{packet.InvalidTopicID.Error(), "mqtt-sn: rejected: invalid topic ID"},
		{packet.ReturnCode(0x80).String(), "rejected: reserved return code 0x80"},
	} {
		if c.got != c.want {
			t.Errorf("got %q, want %q", c.got, c.want)
		}
	}
	if packet.Accepted.Err() != nil {
		t.Error("Accepted.Err() != nil")
	}
	if err := packet.Congestion.Err(); !errors.Is(err, packet.Congestion) {
		t.Errorf("Congestion.Err() = %v", err)
	}
	for _, typ := range []packet.MsgType{0x03, 0x11, 0x19, 0x1E, 0xFD, 0xFF} {
		if typ.Valid() || packet.New(typ) != nil {
			t.Errorf("reserved %v is valid", typ)
		}
	}
}

func TestFlags(t *testing.T) {
	f := packet.Flags(0).With(packet.FlagDup, true).WithQoS(packet.QoSMinus1).With(packet.FlagRetain, true).WithTopicIDType(packet.TopicIDShort)
	if f != 0xF2 {
		t.Fatalf("flags 0x%02X, want 0xF2", uint8(f))
	}
	if !f.Dup() || f.QoS() != packet.QoSMinus1 || !f.Retain() || f.Will() || f.CleanSession() || f.TopicIDType() != packet.TopicIDShort {
		t.Fatalf("accessors of 0xF2 wrong")
	}
	for q := packet.QoSMinus1; q <= packet.QoS2; q++ {
		if got := packet.Flags(0xFF).WithQoS(q).QoS(); got != q {
			t.Errorf("WithQoS(%v).QoS() = %v", q, got)
		}
	}
	if f := packet.Flags(packet.FlagWill | packet.FlagCleanSession); !f.Will() || !f.CleanSession() || f.With(packet.FlagWill, false).Will() {
		t.Errorf("Will/CleanSession bits wrong")
	}
}

func TestShortTopic(t *testing.T) {
	id, ok := packet.ShortTopicID("ab")
	if !ok || id != 0x6162 || packet.ShortTopicName(id) != "ab" {
		t.Fatalf("ShortTopicID(ab) = %04X %v", id, ok)
	}
	for _, n := range []string{"", "a", "abc"} {
		if _, ok := packet.ShortTopicID(n); ok {
			t.Errorf("ShortTopicID(%q) accepted (erratum E4: exactly 2 octets)", n)
		}
	}
}
