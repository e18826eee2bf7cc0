package packet

// Subscribe asks for messages on a topic (§5.4.15). With TopicIDType TopicIDNormal the topic is
// TopicName (a filter, wildcards allowed); with TopicIDPredefined or TopicIDShort it is the two
// octets of TopicID (a short name packed by ShortTopicID) and TopicName is empty.
type Subscribe struct {
	Dup         bool
	QoS         QoS // requested
	TopicIDType TopicIDType
	MsgID       uint16
	TopicName   string
	TopicID     uint16
}

// Suback answers SUBSCRIBE (§5.4.16). TopicID is the id the gateway will use in PUBLISH; 0 for a
// wildcard filter or a short name (erratum E5).
type Suback struct {
	QoS        QoS // granted
	TopicID    uint16
	MsgID      uint16
	ReturnCode ReturnCode
}

// Unsubscribe cancels a subscription (§5.4.17); the topic is given as in Subscribe.
type Unsubscribe struct {
	TopicIDType TopicIDType
	MsgID       uint16
	TopicName   string
	TopicID     uint16
}

// Unsuback answers UNSUBSCRIBE (§5.4.18).
type Unsuback struct{ MsgID uint16 }
