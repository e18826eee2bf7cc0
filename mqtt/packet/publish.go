package packet

// Publish is the PUBLISH packet (§3.3): an application message.
type Publish struct {
	Dup      bool // a redelivery [MQTT-3.3.1-1]; always false at QoS 0 [MQTT-3.3.1-2]
	QoS      byte // 0, 1 or 2
	Retain   bool
	Topic    string // a topic name: no wildcards [MQTT-3.3.2-2]
	PacketID uint16 // non-zero at QoS 1 and 2 [MQTT-2.3.1-1]; absent at QoS 0
	Payload  []byte
}

// Puback acknowledges a QoS 1 PUBLISH (§3.4).
type Puback struct{ PacketID uint16 }

// Pubrec is the first reply to a QoS 2 PUBLISH (§3.5).
type Pubrec struct{ PacketID uint16 }

// Pubrel answers a PUBREC (§3.6).
type Pubrel struct{ PacketID uint16 }

// Pubcomp completes a QoS 2 exchange (§3.7).
type Pubcomp struct{ PacketID uint16 }

// Type is PUBLISH.
func (*Publish) Type() Type { return PUBLISH }

// Type is PUBACK.
func (*Puback) Type() Type { return PUBACK }

// Type is PUBREC.
func (*Pubrec) Type() Type { return PUBREC }

// Type is PUBREL.
func (*Pubrel) Type() Type { return PUBREL }

// Type is PUBCOMP.
func (*Pubcomp) Type() Type { return PUBCOMP }

// PUBLISH fixed header flags (§3.3.1).
const (
	publishRetain   = 0x1
	publishQoSShift = 1
	publishDup      = 0x8
)

func (p *Publish) encodedLen() (int, error) {
	if p == nil {
		return 0, malformed(PUBLISH, "", "nil packet")
	}
	if p.QoS > 2 {
		return 0, malformed(PUBLISH, "MQTT-3.3.1-4", "QoS 3")
	}
	if p.Dup && p.QoS == 0 {
		return 0, malformed(PUBLISH, "MQTT-3.3.1-2", "DUP set on a QoS 0 message")
	}
	if err := checkTopicName(PUBLISH, "topic name", p.Topic); err != nil {
		return 0, err
	}
	n := 2 + len(p.Topic) + len(p.Payload)
	if p.QoS > 0 {
		if p.PacketID == 0 {
			return 0, malformed(PUBLISH, "MQTT-2.3.1-1", "packet identifier is 0")
		}
		n += 2
	}
	return n, nil
}

// flags are DUP, QoS and RETAIN. PacketID is not sent at QoS 0.
func (p *Publish) flags() byte {
	f := p.QoS << publishQoSShift
	if p.Dup {
		f |= publishDup
	}
	if p.Retain {
		f |= publishRetain
	}
	return f
}

func (p *Publish) appendBody(dst []byte) []byte {
	dst = appendString(dst, p.Topic)
	if p.QoS > 0 {
		dst = appendUint16(dst, p.PacketID)
	}
	return append(dst, p.Payload...)
}

func (p *Publish) decode(f byte, body []byte, m *decodeMode) error {
	qos := f >> publishQoSShift & 3
	if qos == 3 {
		return malformed(PUBLISH, "MQTT-3.3.1-4", "QoS 3")
	}
	dup := f&publishDup != 0
	if dup && qos == 0 {
		return malformed(PUBLISH, "MQTT-3.3.1-2", "DUP set on a QoS 0 message")
	}
	r := reader{t: PUBLISH, b: body}
	topic, err := r.bytes("topic name")
	if err != nil {
		return withRule(err, "MQTT-3.3.2-1")
	}
	if err := checkWireTopicName(PUBLISH, "topic name", topic); err != nil {
		return err
	}
	var id uint16
	if qos > 0 {
		if id, err = r.packetID(); err != nil {
			return err
		}
	}
	*p = Publish{Dup: dup, QoS: qos, Retain: f&publishRetain != 0, PacketID: id,
		Topic: m.topics.intern(topic), Payload: m.bytes(r.b)}
	return nil
}

