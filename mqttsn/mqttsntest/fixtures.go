package mqttsntest

import (
	"bytes"

	"snbridge/mqttsn/packet"
)

// Fixture is one datagram and the message it stands for.
type Fixture struct {
	Name  string
	Bytes []byte
	Msg   packet.Message
}

// MalformedFixture is a datagram a decoder must reject with Err (a packet sentinel, test with
// errors.Is), reporting Field at Offset in its *packet.DecodeError.
type MalformedFixture struct {
	Name   string
	Bytes  []byte
	Err    error
	Field  string
	Offset int
}

// MustGet returns the Golden or DecodeOnly fixture called name; it panics on an unknown name (a
// typo in a test).
func MustGet(name string) Fixture {
	for _, list := range [][]Fixture{Golden, DecodeOnly} {
		for _, f := range list {
			if f.Name == name {
				return f
			}
		}
	}
	panic("mqttsntest: no fixture named " + name)
}

// Bytes returns a copy of the bytes of fixture name (safe to modify or to decode into).
func Bytes(name string) []byte { return bytes.Clone(MustGet(name).Bytes) }

// Payload248 and Payload249 sit on either side of the Length-form boundary of PUBLISH: 7 octets of
// header + 248 = 255 (1-octet form), 249 + 9 = 258 (3-octet form).
var (
	Payload248 = bytes.Repeat([]byte{'x'}, 248)
	Payload249 = bytes.Repeat([]byte{'y'}, 249)
	Payload300 = bytes.Repeat([]byte{'z'}, 300)
)

func cat(parts ...[]byte) []byte { return bytes.Join(parts, nil) }

