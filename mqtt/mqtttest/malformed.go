package mqtttest

import "snbridge/mqtt/packet"

// MalformedFixture is an encoding a receiver must refuse, with the sentinel its error wraps and
// the rule the error cites.
type MalformedFixture struct {
	Name  string
	Bytes []byte
	Err   error  // packet.ErrMalformed, packet.ErrUnsupportedLevel or packet.ErrTooLarge
	Rule  string // appears in the error's text: "MQTT-3.1.2-3", "§2.2.3"
}

// Malformed lists packets that break one rule each. Each is a complete packet as it arrives on a
// stream (fixed header, remaining length, body).
var Malformed = []MalformedFixture{
	{Name: "remaining length of 5 bytes", Rule: "§2.2.3", Err: packet.ErrMalformed, Bytes: []byte{
		0x30,                         // PUBLISH
		0xff, 0xff, 0xff, 0xff, 0x01, // a fifth length byte
	}},
	{Name: "reserved packet type 0", Rule: "§2.2.1", Err: packet.ErrMalformed, Bytes: []byte{
		0x00, // type 0: reserved
		0x00, // remaining length 0
	}},
	{Name: "reserved packet type 15", Rule: "§2.2.1", Err: packet.ErrMalformed, Bytes: []byte{
		0xf0, // type 15: reserved
		0x00, // remaining length 0
	}},
	{Name: "PUBACK with flag bits", Rule: "MQTT-2.2.2-1", Err: packet.ErrMalformed, Bytes: []byte{
		0x41,       // PUBACK with flags 0001
		0x02,       // remaining length 2
		0x00, 0x01, // packet identifier 1
	}},
	{Name: "PINGREQ with flag bits", Rule: "MQTT-2.2.2-1", Err: packet.ErrMalformed, Bytes: []byte{
		0xc8, // PINGREQ with flags 1000
		0x00, // remaining length 0
	}},
	{Name: "PUBREL flags 0000", Rule: "MQTT-3.6.1-1", Err: packet.ErrMalformed, Bytes: []byte{
		0x60,       // PUBREL with flags 0000, must be 0010
		0x02,       // remaining length 2
		0x00, 0x01, // packet identifier 1
	}},
	{Name: "SUBSCRIBE flags 0000", Rule: "MQTT-3.8.1-1", Err: packet.ErrMalformed, Bytes: []byte{
		0x80,       // SUBSCRIBE with flags 0000, must be 0010
		0x06,       // remaining length 6
		0x00, 0x01, // packet identifier 1
		0x00, 0x01, 'a', // topic filter "a"
		0x00, // requested QoS 0
	}},
	{Name: "UNSUBSCRIBE flags 0011", Rule: "MQTT-3.10.1-1", Err: packet.ErrMalformed, Bytes: []byte{
		0xa3,       // UNSUBSCRIBE with flags 0011, must be 0010
		0x05,       // remaining length 5
		0x00, 0x01, // packet identifier 1
		0x00, 0x01, 'a', // topic filter "a"
	}},
	{Name: "CONNECT protocol name MQTX", Rule: "MQTT-3.1.2-1", Err: packet.ErrMalformed, Bytes: []byte{
		0x10, 0x0c, // CONNECT, remaining length 12
		0x00, 0x04, 'M', 'Q', 'T', 'X', // protocol name "MQTX"
		0x04,       // level 4
		0x02,       // clean session
		0x00, 0x00, // keep alive 0
		0x00, 0x00, // client identifier ""
	}},
	{Name: "CONNECT level 3", Rule: "MQTT-3.1.2-2", Err: packet.ErrUnsupportedLevel, Bytes: []byte{
		0x10, 0x0c, // CONNECT, remaining length 12
		0x00, 0x04, 'M', 'Q', 'T', 'T', // protocol name "MQTT"
		0x03,       // level 3: refused with CONNACK 0x01
		0x02,       // clean session
		0x00, 0x00, // keep alive 0
		0x00, 0x00, // client identifier ""
	}},
	{Name: "CONNECT level 5", Rule: "MQTT-3.1.2-2", Err: packet.ErrUnsupportedLevel, Bytes: []byte{
		0x10, 0x0d, // CONNECT, remaining length 13
		0x00, 0x04, 'M', 'Q', 'T', 'T', // protocol name "MQTT"
		0x05,       // level 5 (MQTT 5)
		0x02,       // clean session
		0x00, 0x00, // keep alive 0
		0x00,       // MQTT 5 properties length 0
		0x00, 0x00, // client identifier ""
	}},
	{Name: "CONNECT MQTT 3.1 (MQIsdp level 3)", Rule: "MQTT-3.1.2-2", Err: packet.ErrUnsupportedLevel, Bytes: []byte{
		0x10, 0x0e, // CONNECT, remaining length 14
		0x00, 0x06, 'M', 'Q', 'I', 's', 'd', 'p', // protocol name "MQIsdp"
		0x03,       // level 3
		0x02,       // clean session
		0x00, 0x00, // keep alive 0
		0x00, 0x00, // client identifier ""
	}},
	{Name: "CONNECT reserved flag bit 0", Rule: "MQTT-3.1.2-3", Err: packet.ErrMalformed, Bytes: []byte{
		0x10, 0x0c, // CONNECT
		0x00, 0x04, 'M', 'Q', 'T', 'T', 0x04, // "MQTT" level 4
		0x03,       // clean session + reserved bit 0
		0x00, 0x00, // keep alive
		0x00, 0x00, // client identifier ""
	}},
	{Name: "CONNECT will QoS without will flag", Rule: "MQTT-3.1.2-13", Err: packet.ErrMalformed, Bytes: []byte{
		0x10, 0x0c, // CONNECT
		0x00, 0x04, 'M', 'Q', 'T', 'T', 0x04, // "MQTT" level 4
		0x0a,       // will QoS 1 (0x08) + clean session, will flag 0
		0x00, 0x00, // keep alive
		0x00, 0x00, // client identifier ""
	}},
	{Name: "CONNECT will retain without will flag", Rule: "MQTT-3.1.2-15", Err: packet.ErrMalformed, Bytes: []byte{
		0x10, 0x0c, // CONNECT
		0x00, 0x04, 'M', 'Q', 'T', 'T', 0x04, // "MQTT" level 4
		0x22,       // will retain + clean session, will flag 0
		0x00, 0x00, // keep alive
		0x00, 0x00, // client identifier ""
	}},
	{Name: "CONNECT will QoS 3", Rule: "MQTT-3.1.2-14", Err: packet.ErrMalformed, Bytes: []byte{
		0x10, 0x12, // CONNECT, remaining length 18
		0x00, 0x04, 'M', 'Q', 'T', 'T', 0x04, // "MQTT" level 4
		0x1e,       // will QoS 3 (0x18) + will + clean session
		0x00, 0x00, // keep alive
		0x00, 0x00, // client identifier ""
		0x00, 0x01, 'w', // will topic "w"
		0x00, 0x01, 'x', // will message "x"
	}},
	{Name: "CONNECT will flag without will topic", Rule: "MQTT-3.1.2-9", Err: packet.ErrMalformed, Bytes: []byte{
		0x10, 0x0c, // CONNECT
		0x00, 0x04, 'M', 'Q', 'T', 'T', 0x04, // "MQTT" level 4
		0x06,       // will + clean session
		0x00, 0x00, // keep alive
		0x00, 0x00, // client identifier ""; the will topic is missing
	}},
	{Name: "CONNECT will topic with a wildcard", Rule: "MQTT-3.3.2-2", Err: packet.ErrMalformed, Bytes: []byte{
		0x10, 0x12, // CONNECT, remaining length 18
		0x00, 0x04, 'M', 'Q', 'T', 'T', 0x04, // "MQTT" level 4
		0x06,       // will + clean session
		0x00, 0x00, // keep alive
		0x00, 0x00, // client identifier ""
		0x00, 0x01, '#', // will topic "#"
		0x00, 0x01, 'x', // will message "x"
	}},
	{Name: "CONNECT password without user name", Rule: "MQTT-3.1.2-22", Err: packet.ErrMalformed, Bytes: []byte{
		0x10, 0x0f, // CONNECT, remaining length 15
		0x00, 0x04, 'M', 'Q', 'T', 'T', 0x04, // "MQTT" level 4
		0x42,       // password + clean session, no user name
		0x00, 0x00, // keep alive
		0x00, 0x00, // client identifier ""
		0x00, 0x01, 'p', // password "p"
	}},
	{Name: "CONNECT user name flag without user name", Rule: "MQTT-3.1.2-19", Err: packet.ErrMalformed, Bytes: []byte{
		0x10, 0x0c, // CONNECT
		0x00, 0x04, 'M', 'Q', 'T', 'T', 0x04, // "MQTT" level 4
		0x82,       // user name + clean session
		0x00, 0x00, // keep alive
		0x00, 0x00, // client identifier ""; the user name is missing
	}},
	{Name: "CONNECT client id not UTF-8", Rule: "MQTT-1.5.3-1", Err: packet.ErrMalformed, Bytes: []byte{
		0x10, 0x0d, // CONNECT, remaining length 13
		0x00, 0x04, 'M', 'Q', 'T', 'T', 0x04, // "MQTT" level 4
		0x02,       // clean session
		0x00, 0x00, // keep alive
		0x00, 0x01, 0xff, // client identifier: 0xff is never UTF-8
	}},
	{Name: "CONNECT client id with an encoded surrogate", Rule: "MQTT-1.5.3-1", Err: packet.ErrMalformed, Bytes: []byte{
		0x10, 0x0f, // CONNECT, remaining length 15
		0x00, 0x04, 'M', 'Q', 'T', 'T', 0x04, // "MQTT" level 4
		0x02,       // clean session
		0x00, 0x00, // keep alive
		0x00, 0x03, 0xed, 0xa0, 0x80, // client identifier: U+D800
	}},
	{Name: "CONNECT trailing bytes", Rule: "", Err: packet.ErrMalformed, Bytes: []byte{
		0x10, 0x0d, // CONNECT, remaining length 13
		0x00, 0x04, 'M', 'Q', 'T', 'T', 0x04, // "MQTT" level 4
		0x02,       // clean session
		0x00, 0x00, // keep alive
		0x00, 0x00, // client identifier ""
		0x00, // one byte too many
	}},
	{Name: "CONNACK reserved flags", Rule: "§3.2.2.1", Err: packet.ErrMalformed, Bytes: []byte{
		0x20, 0x02, // CONNACK
		0x02, // acknowledge flags bit 1: reserved
		0x00, // accepted
	}},
	{Name: "CONNACK session present with refusal", Rule: "MQTT-3.2.2-4", Err: packet.ErrMalformed, Bytes: []byte{
		0x20, 0x02, // CONNACK
		0x01, // session present
		0x05, // not authorized
	}},
	{Name: "PUBLISH QoS 3", Rule: "MQTT-3.3.1-4", Err: packet.ErrMalformed, Bytes: []byte{
		0x36,            // PUBLISH, QoS 3
		0x05,            // remaining length 5
		0x00, 0x01, 'a', // topic "a"
		0x00, 0x01, // packet identifier 1
	}},
	{Name: "PUBLISH QoS 0 with DUP", Rule: "MQTT-3.3.1-2", Err: packet.ErrMalformed, Bytes: []byte{
		0x38,            // PUBLISH, DUP, QoS 0
		0x03,            // remaining length 3
		0x00, 0x01, 'a', // topic "a"
	}},
	{Name: "PUBLISH topic with +", Rule: "MQTT-3.3.2-2", Err: packet.ErrMalformed, Bytes: []byte{
		0x30, 0x05, // PUBLISH QoS 0
		0x00, 0x03, 'a', '/', '+', // topic "a/+"
	}},
	{Name: "PUBLISH topic with #", Rule: "MQTT-3.3.2-2", Err: packet.ErrMalformed, Bytes: []byte{
		0x30, 0x03, // PUBLISH QoS 0
		0x00, 0x01, '#', // topic "#"
	}},
	{Name: "PUBLISH empty topic", Rule: "MQTT-4.7.3-1", Err: packet.ErrMalformed, Bytes: []byte{
		0x30, 0x04, // PUBLISH QoS 0
		0x00, 0x00, // topic ""
		'h', 'i', // payload
	}},
	{Name: "PUBLISH topic with U+0000", Rule: "MQTT-1.5.3-2", Err: packet.ErrMalformed, Bytes: []byte{
		0x30, 0x05, // PUBLISH QoS 0
		0x00, 0x03, 'a', 0x00, 'b', // topic "a\x00b"
	}},
	{Name: "PUBLISH QoS 1 packet id 0", Rule: "MQTT-2.3.1-1", Err: packet.ErrMalformed, Bytes: []byte{
		0x32, 0x05, // PUBLISH QoS 1
		0x00, 0x01, 'a', // topic "a"
		0x00, 0x00, // packet identifier 0
	}},
	{Name: "PUBLISH topic length past the end", Rule: "MQTT-3.3.2-1", Err: packet.ErrMalformed, Bytes: []byte{
		0x30, 0x03, // PUBLISH QoS 0, remaining length 3
		0x00, 0x09, 'a', // topic length 9, only 1 byte follows
	}},
	{Name: "PUBACK packet id 0", Rule: "MQTT-2.3.1-1", Err: packet.ErrMalformed, Bytes: []byte{
		0x40, 0x02, // PUBACK
		0x00, 0x00, // packet identifier 0
	}},
	{Name: "PUBACK remaining length 3", Rule: "§3.4.1", Err: packet.ErrMalformed, Bytes: []byte{
		0x40, 0x03, // PUBACK, remaining length 3
		0x00, 0x01, 0x00,
	}},
	{Name: "SUBSCRIBE without filters", Rule: "MQTT-3.8.3-3", Err: packet.ErrMalformed, Bytes: []byte{
		0x82, 0x02, // SUBSCRIBE
		0x00, 0x01, // packet identifier 1; no payload
	}},
	{Name: "SUBSCRIBE requested QoS 3", Rule: "MQTT-3-8.3-4", Err: packet.ErrMalformed, Bytes: []byte{
		0x82, 0x06, // SUBSCRIBE
		0x00, 0x01, // packet identifier 1
		0x00, 0x01, 'a', // topic filter "a"
		0x03, // requested QoS 3
	}},
	{Name: "SUBSCRIBE reserved bits in requested QoS", Rule: "MQTT-3-8.3-4", Err: packet.ErrMalformed, Bytes: []byte{
		0x82, 0x06, // SUBSCRIBE
		0x00, 0x01, // packet identifier 1
		0x00, 0x01, 'a', // topic filter "a"
		0x41, // requested QoS 1 with reserved bit 6
	}},
	{Name: "SUBSCRIBE packet id 0", Rule: "MQTT-2.3.1-1", Err: packet.ErrMalformed, Bytes: []byte{
		0x82, 0x06, // SUBSCRIBE
		0x00, 0x00, // packet identifier 0
		0x00, 0x01, 'a', // topic filter "a"
		0x00, // requested QoS 0
	}},
	{Name: "SUBSCRIBE filter without QoS byte", Rule: "MQTT-3.8.3-1", Err: packet.ErrMalformed, Bytes: []byte{
		0x82, 0x05, // SUBSCRIBE
		0x00, 0x01, // packet identifier 1
		0x00, 0x01, 'a', // topic filter "a", then nothing
	}},
	{Name: "SUBSCRIBE empty filter", Rule: "MQTT-4.7.3-1", Err: packet.ErrMalformed, Bytes: []byte{
		0x82, 0x05, // SUBSCRIBE
		0x00, 0x01, // packet identifier 1
		0x00, 0x00, // topic filter ""
		0x00, // requested QoS 0
	}},
	{Name: "SUBACK reserved return code", Rule: "MQTT-3.9.3-2", Err: packet.ErrMalformed, Bytes: []byte{
		0x90, 0x03, // SUBACK
		0x00, 0x01, // packet identifier 1
		0x03, // return code 3: reserved
	}},
	{Name: "UNSUBSCRIBE without filters", Rule: "MQTT-3.10.3-2", Err: packet.ErrMalformed, Bytes: []byte{
		0xa2, 0x02, // UNSUBSCRIBE
		0x00, 0x01, // packet identifier 1; no payload
	}},
	{Name: "PINGREQ remaining length 1", Rule: "§3.12", Err: packet.ErrMalformed, Bytes: []byte{
		0xc0, 0x01, // PINGREQ, remaining length 1
		0x00,
	}},
	{Name: "DISCONNECT remaining length 1", Rule: "§3.14", Err: packet.ErrMalformed, Bytes: []byte{
		0xe0, 0x01, // DISCONNECT, remaining length 1
		0x00,
	}},
}
