package mqtttest

import (
	"bytes"

	"snbridge/mqtt/packet"
)

// Fixture is one packet and its exact encoding on the wire.
type Fixture struct {
	Name   string
	Bytes  []byte
	Packet packet.Packet
}

// Golden lists every control packet in its common forms, each byte annotated. Decoding Bytes
// gives Packet and encoding Packet gives Bytes.
var Golden = []Fixture{
	{Name: "CONNECT minimal", Bytes: []byte{
		0x10,       // CONNECT, flags 0000
		0x0e,       // remaining length 14
		0x00, 0x04, // protocol name length 4
		'M', 'Q', 'T', 'T',
		0x04,       // protocol level 4
		0x02,       // connect flags: clean session
		0x00, 0x3c, // keep alive 60 s
		0x00, 0x02, // client identifier length 2
		'c', '1',
	}, Packet: &packet.Connect{ProtocolName: "MQTT", ProtocolLevel: 4, CleanSession: true, KeepAlive: 60, ClientID: "c1"}},

	{Name: "CONNECT empty client id, keepalive off", Bytes: []byte{
		0x10,       // CONNECT
		0x0c,       // remaining length 12
		0x00, 0x04, // protocol name length 4
		'M', 'Q', 'T', 'T',
		0x04,       // protocol level 4
		0x02,       // connect flags: clean session
		0x00, 0x00, // keep alive 0: off
		0x00, 0x00, // client identifier length 0
	}, Packet: &packet.Connect{ProtocolName: "MQTT", ProtocolLevel: 4, CleanSession: true}},

	{Name: "CONNECT will, user name, password", Bytes: []byte{
		0x10,       // CONNECT
		0x2c,       // remaining length 44
		0x00, 0x04, // protocol name length 4
		'M', 'Q', 'T', 'T',
		0x04,       // protocol level 4
		0xf4,       // connect flags: user name 0x80, password 0x40, will retain 0x20, will QoS 2 (0x10), will 0x04; clean session 0
		0x01, 0x2c, // keep alive 300 s
		0x00, 0x04, // client identifier length 4
		's', 'n', '-', '1',
		0x00, 0x08, // will topic length 8
		's', 'n', '/', '1', '/', 'w', 'i', 'l',
		0x00, 0x04, // will message length 4
		'g', 'o', 'n', 'e',
		0x00, 0x05, // user name length 5
		'a', 'l', 'i', 'c', 'e',
		0x00, 0x03, // password length 3 (binary data)
		0x00, 0xff, 0x01,
	}, Packet: &packet.Connect{ProtocolName: "MQTT", ProtocolLevel: 4, KeepAlive: 300, ClientID: "sn-1",
		Will:         &packet.Will{Topic: "sn/1/wil", Payload: []byte("gone"), QoS: 2, Retain: true},
		UsernameFlag: true, Username: "alice", PasswordFlag: true, Password: []byte{0x00, 0xff, 0x01}}},

	{Name: "CONNECT will QoS 1, empty will message, user name only", Bytes: []byte{
		0x10,       // CONNECT
		0x19,       // remaining length 25
		0x00, 0x04, // protocol name length 4
		'M', 'Q', 'T', 'T',
		0x04,       // protocol level 4
		0x8e,       // connect flags: user name 0x80, will QoS 1 (0x08), will 0x04, clean session 0x02
		0x00, 0x0a, // keep alive 10 s
		0x00, 0x01, // client identifier length 1
		'x',
		0x00, 0x03, // will topic length 3
		'a', '/', 'b',
		0x00, 0x00, // will message length 0
		0x00, 0x03, // user name length 3
		'b', 'o', 'b',
	}, Packet: &packet.Connect{ProtocolName: "MQTT", ProtocolLevel: 4, CleanSession: true, KeepAlive: 10, ClientID: "x",
		Will:         &packet.Will{Topic: "a/b", QoS: 1},
		UsernameFlag: true, Username: "bob"}},

	{Name: "CONNACK accepted", Bytes: []byte{
		0x20, // CONNACK
		0x02, // remaining length 2
		0x00, // acknowledge flags: no session present
		0x00, // return code 0: accepted
	}, Packet: &packet.Connack{}},

	{Name: "CONNACK session present", Bytes: []byte{
		0x20, // CONNACK
		0x02, // remaining length 2
		0x01, // acknowledge flags: session present
		0x00, // return code 0: accepted
	}, Packet: &packet.Connack{SessionPresent: true}},

	{Name: "CONNACK unacceptable protocol version", Bytes: []byte{
		0x20, // CONNACK
		0x02, // remaining length 2
		0x00, // acknowledge flags: 0 with any refusal [MQTT-3.2.2-4]
		0x01, // return code 1: unacceptable protocol version
	}, Packet: &packet.Connack{ReturnCode: packet.UnacceptableProtocolVersion}},

	{Name: "CONNACK not authorized", Bytes: []byte{
		0x20, // CONNACK
		0x02, // remaining length 2
		0x00, // acknowledge flags
		0x05, // return code 5: not authorized
	}, Packet: &packet.Connack{ReturnCode: packet.NotAuthorized}},

	{Name: "PUBLISH QoS 0", Bytes: []byte{
		0x30,       // PUBLISH, DUP 0, QoS 0, RETAIN 0
		0x0a,       // remaining length 10
		0x00, 0x03, // topic name length 3
		'a', '/', 'b',
		// no packet identifier at QoS 0
		'h', 'e', 'l', 'l', 'o', // payload
	}, Packet: &packet.Publish{Topic: "a/b", Payload: []byte("hello")}},

	{Name: "PUBLISH QoS 0 retained, empty payload (clears the retained message)", Bytes: []byte{
		0x31,       // PUBLISH, RETAIN 1
		0x05,       // remaining length 5
		0x00, 0x03, // topic name length 3
		'a', '/', 'b',
	}, Packet: &packet.Publish{Retain: true, Topic: "a/b"}},

	{Name: "PUBLISH QoS 1", Bytes: []byte{
		0x32,       // PUBLISH, QoS 1 (0x02)
		0x09,       // remaining length 9
		0x00, 0x03, // topic name length 3
		'a', '/', 'b',
		0x00, 0x01, // packet identifier 1
		'h', 'i', // payload
	}, Packet: &packet.Publish{QoS: 1, Topic: "a/b", PacketID: 1, Payload: []byte("hi")}},

	{Name: "PUBLISH QoS 2 DUP retained", Bytes: []byte{
		0x3d,       // PUBLISH, DUP 0x08, QoS 2 (0x04), RETAIN 0x01
		0x0b,       // remaining length 11
		0x00, 0x05, // topic name length 5
		0xc3, 0xa9, 't', 0xc3, 0xa9, // "été": UTF-8 topic
		0xff, 0xfe, // packet identifier 65534
		0x00, 0xff, // payload: binary
	}, Packet: &packet.Publish{Dup: true, QoS: 2, Retain: true, Topic: "été", PacketID: 0xfffe, Payload: []byte{0x00, 0xff}}},

	{Name: "PUBLISH QoS 0, 200-byte payload: two-byte remaining length", Bytes: cat([]byte{
		0x30,       // PUBLISH
		0xcd, 0x01, // remaining length 205 = 0x4d + 1×128
		0x00, 0x03, // topic name length 3
		't', '/', 'x',
	}, bytes.Repeat([]byte{'z'}, 200)), Packet: &packet.Publish{Topic: "t/x", Payload: bytes.Repeat([]byte{'z'}, 200)}},

	{Name: "PUBACK", Bytes: []byte{
		0x40,       // PUBACK
		0x02,       // remaining length 2
		0x00, 0x01, // packet identifier 1
	}, Packet: &packet.Puback{PacketID: 1}},

	{Name: "PUBREC", Bytes: []byte{
		0x50,       // PUBREC
		0x02,       // remaining length 2
		0x12, 0x34, // packet identifier 0x1234
	}, Packet: &packet.Pubrec{PacketID: 0x1234}},

	{Name: "PUBREL", Bytes: []byte{
		0x62,       // PUBREL, flags 0010 [MQTT-3.6.1-1]
		0x02,       // remaining length 2
		0x12, 0x34, // packet identifier 0x1234
	}, Packet: &packet.Pubrel{PacketID: 0x1234}},

	{Name: "PUBCOMP", Bytes: []byte{
		0x70,       // PUBCOMP
		0x02,       // remaining length 2
		0xff, 0xff, // packet identifier 65535
	}, Packet: &packet.Pubcomp{PacketID: 0xffff}},

	{Name: "SUBSCRIBE one filter", Bytes: []byte{
		0x82,       // SUBSCRIBE, flags 0010 [MQTT-3.8.1-1]
		0x08,       // remaining length 8
		0x00, 0x0a, // packet identifier 10
		0x00, 0x03, // topic filter length 3
		'a', '/', '#',
		0x01, // requested QoS 1
	}, Packet: &packet.Subscribe{PacketID: 10, Subscriptions: []packet.Subscription{{Filter: "a/#", QoS: 1}}}},

	{Name: "SUBSCRIBE three filters", Bytes: []byte{
		0x82,       // SUBSCRIBE
		0x14,       // remaining length 20
		0x00, 0x02, // packet identifier 2
		0x00, 0x01, // topic filter length 1
		'#',
		0x00,       // requested QoS 0
		0x00, 0x05, // topic filter length 5
		'+', '/', 't', '/', '+',
		0x02,       // requested QoS 2
		0x00, 0x03, // topic filter length 3
		'$', 'S', 'Y',
		0x01, // requested QoS 1
	}, Packet: &packet.Subscribe{PacketID: 2, Subscriptions: []packet.Subscription{
		{Filter: "#", QoS: 0}, {Filter: "+/t/+", QoS: 2}, {Filter: "$SY", QoS: 1}}}},

	{Name: "SUBACK granted and refused", Bytes: []byte{
		0x90,       // SUBACK
		0x06,       // remaining length 6
		0x00, 0x02, // packet identifier 2
		0x00, // granted QoS 0
		0x02, // granted QoS 2
		0x80, // failure
		0x01, // granted QoS 1
	}, Packet: &packet.Suback{PacketID: 2, ReturnCodes: []byte{0, 2, packet.SubackFailure, 1}}},

	{Name: "UNSUBSCRIBE two filters", Bytes: []byte{
		0xa2,       // UNSUBSCRIBE, flags 0010 [MQTT-3.10.1-1]
		0x0b,       // remaining length 11
		0x00, 0x03, // packet identifier 3
		0x00, 0x03, // topic filter length 3
		'a', '/', '#',
		0x00, 0x02, // topic filter length 2
		'b', '/',
	}, Packet: &packet.Unsubscribe{PacketID: 3, Filters: []string{"a/#", "b/"}}},

	{Name: "UNSUBACK", Bytes: []byte{
		0xb0,       // UNSUBACK
		0x02,       // remaining length 2
		0x00, 0x03, // packet identifier 3
	}, Packet: &packet.Unsuback{PacketID: 3}},

	{Name: "PINGREQ", Bytes: []byte{
		0xc0, // PINGREQ
		0x00, // remaining length 0
	}, Packet: &packet.Pingreq{}},

	{Name: "PINGRESP", Bytes: []byte{
		0xd0, // PINGRESP
		0x00, // remaining length 0
	}, Packet: &packet.Pingresp{}},

	{Name: "DISCONNECT", Bytes: []byte{
		0xe0, // DISCONNECT
		0x00, // remaining length 0
	}, Packet: &packet.Disconnect{}},
}

func cat(parts ...[]byte) []byte { return bytes.Join(parts, nil) }

// Find returns the golden fixture of that name; it panics if there is none (a test's typo).
func Find(name string) Fixture {
	for _, f := range Golden {
		if f.Name == name {
			return f
		}
	}
	panic("mqtttest: no golden fixture " + name)
}
