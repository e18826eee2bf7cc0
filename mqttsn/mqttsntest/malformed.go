package mqttsntest

import "snbridge/mqttsn/packet"

// Malformed lists datagrams every decoder must reject, each with the error it must report.
var Malformed = []MalformedFixture{
	// §5.2 header
	{"empty datagram", []byte{}, packet.ErrTooShort, "Length", 0},
	{"one octet", []byte{
		0x02, // Length 2, but no MsgType follows
	}, packet.ErrTooShort, "Length", 0},
	{"Length 0x00", []byte{
		0x00, // Length 0: invalid
		0x16, // MsgType PINGREQ
	}, packet.ErrBadLength, "Length", 0},
	{"3-octet Length truncated", []byte{
		0x01,       // Length: 3-octet form follows
		0x00, 0x04, // Length 4, but no MsgType
	}, packet.ErrTooShort, "Length", 0},
	{"3-octet Length below 4", []byte{
		0x01,       // Length: 3-octet form follows
		0x00, 0x03, // Length 3: smaller than the 4-octet header itself
		0x16, // MsgType PINGREQ
	}, packet.ErrBadLength, "Length", 1},
	{"Length larger than datagram", []byte{
		0x05, // Length 5
		0x16, // MsgType PINGREQ; the datagram is 2 octets (erratum E30)
	}, packet.ErrLengthMismatch, "Length", 0},
	{"Length smaller than datagram", []byte{
		0x02, // Length 2
		0x17, // MsgType PINGRESP
		0x00, // one octet beyond Length (erratum E30)
	}, packet.ErrLengthMismatch, "Length", 0},
	{"3-octet Length mismatch", []byte{
		0x01,       // Length: 3-octet form follows
		0x00, 0x05, // Length 5, datagram is 4
		0x16, // MsgType PINGREQ
	}, packet.ErrLengthMismatch, "Length", 0},
	{"reserved type 0x03", []byte{
		0x02, // Length 2
		0x03, // MsgType 0x03: reserved
	}, packet.ErrUnknownType, "MsgType", 1},
	{"reserved type 0x11", []byte{
		0x02, // Length 2
		0x11, // MsgType 0x11: reserved
	}, packet.ErrUnknownType, "MsgType", 1},
	{"reserved type 0x19", []byte{
		0x02, // Length 2
		0x19, // MsgType 0x19: reserved
	}, packet.ErrUnknownType, "MsgType", 1},
	{"reserved type 0x1E long form", []byte{
		0x01,       // Length: 3-octet form follows
		0x00, 0x04, // Length 4
		0x1E, // MsgType 0x1E: reserved
	}, packet.ErrUnknownType, "MsgType", 3},
	{"reserved type 0xFF", []byte{
		0x02, // Length 2
		0xFF, // MsgType 0xFF: reserved
	}, packet.ErrUnknownType, "MsgType", 1},

	// fixed-size messages with a wrong body
	{"ADVERTISE without Duration", []byte{
		0x03, // Length 3
		0x00, // MsgType ADVERTISE
		0x01, // GwId 1; Duration missing
	}, packet.ErrTooShort, "body", 2},
	{"ADVERTISE one octet too long", []byte{
		0x06,       // Length 6
		0x00,       // MsgType ADVERTISE
		0x01,       // GwId 1
		0x03, 0x84, // Duration 900
		0x00, // extra octet
	}, packet.ErrBadLength, "body", 2},
	{"SEARCHGW without Radius", []byte{
		0x02, // Length 2
		0x01, // MsgType SEARCHGW; Radius missing
	}, packet.ErrTooShort, "body", 2},
	{"GWINFO without GwId", []byte{
		0x02, // Length 2
		0x02, // MsgType GWINFO; GwId missing
	}, packet.ErrTooShort, "body", 2},
	{"CONNECT without Duration", []byte{
		0x05, // Length 5
		0x04, // MsgType CONNECT
		0x04, // Flags: CleanSession
		0x01, // ProtocolId
		0x00, // half a Duration
	}, packet.ErrTooShort, "body", 2},
	{"CONNACK without ReturnCode", []byte{
		0x02, // Length 2
		0x05, // MsgType CONNACK; ReturnCode missing
	}, packet.ErrTooShort, "body", 2},
	{"CONNACK long form one octet too long", []byte{
		0x01,       // Length: 3-octet form follows
		0x00, 0x06, // Length 6
		0x05,       // MsgType CONNACK
		0x00, 0x00, // ReturnCode and an extra octet
	}, packet.ErrBadLength, "body", 4},
	{"WILLTOPICREQ with a body", []byte{
		0x03, // Length 3
		0x06, // MsgType WILLTOPICREQ
		0x00, // unexpected octet
	}, packet.ErrBadLength, "body", 2},
	{"WILLMSGREQ with a body", []byte{
		0x03, // Length 3
		0x08, // MsgType WILLMSGREQ
		0x00, // unexpected octet
	}, packet.ErrBadLength, "body", 2},
	{"REGISTER without MsgId", []byte{
		0x05,       // Length 5
		0x0A,       // MsgType REGISTER
		0x00, 0x00, // TopicId 0
		0x01, // half a MsgId
	}, packet.ErrTooShort, "body", 2},
	{"REGACK without ReturnCode", []byte{
		0x06,       // Length 6
		0x0B,       // MsgType REGACK
		0x00, 0x01, // TopicId 1
		0x00, 0x01, // MsgId 1; ReturnCode missing
	}, packet.ErrTooShort, "body", 2},
	{"PUBLISH without MsgId", []byte{
		0x06,       // Length 6
		0x0C,       // MsgType PUBLISH
		0x20,       // Flags: QoS1
		0x00, 0x01, // TopicId 1
		0x00, // half a MsgId
	}, packet.ErrTooShort, "body", 2},
	{"PUBLISH long form without MsgId", []byte{
		0x01,       // Length: 3-octet form follows
		0x00, 0x07, // Length 7
		0x0C,       // MsgType PUBLISH
		0x00,       // Flags
		0x00, 0x01, // TopicId 1; MsgId missing
	}, packet.ErrTooShort, "body", 4},
	{"PUBACK one octet too long", []byte{
		0x08,       // Length 8
		0x0D,       // MsgType PUBACK
		0x00, 0x01, // TopicId 1
		0x00, 0x02, // MsgId 2
		0x00, // ReturnCode
		0x00, // extra octet
	}, packet.ErrBadLength, "body", 2},
	{"PUBREC without MsgId", []byte{
		0x03, // Length 3
		0x0F, // MsgType PUBREC
		0x00, // half a MsgId
	}, packet.ErrTooShort, "body", 2},
	{"PUBREL one octet too long", []byte{
		0x05,       // Length 5
		0x10,       // MsgType PUBREL
		0x00, 0x03, // MsgId 3
		0x00, // extra octet
	}, packet.ErrBadLength, "body", 2},
	{"PUBCOMP without MsgId", []byte{
		0x02, // Length 2
		0x0E, // MsgType PUBCOMP; MsgId missing
	}, packet.ErrTooShort, "body", 2},
	{"SUBACK without ReturnCode", []byte{
		0x07,       // Length 7
		0x13,       // MsgType SUBACK
		0x20,       // Flags: QoS1
		0x00, 0x05, // TopicId 5
		0x00, 0x01, // MsgId 1; ReturnCode missing
	}, packet.ErrTooShort, "body", 2},
	{"UNSUBACK one octet too long", []byte{
		0x05,       // Length 5
		0x15,       // MsgType UNSUBACK
		0x00, 0x08, // MsgId 8
		0x00, // extra octet
	}, packet.ErrBadLength, "body", 2},
	{"PINGRESP with a body", []byte{
		0x03, // Length 3
		0x17, // MsgType PINGRESP
		0x00, // unexpected octet
	}, packet.ErrBadLength, "body", 2},
	{"WILLTOPICRESP one octet too long", []byte{
		0x04, // Length 4
		0x1B, // MsgType WILLTOPICRESP
		0x00, // ReturnCode
		0x00, // extra octet
	}, packet.ErrBadLength, "body", 2},
	{"WILLMSGRESP one octet too long", []byte{
		0x04, // Length 4
		0x1D, // MsgType WILLMSGRESP
		0x00, // ReturnCode
		0x00, // extra octet
	}, packet.ErrBadLength, "body", 2},

	// §5.4.15, §5.4.17 topic of SUBSCRIBE and UNSUBSCRIBE
	{"SUBSCRIBE without MsgId", []byte{
		0x04, // Length 4
		0x12, // MsgType SUBSCRIBE
		0x20, // Flags: QoS1
		0x00, // half a MsgId
	}, packet.ErrTooShort, "body", 2},
	{"SUBSCRIBE predefined with 3 topic octets", []byte{
		0x08,       // Length 8
		0x12,       // MsgType SUBSCRIBE
		0x21,       // Flags: QoS1, TopicIdType pre-defined
		0x00, 0x05, // MsgId 5
		0x00, 0x0A, 0x00, // TopicId must be exactly 2 octets
	}, packet.ErrMalformed, "TopicId", 5},
	{"SUBSCRIBE short name of 1 character", []byte{
		0x06,       // Length 6
		0x12,       // MsgType SUBSCRIBE
		0x02,       // Flags: QoS0, TopicIdType short
		0x00, 0x06, // MsgId 6
		'a', // a short name is exactly 2 octets (erratum E4)
	}, packet.ErrMalformed, "TopicId", 5},
	{"SUBSCRIBE short name of 3 characters", []byte{
		0x08,       // Length 8
		0x12,       // MsgType SUBSCRIBE
		0x02,       // Flags: QoS0, TopicIdType short
		0x00, 0x06, // MsgId 6
		'a', 'b', 'c', // a short name is exactly 2 octets (erratum E4)
	}, packet.ErrMalformed, "TopicId", 5},
	{"UNSUBSCRIBE predefined without TopicId", []byte{
		0x05,       // Length 5
		0x14,       // MsgType UNSUBSCRIBE
		0x01,       // Flags: TopicIdType pre-defined
		0x00, 0x09, // MsgId 9; TopicId missing
	}, packet.ErrMalformed, "TopicId", 5},

	// §5.4.21 DISCONNECT: body of 0 or 2 octets only
	{"DISCONNECT with 1 octet", []byte{
		0x03, // Length 3
		0x18, // MsgType DISCONNECT
		0x01, // half a Duration
	}, packet.ErrBadLength, "Duration", 2},
	{"DISCONNECT with 3 octets", []byte{
		0x05,       // Length 5
		0x18,       // MsgType DISCONNECT
		0x01, 0x2C, // Duration 300
		0x00, // extra octet
	}, packet.ErrBadLength, "Duration", 2},

	// §5.5 forwarder encapsulation
	{"ENCAPSULATED Length 2", []byte{
		0x02, // Length 2: no room for Ctrl
		0xFE, // MsgType Encapsulated message
	}, packet.ErrBadLength, "Length", 0},
	{"ENCAPSULATED empty node id", []byte{
		0x03,             // Length 3
		0xFE,             // MsgType Encapsulated message
		0x00,             // Ctrl; Wireless Node Id empty
		0x03, 0x05, 0x00, // inner message: CONNACK
	}, packet.ErrMalformed, "NodeId", 3},
	{"ENCAPSULATED envelope beyond datagram", []byte{
		0x09,       // Length 9
		0xFE,       // MsgType Encapsulated message
		0x00,       // Ctrl
		0x12, 0x34, // Wireless Node Id; the datagram ends before Length says
	}, packet.ErrLengthMismatch, "Length", 0},
	{"ENCAPSULATED without inner message", []byte{
		0x05,       // Length 5
		0xFE,       // MsgType Encapsulated message
		0x00,       // Ctrl
		0x12, 0x34, // Wireless Node Id; no inner message
	}, packet.ErrTooShort, "Inner", 5},
	{"ENCAPSULATED inner Length mismatch", []byte{
		0x05,       // Length 5
		0xFE,       // MsgType Encapsulated message
		0x00,       // Ctrl
		0x12, 0x34, // Wireless Node Id
		0x04, 0x05, 0x00, // inner CONNACK claims 4 octets, has 3
	}, packet.ErrLengthMismatch, "Inner.Length", 5},
	{"ENCAPSULATED inner reserved type", []byte{
		0x05,       // Length 5
		0xFE,       // MsgType Encapsulated message
		0x00,       // Ctrl
		0x12, 0x34, // Wireless Node Id
		0x02, 0x03, // inner message of reserved type 0x03
	}, packet.ErrUnknownType, "Inner.MsgType", 6},
	{"ENCAPSULATED nested", []byte{
		0x05,       // Length 5
		0xFE,       // MsgType Encapsulated message
		0x00,       // Ctrl
		0x12, 0x34, // Wireless Node Id
		0x04, 0xFE, 0x00, 0x56, // a second envelope: not allowed
		0x02, 0x16, // PINGREQ
	}, packet.ErrMalformed, "Inner", 5},
	{"ENCAPSULATED long form", []byte{
		0x01,       // Length: 3-octet form, which the envelope does not have
		0x00, 0x05, // Length 5
		0xFE,       // MsgType Encapsulated message
		0x00,       // Ctrl
		0x02, 0x16, // PINGREQ
	}, packet.ErrBadLength, "Length", 0},
}
