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

func (*Subscribe) isPacket()   {}
func (*Suback) isPacket()      {}
func (*Unsubscribe) isPacket() {}
func (*Unsuback) isPacket()    {}
