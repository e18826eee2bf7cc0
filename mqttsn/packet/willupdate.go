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

// Type returns TypeWillTopicUpd.
func (*WillTopicUpd) Type() MsgType { return TypeWillTopicUpd }

// Append implements Message: `Len 1A Flags WillTopic..`, or `02 1A` for the delete form.
func (m *WillTopicUpd) Append(dst []byte) ([]byte, error) {
	return appendWillTopic(dst, TypeWillTopicUpd, m.QoS, m.Retain, m.Topic)
}

// Unmarshal implements Message.
func (m *WillTopicUpd) Unmarshal(datagram []byte) error {
	q, r, topic, err := unmarshalWillTopic(datagram, TypeWillTopicUpd)
	if err != nil {
		return err
	}
	*m = WillTopicUpd{QoS: q, Retain: r, Topic: topic}
	return nil
}

// Type returns TypeWillTopicResp.
func (*WillTopicResp) Type() MsgType { return TypeWillTopicResp }

// Append implements Message: `03 1B RC`.
func (m *WillTopicResp) Append(dst []byte) ([]byte, error) {
	dst, _ = appendHeader(dst, TypeWillTopicResp, 1)
	return append(dst, byte(m.ReturnCode)), nil
}

// Unmarshal implements Message.
func (m *WillTopicResp) Unmarshal(datagram []byte) error {
	v, err := unmarshalWillResp(datagram, TypeWillTopicResp)
	if err != nil {
		return err
	}
	m.ReturnCode = v
	return nil
}

// Type returns TypeWillMsgUpd.
func (*WillMsgUpd) Type() MsgType { return TypeWillMsgUpd }

// Append implements Message: `Len 1C WillMsg..`.
func (m *WillMsgUpd) Append(dst []byte) ([]byte, error) {
	dst, err := appendHeader(dst, TypeWillMsgUpd, len(m.Payload))
	if err != nil {
		return dst, err
	}
	return append(dst, m.Payload...), nil
}

// Unmarshal implements Message.
func (m *WillMsgUpd) Unmarshal(datagram []byte) error {
	b, _, err := body(datagram, TypeWillMsgUpd)
	if err != nil {
		return err
	}
	*m = WillMsgUpd{Payload: bytesOrNil(b)}
	return nil
}

// Type returns TypeWillMsgResp.
func (*WillMsgResp) Type() MsgType { return TypeWillMsgResp }

// Append implements Message: `03 1D RC`.
func (m *WillMsgResp) Append(dst []byte) ([]byte, error) {
	dst, _ = appendHeader(dst, TypeWillMsgResp, 1)
	return append(dst, byte(m.ReturnCode)), nil
}

// Unmarshal implements Message.
func (m *WillMsgResp) Unmarshal(datagram []byte) error {
	v, err := unmarshalWillResp(datagram, TypeWillMsgResp)
	if err != nil {
		return err
	}
	m.ReturnCode = v
	return nil
}

// unmarshalWillResp accepts the v1.2 form with ReturnCode and the pre-1.2 form without, which
// means Accepted (erratum E29).
func unmarshalWillResp(datagram []byte, t MsgType) (ReturnCode, error) {
	b, off, err := body(datagram, t)
	if err != nil {
		return 0, err
	}
	if err := checkSize(t, b, off, 0, 1); err != nil {
		return 0, err
	}
	if len(b) == 0 {
		return Accepted, nil
	}
	return ReturnCode(b[0]), nil
}
