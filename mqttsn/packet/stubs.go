package packet

// Placeholder bodies: the codec lands in the next commit.

// Type returns TypeAdvertise.
func (*Advertise) Type() MsgType { return TypeAdvertise }

// Append implements Message.
func (m *Advertise) Append(dst []byte) ([]byte, error) { return dst, errNotImplemented }

// Unmarshal implements Message.
func (m *Advertise) Unmarshal(datagram []byte) error { return errNotImplemented }

// Type returns TypeSearchGW.
func (*SearchGW) Type() MsgType { return TypeSearchGW }

// Append implements Message.
func (m *SearchGW) Append(dst []byte) ([]byte, error) { return dst, errNotImplemented }

// Unmarshal implements Message.
func (m *SearchGW) Unmarshal(datagram []byte) error { return errNotImplemented }

// Type returns TypeGWInfo.
func (*GWInfo) Type() MsgType { return TypeGWInfo }

// Append implements Message.
func (m *GWInfo) Append(dst []byte) ([]byte, error) { return dst, errNotImplemented }

// Unmarshal implements Message.
func (m *GWInfo) Unmarshal(datagram []byte) error { return errNotImplemented }

// Type returns TypeConnect.
func (*Connect) Type() MsgType { return TypeConnect }

// Append implements Message.
func (m *Connect) Append(dst []byte) ([]byte, error) { return dst, errNotImplemented }

// Unmarshal implements Message.
func (m *Connect) Unmarshal(datagram []byte) error { return errNotImplemented }

// Type returns TypeConnack.
func (*Connack) Type() MsgType { return TypeConnack }

// Append implements Message.
func (m *Connack) Append(dst []byte) ([]byte, error) { return dst, errNotImplemented }

// Unmarshal implements Message.
func (m *Connack) Unmarshal(datagram []byte) error { return errNotImplemented }

// Type returns TypeWillTopicReq.
func (*WillTopicReq) Type() MsgType { return TypeWillTopicReq }

// Append implements Message.
func (m *WillTopicReq) Append(dst []byte) ([]byte, error) { return dst, errNotImplemented }

// Unmarshal implements Message.
func (m *WillTopicReq) Unmarshal(datagram []byte) error { return errNotImplemented }

// Type returns TypeWillTopic.
func (*WillTopic) Type() MsgType { return TypeWillTopic }

// Append implements Message.
func (m *WillTopic) Append(dst []byte) ([]byte, error) { return dst, errNotImplemented }

// Unmarshal implements Message.
func (m *WillTopic) Unmarshal(datagram []byte) error { return errNotImplemented }

// Type returns TypeWillMsgReq.
func (*WillMsgReq) Type() MsgType { return TypeWillMsgReq }

// Append implements Message.
func (m *WillMsgReq) Append(dst []byte) ([]byte, error) { return dst, errNotImplemented }

// Unmarshal implements Message.
func (m *WillMsgReq) Unmarshal(datagram []byte) error { return errNotImplemented }

// Type returns TypeWillMsg.
func (*WillMsg) Type() MsgType { return TypeWillMsg }

// Append implements Message.
func (m *WillMsg) Append(dst []byte) ([]byte, error) { return dst, errNotImplemented }

// Unmarshal implements Message.
func (m *WillMsg) Unmarshal(datagram []byte) error { return errNotImplemented }

// Type returns TypeRegister.
func (*Register) Type() MsgType { return TypeRegister }

// Append implements Message.
func (m *Register) Append(dst []byte) ([]byte, error) { return dst, errNotImplemented }

// Unmarshal implements Message.
func (m *Register) Unmarshal(datagram []byte) error { return errNotImplemented }

// Type returns TypeRegack.
func (*Regack) Type() MsgType { return TypeRegack }

// Append implements Message.
func (m *Regack) Append(dst []byte) ([]byte, error) { return dst, errNotImplemented }

// Unmarshal implements Message.
func (m *Regack) Unmarshal(datagram []byte) error { return errNotImplemented }

// Type returns TypePublish.
func (*Publish) Type() MsgType { return TypePublish }

// Append implements Message.
func (m *Publish) Append(dst []byte) ([]byte, error) { return dst, errNotImplemented }

// Unmarshal implements Message.
func (m *Publish) Unmarshal(datagram []byte) error { return errNotImplemented }

// Type returns TypePuback.
func (*Puback) Type() MsgType { return TypePuback }

// Append implements Message.
func (m *Puback) Append(dst []byte) ([]byte, error) { return dst, errNotImplemented }

// Unmarshal implements Message.
func (m *Puback) Unmarshal(datagram []byte) error { return errNotImplemented }

// Type returns TypePubrec.
func (*Pubrec) Type() MsgType { return TypePubrec }

// Append implements Message.
func (m *Pubrec) Append(dst []byte) ([]byte, error) { return dst, errNotImplemented }

// Unmarshal implements Message.
func (m *Pubrec) Unmarshal(datagram []byte) error { return errNotImplemented }

// Type returns TypePubrel.
func (*Pubrel) Type() MsgType { return TypePubrel }

