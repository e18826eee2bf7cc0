package packet

// Pingreq is the PINGREQ packet (§3.12); it has no variable header or payload.
type Pingreq struct{}

// Pingresp is the PINGRESP packet (§3.13).
type Pingresp struct{}

// Disconnect is the DISCONNECT packet (§3.14): the client's clean goodbye; the will is discarded
// [MQTT-3.14.4-3].
type Disconnect struct{}

// Type is PINGREQ.
func (*Pingreq) Type() Type { return PINGREQ }

// Type is PINGRESP.
func (*Pingresp) Type() Type { return PINGRESP }

// Type is DISCONNECT.
func (*Disconnect) Type() Type { return DISCONNECT }

func (*Pingreq) isPacket()    {}
func (*Pingresp) isPacket()   {}
func (*Disconnect) isPacket() {}