// topicCache interns the topic names of a connection: clients publish to few topics, so the
// broker's hot path need not allocate a string per message. It is bounded; when full it starts
// over.
type topicCache struct{ m map[string]string }

const topicCacheSize = 256

func (c *topicCache) intern(b []byte) string {
	if c == nil {
		return string(b)
	}
	if s, ok := c.m[string(b)]; ok { // no allocation for the lookup
		return s
	}
	if c.m == nil || len(c.m) >= topicCacheSize {
		c.m = make(map[string]string, 16)
	}
	s := string(b)
	c.m[s] = s
	return s
}

// ack is the body shared by PUBACK, PUBREC, PUBREL, PUBCOMP and UNSUBACK: a packet identifier.
func ackLen(t Type, id uint16) (int, error) {
	if id == 0 {
		return 0, malformed(t, "MQTT-2.3.1-1", "packet identifier is 0")
	}
	return 2, nil
}

// decodeAck reads the packet identifier of an acknowledgement, which repeats a non-zero one
// [MQTT-2.3.1-1].
func decodeAck(t Type, body []byte) (uint16, error) {
	if len(body) != 2 {
		return 0, malformed(t, "§"+ackSection[t-PUBACK], "remaining length "+itoa(len(body))+", want 2")
	}
	r := reader{t: t, b: body}
	return r.packetID()
}

var ackSection = [...]string{"3.4.1", "3.5.1", "3.6.1", "3.7.1", "", "", "", "3.11.1"}

func (p *Puback) encodedLen() (int, error) {
	if p == nil {
		return 0, malformed(PUBACK, "", "nil packet")
	}
	return ackLen(PUBACK, p.PacketID)
}
func (p *Pubrec) encodedLen() (int, error) {
	if p == nil {
		return 0, malformed(PUBREC, "", "nil packet")
	}
	return ackLen(PUBREC, p.PacketID)
}
func (p *Pubrel) encodedLen() (int, error) {
	if p == nil {
		return 0, malformed(PUBREL, "", "nil packet")
	}
	return ackLen(PUBREL, p.PacketID)
}
func (p *Pubcomp) encodedLen() (int, error) {
	if p == nil {
		return 0, malformed(PUBCOMP, "", "nil packet")
	}
	return ackLen(PUBCOMP, p.PacketID)
}

func (*Puback) flags() byte  { return 0 }
func (*Pubrec) flags() byte  { return 0 }
func (*Pubrel) flags() byte  { return 0x2 } // [MQTT-3.6.1-1]
func (*Pubcomp) flags() byte { return 0 }

func (p *Puback) appendBody(dst []byte) []byte  { return appendUint16(dst, p.PacketID) }
func (p *Pubrec) appendBody(dst []byte) []byte  { return appendUint16(dst, p.PacketID) }
func (p *Pubrel) appendBody(dst []byte) []byte  { return appendUint16(dst, p.PacketID) }
func (p *Pubcomp) appendBody(dst []byte) []byte { return appendUint16(dst, p.PacketID) }

func (p *Puback) decode(_ byte, body []byte, _ *decodeMode) (err error) {
	p.PacketID, err = decodeAck(PUBACK, body)
	return err
}
func (p *Pubrec) decode(_ byte, body []byte, _ *decodeMode) (err error) {
	p.PacketID, err = decodeAck(PUBREC, body)
	return err
}
func (p *Pubrel) decode(_ byte, body []byte, _ *decodeMode) (err error) {
	p.PacketID, err = decodeAck(PUBREL, body)
	return err
}
func (p *Pubcomp) decode(_ byte, body []byte, _ *decodeMode) (err error) {
	p.PacketID, err = decodeAck(PUBCOMP, body)
	return err
}