// Golden is the canonical encoding of every MQTT-SN v1.2 message, in both Length forms where a
// message can be long. Names are stable: conversation tests look fixtures up by name.
var Golden = []Fixture{
	// §5.4.1–§5.4.3 discovery
	{"ADVERTISE gw=1 duration=900", []byte{
		0x05,       // Length 5
		0x00,       // MsgType ADVERTISE
		0x01,       // GwId 1
		0x03, 0x84, // Duration 900 s
	}, &packet.Advertise{GatewayID: 1, Duration: 900}},
	{"SEARCHGW radius=1", []byte{
		0x03, // Length 3
		0x01, // MsgType SEARCHGW
		0x01, // Radius 1 hop
	}, &packet.SearchGW{Radius: 1}},
	{"GWINFO gw=1", []byte{
		0x03, // Length 3
		0x02, // MsgType GWINFO
		0x01, // GwId 1 (sent by the gateway: no GwAdd)
	}, &packet.GWInfo{GatewayID: 1}},
	{"GWINFO gw=1 addr=127.0.0.1", []byte{
		0x07,                   // Length 7
		0x02,                   // MsgType GWINFO
		0x01,                   // GwId 1
		0x7F, 0x00, 0x00, 0x01, // GwAdd 127.0.0.1 (sent by a client on the gateway's behalf)
	}, &packet.GWInfo{GatewayID: 1, GatewayAddr: []byte{127, 0, 0, 1}}},

	// §5.4.4–§5.4.9 connection and will handshake
	{"CONNECT clean keepalive=60 id=abc", []byte{
		0x09,       // Length 9
		0x04,       // MsgType CONNECT
		0x04,       // Flags: CleanSession
		0x01,       // ProtocolId 0x01
		0x00, 0x3C, // Duration (keep-alive) 60 s
		'a', 'b', 'c', // ClientId "abc"
	}, &packet.Connect{CleanSession: true, ProtocolID: 1, Duration: 60, ClientID: "abc"}},
	{"CONNECT will clean keepalive=30 id=sensor-1", []byte{
		0x0E,       // Length 14
		0x04,       // MsgType CONNECT
		0x0C,       // Flags: Will, CleanSession
		0x01,       // ProtocolId 0x01
		0x00, 0x1E, // Duration (keep-alive) 30 s
		's', 'e', 'n', 's', 'o', 'r', '-', '1', // ClientId "sensor-1"
	}, &packet.Connect{Will: true, CleanSession: true, ProtocolID: 1, Duration: 30, ClientID: "sensor-1"}},
	{"CONNECT persistent keepalive=60 id=sensor-1", []byte{
		0x0E,       // Length 14
		0x04,       // MsgType CONNECT
		0x00,       // Flags: none (persistent session, no will)
		0x01,       // ProtocolId 0x01
		0x00, 0x3C, // Duration (keep-alive) 60 s
		's', 'e', 'n', 's', 'o', 'r', '-', '1', // ClientId "sensor-1"
	}, &packet.Connect{ProtocolID: 1, Duration: 60, ClientID: "sensor-1"}},
	{"CONNECT empty client id", []byte{
		0x06,       // Length 6
		0x04,       // MsgType CONNECT
		0x04,       // Flags: CleanSession
		0x01,       // ProtocolId 0x01
		0x00, 0x3C, // Duration 60 s
		// ClientId empty: decodes so a gateway can answer CONNACK 0x03 (erratum E23)
	}, &packet.Connect{CleanSession: true, ProtocolID: 1, Duration: 60}},
	{"CONNECT protocol id 2", []byte{
		0x07,       // Length 7
		0x04,       // MsgType CONNECT
		0x04,       // Flags: CleanSession
		0x02,       // ProtocolId 0x02: reserved, kept so a gateway can answer 0x03 (erratum E21)
		0x00, 0x3C, // Duration 60 s
		'x', // ClientId "x"
	}, &packet.Connect{CleanSession: true, ProtocolID: 2, Duration: 60, ClientID: "x"}},
	{"CONNACK accepted", []byte{
		0x03, // Length 3
		0x05, // MsgType CONNACK
		0x00, // ReturnCode accepted
	}, &packet.Connack{ReturnCode: packet.Accepted}},
	{"CONNACK congestion", []byte{
		0x03, // Length 3
		0x05, // MsgType CONNACK
		0x01, // ReturnCode rejected: congestion
	}, &packet.Connack{ReturnCode: packet.Congestion}},
	{"CONNACK not supported", []byte{
		0x03, // Length 3
		0x05, // MsgType CONNACK
		0x03, // ReturnCode rejected: not supported
	}, &packet.Connack{ReturnCode: packet.NotSupported}},
	{"WILLTOPICREQ", []byte{
		0x02, // Length 2
		0x06, // MsgType WILLTOPICREQ
	}, &packet.WillTopicReq{}},
	{"WILLTOPIC qos1 retain topic=sensors/s1/status", []byte{
		0x14,                                                                                // Length 20
		0x07,                                                                                // MsgType WILLTOPIC
		0x30,                                                                                // Flags: QoS1 (0x20), Retain (0x10)
		's', 'e', 'n', 's', 'o', 'r', 's', '/', 's', '1', '/', 's', 't', 'a', 't', 'u', 's', // WillTopic
	}, &packet.WillTopic{QoS: packet.QoS1, Retain: true, Topic: "sensors/s1/status"}},
	{"WILLTOPIC delete", []byte{
		0x02, // Length 2
		0x07, // MsgType WILLTOPIC, empty: delete the stored will (§5.4.7)
	}, &packet.WillTopic{}},
	{"WILLMSGREQ", []byte{
		0x02, // Length 2
		0x08, // MsgType WILLMSGREQ
	}, &packet.WillMsgReq{}},
	{"WILLMSG offline", []byte{
		0x09,                              // Length 9
		0x09,                              // MsgType WILLMSG
		'o', 'f', 'f', 'l', 'i', 'n', 'e', // WillMsg "offline"
	}, &packet.WillMsg{Payload: []byte("offline")}},
	{"WILLMSG empty", []byte{
		0x02, // Length 2
		0x09, // MsgType WILLMSG, empty will message
	}, &packet.WillMsg{}},

	// §5.4.10–§5.4.11 registration
	{"REGISTER from client topic=sensors/s1/temp msgid=1", []byte{
		0x15,       // Length 21
		0x0A,       // MsgType REGISTER
		0x00, 0x00, // TopicId 0 (client → gateway)
		0x00, 0x01, // MsgId 1
		's', 'e', 'n', 's', 'o', 'r', 's', '/', 's', '1', '/', 't', 'e', 'm', 'p', // TopicName
	}, &packet.Register{MsgID: 1, TopicName: "sensors/s1/temp"}},
	{"REGACK id=1 msgid=1 accepted", []byte{
		0x07,       // Length 7
		0x0B,       // MsgType REGACK
		0x00, 0x01, // TopicId 1
		0x00, 0x01, // MsgId 1
		0x00, // ReturnCode accepted
	}, &packet.Regack{TopicID: 1, MsgID: 1, ReturnCode: packet.Accepted}},
	{"REGISTER from client topic=sensors/s1/temp msgid=3", []byte{
		0x15,       // Length 21
		0x0A,       // MsgType REGISTER
		0x00, 0x00, // TopicId 0 (client → gateway)
		0x00, 0x03, // MsgId 3
		's', 'e', 'n', 's', 'o', 'r', 's', '/', 's', '1', '/', 't', 'e', 'm', 'p', // TopicName
	}, &packet.Register{MsgID: 3, TopicName: "sensors/s1/temp"}},
	{"REGACK id=2 msgid=3 accepted", []byte{
		0x07,       // Length 7
		0x0B,       // MsgType REGACK
		0x00, 0x02, // TopicId 2 (a new id after re-registration)
		0x00, 0x03, // MsgId 3
		0x00, // ReturnCode accepted
	}, &packet.Regack{TopicID: 2, MsgID: 3, ReturnCode: packet.Accepted}},
	{"REGISTER from gateway id=5 msgid=7 topic=cmd/s1/led", []byte{
		0x10,       // Length 16
		0x0A,       // MsgType REGISTER
		0x00, 0x05, // TopicId 5 (assigned by the gateway)
		0x00, 0x07, // MsgId 7
		'c', 'm', 'd', '/', 's', '1', '/', 'l', 'e', 'd', // TopicName "cmd/s1/led"
	}, &packet.Register{TopicID: 5, MsgID: 7, TopicName: "cmd/s1/led"}},
	{"REGACK id=5 msgid=7 accepted", []byte{
		0x07,       // Length 7
		0x0B,       // MsgType REGACK
		0x00, 0x05, // TopicId 5
		0x00, 0x07, // MsgId 7
		0x00, // ReturnCode accepted
	}, &packet.Regack{TopicID: 5, MsgID: 7, ReturnCode: packet.Accepted}},
	{"REGACK id=0 msgid=2 not supported", []byte{
		0x07,       // Length 7
		0x0B,       // MsgType REGACK
		0x00, 0x00, // TopicId 0
		0x00, 0x02, // MsgId 2
		0x03, // ReturnCode rejected: not supported (e.g. a wildcard, erratum E13)
	}, &packet.Regack{MsgID: 2, ReturnCode: packet.NotSupported}},

	// §5.4.12–§5.4.14 publish
	{"PUBLISH qos0 id=1 data=hello", []byte{
		0x0C,       // Length 12
		0x0C,       // MsgType PUBLISH
		0x00,       // Flags: QoS0, TopicIdType normal
		0x00, 0x01, // TopicId 1
		0x00, 0x00, // MsgId 0 (QoS 0)
		'h', 'e', 'l', 'l', 'o', // Data "hello"
	}, &packet.Publish{TopicID: 1, Data: []byte("hello")}},
	{"PUBLISH qos1 id=1 msgid=2 data=21.5", []byte{
		0x0B,       // Length 11
		0x0C,       // MsgType PUBLISH
		0x20,       // Flags: QoS1, TopicIdType normal
		0x00, 0x01, // TopicId 1
		0x00, 0x02, // MsgId 2
		'2', '1', '.', '5', // Data "21.5"
	}, &packet.Publish{QoS: packet.QoS1, TopicID: 1, MsgID: 2, Data: []byte("21.5")}},
	{"PUBLISH qos1 dup id=1 msgid=2 data=21.5", []byte{
		0x0B,       // Length 11
		0x0C,       // MsgType PUBLISH
		0xA0,       // Flags: DUP (0x80), QoS1 (0x20), TopicIdType normal
		0x00, 0x01, // TopicId 1
		0x00, 0x02, // MsgId 2
		'2', '1', '.', '5', // Data "21.5"
	}, &packet.Publish{Dup: true, QoS: packet.QoS1, TopicID: 1, MsgID: 2, Data: []byte("21.5")}},
	{"PUBLISH qos1 id=2 msgid=4 data=21.5", []byte{
		0x0B,       // Length 11
		0x0C,       // MsgType PUBLISH
		0x20,       // Flags: QoS1, TopicIdType normal
		0x00, 0x02, // TopicId 2 (after re-registration)
		0x00, 0x04, // MsgId 4
		'2', '1', '.', '5', // Data "21.5"
	}, &packet.Publish{QoS: packet.QoS1, TopicID: 2, MsgID: 4, Data: []byte("21.5")}},
	{"PUBLISH qos2 retain id=1 msgid=3 data=on", []byte{
		0x09,       // Length 9
		0x0C,       // MsgType PUBLISH
		0x50,       // Flags: QoS2 (0x40), Retain (0x10), TopicIdType normal
		0x00, 0x01, // TopicId 1
		0x00, 0x03, // MsgId 3
		'o', 'n', // Data "on"
	}, &packet.Publish{QoS: packet.QoS2, Retain: true, TopicID: 1, MsgID: 3, Data: []byte("on")}},
	{"PUBLISH qos-1 predefined id=10 data=on", []byte{
		0x09,       // Length 9
		0x0C,       // MsgType PUBLISH
		0x61,       // Flags: QoS −1 (0x60), TopicIdType pre-defined (0x01)
		0x00, 0x0A, // TopicId 10 (pre-defined)
		0x00, 0x00, // MsgId 0
		'o', 'n', // Data "on"
	}, &packet.Publish{QoS: packet.QoSMinus1, TopicIDType: packet.TopicIDPredefined, TopicID: 10, Data: []byte("on")}},
	{"PUBLISH qos0 retain short=ab data=1", []byte{
		0x08,     // Length 8
		0x0C,     // MsgType PUBLISH
		0x12,     // Flags: QoS0, Retain (0x10), TopicIdType short (0x02)
		'a', 'b', // TopicId: short topic name "ab"
		0x00, 0x00, // MsgId 0
		'1', // Data "1"
	}, &packet.Publish{Retain: true, TopicIDType: packet.TopicIDShort, TopicID: 0x6162, Data: []byte("1")}},
	{"PUBLISH qos1 reserved topic id type", []byte{
		0x07,       // Length 7
		0x0C,       // MsgType PUBLISH
		0x23,       // Flags: QoS1, TopicIdType 0b11 reserved (a gateway answers 0x03, erratum E26)
		0x00, 0x01, // TopicId 1
		0x00, 0x09, // MsgId 9
		// Data empty
	}, &packet.Publish{QoS: packet.QoS1, TopicIDType: packet.TopicIDReserved, TopicID: 1, MsgID: 9}},
	{"PUBLISH qos0 id=1 248 octets (1-octet Length, total 255)", cat([]byte{
		0xFF,       // Length 255: the largest 1-octet form
		0x0C,       // MsgType PUBLISH
		0x00,       // Flags: QoS0, TopicIdType normal
		0x00, 0x01, // TopicId 1
		0x00, 0x00, // MsgId 0
	}, Payload248, // Data: 248 × 'x'
	), &packet.Publish{TopicID: 1, Data: Payload248}},
	{"PUBLISH qos0 id=1 249 octets (3-octet Length, total 258)", cat([]byte{
		0x01,       // Length: 3-octet form follows
		0x01, 0x02, // Length 258
		0x0C,       // MsgType PUBLISH
		0x00,       // Flags: QoS0, TopicIdType normal
		0x00, 0x01, // TopicId 1
		0x00, 0x00, // MsgId 0
	}, Payload249, // Data: 249 × 'y'
	), &packet.Publish{TopicID: 1, Data: Payload249}},
	{"PUBLISH qos1 id=1 msgid=5 300 octets (3-octet Length)", cat([]byte{
		0x01,       // Length: 3-octet form follows
		0x01, 0x35, // Length 309
		0x0C,       // MsgType PUBLISH
		0x20,       // Flags: QoS1, TopicIdType normal
		0x00, 0x01, // TopicId 1
		0x00, 0x05, // MsgId 5
	}, Payload300, // Data: 300 × 'z'
	), &packet.Publish{QoS: packet.QoS1, TopicID: 1, MsgID: 5, Data: Payload300}},
	{"PUBACK id=1 msgid=2 accepted", []byte{
		0x07,       // Length 7
		0x0D,       // MsgType PUBACK
		0x00, 0x01, // TopicId 1
		0x00, 0x02, // MsgId 2
		0x00, // ReturnCode accepted
	}, &packet.Puback{TopicID: 1, MsgID: 2, ReturnCode: packet.Accepted}},
	{"PUBACK id=1 msgid=2 invalid topic id", []byte{
		0x07,       // Length 7
		0x0D,       // MsgType PUBACK
		0x00, 0x01, // TopicId 1
		0x00, 0x02, // MsgId 2
		0x02, // ReturnCode rejected: invalid topic ID (re-register, §6.6)
	}, &packet.Puback{TopicID: 1, MsgID: 2, ReturnCode: packet.InvalidTopicID}},
	{"PUBACK id=2 msgid=4 accepted", []byte{
		0x07,       // Length 7
		0x0D,       // MsgType PUBACK
		0x00, 0x02, // TopicId 2
		0x00, 0x04, // MsgId 4
		0x00, // ReturnCode accepted
	}, &packet.Puback{TopicID: 2, MsgID: 4, ReturnCode: packet.Accepted}},
	{"PUBREC msgid=3", []byte{
		0x04,       // Length 4
		0x0F,       // MsgType PUBREC
		0x00, 0x03, // MsgId 3
	}, &packet.Pubrec{MsgID: 3}},
	{"PUBREL msgid=3", []byte{
		0x04,       // Length 4
		0x10,       // MsgType PUBREL
		0x00, 0x03, // MsgId 3
	}, &packet.Pubrel{MsgID: 3}},
	{"PUBCOMP msgid=3", []byte{
		0x04,       // Length 4
		0x0E,       // MsgType PUBCOMP
		0x00, 0x03, // MsgId 3
	}, &packet.Pubcomp{MsgID: 3}},

	// §5.4.15–§5.4.18 subscribe
	{"SUBSCRIBE qos1 name=sensors/+/temp msgid=4", []byte{
		0x13,       // Length 19
		0x12,       // MsgType SUBSCRIBE
		0x20,       // Flags: QoS1 requested, TopicIdType normal (topic name)
		0x00, 0x04, // MsgId 4
		's', 'e', 'n', 's', 'o', 'r', 's', '/', '+', '/', 't', 'e', 'm', 'p', // TopicName
	}, &packet.Subscribe{QoS: packet.QoS1, MsgID: 4, TopicName: "sensors/+/temp"}},
	{"SUBACK qos1 id=0 msgid=4 accepted", []byte{
		0x08,       // Length 8
		0x13,       // MsgType SUBACK
		0x20,       // Flags: QoS1 granted
		0x00, 0x00, // TopicId 0 (wildcard filter, §6.9)
		0x00, 0x04, // MsgId 4
		0x00, // ReturnCode accepted
	}, &packet.Suback{QoS: packet.QoS1, MsgID: 4, ReturnCode: packet.Accepted}},
	{"SUBSCRIBE qos1 name=cmd/s1/led msgid=1", []byte{
		0x0F,       // Length 15
		0x12,       // MsgType SUBSCRIBE
		0x20,       // Flags: QoS1 requested, TopicIdType normal (topic name)
		0x00, 0x01, // MsgId 1
		'c', 'm', 'd', '/', 's', '1', '/', 'l', 'e', 'd', // TopicName "cmd/s1/led"
	}, &packet.Subscribe{QoS: packet.QoS1, MsgID: 1, TopicName: "cmd/s1/led"}},
	{"SUBACK qos1 id=5 msgid=1 accepted", []byte{
		0x08,       // Length 8
		0x13,       // MsgType SUBACK
		0x20,       // Flags: QoS1 granted
		0x00, 0x05, // TopicId 5
		0x00, 0x01, // MsgId 1
		0x00, // ReturnCode accepted
	}, &packet.Suback{QoS: packet.QoS1, TopicID: 5, MsgID: 1, ReturnCode: packet.Accepted}},
	{"SUBSCRIBE qos2 predefined id=10 msgid=5", []byte{
		0x07,       // Length 7
		0x12,       // MsgType SUBSCRIBE
		0x41,       // Flags: QoS2 requested, TopicIdType pre-defined
		0x00, 0x05, // MsgId 5
		0x00, 0x0A, // TopicId 10
	}, &packet.Subscribe{QoS: packet.QoS2, TopicIDType: packet.TopicIDPredefined, MsgID: 5, TopicID: 10}},
	{"SUBACK qos2 id=10 msgid=5 accepted", []byte{
		0x08,       // Length 8
		0x13,       // MsgType SUBACK
		0x40,       // Flags: QoS2 granted
		0x00, 0x0A, // TopicId 10 (pre-defined id echoed)
		0x00, 0x05, // MsgId 5
		0x00, // ReturnCode accepted
	}, &packet.Suback{QoS: packet.QoS2, TopicID: 10, MsgID: 5, ReturnCode: packet.Accepted}},
	{"SUBSCRIBE dup qos0 short=ab msgid=6", []byte{
		0x07,       // Length 7
		0x12,       // MsgType SUBSCRIBE
		0x82,       // Flags: DUP, QoS0 requested, TopicIdType short
		0x00, 0x06, // MsgId 6
		'a', 'b', // TopicId: short topic name "ab"
	}, &packet.Subscribe{Dup: true, TopicIDType: packet.TopicIDShort, MsgID: 6, TopicID: 0x6162}},
	{"SUBSCRIBE qos-1 name=a msgid=7", []byte{
		0x06,       // Length 6
		0x12,       // MsgType SUBSCRIBE
		0x60,       // Flags: QoS −1 requested (a gateway rejects it, erratum E8), TopicIdType normal
		0x00, 0x07, // MsgId 7
		'a', // TopicName "a"
	}, &packet.Subscribe{QoS: packet.QoSMinus1, MsgID: 7, TopicName: "a"}},
	{"SUBACK qos0 id=0 msgid=6 invalid topic id", []byte{
		0x08,       // Length 8
		0x13,       // MsgType SUBACK
		0x00,       // Flags: QoS0
		0x00, 0x00, // TopicId 0
		0x00, 0x06, // MsgId 6
		0x02, // ReturnCode rejected: invalid topic ID
	}, &packet.Suback{MsgID: 6, ReturnCode: packet.InvalidTopicID}},
	{"UNSUBSCRIBE name=sensors/+/temp msgid=8", []byte{
		0x13,       // Length 19
		0x14,       // MsgType UNSUBSCRIBE
		0x00,       // Flags: TopicIdType normal (topic name)
		0x00, 0x08, // MsgId 8
		's', 'e', 'n', 's', 'o', 'r', 's', '/', '+', '/', 't', 'e', 'm', 'p', // TopicName
	}, &packet.Unsubscribe{MsgID: 8, TopicName: "sensors/+/temp"}},
	{"UNSUBSCRIBE predefined id=10 msgid=9", []byte{
		0x07,       // Length 7
		0x14,       // MsgType UNSUBSCRIBE
		0x01,       // Flags: TopicIdType pre-defined
		0x00, 0x09, // MsgId 9
		0x00, 0x0A, // TopicId 10
	}, &packet.Unsubscribe{TopicIDType: packet.TopicIDPredefined, MsgID: 9, TopicID: 10}},
	{"UNSUBSCRIBE name=cmd/+/led msgid=2", []byte{
		0x0E,       // Length 14
		0x14,       // MsgType UNSUBSCRIBE
		0x00,       // Flags: TopicIdType normal (topic name)
		0x00, 0x02, // MsgId 2
		'c', 'm', 'd', '/', '+', '/', 'l', 'e', 'd', // TopicName "cmd/+/led"
	}, &packet.Unsubscribe{MsgID: 2, TopicName: "cmd/+/led"}},
	{"UNSUBACK msgid=2", []byte{
		0x04,       // Length 4
		0x15,       // MsgType UNSUBACK
		0x00, 0x02, // MsgId 2
	}, &packet.Unsuback{MsgID: 2}},
	{"UNSUBACK msgid=8", []byte{
		0x04,       // Length 4
		0x15,       // MsgType UNSUBACK
		0x00, 0x08, // MsgId 8
	}, &packet.Unsuback{MsgID: 8}},

	// gateway → client deliveries on topic id 5 ("cmd/s1/led"), used by conversation tests
	{"SUBSCRIBE qos1 name=cmd/+/led msgid=1", []byte{
		0x0E,       // Length 14
		0x12,       // MsgType SUBSCRIBE
		0x20,       // Flags: QoS1 requested, TopicIdType normal (topic name)
		0x00, 0x01, // MsgId 1
		'c', 'm', 'd', '/', '+', '/', 'l', 'e', 'd', // TopicName "cmd/+/led"
	}, &packet.Subscribe{QoS: packet.QoS1, MsgID: 1, TopicName: "cmd/+/led"}},
	{"SUBACK qos1 id=0 msgid=1 accepted", []byte{
		0x08,       // Length 8
		0x13,       // MsgType SUBACK
		0x20,       // Flags: QoS1 granted
		0x00, 0x00, // TopicId 0 (wildcard filter, §6.9)
		0x00, 0x01, // MsgId 1
		0x00, // ReturnCode accepted
	}, &packet.Suback{QoS: packet.QoS1, MsgID: 1, ReturnCode: packet.Accepted}},
	{"PUBLISH qos1 id=5 msgid=8 data=on", []byte{
		0x09,       // Length 9
		0x0C,       // MsgType PUBLISH
		0x20,       // Flags: QoS1, TopicIdType normal
		0x00, 0x05, // TopicId 5
		0x00, 0x08, // MsgId 8
		'o', 'n', // Data "on"
	}, &packet.Publish{QoS: packet.QoS1, TopicID: 5, MsgID: 8, Data: []byte("on")}},
	{"PUBACK id=5 msgid=8 accepted", []byte{
		0x07,       // Length 7
		0x0D,       // MsgType PUBACK
		0x00, 0x05, // TopicId 5
		0x00, 0x08, // MsgId 8
		0x00, // ReturnCode accepted
	}, &packet.Puback{TopicID: 5, MsgID: 8, ReturnCode: packet.Accepted}},
	{"PUBLISH qos2 id=5 msgid=9 data=off", []byte{
		0x0A,       // Length 10
		0x0C,       // MsgType PUBLISH
		0x40,       // Flags: QoS2, TopicIdType normal
		0x00, 0x05, // TopicId 5
		0x00, 0x09, // MsgId 9
		'o', 'f', 'f', // Data "off"
	}, &packet.Publish{QoS: packet.QoS2, TopicID: 5, MsgID: 9, Data: []byte("off")}},
	{"PUBLISH qos2 dup id=5 msgid=9 data=off", []byte{
		0x0A,       // Length 10
		0x0C,       // MsgType PUBLISH
		0xC0,       // Flags: DUP (0x80), QoS2 (0x40), TopicIdType normal
		0x00, 0x05, // TopicId 5
		0x00, 0x09, // MsgId 9
		'o', 'f', 'f', // Data "off"
	}, &packet.Publish{Dup: true, QoS: packet.QoS2, TopicID: 5, MsgID: 9, Data: []byte("off")}},
	{"PUBREC msgid=9", []byte{
		0x04,       // Length 4
		0x0F,       // MsgType PUBREC
		0x00, 0x09, // MsgId 9
	}, &packet.Pubrec{MsgID: 9}},
	{"PUBREL msgid=9", []byte{
		0x04,       // Length 4
		0x10,       // MsgType PUBREL
		0x00, 0x09, // MsgId 9
	}, &packet.Pubrel{MsgID: 9}},
	{"PUBCOMP msgid=9", []byte{
		0x04,       // Length 4
		0x0E,       // MsgType PUBCOMP
		0x00, 0x09, // MsgId 9
	}, &packet.Pubcomp{MsgID: 9}},
	{"PUBLISH qos0 id=5 data=blink", []byte{
		0x0C,       // Length 12
		0x0C,       // MsgType PUBLISH
		0x00,       // Flags: QoS0, TopicIdType normal
		0x00, 0x05, // TopicId 5
		0x00, 0x00, // MsgId 0 (QoS 0)
		'b', 'l', 'i', 'n', 'k', // Data "blink"
	}, &packet.Publish{TopicID: 5, Data: []byte("blink")}},
	{"PUBLISH qos1 id=99 msgid=10 data=x", []byte{
		0x08,       // Length 8
		0x0C,       // MsgType PUBLISH
		0x20,       // Flags: QoS1, TopicIdType normal
		0x00, 0x63, // TopicId 99 (never registered)
		0x00, 0x0A, // MsgId 10
		'x', // Data "x"
	}, &packet.Publish{QoS: packet.QoS1, TopicID: 99, MsgID: 10, Data: []byte("x")}},
	{"PUBACK id=99 msgid=10 invalid topic id", []byte{
		0x07,       // Length 7
		0x0D,       // MsgType PUBACK
		0x00, 0x63, // TopicId 99
		0x00, 0x0A, // MsgId 10
		0x02, // ReturnCode rejected: invalid topic ID (§6.10)
	}, &packet.Puback{TopicID: 99, MsgID: 10, ReturnCode: packet.InvalidTopicID}},

	// §5.4.19–§5.4.21 keep-alive, sleep, disconnect
	{"PINGREQ", []byte{
		0x02, // Length 2
		0x16, // MsgType PINGREQ
	}, &packet.Pingreq{}},
	{"PINGREQ id=sensor-1", []byte{
		0x0A,                                   // Length 10
		0x16,                                   // MsgType PINGREQ
		's', 'e', 'n', 's', 'o', 'r', '-', '1', // ClientId "sensor-1": a sleeper polls (§6.14)
	}, &packet.Pingreq{ClientID: "sensor-1"}},
	{"PINGRESP", []byte{
		0x02, // Length 2
		0x17, // MsgType PINGRESP
	}, &packet.Pingresp{}},
	{"DISCONNECT", []byte{
		0x02, // Length 2
		0x18, // MsgType DISCONNECT
	}, &packet.Disconnect{}},
	{"DISCONNECT duration=300", []byte{
		0x04,       // Length 4
		0x18,       // MsgType DISCONNECT
		0x01, 0x2C, // Duration: sleep 300 s (§6.14)
	}, &packet.Disconnect{Duration: 300, HasDuration: true}},
	{"DISCONNECT duration=0", []byte{
		0x04,       // Length 4
		0x18,       // MsgType DISCONNECT
		0x00, 0x00, // Duration 0: present, so distinct from the plain DISCONNECT
	}, &packet.Disconnect{HasDuration: true}},

	// §5.4.22–§5.4.25 will update
	{"WILLTOPICUPD qos0 topic=s1/gone", []byte{
		0x0A,                              // Length 10
		0x1A,                              // MsgType WILLTOPICUPD
		0x00,                              // Flags: QoS0, no Retain
		's', '1', '/', 'g', 'o', 'n', 'e', // WillTopic "s1/gone"
	}, &packet.WillTopicUpd{Topic: "s1/gone"}},
	{"WILLTOPICUPD delete", []byte{
		0x02, // Length 2
		0x1A, // MsgType WILLTOPICUPD, empty: delete will topic and message (§6.4)
	}, &packet.WillTopicUpd{}},
	{"WILLTOPICRESP accepted", []byte{
		0x03, // Length 3
		0x1B, // MsgType WILLTOPICRESP
		0x00, // ReturnCode accepted
	}, &packet.WillTopicResp{ReturnCode: packet.Accepted}},
	{"WILLMSGUPD bye", []byte{
		0x05,          // Length 5
		0x1C,          // MsgType WILLMSGUPD
		'b', 'y', 'e', // WillMsg "bye"
	}, &packet.WillMsgUpd{Payload: []byte("bye")}},
	{"WILLMSGRESP not supported", []byte{
		0x03, // Length 3
		0x1D, // MsgType WILLMSGRESP
		0x03, // ReturnCode rejected: not supported
	}, &packet.WillMsgResp{ReturnCode: packet.NotSupported}},

	// §5.5 forwarder encapsulation
	{"ENCAPSULATED node=1234 CONNACK accepted", []byte{
		0x05,       // Length 5: the envelope only
		0xFE,       // MsgType Encapsulated message
		0x00,       // Ctrl: radius 0
		0x12, 0x34, // Wireless Node Id 0x1234
		0x03, 0x05, 0x00, // inner message: CONNACK accepted
	}, &packet.Encapsulated{NodeID: []byte{0x12, 0x34}, Inner: []byte{0x03, 0x05, 0x00}}},
	{"ENCAPSULATED radius=1 node=0013a20040a1b2c3 PINGREQ", []byte{
		0x0B,                                           // Length 11
		0xFE,                                           // MsgType Encapsulated message
		0x01,                                           // Ctrl: radius 1
		0x00, 0x13, 0xA2, 0x00, 0x40, 0xA1, 0xB2, 0xC3, // Wireless Node Id: a 64-bit XBee address
		0x02, 0x16, // inner message: PINGREQ
	}, &packet.Encapsulated{Radius: 1, NodeID: []byte{0x00, 0x13, 0xA2, 0x00, 0x40, 0xA1, 0xB2, 0xC3}, Inner: []byte{0x02, 0x16}}},
}

