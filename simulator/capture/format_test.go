package capture

import (
	"strings"
	"testing"
	"time"

	"snbridge/mqttsn/mqttsntest"
	"snbridge/mqttsn/packet"
	"snbridge/simulator/check"
)

func TestEveryGoldenMessageFormats(t *testing.T) {
	for _, f := range mqttsntest.Golden {
		line := Format(f.Bytes)
		if !strings.HasPrefix(line, f.Msg.Type().String()) || strings.Contains(line, "MALFORMED") {
			t.Errorf("%s: %q", f.Name, line)
		}
	}
}

func TestFormatLines(t *testing.T) {
	enc := func(m packet.Message) []byte {
		b, err := packet.Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	hdr := check.AppendHeader(nil, check.Header{Run: 0xab, Sensor: 4, Seq: 9, Sent: time.Unix(1, 0)})
	inner := enc(&packet.Connack{ReturnCode: packet.Accepted})
	cases := []struct {
		msg  []byte
		want string
	}{
		{enc(&packet.Connect{CleanSession: true, ProtocolID: 1, Duration: 60, ClientID: "abc"}), `CONNECT id="abc" keepalive=60s clean`},
		{enc(&packet.Publish{QoS: packet.QoS1, Retain: true, TopicIDType: packet.TopicIDNormal, TopicID: 5, MsgID: 7, Data: []byte("21.5")}),
			`PUBLISH qos=1 retain topic=normal:5 msgid=7 data(4)="21.5"`},
		{enc(&packet.Publish{QoS: packet.QoSMinus1, TopicIDType: packet.TopicIDShort, TopicID: 0x6162, Data: hdr}),
			`PUBLISH qos=-1 topic=short:"ab" msgid=0 data(21)=snsim{run=000000ab sensor=4 seq=9}`},
		{enc(&packet.Publish{QoS: packet.QoS0, TopicIDType: packet.TopicIDPredefined, TopicID: 3, Data: []byte{0, 1, 0xff}}),
			`PUBLISH qos=0 topic=predefined:3 msgid=0 data(3)=0001ff`},
		{enc(&packet.Subscribe{QoS: packet.QoS2, MsgID: 1, TopicName: "site/+/cmd"}), `SUBSCRIBE qos=2 topic="site/+/cmd" msgid=1`},
		{enc(&packet.Puback{TopicID: 5, MsgID: 7, ReturnCode: packet.InvalidTopicID}), `PUBACK topicid=5 msgid=7 rc="rejected: invalid topic ID"`},
		{enc(&packet.Disconnect{HasDuration: true, Duration: 30}), `DISCONNECT sleep=30s`},
		{enc(&packet.Pingreq{ClientID: "valve-1"}), `PINGREQ id="valve-1"`},
		{enc(&packet.Encapsulated{NodeID: []byte{0x12, 0x34}, Inner: inner}), `ENCAPSULATED node=0x1234 radius=0 | CONNACK rc=accepted`},
		{[]byte{0x05, 0x0c, 0x00}, `MALFORMED`},
		{[]byte{0x03, 0x03, 0x00}, `MALFORMED`},
	}
	for _, c := range cases {
		if got := Format(c.msg); !strings.HasPrefix(got, c.want) {
			t.Errorf("Format(% x)\n got %q\nwant %q", c.msg, got, c.want)
		}
	}
}

func FuzzFormat(f *testing.F) {
	for _, g := range mqttsntest.Golden {
		f.Add(g.Bytes)
	}
	f.Fuzz(func(t *testing.T, d []byte) {
		if Format(d) == "" {
			t.Fatal("empty line")
		}
	})
}
