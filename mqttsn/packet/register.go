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

// Type returns TypeRegister.
func (*Register) Type() MsgType { return TypeRegister }

// Append implements Message: `Len 0A TopicId(2) MsgId(2) TopicName..`.
func (m *Register) Append(dst []byte) ([]byte, error) {
	dst, err := appendHeader(dst, TypeRegister, 4+len(m.TopicName))
	if err != nil {
		return dst, err
	}
	dst = appendU16(appendU16(dst, m.TopicID), m.MsgID)
	return append(dst, m.TopicName...), nil
}

// Unmarshal implements Message. An empty TopicName decodes, so the receiver can answer it with a
// REGACK rejection.
func (m *Register) Unmarshal(datagram []byte) error {
	b, off, err := body(datagram, TypeRegister)
	if err != nil {
		return err
	}
	if err := checkSize(TypeRegister, b, off, 4, -1); err != nil {
		return err
	}
	*m = Register{TopicID: u16(b), MsgID: u16(b[2:]), TopicName: string(b[4:])}
	return nil
}

// Type returns TypeRegack.
func (*Regack) Type() MsgType { return TypeRegack }

// Append implements Message: `07 0B TopicId(2) MsgId(2) RC`.
func (m *Regack) Append(dst []byte) ([]byte, error) {
	dst, _ = appendHeader(dst, TypeRegack, 5)
	return append(appendU16(appendU16(dst, m.TopicID), m.MsgID), byte(m.ReturnCode)), nil
}

// Unmarshal implements Message.
func (m *Regack) Unmarshal(datagram []byte) error {
	b, err := exactBody(datagram, TypeRegack, 5)
	if err != nil {
		return err
	}
	*m = Regack{TopicID: u16(b), MsgID: u16(b[2:]), ReturnCode: ReturnCode(b[4])}
	return nil
}
