package packet

import "fmt"

// MsgType is the MsgType octet of an MQTT-SN message (spec Table 3).
type MsgType uint8

// Message types (spec §5.2.2, Table 3). Note the non-monotonic QoS 2 trio:
// PUBCOMP 0x0E, PUBREC 0x0F, PUBREL 0x10.
const (
	TypeAdvertise     MsgType = 0x00
	TypeSearchGW      MsgType = 0x01
	TypeGWInfo        MsgType = 0x02
	TypeConnect       MsgType = 0x04
	TypeConnack       MsgType = 0x05
	TypeWillTopicReq  MsgType = 0x06
	TypeWillTopic     MsgType = 0x07
	TypeWillMsgReq    MsgType = 0x08
	TypeWillMsg       MsgType = 0x09
	TypeRegister      MsgType = 0x0A
	TypeRegack        MsgType = 0x0B
	TypePublish       MsgType = 0x0C
	TypePuback        MsgType = 0x0D
	TypePubcomp       MsgType = 0x0E
	TypePubrec        MsgType = 0x0F
	TypePubrel        MsgType = 0x10
	TypeSubscribe     MsgType = 0x12
	TypeSuback        MsgType = 0x13
	TypeUnsubscribe   MsgType = 0x14
	TypeUnsuback      MsgType = 0x15
	TypePingreq       MsgType = 0x16
	TypePingresp      MsgType = 0x17
	TypeDisconnect    MsgType = 0x18
	TypeWillTopicUpd  MsgType = 0x1A
	TypeWillTopicResp MsgType = 0x1B
	TypeWillMsgUpd    MsgType = 0x1C
	TypeWillMsgResp   MsgType = 0x1D
	TypeEncapsulated  MsgType = 0xFE
)

var typeNames = [...]string{
	TypeAdvertise:     "ADVERTISE",
	TypeSearchGW:      "SEARCHGW",
	TypeGWInfo:        "GWINFO",
	TypeConnect:       "CONNECT",
	TypeConnack:       "CONNACK",
	TypeWillTopicReq:  "WILLTOPICREQ",
	TypeWillTopic:     "WILLTOPIC",
	TypeWillMsgReq:    "WILLMSGREQ",
	TypeWillMsg:       "WILLMSG",
	TypeRegister:      "REGISTER",
	TypeRegack:        "REGACK",
	TypePublish:       "PUBLISH",
	TypePuback:        "PUBACK",
	TypePubcomp:       "PUBCOMP",
	TypePubrec:        "PUBREC",
	TypePubrel:        "PUBREL",
	TypeSubscribe:     "SUBSCRIBE",
	TypeSuback:        "SUBACK",
	TypeUnsubscribe:   "UNSUBSCRIBE",
	TypeUnsuback:      "UNSUBACK",
	TypePingreq:       "PINGREQ",
	TypePingresp:      "PINGRESP",
	TypeDisconnect:    "DISCONNECT",
	TypeWillTopicUpd:  "WILLTOPICUPD",
	TypeWillTopicResp: "WILLTOPICRESP",
	TypeWillMsgUpd:    "WILLMSGUPD",
	TypeWillMsgResp:   "WILLMSGRESP",
}

// Valid reports whether t is a message type defined by MQTT-SN v1.2 (reserved values are not).
func (t MsgType) Valid() bool {
	if t == TypeEncapsulated {
		return true
	}
	return int(t) < len(typeNames) && typeNames[t] != ""
}

// String returns the spec's name of the type ("PUBLISH"), or "RESERVED(0x03)".
func (t MsgType) String() string {
	if t == TypeEncapsulated {
		return "ENCAPSULATED"
	}
	if t.Valid() {
		return typeNames[t]
	}
	return fmt.Sprintf("RESERVED(0x%02X)", uint8(t))
}

// Flags is the Flags octet (spec §5.3.4, Table 4). Bits a message does not use are sent as 0 and
// ignored on receipt.
type Flags uint8

// Flag bits and masks.
const (
	FlagDup             Flags = 0x80
	FlagQoSMask         Flags = 0x60
	FlagRetain          Flags = 0x10
	FlagWill            Flags = 0x08
	FlagCleanSession    Flags = 0x04
	FlagTopicIDTypeMask Flags = 0x03
)

// Dup reports the DUP bit (retransmission).
func (f Flags) Dup() bool { return f&FlagDup != 0 }

// Retain reports the Retain bit.
func (f Flags) Retain() bool { return f&FlagRetain != 0 }

// Will reports the Will bit (CONNECT only).
func (f Flags) Will() bool { return f&FlagWill != 0 }

// CleanSession reports the CleanSession bit (CONNECT only).
func (f Flags) CleanSession() bool { return f&FlagCleanSession != 0 }

// QoS decodes the QoS bits; 0b11 is QoS −1.
func (f Flags) QoS() QoS {
	q := QoS((f & FlagQoSMask) >> 5)
	if q == 3 {
		return QoSMinus1
	}
	return q
}

