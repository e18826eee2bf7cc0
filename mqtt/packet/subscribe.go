package packet

// Subscribe is the SUBSCRIBE packet (§3.8).
type Subscribe struct {
	PacketID      uint16
	Subscriptions []Subscription // at least one [MQTT-3.8.3-3]
}

// Subscription is one topic filter of a SUBSCRIBE with its requested QoS.
type Subscription struct {
	Filter string
	QoS    byte // requested maximum QoS, 0–2 [MQTT-3-8.3-4]
}

// SubackFailure is the SUBACK return code of a refused subscription (§3.9.3).
const SubackFailure byte = 0x80

// Suback is the SUBACK packet (§3.9): one return code per requested subscription, in order
// [MQTT-3.9.3-1]: the granted QoS 0–2, or SubackFailure.
type Suback struct {
	PacketID    uint16
	ReturnCodes []byte
}

// Unsubscribe is the UNSUBSCRIBE packet (§3.10).
type Unsubscribe struct {
	PacketID uint16
	Filters  []string // at least one [MQTT-3.10.3-2]
}

// Unsuback is the UNSUBACK packet (§3.11).
type Unsuback struct{ PacketID uint16 }

// Type is SUBSCRIBE.
func (*Subscribe) Type() Type { return SUBSCRIBE }

// Type is SUBACK.
func (*Suback) Type() Type { return SUBACK }

// Type is UNSUBSCRIBE.
func (*Unsubscribe) Type() Type { return UNSUBSCRIBE }

// Type is UNSUBACK.
func (*Unsuback) Type() Type { return UNSUBACK }

func (s *Subscribe) encodedLen() (int, error) {
	if s == nil {
		return 0, malformed(SUBSCRIBE, "", "nil packet")
	}
	if s.PacketID == 0 {
		return 0, malformed(SUBSCRIBE, "MQTT-2.3.1-1", "packet identifier is 0")
	}
	if len(s.Subscriptions) == 0 {
		return 0, malformed(SUBSCRIBE, "MQTT-3.8.3-3", "no topic filter")
	}
	n := 2
	for _, sub := range s.Subscriptions {
		if err := checkFilter(SUBSCRIBE, sub.Filter); err != nil {
			return 0, err
		}
		if sub.QoS > 2 {
			return 0, malformed(SUBSCRIBE, "MQTT-3-8.3-4", "requested QoS "+itoa(int(sub.QoS))+" for "+quote(sub.Filter))
		}
		n += 2 + len(sub.Filter) + 1
	}
	return n, nil
}

func (*Subscribe) flags() byte { return 0x2 } // [MQTT-3.8.1-1]

func (s *Subscribe) appendBody(dst []byte) []byte {
	dst = appendUint16(dst, s.PacketID)
	for _, sub := range s.Subscriptions {
		dst = appendString(dst, sub.Filter)
		dst = append(dst, sub.QoS)
	}
	return dst
}

func (s *Subscribe) decode(_ byte, body []byte, _ *decodeMode) error {
	r := reader{t: SUBSCRIBE, b: body}
	id, err := r.packetID()
	if err != nil {
		return err
	}
	subs := s.Subscriptions[:0]
	for len(r.b) > 0 {
		filter, err := r.string("topic filter")
		if err != nil {
			return withRule(err, "MQTT-3.8.3-1")
		}
		if err := checkFilter(SUBSCRIBE, filter); err != nil {
			return err
		}
		qos, err := r.byte("requested QoS")
		if err != nil {
			return withRule(err, "MQTT-3.8.3-1")
		}
		if qos > 2 {
			return malformed(SUBSCRIBE, "MQTT-3-8.3-4", "requested QoS byte "+itoa(int(qos))+" for "+quote(filter))
		}
		subs = append(subs, Subscription{Filter: filter, QoS: qos})
	}
	if len(subs) == 0 {
		return malformed(SUBSCRIBE, "MQTT-3.8.3-3", "no topic filter")
	}
	*s = Subscribe{PacketID: id, Subscriptions: subs}
	return nil
}

