package packet

// Message is one MQTT-SN message. The concrete types are the pointer types of this package
// (*Publish, *Connect, …).
//
// Byte-slice fields of a decoded message (Publish.Data, WillMsg.Payload, GWInfo.GatewayAddr,
// Encapsulated.NodeID …) alias the datagram they were decoded from: copy them before reusing the
// datagram buffer. An empty byte field decodes as nil. String fields are copies.
type Message interface {
	// Type returns the MsgType octet of the message.
	Type() MsgType
	// Append appends the encoded message to dst, choosing the 1-octet Length form when the total
	// is at most 255 octets and the 3-octet form otherwise (§5.2.1). On error dst is returned
	// unchanged and the error wraps ErrInvalid or ErrTooLong.
	Append(dst []byte) ([]byte, error)
	// Unmarshal decodes one complete datagram of this message's type into the receiver,
	// overwriting every field. Errors are *DecodeError; a datagram of another type yields
	// ErrWrongType.
	Unmarshal(datagram []byte) error
}

// TypeUnknown is the Type of a DecodeError raised before the MsgType octet could be read.
const TypeUnknown MsgType = 0xFF

// ParseHeader reads the Length and MsgType of a datagram (§5.2). total is the length the Length
// field announces, header the size of Length+MsgType (2 or 4).
//
// The long Length form is accepted for any size; Length 0x00 and a long form below 4 are
// ErrBadLength; a total that differs from len(datagram) is ErrLengthMismatch (erratum E30). For a
// forwarder envelope (0xFE), whose Length counts only the envelope, it checks only that the
// envelope fits in the datagram. Reserved types are ErrUnknownType.
func ParseHeader(datagram []byte) (t MsgType, total, header int, err error) {
	switch {
	case len(datagram) < 2:
		return TypeUnknown, 0, 0, decodeErr(TypeUnknown, "Length", 0, ErrTooShort, "datagram shorter than 2 octets")
	case datagram[0] == 0x00:
		return TypeUnknown, 0, 0, decodeErr(TypeUnknown, "Length", 0, ErrBadLength, "Length 0x00")
	case datagram[0] == 0x01:
		if len(datagram) < 4 {
			return TypeUnknown, 0, 0, decodeErr(TypeUnknown, "Length", 0, ErrTooShort, "3-octet Length form needs 4 octets of header")
		}
		t, total, header = MsgType(datagram[3]), int(datagram[1])<<8|int(datagram[2]), 4
		if total < 4 {
			return t, 0, 0, decodeErr(t, "Length", 1, ErrBadLength, "3-octet Length below 4")
		}
		if t == TypeEncapsulated {
			return t, 0, 0, decodeErr(t, "Length", 0, ErrBadLength, "forwarder envelope has a 1-octet Length")
		}
	default:
		t, total, header = MsgType(datagram[1]), int(datagram[0]), 2
	}
	if t == TypeEncapsulated {
		if total < 3 {
			return t, 0, 0, decodeErr(t, "Length", 0, ErrBadLength, "forwarder envelope shorter than 3 octets")
		}
		if total > len(datagram) {
			return t, 0, 0, decodeErr(t, "Length", 0, ErrLengthMismatch, "envelope longer than datagram")
		}
		return t, total, header, nil
	}
	if total != len(datagram) {
		return t, 0, 0, decodeErr(t, "Length", 0, ErrLengthMismatch, "")
	}
	if !t.Valid() {
		return t, 0, 0, decodeErr(t, "MsgType", header-1, ErrUnknownType, "")
	}
	return t, total, header, nil
}

// Decode decodes one datagram into a newly allocated message value (see Message for aliasing).
// It never reads past the Length field and never panics; every error is a *DecodeError.
func Decode(datagram []byte) (Message, error) {
	t, _, _, err := ParseHeader(datagram)
	if err != nil {
		return nil, err
	}
	m := New(t)
	if err := m.Unmarshal(datagram); err != nil {
		return nil, err
	}
	return m, nil
}

