package packet

// Register asks for (client → gateway, TopicID 0) or announces (gateway → client) the topic id
// of TopicName (§5.4.10).
type Register struct {
	TopicID   uint16
	MsgID     uint16
	TopicName string
}

// Regack answers REGISTER (§5.4.11).
type Regack struct {
	TopicID    uint16
	MsgID      uint16
	ReturnCode ReturnCode
}
