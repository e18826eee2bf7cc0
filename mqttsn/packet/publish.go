package packet

// Publish carries application data (§5.4.12). TopicID is a registered id, a pre-defined id or a
// short name packed by ShortTopicID, as TopicIDType says. MsgID is 0 for QoS 0 and −1.
//
// Data aliases the datagram a Publish was decoded from; Unmarshal into a reused Publish
// allocates nothing.
type Publish struct {
	Dup         bool
	QoS         QoS
	Retain      bool
	TopicIDType TopicIDType
	TopicID     uint16
	MsgID       uint16
	Data        []byte
}

// Puback acknowledges a QoS 1 PUBLISH, or rejects a PUBLISH of any QoS (§5.4.13).
type Puback struct {
	TopicID    uint16
	MsgID      uint16
	ReturnCode ReturnCode
}

// Pubrec is the first answer to a QoS 2 PUBLISH (§5.4.14).
type Pubrec struct{ MsgID uint16 }

// Pubrel answers PUBREC (§5.4.14).
type Pubrel struct{ MsgID uint16 }

// Pubcomp answers PUBREL and completes a QoS 2 flow (§5.4.14).
type Pubcomp struct{ MsgID uint16 }
