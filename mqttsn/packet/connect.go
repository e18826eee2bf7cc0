package packet

// Connect opens a connection (§5.4.4). ProtocolID is encoded verbatim: set it to ProtocolID
// (0x01); a decoded CONNECT keeps whatever the peer sent so a gateway can answer NotSupported
// (erratum E21). An empty ClientID decodes without error for the same reason (erratum E23).
type Connect struct {
	Will         bool // ask the gateway to prompt for WILLTOPIC and WILLMSG
	CleanSession bool
	ProtocolID   uint8
	Duration     uint16 // keep-alive in seconds
	ClientID     string
}

// Connack answers CONNECT (§5.4.5).
type Connack struct {
	ReturnCode ReturnCode
}

// WillTopicReq asks the client for its will topic (§5.4.6).
type WillTopicReq struct{}

// WillTopic carries the will topic (§5.4.7). An empty Topic is the "empty WILLTOPIC" that deletes
// the stored will topic and message: it is encoded as `02 07`, and both `02 07` and a Flags-only
// `03 07 ff` decode to it with QoS and Retain zero (erratum E19).
type WillTopic struct {
	QoS    QoS
	Retain bool
	Topic  string
}

// Delete reports whether w is the empty form that deletes the will.
func (w *WillTopic) Delete() bool { return w.Topic == "" }

// WillMsgReq asks the client for its will message (§5.4.8).
type WillMsgReq struct{}

// WillMsg carries the will message (§5.4.9). Payload aliases the decoded datagram.
type WillMsg struct {
	Payload []byte
}

// Pingreq is a keep-alive probe (§5.4.19). A sleeping client waking up to poll its buffered
// messages includes its ClientID (§6.14); otherwise ClientID is empty.
type Pingreq struct {
	ClientID string
}

// Pingresp answers PINGREQ and, to a polling sleeper, ends the buffered messages (§5.4.20).
type Pingresp struct{}

// Disconnect ends a connection (§5.4.21). With HasDuration a client asks to sleep for Duration
// seconds (§6.14); a gateway never sends a Duration. Only bodies of 0 or 2 octets decode.
type Disconnect struct {
	Duration    uint16
	HasDuration bool
}