func (s *Suback) encodedLen() (int, error) {
	if s == nil {
		return 0, malformed(SUBACK, "", "nil packet")
	}
	if s.PacketID == 0 {
		return 0, malformed(SUBACK, "MQTT-2.3.1-1", "packet identifier is 0")
	}
	if len(s.ReturnCodes) == 0 {
		return 0, malformed(SUBACK, "MQTT-3.8.4-5", "no return code")
	}
	for _, c := range s.ReturnCodes {
		if c > 2 && c != SubackFailure {
			return 0, malformed(SUBACK, "MQTT-3.9.3-2", "reserved return code "+itoa(int(c)))
		}
	}
	return 2 + len(s.ReturnCodes), nil
}

func (*Suback) flags() byte { return 0 }

func (s *Suback) appendBody(dst []byte) []byte {
	dst = appendUint16(dst, s.PacketID)
	return append(dst, s.ReturnCodes...)
}

func (s *Suback) decode(_ byte, body []byte, m *decodeMode) error {
	r := reader{t: SUBACK, b: body}
	id, err := r.packetID()
	if err != nil {
		return err
	}
	codes := r.b
	if m.alias {
		codes = append(s.ReturnCodes[:0], codes...)
	} else {
		codes = cloneBytes(codes)
	}
	*s = Suback{PacketID: id, ReturnCodes: codes}
	_, err = s.encodedLen()
	return err
}

func (u *Unsubscribe) encodedLen() (int, error) {
	if u == nil {
		return 0, malformed(UNSUBSCRIBE, "", "nil packet")
	}
	if u.PacketID == 0 {
		return 0, malformed(UNSUBSCRIBE, "MQTT-2.3.1-1", "packet identifier is 0")
	}
	if len(u.Filters) == 0 {
		return 0, malformed(UNSUBSCRIBE, "MQTT-3.10.3-2", "no topic filter")
	}
	n := 2
	for _, f := range u.Filters {
		if err := checkFilter(UNSUBSCRIBE, f); err != nil {
			return 0, err
		}
		n += 2 + len(f)
	}
	return n, nil
}

func (*Unsubscribe) flags() byte { return 0x2 } // [MQTT-3.10.1-1]

func (u *Unsubscribe) appendBody(dst []byte) []byte {
	dst = appendUint16(dst, u.PacketID)
	for _, f := range u.Filters {
		dst = appendString(dst, f)
	}
	return dst
}

func (u *Unsubscribe) decode(_ byte, body []byte, _ *decodeMode) error {
	r := reader{t: UNSUBSCRIBE, b: body}
	id, err := r.packetID()
	if err != nil {
		return err
	}
	filters := u.Filters[:0]
	for len(r.b) > 0 {
		f, err := r.string("topic filter")
		if err != nil {
			return withRule(err, "MQTT-3.10.3-1")
		}
		if err := checkFilter(UNSUBSCRIBE, f); err != nil {
			return err
		}
		filters = append(filters, f)
	}
	if len(filters) == 0 {
		return malformed(UNSUBSCRIBE, "MQTT-3.10.3-2", "no topic filter")
	}
	*u = Unsubscribe{PacketID: id, Filters: filters}
	return nil
}

func (u *Unsuback) encodedLen() (int, error) {
	if u == nil {
		return 0, malformed(UNSUBACK, "", "nil packet")
	}
	return ackLen(UNSUBACK, u.PacketID)
}

func (*Unsuback) flags() byte { return 0 }

func (u *Unsuback) appendBody(dst []byte) []byte { return appendUint16(dst, u.PacketID) }

func (u *Unsuback) decode(_ byte, body []byte, _ *decodeMode) (err error) {
	u.PacketID, err = decodeAck(UNSUBACK, body)
	return err
}
