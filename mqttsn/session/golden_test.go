package session

import (
	"encoding/hex"
	"fmt"
	"strings"
	"testing"
	"time"

	"snbridge/mqttsn/mqttsntest"
	"snbridge/mqttsn/packet"
)

// inBytes decodes a datagram and hands it to the session, as the gateway does.
func (c *conv) inBytes(b []byte) {
	c.t.Helper()
	m, err := packet.Decode(b)
	if err != nil {
		c.t.Fatalf("decode % x: %v", b, err)
	}
	c.in(m)
}

func (c *conv) inFixture(name string) { c.t.Helper(); c.inBytes(mqttsntest.Bytes(name)) }

// expectBytes checks the datagrams sent since the last check, octet for octet.
func (c *conv) expectBytes(want ...[]byte) {
	c.t.Helper()
	got := c.sent
	c.sent = nil
	var g, w []string
	for _, m := range got {
		b, err := packet.Marshal(m)
		if err != nil {
			c.t.Fatalf("encode %T: %v", m, err)
		}
		g = append(g, hex.EncodeToString(b))
	}
	for _, b := range want {
		w = append(w, hex.EncodeToString(b))
	}
	if strings.Join(g, " ") != strings.Join(w, " ") {
		c.t.Fatalf("sent   %v\nwant   %v", g, w)
	}
}

func fx(names ...string) [][]byte {
	var out [][]byte
	for _, n := range names {
		out = append(out, mqttsntest.Bytes(n))
	}
	return out
}

func h(s string) []byte {
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	if err != nil {
		panic(fmt.Sprint(s, err))
	}
	return b
}

// TestGoldenConversation runs the procedures of §6 on the shared golden datagrams.
func TestGoldenConversation(t *testing.T) {
	c := newConv(t, nil)
	// §6.2 refusals (E21, E23), then the will handshake.
	c.inFixture("CONNECT protocol id 2")
	c.expectBytes(fx("CONNACK not supported")...)
	c.inFixture("CONNECT empty client id")
	c.expectBytes(fx("CONNACK not supported")...)
	c.inFixture("CONNECT will clean keepalive=30 id=sensor-1")
	c.expectBytes(fx("WILLTOPICREQ")...)
	c.inFixture("WILLTOPIC qos1 retain topic=sensors/s1/status")
	c.expectBytes(fx("WILLMSGREQ")...)
	c.inFixture("WILLMSG offline")
	c.expectBytes(fx("CONNACK accepted")...)
	c.calls("connect sensor-1 clean=true will=sensors/s1/status:offline:1:true q0=true")

	// §6.6 before REGISTER: unknown topic id (E6); then §6.5 and QoS 1.
	c.inFixture("PUBLISH qos1 id=1 msgid=2 data=21.5")
	c.expectBytes(fx("PUBACK id=1 msgid=2 invalid topic id")...)
	c.inFixture("REGISTER from client topic=sensors/s1/temp msgid=1")
	c.expectBytes(fx("REGACK id=1 msgid=1 accepted")...)
	c.inFixture("PUBLISH qos1 id=1 msgid=2 data=21.5")
	c.inFixture("PUBLISH qos1 dup id=1 msgid=2 data=21.5")
	c.take(c.s.PublishDone(c.now, 2, nil, nil))
	c.expectBytes(fx("PUBACK id=1 msgid=2 accepted")...)
	c.calls(`publish sensors/s1/temp "21.5" q1 r=false id=2`)

	// QoS 2 with retain.
	c.inFixture("PUBLISH qos2 retain id=1 msgid=3 data=on")
	c.take(c.s.PublishDone(c.now, 3, nil, nil))
	c.expectBytes(fx("PUBREC msgid=3")...)
	c.inFixture("PUBREL msgid=3")
	c.expectBytes(fx("PUBCOMP msgid=3")...)
	c.calls(`publish sensors/s1/temp "on" q2 r=true id=3`)

	// E26: reserved TopicIdType at QoS 1 → PUBACK 0x03.
	c.inFixture("PUBLISH qos1 reserved topic id type")
	c.expectBytes(h("07 0D 0001 0009 03"))

	// §6.9: wildcard → SUBACK id 0 (E5); QoS −1 → 0x03 (E8); a name gets its id.
	c.inFixture("SUBSCRIBE qos1 name=sensors/+/temp msgid=4")
	c.expectBytes(fx("SUBACK qos1 id=0 msgid=4 accepted")...)
	c.inFixture("SUBSCRIBE qos-1 name=a msgid=7")
	c.expectBytes(h("08 13 00 0000 0007 03"))
	c.inFixture("SUBSCRIBE qos1 name=cmd/s1/led msgid=1")
	c.expectBytes(h("08 13 20 0002 0001 00"))
	c.inFixture("UNSUBSCRIBE name=sensors/+/temp msgid=8")
	c.expectBytes(fx("UNSUBACK msgid=8")...)
	c.calls("subscribe sensors/+/temp q1", "subscribe cmd/s1/led q1", "unsubscribe sensors/+/temp")

	// §6.10: the gateway publishes on a registered id at QoS 1 and waits for PUBACK.
	c.deliver("sensors/s1/temp", "21.5", 1, 1) // the broker's packet id is the MsgId
	c.expectBytes(h("0B 0C 20 0001 0001 32312E35"))
	c.inBytes(h("07 0D 0001 0001 00"))
	c.calls("ack 1")

	// §6.4 will updates, §6.11 ping.
	c.inFixture("WILLTOPICUPD qos0 topic=s1/gone")
	c.expectBytes(fx("WILLTOPICRESP accepted")...)
	c.inFixture("PINGREQ")
	c.expectBytes(fx("PINGRESP")...)

	// §6.14: sleep, buffered message, wake with PINGREQ(id), PINGRESP after the PUBACK.
	c.inFixture("DISCONNECT duration=300")
	c.expectBytes(fx("DISCONNECT")...)
	c.deliver("cmd/s1/led", "on", 1, 2)
	c.expectBytes()
	c.advance(time.Minute)
	c.inFixture("PINGREQ id=sensor-1")
	c.expectBytes(h("09 0C 20 0002 0002 6F6E"))
	c.inBytes(h("07 0D 0002 0002 00"))
	c.expectBytes(fx("PINGRESP")...)

	// §6.12 disconnect.
	c.inFixture("DISCONNECT")
	c.expectBytes(fx("DISCONNECT")...)
	if !c.closed {
		t.Error("session not closed")
	}
}
