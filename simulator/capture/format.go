package capture

import (
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"

	"snbridge/mqttsn/packet"
	"snbridge/simulator/check"
)

// maxShown bounds the payload bytes quoted on one line.
const maxShown = 64

// Format renders one MQTT-SN datagram as a readable line, e.g.
//
//	PUBLISH qos=1 retain topic=normal:5 msgid=7 data(12)="21.5 degrees"
//	ENCAPSULATED node=0x1234 radius=0 | CONNACK rc=accepted
//
// A datagram that does not decode yields "MALFORMED <reason> <hex>", never an error: a dump
// shows everything that crossed the wire.
func Format(datagram []byte) string {
	var b strings.Builder
	formatInto(&b, datagram, 0)
	return b.String()
}

func formatInto(b *strings.Builder, d []byte, depth int) {
	m, err := packet.Decode(d)
	if err != nil {
		fmt.Fprintf(b, "MALFORMED %v: % x", err, d[:min(len(d), maxShown)])
		if len(d) > maxShown {
			b.WriteString(" …")
		}
		return
	}
	b.WriteString(m.Type().String())
	switch m := m.(type) {
	case *packet.Advertise:
		fmt.Fprintf(b, " gw=%d duration=%ds", m.GatewayID, m.Duration)
	case *packet.SearchGW:
		fmt.Fprintf(b, " radius=%d", m.Radius)
	case *packet.GWInfo:
		fmt.Fprintf(b, " gw=%d", m.GatewayID)
		if len(m.GatewayAddr) > 0 {
			fmt.Fprintf(b, " addr=% x", m.GatewayAddr)
		}
	case *packet.Connect:
		fmt.Fprintf(b, " id=%s keepalive=%ds", strconv.Quote(m.ClientID), m.Duration)
		flag(b, m.CleanSession, "clean")
		flag(b, m.Will, "will")
		if m.ProtocolID != 1 {
			fmt.Fprintf(b, " protocol=0x%02x", m.ProtocolID)
		}
	case *packet.Connack:
		fmt.Fprintf(b, " rc=%s", rc(m.ReturnCode))
	case *packet.WillTopic:
		willTopic(b, m.Topic, m.QoS, m.Retain)
	case *packet.WillTopicUpd:
		willTopic(b, m.Topic, m.QoS, m.Retain)
	case *packet.WillMsg:
		data(b, "msg", m.Payload)
	case *packet.WillMsgUpd:
		data(b, "msg", m.Payload)
	case *packet.WillTopicResp:
		fmt.Fprintf(b, " rc=%s", rc(m.ReturnCode))
	case *packet.WillMsgResp:
		fmt.Fprintf(b, " rc=%s", rc(m.ReturnCode))
	case *packet.Register:
		fmt.Fprintf(b, " topicid=%d msgid=%d name=%s", m.TopicID, m.MsgID, strconv.Quote(m.TopicName))
	case *packet.Regack:
		fmt.Fprintf(b, " topicid=%d msgid=%d rc=%s", m.TopicID, m.MsgID, rc(m.ReturnCode))
	case *packet.Publish:
		fmt.Fprintf(b, " qos=%d", m.QoS)
		flag(b, m.Dup, "dup")
		flag(b, m.Retain, "retain")
		fmt.Fprintf(b, " topic=%s msgid=%d", topic(m.TopicIDType, m.TopicID, ""), m.MsgID)
		data(b, "data", m.Data)
	case *packet.Puback:
		fmt.Fprintf(b, " topicid=%d msgid=%d rc=%s", m.TopicID, m.MsgID, rc(m.ReturnCode))
	case *packet.Pubrec:
		fmt.Fprintf(b, " msgid=%d", m.MsgID)
	case *packet.Pubrel:
		fmt.Fprintf(b, " msgid=%d", m.MsgID)
	case *packet.Pubcomp:
		fmt.Fprintf(b, " msgid=%d", m.MsgID)
	case *packet.Subscribe:
		fmt.Fprintf(b, " qos=%d", m.QoS)
		flag(b, m.Dup, "dup")
		fmt.Fprintf(b, " topic=%s msgid=%d", topic(m.TopicIDType, m.TopicID, m.TopicName), m.MsgID)
	case *packet.Suback:
		fmt.Fprintf(b, " qos=%d topicid=%d msgid=%d rc=%s", m.QoS, m.TopicID, m.MsgID, rc(m.ReturnCode))
	case *packet.Unsubscribe:
		fmt.Fprintf(b, " topic=%s msgid=%d", topic(m.TopicIDType, m.TopicID, m.TopicName), m.MsgID)
	case *packet.Unsuback:
		fmt.Fprintf(b, " msgid=%d", m.MsgID)
	case *packet.Pingreq:
		if m.ClientID != "" {
			fmt.Fprintf(b, " id=%s", strconv.Quote(m.ClientID))
		}
	case *packet.Disconnect:
		if m.HasDuration {
			fmt.Fprintf(b, " sleep=%ds", m.Duration)
		}
	case *packet.Encapsulated:
		fmt.Fprintf(b, " node=0x%x radius=%d | ", m.NodeID, m.Radius)
		if depth > 0 {
			b.WriteString("(nested envelope)")
			return
		}
		formatInto(b, m.Inner, depth+1)
	}
}

func rc(c packet.ReturnCode) string {
	if c == packet.Accepted {
		return "accepted"
	}
	return strconv.Quote(c.String())
}

func flag(b *strings.Builder, on bool, name string) {
	if on {
		b.WriteString(" " + name)
	}
}

func willTopic(b *strings.Builder, t string, q packet.QoS, retain bool) {
	if t == "" {
		b.WriteString(" (delete will)")
		return
	}
	fmt.Fprintf(b, " qos=%d", q)
	flag(b, retain, "retain")
	fmt.Fprintf(b, " topic=%s", strconv.Quote(t))
}

func topic(t packet.TopicIDType, id uint16, name string) string {
	switch t {
	case packet.TopicIDNormal:
		if name != "" {
			return strconv.Quote(name)
		}
		return fmt.Sprintf("normal:%d", id)
	case packet.TopicIDPredefined:
		return fmt.Sprintf("predefined:%d", id)
	case packet.TopicIDShort:
		return "short:" + strconv.Quote(packet.ShortTopicName(id))
	}
	return fmt.Sprintf("reserved:%d", id)
}

// data quotes a payload: printable UTF-8 as a string, a simulator payload by its header, anything
// else in hex; at most maxShown bytes.
func data(b *strings.Builder, name string, p []byte) {
	fmt.Fprintf(b, " %s(%d)=", name, len(p))
	if h, ok := check.ParseHeader(p); ok {
		fmt.Fprintf(b, "snsim{run=%08x sensor=%d seq=%d}", h.Run, h.Sensor, h.Seq)
		p = p[check.HeaderSize:]
		if len(p) == 0 {
			return
		}
		b.WriteString("+")
	}
	shown := p[:min(len(p), maxShown)]
	if utf8.Valid(shown) && printable(string(shown)) {
		b.WriteString(strconv.Quote(string(shown)))
	} else {
		fmt.Fprintf(b, "%x", shown)
	}
	if len(p) > maxShown {
		b.WriteString("…")
	}
}

func printable(s string) bool {
	for _, r := range s {
		if r < 0x20 && r != '\t' && r != '\n' && r != '\r' || r == 0x7f {
			return false
		}
	}
	return true
}
