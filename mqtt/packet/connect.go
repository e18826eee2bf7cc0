package packet

// Connect is the CONNECT packet (§3.1), the first packet a client sends.
type Connect struct {
	ProtocolName  string // "MQTT" [MQTT-3.1.2-1]
	ProtocolLevel byte   // 4 for MQTT 3.1.1 [MQTT-3.1.2-2]
	CleanSession  bool
	KeepAlive     uint16 // seconds; 0 turns keepalive off
	ClientID      string
	Will          *Will // nil: no will (Will Flag 0)

	UsernameFlag bool // a user name is present [MQTT-3.1.2-18], [MQTT-3.1.2-19]
	Username     string
	PasswordFlag bool // a password is present; requires UsernameFlag [MQTT-3.1.2-22]
	Password     []byte
}

// Will is the will message of a Connect (§3.1.2.5): published by the server when the network
// connection closes without a DISCONNECT.
type Will struct {
	Topic   string
	Payload []byte
	QoS     byte
	Retain  bool
}

// Connack is the CONNACK packet (§3.2).
type Connack struct {
	SessionPresent bool
	ReturnCode     ConnackCode
}

// ConnackCode is the CONNACK return code (§3.2.2.3). The codes other than Accepted are the
// reasons a server refuses a connection; they implement error so a broker can return them.
type ConnackCode byte

// The CONNACK return codes of Table 3.1; 6–255 are reserved.
const (
	Accepted                    ConnackCode = 0x00
	UnacceptableProtocolVersion ConnackCode = 0x01
	IdentifierRejected          ConnackCode = 0x02
	ServerUnavailable           ConnackCode = 0x03
	BadUsernameOrPassword       ConnackCode = 0x04
	NotAuthorized               ConnackCode = 0x05
)

var connackText = [...]string{
	Accepted:                    "connection accepted",
	UnacceptableProtocolVersion: "connection refused: unacceptable protocol version",
	IdentifierRejected:          "connection refused: identifier rejected",
	ServerUnavailable:           "connection refused: server unavailable",
	BadUsernameOrPassword:       "connection refused: bad user name or password",
	NotAuthorized:               "connection refused: not authorized",
}

// Error describes the return code as Table 3.1 does.
func (c ConnackCode) Error() string {
	if int(c) < len(connackText) {
		return connackText[c]
	}
	return "connection refused: reserved return code " + itoa(int(c))
}

// Type is CONNECT.
func (*Connect) Type() Type { return CONNECT }

// Type is CONNACK.
func (*Connack) Type() Type { return CONNACK }

func (*Connect) isPacket() {}
func (*Connack) isPacket() {}
