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

// Type returns TypeConnect.
func (*Connect) Type() MsgType { return TypeConnect }

// Append implements Message: `Len 04 Flags ProtocolId Duration(2) ClientId..`.
func (m *Connect) Append(dst []byte) ([]byte, error) {
	dst, err := appendHeader(dst, TypeConnect, 4+len(m.ClientID))
	if err != nil {
		return dst, err
	}
	f := Flags(0).With(FlagWill, m.Will).With(FlagCleanSession, m.CleanSession)
	dst = appendU16(append(dst, byte(f), m.ProtocolID), m.Duration)
	return append(dst, m.ClientID...), nil
}

// Unmarshal implements Message. Flag bits other than Will and CleanSession are ignored.
func (m *Connect) Unmarshal(datagram []byte) error {
	b, off, err := body(datagram, TypeConnect)
	if err != nil {
		return err
	}
	if err := checkSize(TypeConnect, b, off, 4, -1); err != nil {
		return err
	}
	f := Flags(b[0])
	*m = Connect{
		Will:         f.Will(),
		CleanSession: f.CleanSession(),
		ProtocolID:   b[1],
		Duration:     u16(b[2:]),
		ClientID:     string(b[4:]),
	}
	return nil
}

// Type returns TypeConnack.
func (*Connack) Type() MsgType { return TypeConnack }

// Append implements Message: `03 05 RC`.
func (m *Connack) Append(dst []byte) ([]byte, error) {
	dst, _ = appendHeader(dst, TypeConnack, 1)
	return append(dst, byte(m.ReturnCode)), nil
}

// Unmarshal implements Message.
func (m *Connack) Unmarshal(datagram []byte) error {
	b, err := exactBody(datagram, TypeConnack, 1)
	if err != nil {
		return err
	}
	*m = Connack{ReturnCode: ReturnCode(b[0])}
	return nil
}

// Type returns TypeWillTopicReq.
func (*WillTopicReq) Type() MsgType { return TypeWillTopicReq }

// Append implements Message: `02 06`.
func (m *WillTopicReq) Append(dst []byte) ([]byte, error) {
	return appendHeader(dst, TypeWillTopicReq, 0)
}

// Unmarshal implements Message.
func (m *WillTopicReq) Unmarshal(datagram []byte) error {
	_, err := exactBody(datagram, TypeWillTopicReq, 0)
	return err
}

// Type returns TypeWillTopic.
func (*WillTopic) Type() MsgType { return TypeWillTopic }

// Append implements Message: `Len 07 Flags WillTopic..`, or `02 07` for the delete form.
func (m *WillTopic) Append(dst []byte) ([]byte, error) {
	return appendWillTopic(dst, TypeWillTopic, m.QoS, m.Retain, m.Topic)
}

// Unmarshal implements Message.
func (m *WillTopic) Unmarshal(datagram []byte) error {
	q, r, topic, err := unmarshalWillTopic(datagram, TypeWillTopic)
	if err != nil {
		return err
	}
	*m = WillTopic{QoS: q, Retain: r, Topic: topic}
	return nil
}

func appendWillTopic(dst []byte, t MsgType, q QoS, retain bool, topic string) ([]byte, error) {
	if topic == "" {
		if q != QoS0 || retain {
			return dst, encodeErr(t, ErrInvalid, "the empty (delete) form has no QoS or Retain")
		}
		return appendHeader(dst, t, 0)
	}
	if err := checkQoS(t, q); err != nil {
		return dst, err
	}
	dst, err := appendHeader(dst, t, 1+len(topic))
	if err != nil {
		return dst, err
	}
	f := Flags(0).WithQoS(q).With(FlagRetain, retain)
	return append(append(dst, byte(f)), topic...), nil
}

