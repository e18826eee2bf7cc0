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

func (*Publish) isPacket() {}
func (*Puback) isPacket()  {}
func (*Pubrec) isPacket()  {}
func (*Pubrel) isPacket()  {}
func (*Pubcomp) isPacket() {}