// TopicIDType decodes the TopicIdType bits; 0b11 decodes as TopicIDReserved.
func (f Flags) TopicIDType() TopicIDType { return TopicIDType(f & FlagTopicIDTypeMask) }

// WithQoS returns f with its QoS bits set to q. An invalid q is treated as QoS 0; encoders check
// validity before they get here.
func (f Flags) WithQoS(q QoS) Flags {
	f &^= FlagQoSMask
	switch q {
	case QoS1:
		f |= 0x20
	case QoS2:
		f |= 0x40
	case QoSMinus1:
		f |= 0x60
	}
	return f
}

// WithTopicIDType returns f with its TopicIdType bits set to t.
func (f Flags) WithTopicIDType(t TopicIDType) Flags {
	return f&^FlagTopicIDTypeMask | Flags(t)&FlagTopicIDTypeMask
}

// With returns f with bit set (when on) or cleared.
func (f Flags) With(bit Flags, on bool) Flags {
	if on {
		return f | bit
	}
	return f &^ bit
}

// QoS is a quality-of-service level: −1 (MQTT-SN "QoS −1", publish without connection), 0, 1, 2.
type QoS int8

// QoS levels.
const (
	QoSMinus1 QoS = -1
	QoS0      QoS = 0
	QoS1      QoS = 1
	QoS2      QoS = 2
)

// Valid reports whether q is one of −1, 0, 1, 2.
func (q QoS) Valid() bool { return q >= -1 && q <= 2 }

// String returns "QoS-1", "QoS0", "QoS1" or "QoS2".
func (q QoS) String() string {
	if !q.Valid() {
		return fmt.Sprintf("QoS(%d)", int8(q))
	}
	return fmt.Sprintf("QoS%d", int8(q))
}

// TopicIDType says how the topic of PUBLISH, SUBSCRIBE and UNSUBSCRIBE is given (spec §5.3.4).
type TopicIDType uint8

// Topic id types.
const (
	// TopicIDNormal: a registered topic id in PUBLISH; a topic name (filter) in SUBSCRIBE and
	// UNSUBSCRIBE.
	TopicIDNormal TopicIDType = 0
	// TopicIDPredefined: a pre-defined topic id known a priori to client and gateway (§6.7).
	TopicIDPredefined TopicIDType = 1
	// TopicIDShort: a two-character topic name carried in the TopicId field (§6.7).
	TopicIDShort TopicIDType = 2
	// TopicIDReserved is the reserved value 0b11. Decoders keep it so a gateway can answer it with
	// NotSupported (erratum E26); encoders refuse it.
	TopicIDReserved TopicIDType = 3
)

// String returns "normal", "predefined", "short" or "reserved".
func (t TopicIDType) String() string {
	switch t {
	case TopicIDNormal:
		return "normal"
	case TopicIDPredefined:
		return "predefined"
	case TopicIDShort:
		return "short"
	case TopicIDReserved:
		return "reserved"
	}
	return fmt.Sprintf("TopicIDType(%d)", uint8(t))
}

// ShortTopicID packs a two-character short topic name into a TopicId (§6.7). ok is false unless
// name is exactly two octets (erratum E4: one-character names must be registered).
func ShortTopicID(name string) (id uint16, ok bool) {
	if len(name) != 2 {
		return 0, false
	}
	return uint16(name[0])<<8 | uint16(name[1]), true
}

// ShortTopicName unpacks a short-name TopicId into its two-character topic name.
func ShortTopicName(id uint16) string {
	return string([]byte{byte(id >> 8), byte(id)})
}

// ReturnCode is the ReturnCode of the acknowledgements (spec §5.3.10, Table 5). Every code but
// Accepted is a rejection; ReturnCode implements error so a rejection can be returned as is.
type ReturnCode uint8

// Return codes.
const (
	Accepted       ReturnCode = 0x00
	Congestion     ReturnCode = 0x01 // rejected: congestion; retry after T_WAIT
	InvalidTopicID ReturnCode = 0x02 // rejected: invalid topic id
	NotSupported   ReturnCode = 0x03 // rejected: not supported
)

// String returns the spec's wording of the code.
func (rc ReturnCode) String() string {
	switch rc {
	case Accepted:
		return "accepted"
	case Congestion:
		return "rejected: congestion"
	case InvalidTopicID:
		return "rejected: invalid topic ID"
	case NotSupported:
		return "rejected: not supported"
	}
	return fmt.Sprintf("rejected: reserved return code 0x%02X", uint8(rc))
}

// Error implements error.
func (rc ReturnCode) Error() string { return "mqtt-sn: " + rc.String() }

// Err returns nil for Accepted and rc itself otherwise.
func (rc ReturnCode) Err() error {
	if rc == Accepted {
		return nil
	}
	return rc
}

// ProtocolID is the only ProtocolId defined by MQTT-SN v1.2 (CONNECT, §5.3.8).
const ProtocolID uint8 = 0x01

// MaxLength is the largest total length the 3-octet Length form can express.
const MaxLength = 0xFFFF