// unmarshalWillTopic decodes WILLTOPIC and WILLTOPICUPD; the 2-octet and the Flags-only 3-octet
// forms both mean "delete the will" (erratum E19) and decode with zero QoS and Retain.
func unmarshalWillTopic(datagram []byte, t MsgType) (QoS, bool, string, error) {
	b, _, err := body(datagram, t)
	if err != nil {
		return 0, false, "", err
	}
	if len(b) <= 1 {
		return QoS0, false, "", nil
	}
	f := Flags(b[0])
	return f.QoS(), f.Retain(), string(b[1:]), nil
}

// Type returns TypeWillMsgReq.
func (*WillMsgReq) Type() MsgType { return TypeWillMsgReq }

// Append implements Message: `02 08`.
func (m *WillMsgReq) Append(dst []byte) ([]byte, error) {
	return appendHeader(dst, TypeWillMsgReq, 0)
}

// Unmarshal implements Message.
func (m *WillMsgReq) Unmarshal(datagram []byte) error {
	_, err := exactBody(datagram, TypeWillMsgReq, 0)
	return err
}

// Type returns TypeWillMsg.
func (*WillMsg) Type() MsgType { return TypeWillMsg }

// Append implements Message: `Len 09 WillMsg..`.
func (m *WillMsg) Append(dst []byte) ([]byte, error) {
	dst, err := appendHeader(dst, TypeWillMsg, len(m.Payload))
	if err != nil {
		return dst, err
	}
	return append(dst, m.Payload...), nil
}

// Unmarshal implements Message.
func (m *WillMsg) Unmarshal(datagram []byte) error {
	b, _, err := body(datagram, TypeWillMsg)
	if err != nil {
		return err
	}
	*m = WillMsg{Payload: bytesOrNil(b)}
	return nil
}

// Type returns TypePingreq.
func (*Pingreq) Type() MsgType { return TypePingreq }

// Append implements Message: `02 16`, or `Len 16 ClientId..`.
func (m *Pingreq) Append(dst []byte) ([]byte, error) {
	dst, err := appendHeader(dst, TypePingreq, len(m.ClientID))
	if err != nil {
		return dst, err
	}
	return append(dst, m.ClientID...), nil
}

// Unmarshal implements Message.
func (m *Pingreq) Unmarshal(datagram []byte) error {
	b, _, err := body(datagram, TypePingreq)
	if err != nil {
		return err
	}
	*m = Pingreq{ClientID: string(b)}
	return nil
}

// Type returns TypePingresp.
func (*Pingresp) Type() MsgType { return TypePingresp }

// Append implements Message: `02 17`.
func (m *Pingresp) Append(dst []byte) ([]byte, error) {
	return appendHeader(dst, TypePingresp, 0)
}

// Unmarshal implements Message.
func (m *Pingresp) Unmarshal(datagram []byte) error {
	_, err := exactBody(datagram, TypePingresp, 0)
	return err
}

// Type returns TypeDisconnect.
func (*Disconnect) Type() MsgType { return TypeDisconnect }

// Append implements Message: `02 18`, or `04 18 Duration(2)` with HasDuration.
func (m *Disconnect) Append(dst []byte) ([]byte, error) {
	if !m.HasDuration {
		if m.Duration != 0 {
			return dst, encodeErr(TypeDisconnect, ErrInvalid, "Duration set without HasDuration")
		}
		return appendHeader(dst, TypeDisconnect, 0)
	}
	dst, _ = appendHeader(dst, TypeDisconnect, 2)
	return appendU16(dst, m.Duration), nil
}

// Unmarshal implements Message. The variable part must be empty or exactly a Duration.
func (m *Disconnect) Unmarshal(datagram []byte) error {
	b, off, err := body(datagram, TypeDisconnect)
	if err != nil {
		return err
	}
	switch len(b) {
	case 0:
		*m = Disconnect{}
	case 2:
		*m = Disconnect{Duration: u16(b), HasDuration: true}
	default:
		return decodeErr(TypeDisconnect, "Duration", off, ErrBadLength, "variable part of "+itoa(len(b))+" octets, want 0 or 2")
	}
	return nil
}
