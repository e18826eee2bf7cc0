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

// CONNECT flag bits (§3.1.2.3).
const (
	connectReserved     = 0x01
	connectCleanSession = 0x02
	connectWill         = 0x04
	connectWillQoSShift = 3
	connectWillRetain   = 0x20
	connectPassword     = 0x40
	connectUsername     = 0x80
)

// name and level return the protocol name and level to send: the zero values mean "MQTT", 4.
func (c *Connect) nameAndLevel() (string, byte) {
	name, level := c.ProtocolName, c.ProtocolLevel
	if name == "" {
		name = "MQTT"
	}
	if level == 0 {
		level = 4
	}
	return name, level
}

func (c *Connect) encodedLen() (int, error) {
	if c == nil {
		return 0, malformed(CONNECT, "", "nil packet")
	}
	name, level := c.nameAndLevel()
	if name != "MQTT" {
		return 0, malformed(CONNECT, "MQTT-3.1.2-1", "protocol name "+quote(name)+", want \"MQTT\"")
	}
	if level != 4 {
		return 0, unsupportedLevel(name, level)
	}
	if err := checkString(CONNECT, "client identifier", c.ClientID); err != nil {
		return 0, err
	}
	n := 2 + len(name) + 1 + 1 + 2 + 2 + len(c.ClientID)
	if w := c.Will; w != nil {
		if err := checkTopicName(CONNECT, "will topic", w.Topic); err != nil {
			return 0, err
		}
		if w.QoS > 2 {
			return 0, malformed(CONNECT, "MQTT-3.1.2-14", "will QoS 3")
		}
		if len(w.Payload) > 0xffff {
			return 0, malformed(CONNECT, "§3.1.3.3", "will message longer than 65535 bytes")
		}
		n += 2 + len(w.Topic) + 2 + len(w.Payload)
	}
	if c.UsernameFlag {
		if err := checkString(CONNECT, "user name", c.Username); err != nil {
			return 0, err
		}
		n += 2 + len(c.Username)
	} else if c.Username != "" {
		return 0, malformed(CONNECT, "MQTT-3.1.2-18", "user name set without the user name flag")
	}
	if c.PasswordFlag {
		if !c.UsernameFlag {
			return 0, malformed(CONNECT, "MQTT-3.1.2-22", "password flag set without the user name flag")
		}
		if len(c.Password) > 0xffff {
			return 0, malformed(CONNECT, "§3.1.3.5", "password longer than 65535 bytes")
		}
		n += 2 + len(c.Password)
	} else if len(c.Password) != 0 {
		return 0, malformed(CONNECT, "MQTT-3.1.2-20", "password set without the password flag")
	}
	return n, nil
}

func (*Connect) flags() byte { return 0 }

func (c *Connect) appendBody(dst []byte) []byte {
	name, level := c.nameAndLevel()
	var f byte
	if c.CleanSession {
		f |= connectCleanSession
	}
	if w := c.Will; w != nil {
		f |= connectWill | w.QoS<<connectWillQoSShift
		if w.Retain {
			f |= connectWillRetain
		}
	}
	if c.UsernameFlag {
		f |= connectUsername
	}
	if c.PasswordFlag {
		f |= connectPassword
	}
	dst = appendString(dst, name)
	dst = append(dst, level, f)
	dst = appendUint16(dst, c.KeepAlive)
	dst = appendString(dst, c.ClientID)
	if w := c.Will; w != nil {
		dst = appendString(dst, w.Topic)
		dst = appendBytes(dst, w.Payload)
	}
	if c.UsernameFlag {
		dst = appendString(dst, c.Username)
	}
	if c.PasswordFlag {
		dst = appendBytes(dst, c.Password)
	}
	return dst
}