// DecodeOnly are legal datagrams that decode to Msg but are not what an encoder emits.
var DecodeOnly = []Fixture{
	{"PINGREQ long form", []byte{
		0x01,       // Length: 3-octet form follows (legal for any size, §5.2.1)
		0x00, 0x04, // Length 4
		0x16, // MsgType PINGREQ
	}, &packet.Pingreq{}},
	{"CONNACK long form", []byte{
		0x01,       // Length: 3-octet form follows
		0x00, 0x05, // Length 5
		0x05, // MsgType CONNACK
		0x00, // ReturnCode accepted
	}, &packet.Connack{ReturnCode: packet.Accepted}},
	{"PUBLISH qos1 long form id=1 msgid=2 data=21.5", []byte{
		0x01,       // Length: 3-octet form follows
		0x00, 0x0D, // Length 13
		0x0C,       // MsgType PUBLISH
		0x20,       // Flags: QoS1, TopicIdType normal
		0x00, 0x01, // TopicId 1
		0x00, 0x02, // MsgId 2
		'2', '1', '.', '5', // Data "21.5"
	}, &packet.Publish{QoS: packet.QoS1, TopicID: 1, MsgID: 2, Data: []byte("21.5")}},
	{"WILLTOPIC flags-only delete", []byte{
		0x03, // Length 3
		0x07, // MsgType WILLTOPIC
		0xFF, // Flags without a topic: still "delete the will" (erratum E19)
	}, &packet.WillTopic{}},
	{"WILLTOPICUPD flags-only delete", []byte{
		0x03, // Length 3
		0x1A, // MsgType WILLTOPICUPD
		0x30, // Flags without a topic: delete (erratum E19)
	}, &packet.WillTopicUpd{}},
	{"WILLTOPICRESP pre-1.2", []byte{
		0x02, // Length 2
		0x1B, // MsgType WILLTOPICRESP without ReturnCode: accepted (erratum E29)
	}, &packet.WillTopicResp{ReturnCode: packet.Accepted}},
	{"WILLMSGRESP pre-1.2", []byte{
		0x02, // Length 2
		0x1D, // MsgType WILLMSGRESP without ReturnCode: accepted (erratum E29)
	}, &packet.WillMsgResp{ReturnCode: packet.Accepted}},
	{"CONNECT unused flag bits ignored", []byte{
		0x07,       // Length 7
		0x04,       // MsgType CONNECT
		0xF4,       // Flags: DUP, QoS −1, Retain (unused by CONNECT, ignored), CleanSession
		0x01,       // ProtocolId 0x01
		0x00, 0x3C, // Duration 60 s
		'z', // ClientId "z"
	}, &packet.Connect{CleanSession: true, ProtocolID: 1, Duration: 60, ClientID: "z"}},
	{"SUBACK unused flag bits ignored", []byte{
		0x08,       // Length 8
		0x13,       // MsgType SUBACK
		0x9F,       // Flags: DUP, Retain, Will, Clean, TopicIdType (unused by SUBACK), QoS0 granted
		0x00, 0x05, // TopicId 5
		0x00, 0x01, // MsgId 1
		0x00, // ReturnCode accepted
	}, &packet.Suback{TopicID: 5, MsgID: 1, ReturnCode: packet.Accepted}},
	{"ENCAPSULATED reserved ctrl bits ignored", []byte{
		0x04,             // Length 4
		0xFE,             // MsgType Encapsulated message
		0xFE,             // Ctrl: reserved bits 7–2 set (ignored), radius 2
		0x07,             // Wireless Node Id 0x07
		0x03, 0x01, 0x00, // inner message: SEARCHGW radius 0
	}, &packet.Encapsulated{Radius: 2, NodeID: []byte{0x07}, Inner: []byte{0x03, 0x01, 0x00}}},
}
