package packet

// WillTopicUpd replaces the stored will topic while connected (§5.4.22). An empty Topic deletes
// the will topic and message: encoded `02 1A`; `02 1A` and a Flags-only 3-octet form decode to
// it (erratum E19).
type WillTopicUpd struct {
	QoS    QoS
	Retain bool
	Topic  string
}

// Delete reports whether w is the empty form that deletes the will.
func (w *WillTopicUpd) Delete() bool { return w.Topic == "" }

// WillTopicResp answers WILLTOPICUPD (§5.4.23). The pre-1.2 two-octet form without ReturnCode
// decodes as Accepted; the three-octet form is always sent (erratum E29).
type WillTopicResp struct {
	ReturnCode ReturnCode
}

// WillMsgUpd replaces the stored will message (§5.4.24). Payload aliases the decoded datagram.
type WillMsgUpd struct {
	Payload []byte
}

// WillMsgResp answers WILLMSGUPD (§5.4.25); see WillTopicResp for the two-octet form.
type WillMsgResp struct {
	ReturnCode ReturnCode
}
