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

// Type returns TypePublish.
func (*Publish) Type() MsgType { return TypePublish }

// Append implements Message: `Len 0C Flags TopicId(2) MsgId(2) Data..`. QoS −1..2 and any
// TopicIDType up to TopicIDReserved are encoded as given (a test may need to send the reserved
// one); appending into a buffer with room allocates nothing.
func (m *Publish) Append(dst []byte) ([]byte, error) {
	if err := checkQoS(TypePublish, m.QoS); err != nil {
		return dst, err
	}
	if err := checkTopicIDType(TypePublish, m.TopicIDType); err != nil {
		return dst, err
	}
	dst, err := appendHeader(dst, TypePublish, 5+len(m.Data))
	if err != nil {
		return dst, err
	}
	f := Flags(0).With(FlagDup, m.Dup).WithQoS(m.QoS).With(FlagRetain, m.Retain).WithTopicIDType(m.TopicIDType)
	dst = appendU16(appendU16(append(dst, byte(f)), m.TopicID), m.MsgID)
	return append(dst, m.Data...), nil
}

// Unmarshal implements Message without allocating: Data aliases datagram. Flag bits PUBLISH does
// not use (Will, CleanSession) are ignored.
func (m *Publish) Unmarshal(datagram []byte) error {
	b, off, err := body(datagram, TypePublish)
	if err != nil {
		return err
	}
	if err := checkSize(TypePublish, b, off, 5, -1); err != nil {
		return err
	}
	f := Flags(b[0])
	*m = Publish{
		Dup:         f.Dup(),
		QoS:         f.QoS(),
		Retain:      f.Retain(),
		TopicIDType: f.TopicIDType(),
		TopicID:     u16(b[1:]),
		MsgID:       u16(b[3:]),
		Data:        bytesOrNil(b[5:]),
	}
	return nil
}

// Type returns TypePuback.
func (*Puback) Type() MsgType { return TypePuback }

// Append implements Message: `07 0D TopicId(2) MsgId(2) RC`.
func (m *Puback) Append(dst []byte) ([]byte, error) {
	dst, _ = appendHeader(dst, TypePuback, 5)
	return append(appendU16(appendU16(dst, m.TopicID), m.MsgID), byte(m.ReturnCode)), nil
}

// Unmarshal implements Message.
func (m *Puback) Unmarshal(datagram []byte) error {
	b, err := exactBody(datagram, TypePuback, 5)
	if err != nil {
		return err
	}
	*m = Puback{TopicID: u16(b), MsgID: u16(b[2:]), ReturnCode: ReturnCode(b[4])}
	return nil
}

// Type returns TypePubrec.
func (*Pubrec) Type() MsgType { return TypePubrec }

// Append implements Message: `04 0F MsgId(2)`.
func (m *Pubrec) Append(dst []byte) ([]byte, error) { return appendMsgIDOnly(dst, TypePubrec, m.MsgID) }

// Unmarshal implements Message.
func (m *Pubrec) Unmarshal(datagram []byte) error {
	v, err := unmarshalMsgIDOnly(datagram, TypePubrec)
	if err != nil {
		return err
	}
	m.MsgID = v
	return nil
}

// Type returns TypePubrel.
func (*Pubrel) Type() MsgType { return TypePubrel }

// Append implements Message: `04 10 MsgId(2)`.
func (m *Pubrel) Append(dst []byte) ([]byte, error) { return appendMsgIDOnly(dst, TypePubrel, m.MsgID) }

// Unmarshal implements Message.
func (m *Pubrel) Unmarshal(datagram []byte) error {
	v, err := unmarshalMsgIDOnly(datagram, TypePubrel)
	if err != nil {
		return err
	}
	m.MsgID = v
	return nil
}

// Type returns TypePubcomp.
func (*Pubcomp) Type() MsgType { return TypePubcomp }

// Append implements Message: `04 0E MsgId(2)`.
func (m *Pubcomp) Append(dst []byte) ([]byte, error) {
	return appendMsgIDOnly(dst, TypePubcomp, m.MsgID)
}

// Unmarshal implements Message.
func (m *Pubcomp) Unmarshal(datagram []byte) error {
	v, err := unmarshalMsgIDOnly(datagram, TypePubcomp)
	if err != nil {
		return err
	}
	m.MsgID = v
	return nil
}

func appendMsgIDOnly(dst []byte, t MsgType, id uint16) ([]byte, error) {
	dst, _ = appendHeader(dst, t, 2)
	return appendU16(dst, id), nil
}

func unmarshalMsgIDOnly(datagram []byte, t MsgType) (uint16, error) {
	b, err := exactBody(datagram, t, 2)
	if err != nil {
		return 0, err
	}
	return u16(b), nil
}