// Append implements Message.
func (m *Pubrel) Append(dst []byte) ([]byte, error) { return dst, errNotImplemented }

// Unmarshal implements Message.
func (m *Pubrel) Unmarshal(datagram []byte) error { return errNotImplemented }

// Type returns TypePubcomp.
func (*Pubcomp) Type() MsgType { return TypePubcomp }

// Append implements Message.
func (m *Pubcomp) Append(dst []byte) ([]byte, error) { return dst, errNotImplemented }

// Unmarshal implements Message.
func (m *Pubcomp) Unmarshal(datagram []byte) error { return errNotImplemented }

// Type returns TypeSubscribe.
func (*Subscribe) Type() MsgType { return TypeSubscribe }

// Append implements Message.
func (m *Subscribe) Append(dst []byte) ([]byte, error) { return dst, errNotImplemented }

// Unmarshal implements Message.
func (m *Subscribe) Unmarshal(datagram []byte) error { return errNotImplemented }

// Type returns TypeSuback.
func (*Suback) Type() MsgType { return TypeSuback }

// Append implements Message.
func (m *Suback) Append(dst []byte) ([]byte, error) { return dst, errNotImplemented }

// Unmarshal implements Message.
func (m *Suback) Unmarshal(datagram []byte) error { return errNotImplemented }

// Type returns TypeUnsubscribe.
func (*Unsubscribe) Type() MsgType { return TypeUnsubscribe }

// Append implements Message.
func (m *Unsubscribe) Append(dst []byte) ([]byte, error) { return dst, errNotImplemented }

// Unmarshal implements Message.
func (m *Unsubscribe) Unmarshal(datagram []byte) error { return errNotImplemented }

// Type returns TypeUnsuback.
func (*Unsuback) Type() MsgType { return TypeUnsuback }

// Append implements Message.
func (m *Unsuback) Append(dst []byte) ([]byte, error) { return dst, errNotImplemented }

// Unmarshal implements Message.
func (m *Unsuback) Unmarshal(datagram []byte) error { return errNotImplemented }

// Type returns TypePingreq.
func (*Pingreq) Type() MsgType { return TypePingreq }

// Append implements Message.
func (m *Pingreq) Append(dst []byte) ([]byte, error) { return dst, errNotImplemented }

// Unmarshal implements Message.
func (m *Pingreq) Unmarshal(datagram []byte) error { return errNotImplemented }

// Type returns TypePingresp.
func (*Pingresp) Type() MsgType { return TypePingresp }

// Append implements Message.
func (m *Pingresp) Append(dst []byte) ([]byte, error) { return dst, errNotImplemented }

// Unmarshal implements Message.
func (m *Pingresp) Unmarshal(datagram []byte) error { return errNotImplemented }

// Type returns TypeDisconnect.
func (*Disconnect) Type() MsgType { return TypeDisconnect }

// Append implements Message.
func (m *Disconnect) Append(dst []byte) ([]byte, error) { return dst, errNotImplemented }

// Unmarshal implements Message.
func (m *Disconnect) Unmarshal(datagram []byte) error { return errNotImplemented }

// Type returns TypeWillTopicUpd.
func (*WillTopicUpd) Type() MsgType { return TypeWillTopicUpd }

// Append implements Message.
func (m *WillTopicUpd) Append(dst []byte) ([]byte, error) { return dst, errNotImplemented }

// Unmarshal implements Message.
func (m *WillTopicUpd) Unmarshal(datagram []byte) error { return errNotImplemented }

// Type returns TypeWillTopicResp.
func (*WillTopicResp) Type() MsgType { return TypeWillTopicResp }

// Append implements Message.
func (m *WillTopicResp) Append(dst []byte) ([]byte, error) { return dst, errNotImplemented }

// Unmarshal implements Message.
func (m *WillTopicResp) Unmarshal(datagram []byte) error { return errNotImplemented }

// Type returns TypeWillMsgUpd.
func (*WillMsgUpd) Type() MsgType { return TypeWillMsgUpd }

// Append implements Message.
func (m *WillMsgUpd) Append(dst []byte) ([]byte, error) { return dst, errNotImplemented }

// Unmarshal implements Message.
func (m *WillMsgUpd) Unmarshal(datagram []byte) error { return errNotImplemented }

// Type returns TypeWillMsgResp.
func (*WillMsgResp) Type() MsgType { return TypeWillMsgResp }

// Append implements Message.
func (m *WillMsgResp) Append(dst []byte) ([]byte, error) { return dst, errNotImplemented }

// Unmarshal implements Message.
func (m *WillMsgResp) Unmarshal(datagram []byte) error { return errNotImplemented }

// Type returns TypeEncapsulated.
func (*Encapsulated) Type() MsgType { return TypeEncapsulated }

// Append implements Message.
func (m *Encapsulated) Append(dst []byte) ([]byte, error) { return dst, errNotImplemented }

// Unmarshal implements Message.
func (m *Encapsulated) Unmarshal(datagram []byte) error { return errNotImplemented }