// New returns a new zero message of type t, or nil for a reserved type.
func New(t MsgType) Message {
	switch t {
	case TypeAdvertise:
		return new(Advertise)
	case TypeSearchGW:
		return new(SearchGW)
	case TypeGWInfo:
		return new(GWInfo)
	case TypeConnect:
		return new(Connect)
	case TypeConnack:
		return new(Connack)
	case TypeWillTopicReq:
		return new(WillTopicReq)
	case TypeWillTopic:
		return new(WillTopic)
	case TypeWillMsgReq:
		return new(WillMsgReq)
	case TypeWillMsg:
		return new(WillMsg)
	case TypeRegister:
		return new(Register)
	case TypeRegack:
		return new(Regack)
	case TypePublish:
		return new(Publish)
	case TypePuback:
		return new(Puback)
	case TypePubcomp:
		return new(Pubcomp)
	case TypePubrec:
		return new(Pubrec)
	case TypePubrel:
		return new(Pubrel)
	case TypeSubscribe:
		return new(Subscribe)
	case TypeSuback:
		return new(Suback)
	case TypeUnsubscribe:
		return new(Unsubscribe)
	case TypeUnsuback:
		return new(Unsuback)
	case TypePingreq:
		return new(Pingreq)
	case TypePingresp:
		return new(Pingresp)
	case TypeDisconnect:
		return new(Disconnect)
	case TypeWillTopicUpd:
		return new(WillTopicUpd)
	case TypeWillTopicResp:
		return new(WillTopicResp)
	case TypeWillMsgUpd:
		return new(WillMsgUpd)
	case TypeWillMsgResp:
		return new(WillMsgResp)
	case TypeEncapsulated:
		return new(Encapsulated)
	}
	return nil
}

// Append appends the encoding of m to dst (same as m.Append(dst)).
func Append(dst []byte, m Message) ([]byte, error) {
	return m.Append(dst)
}

// Marshal returns the encoding of m in a new slice.
func Marshal(m Message) ([]byte, error) {
	return m.Append(nil)
}

// body checks the header of datagram and that its type is want; it returns the variable part and
// its offset in the datagram (2 or 4).
func body(datagram []byte, want MsgType) ([]byte, int, error) {
	t, _, hdr, err := ParseHeader(datagram)
	if err != nil {
		return nil, 0, err
	}
	if t != want {
		return nil, 0, decodeErr(want, "MsgType", hdr-1, ErrWrongType, "got "+t.String())
	}
	return datagram[hdr:], hdr, nil
}

// exactBody is body for messages whose variable part has one fixed size n.
func exactBody(datagram []byte, want MsgType, n int) ([]byte, error) {
	b, off, err := body(datagram, want)
	if err != nil {
		return nil, err
	}
	if err := checkSize(want, b, off, n, n); err != nil {
		return nil, err
	}
	return b, nil
}

// checkSize checks min ≤ len(b) ≤ max (max < 0: no maximum).
func checkSize(t MsgType, b []byte, off, min, max int) error {
	if len(b) < min {
		return decodeErr(t, "body", off, ErrTooShort, sizeDetail(len(b), min, max))
	}
	if max >= 0 && len(b) > max {
		return decodeErr(t, "body", off, ErrBadLength, sizeDetail(len(b), min, max))
	}
	return nil
}

func sizeDetail(got, min, max int) string {
	want := itoa(min)
	switch {
	case max < 0:
		want = "at least " + want
	case max != min:
		want += " to " + itoa(max)
	}
	return "variable part of " + itoa(got) + " octets, want " + want
}

func itoa(n int) string {
	if n == 0 {
		return "0"
	}
	var b [20]byte
	i := len(b)
	for ; n > 0; n /= 10 {
		i--
		b[i] = byte('0' + n%10)
	}
	return string(b[i:])
}

// appendHeader appends Length and MsgType for a variable part of n octets: the 1-octet form when
// the total is ≤ 255, else the 3-octet form (§5.2.1).
func appendHeader(dst []byte, t MsgType, n int) ([]byte, error) {
	if n+2 <= 255 {
		return append(dst, byte(n+2), byte(t)), nil
	}
	total := n + 4
	if total > MaxLength {
		return dst, encodeErr(t, ErrTooLong, itoa(total)+" octets")
	}
	return append(dst, 0x01, byte(total>>8), byte(total), byte(t)), nil
}

func appendU16(dst []byte, v uint16) []byte { return append(dst, byte(v>>8), byte(v)) }

func u16(b []byte) uint16 { return uint16(b[0])<<8 | uint16(b[1]) }

// bytesOrNil returns b, or nil when it is empty, so decoded values compare equal.
func bytesOrNil(b []byte) []byte {
	if len(b) == 0 {
		return nil
	}
	return b
}

func checkQoS(t MsgType, q QoS) error {
	if !q.Valid() {
		return encodeErr(t, ErrInvalid, "QoS "+q.String())
	}
	return nil
}

func checkTopicIDType(t MsgType, tt TopicIDType) error {
	if tt > TopicIDReserved {
		return encodeErr(t, ErrInvalid, tt.String())
	}
	return nil
}
