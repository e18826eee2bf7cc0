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

// Type returns TypeSubscribe.
func (*Subscribe) Type() MsgType { return TypeSubscribe }

// Append implements Message: `Len 12 Flags MsgId(2) TopicName..|TopicId(2)`.
func (m *Subscribe) Append(dst []byte) ([]byte, error) {
	if err := checkQoS(TypeSubscribe, m.QoS); err != nil {
		return dst, err
	}
	f := Flags(0).With(FlagDup, m.Dup).WithQoS(m.QoS)
	return appendSubscription(dst, TypeSubscribe, f, m.TopicIDType, m.MsgID, m.TopicName, m.TopicID)
}

// Unmarshal implements Message. A normal-type topic name may be empty (the receiver rejects it
// with a SUBACK); pre-defined, short and reserved types need exactly two topic octets (erratum E4).
func (m *Subscribe) Unmarshal(datagram []byte) error {
	f, msgID, name, id, err := unmarshalSubscription(datagram, TypeSubscribe)
	if err != nil {
		return err
	}
	*m = Subscribe{Dup: f.Dup(), QoS: f.QoS(), TopicIDType: f.TopicIDType(), MsgID: msgID, TopicName: name, TopicID: id}
	return nil
}

// Type returns TypeSuback.
func (*Suback) Type() MsgType { return TypeSuback }

// Append implements Message: `08 13 Flags TopicId(2) MsgId(2) RC`.
func (m *Suback) Append(dst []byte) ([]byte, error) {
	if err := checkQoS(TypeSuback, m.QoS); err != nil {
		return dst, err
	}
	dst, _ = appendHeader(dst, TypeSuback, 6)
	dst = appendU16(appendU16(append(dst, byte(Flags(0).WithQoS(m.QoS))), m.TopicID), m.MsgID)
	return append(dst, byte(m.ReturnCode)), nil
}

// Unmarshal implements Message.
func (m *Suback) Unmarshal(datagram []byte) error {
	b, err := exactBody(datagram, TypeSuback, 6)
	if err != nil {
		return err
	}
	*m = Suback{QoS: Flags(b[0]).QoS(), TopicID: u16(b[1:]), MsgID: u16(b[3:]), ReturnCode: ReturnCode(b[5])}
	return nil
}

// Type returns TypeUnsubscribe.
func (*Unsubscribe) Type() MsgType { return TypeUnsubscribe }

// Append implements Message: `Len 14 Flags MsgId(2) TopicName..|TopicId(2)`.
func (m *Unsubscribe) Append(dst []byte) ([]byte, error) {
	return appendSubscription(dst, TypeUnsubscribe, 0, m.TopicIDType, m.MsgID, m.TopicName, m.TopicID)
}

// Unmarshal implements Message; the topic rules are those of Subscribe.
func (m *Unsubscribe) Unmarshal(datagram []byte) error {
	f, msgID, name, id, err := unmarshalSubscription(datagram, TypeUnsubscribe)
	if err != nil {
		return err
	}
	*m = Unsubscribe{TopicIDType: f.TopicIDType(), MsgID: msgID, TopicName: name, TopicID: id}
	return nil
}

// Type returns TypeUnsuback.
func (*Unsuback) Type() MsgType { return TypeUnsuback }

// Append implements Message: `04 15 MsgId(2)`.
func (m *Unsuback) Append(dst []byte) ([]byte, error) {
	return appendMsgIDOnly(dst, TypeUnsuback, m.MsgID)
}

// Unmarshal implements Message.
func (m *Unsuback) Unmarshal(datagram []byte) error {
	v, err := unmarshalMsgIDOnly(datagram, TypeUnsuback)
	if err != nil {
		return err
	}
	m.MsgID = v
	return nil
}

func appendSubscription(dst []byte, t MsgType, f Flags, tt TopicIDType, msgID uint16, name string, id uint16) ([]byte, error) {
	if err := checkTopicIDType(t, tt); err != nil {
		return dst, err
	}
	f = f.WithTopicIDType(tt)
	if tt != TopicIDNormal {
		if name != "" {
			return dst, encodeErr(t, ErrInvalid, "TopicName set with topic id type "+tt.String()+"; use TopicID")
		}
		dst, _ = appendHeader(dst, t, 5)
		return appendU16(appendU16(append(dst, byte(f)), msgID), id), nil
	}
	if id != 0 {
		return dst, encodeErr(t, ErrInvalid, "TopicID set with topic id type normal; use TopicName")
	}
	dst, err := appendHeader(dst, t, 3+len(name))
	if err != nil {
		return dst, err
	}
	return append(appendU16(append(dst, byte(f)), msgID), name...), nil
}

func unmarshalSubscription(datagram []byte, t MsgType) (f Flags, msgID uint16, name string, id uint16, err error) {
	b, off, err := body(datagram, t)
	if err != nil {
		return 0, 0, "", 0, err
	}
	if err := checkSize(t, b, off, 3, -1); err != nil {
		return 0, 0, "", 0, err
	}
	f, msgID = Flags(b[0]), u16(b[1:])
	if f.TopicIDType() == TopicIDNormal {
		return f, msgID, string(b[3:]), 0, nil
	}
	if len(b) != 5 {
		return 0, 0, "", 0, decodeErr(t, "TopicId", off+3, ErrMalformed,
			"topic id type "+f.TopicIDType().String()+" needs exactly 2 octets, got "+itoa(len(b)-3))
	}
	return f, msgID, "", u16(b[3:]), nil
}