func (c *Connect) decode(_ byte, body []byte, m *decodeMode) error {
	*c = Connect{}
	r := reader{t: CONNECT, b: body}
	var err error
	if c.ProtocolName, err = r.string("protocol name"); err != nil {
		return err
	}
	if c.ProtocolLevel, err = r.byte("protocol level"); err != nil {
		return err
	}
	switch {
	case c.ProtocolName == "MQIsdp": // MQTT 3.1: refused with 0x01 whatever its level says
		return unsupportedLevel(c.ProtocolName, c.ProtocolLevel)
	case c.ProtocolName != "MQTT":
		return malformed(CONNECT, "MQTT-3.1.2-1", "protocol name "+quote(c.ProtocolName)+", want \"MQTT\"")
	case c.ProtocolLevel != 4:
		return unsupportedLevel(c.ProtocolName, c.ProtocolLevel)
	}
	f, err := r.byte("connect flags")
	if err != nil {
		return err
	}
	if f&connectReserved != 0 {
		return malformed(CONNECT, "MQTT-3.1.2-3", "reserved connect flag bit 0 is set")
	}
	willQoS := f >> connectWillQoSShift & 3
	hasWill := f&connectWill != 0
	switch {
	case !hasWill && willQoS != 0:
		return malformed(CONNECT, "MQTT-3.1.2-13", "will QoS "+itoa(int(willQoS))+" without the will flag")
	case !hasWill && f&connectWillRetain != 0:
		return malformed(CONNECT, "MQTT-3.1.2-15", "will retain without the will flag")
	case hasWill && willQoS == 3:
		return malformed(CONNECT, "MQTT-3.1.2-14", "will QoS 3")
	case f&connectPassword != 0 && f&connectUsername == 0:
		return malformed(CONNECT, "MQTT-3.1.2-22", "password flag set without the user name flag")
	}
	c.CleanSession = f&connectCleanSession != 0
	if c.KeepAlive, err = r.uint16("keep alive"); err != nil {
		return err
	}
	if c.ClientID, err = r.string("client identifier"); err != nil {
		return withRule(err, "MQTT-3.1.3-3")
	}
	if hasWill {
		topic, err := r.bytes("will topic")
		if err != nil {
			return withRule(err, "MQTT-3.1.2-9")
		}
		if err := checkWireTopicName(CONNECT, "will topic", topic); err != nil {
			return err
		}
		payload, err := r.bytes("will message")
		if err != nil {
			return withRule(err, "MQTT-3.1.2-9")
		}
		c.Will = &Will{Topic: string(topic), Payload: m.bytes(payload), QoS: willQoS, Retain: f&connectWillRetain != 0}
	}
	if f&connectUsername != 0 {
		c.UsernameFlag = true
		if c.Username, err = r.string("user name"); err != nil {
			return withRule(err, "MQTT-3.1.2-19")
		}
	}
	if f&connectPassword != 0 {
		c.PasswordFlag = true
		pw, err := r.bytes("password")
		if err != nil {
			return withRule(err, "MQTT-3.1.2-21")
		}
		c.Password = m.bytes(pw)
	}
	return r.end()
}

func unsupportedLevel(name string, level byte) error {
	return &Error{Packet: CONNECT, Rule: "MQTT-3.1.2-2", kind: ErrUnsupportedLevel,
		Reason: "protocol " + quote(name) + " level " + itoa(int(level)) + ", want \"MQTT\" level 4"}
}

func (c *Connack) encodedLen() (int, error) {
	if c == nil {
		return 0, malformed(CONNACK, "", "nil packet")
	}
	if c.ReturnCode > NotAuthorized {
		return 0, malformed(CONNACK, "§3.2.2.3", "reserved return code "+itoa(int(c.ReturnCode)))
	}
	if c.SessionPresent && c.ReturnCode != Accepted {
		return 0, malformed(CONNACK, "MQTT-3.2.2-4", "session present with a non-zero return code")
	}
	return 2, nil
}

func (*Connack) flags() byte { return 0 }

func (c *Connack) appendBody(dst []byte) []byte {
	var sp byte
	if c.SessionPresent {
		sp = 1
	}
	return append(dst, sp, byte(c.ReturnCode))
}

func (c *Connack) decode(_ byte, body []byte, _ *decodeMode) error {
	if len(body) != 2 {
		return malformed(CONNACK, "§3.2", "remaining length "+itoa(len(body))+", want 2")
	}
	if body[0]&^1 != 0 {
		return malformed(CONNACK, "§3.2.2.1", "reserved acknowledge flags bits 7-1 are set")
	}
	*c = Connack{SessionPresent: body[0] == 1, ReturnCode: ConnackCode(body[1])}
	_, err := c.encodedLen()
	return err
}
