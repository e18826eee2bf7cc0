package session

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"snbridge/mqttsn/mqttsntest"
	"snbridge/mqttsn/packet"
	"snbridge/mqttsn/topics"
)

func TestConnectWithoutWill(t *testing.T) {
	c := newConv(t, nil)
	c.in(&packet.Connect{CleanSession: true, ProtocolID: 1, Duration: 60, ClientID: "abc"})
	c.expect(&packet.Connack{ReturnCode: packet.Accepted})
	c.calls("connect abc clean=true will=nil q0=true")
	if c.s.State() != Active {
		t.Errorf("state %v", c.s.State())
	}
}

func TestWillHandshake(t *testing.T) {
	c := newConv(t, nil)
	c.in(&packet.Connect{Will: true, CleanSession: true, ProtocolID: 1, Duration: 60, ClientID: "abc"})
	c.expect(&packet.WillTopicReq{})
	c.calls() // nothing attached before the will is complete
	c.in(&packet.WillTopic{QoS: 1, Retain: true, Topic: "dead/abc"})
	c.expect(&packet.WillMsgReq{})
	c.in(&packet.WillMsg{Payload: []byte("gone")})
	c.expect(&packet.Connack{})
	c.calls("connect abc clean=true will=dead/abc:gone:1:true q0=true")
}

func TestEmptyWillTopicDeletesStoredWill(t *testing.T) { // §6.3, E19
	c := newConv(t, nil)
	c.in(&packet.Connect{Will: true, ProtocolID: 1, Duration: 60, ClientID: "abc"})
	c.in(&packet.WillTopic{Topic: "dead/abc"})
	c.in(&packet.WillMsg{Payload: []byte("x")})
	c.expect(&packet.WillTopicReq{}, &packet.WillMsgReq{}, &packet.Connack{})
	c.in(&packet.Disconnect{})
	c.expect(&packet.Disconnect{})

	c.b.present = true
	c.s = New(c.cfg, c.b)                                               // the gateway forgets a disconnected session
	c.in(&packet.Connect{ProtocolID: 1, Duration: 60, ClientID: "abc"}) // Clean 0, Will 0: keep the will
	c.expect(&packet.Connack{})
	c.calls("connect abc clean=false will=dead/abc:x:0:false q0=true", "disconnect",
		"connect abc clean=false will=nil q0=true", "setwill dead/abc:x:0:false")

	c.in(&packet.Connect{Will: true, ProtocolID: 1, Duration: 60, ClientID: "abc"}) // Clean 0, Will 1
	c.expect(&packet.WillTopicReq{})
	c.in(&packet.WillTopic{}) // `02 07`: delete, no WILLMSGREQ
	c.expect(&packet.Connack{})
	c.b.calls = nil
	c.in(&packet.Disconnect{})
	c.s = New(c.cfg, c.b)
	c.in(&packet.Connect{ProtocolID: 1, Duration: 60, ClientID: "abc"})
	c.calls("disconnect", "connect abc clean=false will=nil q0=true") // no will restored
}

func TestConnectRefusals(t *testing.T) {
	for _, tc := range []struct {
		name string
		c    packet.Connect
		err  error
		rc   packet.ReturnCode
	}{
		{"protocol id 2 (E21)", packet.Connect{ProtocolID: 2, ClientID: "a"}, nil, packet.NotSupported},
		{"empty client id (E23)", packet.Connect{ProtocolID: 1}, nil, packet.NotSupported},
		{"client id too long", packet.Connect{ProtocolID: 1, ClientID: string(make([]byte, 65))}, nil, packet.NotSupported},
		{"broker unavailable", packet.Connect{ProtocolID: 1, ClientID: "a"}, errors.New("down"), packet.Congestion},
		{"not authorized", packet.Connect{ProtocolID: 1, ClientID: "a"}, ErrNotAuthorized, packet.NotSupported},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := newConv(t, nil)
			c.b.connectErr = tc.err
			c.in(&tc.c)
			c.expect(&packet.Connack{ReturnCode: tc.rc})
			if c.s.State() == Active {
				t.Error("refused client is active")
			}
		})
	}
	if rc := CheckConnect(&Config{}, &packet.Connect{ProtocolID: 1, ClientID: "ok"}); rc != packet.Accepted {
		t.Errorf("CheckConnect good = %v", rc)
	}
}

func TestConnectWhileActiveRestarts(t *testing.T) { // E27
	c := newConv(t, nil)
	c.connect("abc", true, 60)
	c.in(&packet.Connect{CleanSession: true, ProtocolID: 1, Duration: 30, ClientID: "abc"})
	c.expect(&packet.Connack{})
	c.calls("disconnect", "connect abc clean=true will=nil q0=true")
}

func TestUnexpectedMessageDuringHandshakeDisconnects(t *testing.T) {
	c := newConv(t, nil)
	c.in(&packet.Connect{Will: true, ProtocolID: 1, Duration: 60, ClientID: "abc"})
	c.in(&packet.WillMsg{Payload: []byte("early")})
	c.expect(&packet.WillTopicReq{}, &packet.Disconnect{})
	if !c.closed || c.s.State() != Disconnected {
		t.Errorf("closed %v state %v", c.closed, c.s.State())
	}
	c.calls()
}

func TestHandshakeTimesOut(t *testing.T) {
	c := newConv(t, &Config{RetryInterval: time.Second, MaxRetries: 2})
	c.in(&packet.Connect{Will: true, ProtocolID: 1, Duration: 60, ClientID: "abc"})
	c.advance(2999 * time.Millisecond)
	if c.closed {
		t.Fatal("closed before T_RETRY×(N_RETRY+1)")
	}
	c.advance(time.Millisecond)
	if !c.closed {
		t.Fatal("abandoned handshake kept")
	}
	c.calls()
}

func TestKeepAliveTolerance(t *testing.T) { // §7.2: +50% up to a minute, +10% above
	for _, tc := range []struct {
		keepAlive uint16
		lostAfter time.Duration
	}{{60, 90 * time.Second}, {10, 15 * time.Second}, {600, 660 * time.Second}, {0, 72088500 * time.Millisecond}} { // 0: held to MaxIdle, 65535 s
		c := newConv(t, nil)
		c.connect("k", true, tc.keepAlive)
		c.advance(tc.lostAfter / 2)
		c.in(&packet.Pingreq{})
		c.expect(&packet.Pingresp{})
		c.advance(tc.lostAfter - time.Millisecond)
		if c.closed {
			t.Fatalf("keep-alive %d: lost too early", tc.keepAlive)
		}
		c.advance(time.Millisecond)
		if !c.closed || c.s.State() != Lost {
			t.Fatalf("keep-alive %d: not lost after %v", tc.keepAlive, tc.lostAfter)
		}
		c.calls("lost") // the broker publishes the will
	}
}

// Config.MaxIdle is the longest keep-alive accepted (a longer one is refused, the gateway has no
// way to ask for less) and the keep-alive of a client asking for none (E22).
func TestMaxIdle(t *testing.T) {
	c := newConv(t, &Config{MaxIdle: 60 * time.Second})
	c.inBytes(h("0E 04 04 01 003D 73656E736F722D31")) // CONNECT clean keepalive=61 id=sensor-1
	c.expectBytes(fx("CONNACK not supported")...)
	c.calls()
	if c.s.State() != Disconnected {
		t.Fatalf("state %v after a refused CONNECT", c.s.State())
	}
	c.inFixture("CONNECT persistent keepalive=60 id=sensor-1") // exactly the maximum
	c.expectBytes(fx("CONNACK accepted")...)

	c = newConv(t, &Config{MaxIdle: 60 * time.Second})
	c.inBytes(h("0E 04 04 01 0000 73656E736F722D31")) // CONNECT clean keepalive=0 id=sensor-1
	c.expectBytes(fx("CONNACK accepted")...)
	c.advance(89 * time.Second) // as if it had asked for 60 s: +50 % tolerance (§7.2)
	c.inFixture("PINGREQ")
	c.expectBytes(fx("PINGRESP")...)
	c.advance(90*time.Second - time.Millisecond)
	if c.closed {
		t.Fatal("lost before MaxIdle + 50 %")
	}
	c.advance(time.Millisecond)
	if !c.closed || c.s.State() != Lost {
		t.Fatal("a silent keep-alive-0 client was not lost after MaxIdle + 50 %")
	}

	c = newConv(t, &Config{MaxIdle: -1}) // no limit
	c.inBytes(h("0E 04 04 01 FFFF 73656E736F722D31"))
	c.expectBytes(fx("CONNACK accepted")...)
	c.inBytes(h("0E 04 04 01 0000 73656E736F722D31")) // E27 restart, with keep-alive 0
	c.expectBytes(fx("CONNACK accepted")...)
	c.advance(365 * 24 * time.Hour)
	if c.closed || c.s.State() != Active {
		t.Fatalf("keep-alive 0 without a limit: closed %v, state %v", c.closed, c.s.State())
	}
}

func TestRegister(t *testing.T) {
	pre := &topics.PredefinedTable{}
	pre.Add("*", "pre/x", 1)
	c := newConv(t, &Config{MaxTopics: 3, Predefined: pre}) // a registered predefined name takes a slot
	c.connect("abc", true, 60)
	c.in(&packet.Register{MsgID: 1, TopicName: "a/b"})
	c.expect(&packet.Regack{TopicID: 2, MsgID: 1}) // 1 is predefined
	c.in(&packet.Register{MsgID: 2, TopicName: "a/b"})
	c.expect(&packet.Regack{TopicID: 2, MsgID: 2})
	c.in(&packet.Register{MsgID: 3, TopicName: "a/+"})
	c.expect(&packet.Regack{MsgID: 3, ReturnCode: packet.NotSupported}) // E13
	c.in(&packet.Register{MsgID: 4, TopicName: "pre/x"})
	c.expect(&packet.Regack{TopicID: 1, MsgID: 4}) // E12
	c.in(&packet.Register{MsgID: 5, TopicName: "c"})
	c.in(&packet.Register{MsgID: 6, TopicName: "d"})
	c.expect(&packet.Regack{TopicID: 3, MsgID: 5}, &packet.Regack{MsgID: 6, ReturnCode: packet.Congestion})
}

func TestPublishQoS0To2(t *testing.T) {
	c := newConv(t, nil)
	c.connect("abc", true, 60)
	c.in(&packet.Register{MsgID: 1, TopicName: "t"})
	c.expect(&packet.Regack{TopicID: 1, MsgID: 1})
	c.in(&packet.Publish{QoS: 0, TopicID: 1, Data: []byte("zero")})
	c.expect()
	c.calls(`publish t "zero" q0 r=false id=0`)

	c.in(&packet.Publish{QoS: 1, Retain: true, TopicID: 1, MsgID: 7, Data: []byte("one")})
	c.expect() // not before the broker has it
	c.in(&packet.Publish{QoS: 1, Dup: true, TopicID: 1, MsgID: 7, Data: []byte("one")})
	c.calls(`publish t "one" q1 r=true id=7`) // the retransmission is not published twice
	c.take(c.s.PublishDone(c.now, 7, nil, nil))
	c.expect(&packet.Puback{TopicID: 1, MsgID: 7})

	c.in(&packet.Publish{QoS: 2, TopicID: 1, MsgID: 8, Data: []byte("two")})
	c.take(c.s.PublishDone(c.now, 8, nil, nil))
	c.expect(&packet.Pubrec{MsgID: 8})
	c.in(&packet.Publish{QoS: 2, Dup: true, TopicID: 1, MsgID: 8, Data: []byte("two")})
	c.expect(&packet.Pubrec{MsgID: 8}) // acknowledged again, delivered once
	c.calls(`publish t "two" q2 r=false id=8`)
	c.in(&packet.Pubrel{MsgID: 8})
	c.expect(&packet.Pubcomp{MsgID: 8})
	c.in(&packet.Publish{QoS: 2, TopicID: 1, MsgID: 8, Data: []byte("again")})
	c.calls(`publish t "again" q2 r=false id=8`) // a new message with a reused id

	c.in(&packet.Publish{QoS: 1, TopicID: 1, MsgID: 9, Data: []byte("x")})
	c.take(c.s.PublishDone(c.now, 9, ErrNotAuthorized, nil))
	c.expect(&packet.Puback{TopicID: 1, MsgID: 9, ReturnCode: packet.NotSupported})
}

func TestPublishUnknownOrReservedTopic(t *testing.T) {
	c := newConv(t, nil)
	c.connect("abc", true, 60)
	for _, q := range []packet.QoS{0, 1, 2} { // E6
		c.in(&packet.Publish{QoS: q, TopicID: 5, MsgID: uint16(q), Data: []byte("x")})
		c.expect(&packet.Puback{TopicID: 5, MsgID: uint16(q), ReturnCode: packet.InvalidTopicID})
	}
	c.in(&packet.Publish{QoS: 1, TopicIDType: packet.TopicIDPredefined, TopicID: 5, MsgID: 3})
	c.expect(&packet.Puback{TopicID: 5, MsgID: 3, ReturnCode: packet.InvalidTopicID})
	c.in(&packet.Publish{QoS: 1, TopicIDType: packet.TopicIDReserved, TopicID: 5, MsgID: 4}) // E26
	c.expect(&packet.Puback{TopicID: 5, MsgID: 4, ReturnCode: packet.NotSupported})
	c.in(&packet.Publish{QoS: 0, TopicIDType: packet.TopicIDReserved, TopicID: 5})
	c.expect()
	c.calls()
}

func TestPublishPredefinedAndShort(t *testing.T) {
	pre := &topics.PredefinedTable{}
	pre.Add("abc", "meters/1", 100)
	c := newConv(t, &Config{Predefined: pre})
	c.connect("abc", true, 60)
	c.in(&packet.Publish{TopicIDType: packet.TopicIDPredefined, TopicID: 100, Data: []byte("1")})
	c.in(&packet.Publish{QoS: packet.QoSMinus1, TopicIDType: packet.TopicIDShort, TopicID: 0x6162, Data: []byte("2")})
	c.expect()
	c.calls(`publish meters/1 "1" q0 r=false id=0`, `publish ab "2" q0 r=false id=0`)
}

func TestSubscribeForms(t *testing.T) {
	pre := &topics.PredefinedTable{}
	pre.Add("*", "pre/x", 1)
	c := newConv(t, &Config{Predefined: pre})
	c.b.granted = 1
	c.connect("abc", true, 60)
	c.in(&packet.Subscribe{QoS: 2, MsgID: 1, TopicName: "a/b"})
	c.in(&packet.Subscribe{QoS: 0, MsgID: 2, TopicName: "a/#"})
	c.in(&packet.Subscribe{QoS: 1, MsgID: 3, TopicIDType: packet.TopicIDShort, TopicID: 0x7879})
	c.in(&packet.Subscribe{QoS: 1, MsgID: 4, TopicIDType: packet.TopicIDPredefined, TopicID: 1})
	c.in(&packet.Subscribe{QoS: 1, MsgID: 5, TopicIDType: packet.TopicIDPredefined, TopicID: 9})
	c.in(&packet.Subscribe{QoS: packet.QoSMinus1, MsgID: 6, TopicName: "q"})
	c.in(&packet.Subscribe{QoS: 0, MsgID: 7, TopicIDType: packet.TopicIDReserved, TopicID: 1})
	c.expect(
		&packet.Suback{QoS: 1, TopicID: 2, MsgID: 1},                // normal name: its id (1 is predefined)
		&packet.Suback{QoS: 0, TopicID: 0, MsgID: 2},                // wildcard: 0x0000 (E5)
		&packet.Suback{QoS: 1, TopicID: 0, MsgID: 3},                // short: 0x0000 (E5)
		&packet.Suback{QoS: 1, TopicID: 1, MsgID: 4},                // predefined: echoed
		&packet.Suback{MsgID: 5, ReturnCode: packet.InvalidTopicID}, // unknown predefined
		&packet.Suback{MsgID: 6, ReturnCode: packet.NotSupported},   // QoS −1 (E8)
		&packet.Suback{MsgID: 7, ReturnCode: packet.NotSupported},   // reserved type
	)
	c.calls("subscribe a/b q2", "subscribe a/# q0", "subscribe xy q1", "subscribe pre/x q1")
	c.in(&packet.Unsubscribe{MsgID: 8, TopicName: "a/#"})
	c.in(&packet.Unsubscribe{MsgID: 9, TopicIDType: packet.TopicIDShort, TopicID: 0x7879})
	c.in(&packet.Unsubscribe{MsgID: 10, TopicIDType: packet.TopicIDPredefined, TopicID: 9})
	c.expect(&packet.Unsuback{MsgID: 8}, &packet.Unsuback{MsgID: 9}, &packet.Unsuback{MsgID: 10})
	c.calls("unsubscribe a/#", "unsubscribe xy")
}

func TestDownlinkRegistersBeforePublishing(t *testing.T) { // §6.10
	c := newConv(t, nil)
	c.connect("abc", true, 60)
	c.in(&packet.Subscribe{MsgID: 1, TopicName: "s/#"})
	c.expect(&packet.Suback{MsgID: 1})
	c.deliver("s/1", "a", 0, 0)
	c.deliver("s/2", "b", 1, 3)
	c.deliver("ab", "short", 0, 0)
	c.expect(&packet.Register{TopicID: 1, MsgID: 1, TopicName: "s/1"}) // one REGISTER in flight
	c.in(&packet.Regack{TopicID: 1, MsgID: 1})
	c.expect(&packet.Publish{TopicID: 1, Data: []byte("a")},
		&packet.Register{TopicID: 2, MsgID: 2, TopicName: "s/2"})
	c.in(&packet.Regack{TopicID: 2, MsgID: 2})
	c.expect(&packet.Publish{QoS: 1, TopicID: 2, MsgID: 3, Data: []byte("b")})
	c.in(&packet.Puback{TopicID: 2, MsgID: 3})
	c.expect(&packet.Publish{TopicIDType: packet.TopicIDShort, TopicID: 0x6162, Data: []byte("short")})
	c.calls("subscribe s/# q0", "ack 3")
	c.deliver("s/1", "again", 0, 0) // known now: no REGISTER
	c.expect(&packet.Publish{TopicID: 1, Data: []byte("again")})
}

func TestDownlinkInvalidTopicReRegistersAndReplays(t *testing.T) {
	c := newConv(t, nil)
	c.connect("abc", true, 60)
	c.in(&packet.Subscribe{MsgID: 1, TopicName: "t"})
	c.expect(&packet.Suback{TopicID: 1, MsgID: 1})
	c.deliver("t", "x", 1, 5)
	c.expect(&packet.Publish{QoS: 1, TopicID: 1, MsgID: 5, Data: []byte("x")})
	c.in(&packet.Puback{TopicID: 1, MsgID: 5, ReturnCode: packet.InvalidTopicID})
	c.expect(&packet.Register{TopicID: 1, MsgID: 1, TopicName: "t"})
	c.in(&packet.Regack{TopicID: 1, MsgID: 1})
	c.expect(&packet.Publish{QoS: 1, TopicID: 1, MsgID: 5, Data: []byte("x")})
	c.calls("subscribe t q0")
	c.in(&packet.Puback{TopicID: 1, MsgID: 5})
	c.calls("ack 5")
}

func TestRegackRefusalStopsDeliveringThatName(t *testing.T) {
	c := newConv(t, nil)
	c.connect("abc", true, 60)
	c.deliver("no/thanks", "1", 1, 7)
	c.deliver("no/thanks", "2", 0, 0)
	c.deliver("okay", "3", 0, 0)
	c.expect(&packet.Register{TopicID: 1, MsgID: 1, TopicName: "no/thanks"})
	c.in(&packet.Regack{TopicID: 1, MsgID: 1, ReturnCode: packet.NotSupported})
	c.expect(&packet.Register{TopicID: 2, MsgID: 2, TopicName: "okay"})
	c.calls("ack 7")
	c.in(&packet.Regack{TopicID: 2, MsgID: 2})
	c.expect(&packet.Publish{TopicID: 2, Data: []byte("3")})
	c.deliver("no/thanks", "4", 0, 0)
	c.expect()
}

func TestDownlinkRetransmitsThenLoses(t *testing.T) {
	c := newConv(t, &Config{RetryInterval: 10 * time.Second, MaxRetries: 2})
	c.connect("abc", true, 600)
	c.in(&packet.Subscribe{QoS: 1, MsgID: 1, TopicName: "t"})
	c.expect(&packet.Suback{QoS: 1, TopicID: 1, MsgID: 1})
	c.deliver("t", "x", 1, 1)
	first := &packet.Publish{QoS: 1, TopicID: 1, MsgID: 1, Data: []byte("x")}
	c.expect(first)
	c.advance(10 * time.Second)
	dup := *first
	dup.Dup = true
	c.expect(&dup)
	c.advance(10 * time.Second)
	c.expect(&dup)
	c.calls("subscribe t q1")
	c.advance(10 * time.Second)
	if !c.closed || c.s.State() != Lost {
		t.Fatalf("after N_RETRY: closed %v state %v", c.closed, c.s.State())
	}
	c.calls("lost")
}

func TestDownlinkQoS2(t *testing.T) {
	c := newConv(t, &Config{RetryInterval: time.Second})
	c.connect("abc", true, 60)
	c.in(&packet.Subscribe{QoS: 2, MsgID: 1, TopicName: "t"})
	c.expect(&packet.Suback{QoS: 2, TopicID: 1, MsgID: 1})
	c.deliver("t", "x", 2, 1)
	c.expect(&packet.Publish{QoS: 2, TopicID: 1, MsgID: 1, Data: []byte("x")})
	c.in(&packet.Pubrec{MsgID: 1})
	c.expect(&packet.Pubrel{MsgID: 1})
	c.advance(time.Second)
	c.expect(&packet.Pubrel{MsgID: 1}) // PUBREL is retransmitted too
	c.in(&packet.Pubcomp{MsgID: 1})
	c.calls("subscribe t q2", "received 1", "ack 1")
	c.advance(time.Minute)
	c.expect()
}

func TestSleepBufferWakeAndPingrespAfterAcks(t *testing.T) { // §6.14, E17
	c := newConv(t, nil)
	c.connect("abc", false, 60)
	c.in(&packet.Subscribe{QoS: 1, MsgID: 1, TopicName: "s/#"})
	c.expect(&packet.Suback{QoS: 1, MsgID: 1})
	c.b.calls = nil
	c.in(&packet.Disconnect{HasDuration: true, Duration: 300})
	c.expect(&packet.Disconnect{}) // acknowledged without a duration
	c.calls("suspend")
	c.deliver("s/a", "one", 1, 2)
	c.deliver("s/a", "two", 0, 0)
	c.expect() // buffered while asleep
	c.advance(200 * time.Second)
	c.in(&packet.Pingreq{ClientID: "abc"})
	c.calls("resume")
	c.expect(&packet.Register{TopicID: 1, MsgID: 1, TopicName: "s/a"})
	c.in(&packet.Regack{TopicID: 1, MsgID: 1})
	c.expect(&packet.Publish{QoS: 1, TopicID: 1, MsgID: 2, Data: []byte("one")})
	c.in(&packet.Puback{TopicID: 1, MsgID: 2})
	c.expect(&packet.Publish{TopicID: 1, Data: []byte("two")}, &packet.Pingresp{})
	c.calls("ack 2", "suspend")
	if c.s.State() != Asleep {
		t.Fatalf("state %v after PINGRESP", c.s.State())
	}
	// The sleep timer restarted at PINGRESP: 330 s (300 + 10%) from now.
	c.advance(329 * time.Second)
	if c.closed {
		t.Fatal("lost before the renewed sleep timer")
	}
	c.advance(time.Second)
	if !c.closed || c.s.State() != Lost {
		t.Fatal("sleep timer expiry did not lose the client (E16)")
	}
	c.calls("lost")
	if _, asleep := c.b.Data(DataSleep); asleep {
		t.Error("a lost sleeper is still recorded asleep: a PINGREQ after a restart would lose it again")
	}
}

func TestWakeWithNothingBuffered(t *testing.T) {
	c := newConv(t, nil)
	c.connect("abc", true, 60)
	c.in(&packet.Disconnect{HasDuration: true, Duration: 100})
	c.in(&packet.Pingreq{ClientID: "abc"})
	c.expect(&packet.Disconnect{}, &packet.Pingresp{})
	c.calls("suspend", "resume", "suspend")
}

func TestWakeWaitsForPendingDeliveries(t *testing.T) {
	c := newConv(t, &Config{RetryInterval: 5 * time.Second})
	c.connect("abc", true, 60)
	c.in(&packet.Disconnect{HasDuration: true, Duration: 100})
	c.expect(&packet.Disconnect{})
	c.b.pending = 1 // the broker still has a message on its way
	c.in(&packet.Pingreq{ClientID: "abc"})
	c.expect()
	c.b.pending = 0
	c.deliver("ab", "late", 0, 0)
	c.expect(&packet.Publish{TopicIDType: packet.TopicIDShort, TopicID: 0x6162, Data: []byte("late")}, &packet.Pingresp{})

	c.b.pending = 1 // and one that never comes: PINGRESP after T_RETRY
	c.in(&packet.Pingreq{ClientID: "abc"})
	c.expect()
	c.advance(5 * time.Second)
	c.expect(&packet.Pingresp{})
}

func TestPingreqWithoutClientIDWakes(t *testing.T) { // E31
	c := newConv(t, nil)
	c.connect("abc", true, 60)
	c.in(&packet.Disconnect{HasDuration: true, Duration: 100})
	c.deliver("ab", "x", 0, 0)
	c.in(&packet.Pingreq{})
	c.expect(&packet.Disconnect{}, &packet.Publish{TopicIDType: packet.TopicIDShort, TopicID: 0x6162, Data: []byte("x")}, &packet.Pingresp{})
}

func TestDisconnectWithNewDurationRestartsSleepTimer(t *testing.T) { // E15
	c := newConv(t, nil)
	c.connect("abc", true, 60)
	c.in(&packet.Disconnect{HasDuration: true, Duration: 100})
	c.advance(100 * time.Second)
	c.in(&packet.Disconnect{HasDuration: true, Duration: 1000})
	c.expect(&packet.Disconnect{}, &packet.Disconnect{})
	c.advance(1099 * time.Second)
	if c.closed {
		t.Fatal("the old sleep timer still applies")
	}
	c.advance(time.Second)
	if !c.closed {
		t.Fatal("new sleep timer (1000 s + 10%) did not expire")
	}
	c.calls("suspend", "lost") // suspended once
}

func TestConnectWhileAsleepGoesActive(t *testing.T) { // E14
	c := newConv(t, nil)
	c.connect("abc", true, 60)
	c.in(&packet.Disconnect{HasDuration: true, Duration: 100})
	c.deliver("ab", "x", 0, 0)
	c.in(&packet.Connect{Will: true, CleanSession: true, ProtocolID: 1, Duration: 60, ClientID: "abc"})
	c.expect(&packet.Disconnect{}, &packet.Connack{}, // no WILLTOPICREQ: flags ignored
		&packet.Publish{TopicIDType: packet.TopicIDShort, TopicID: 0x6162, Data: []byte("x")})
	c.calls("suspend", "resume") // no new broker connection, nothing cleaned
	if c.s.State() != Active {
		t.Errorf("state %v", c.s.State())
	}
}

func TestDisconnectWhileAsleep(t *testing.T) {
	c := newConv(t, nil)
	c.connect("abc", true, 60)
	c.in(&packet.Disconnect{HasDuration: true, Duration: 100})
	c.in(&packet.Disconnect{})
	c.expect(&packet.Disconnect{}, &packet.Disconnect{})
	c.calls("suspend", "disconnect")
	if !c.closed || c.s.State() != Disconnected {
		t.Error("not disconnected")
	}
}

func TestAwakeRetriesExhaustedKeepsMessageForNextWake(t *testing.T) {
	c := newConv(t, &Config{RetryInterval: time.Second, MaxRetries: 1})
	c.connect("abc", true, 60)
	c.in(&packet.Disconnect{HasDuration: true, Duration: 100})
	c.deliver("ab", "x", 1, 1)
	c.in(&packet.Pingreq{ClientID: "abc"})
	pub := &packet.Publish{QoS: 1, TopicIDType: packet.TopicIDShort, TopicID: 0x6162, MsgID: 1, Data: []byte("x")}
	c.expect(&packet.Disconnect{}, pub)
	c.advance(time.Second)
	dup := *pub
	dup.Dup = true
	c.expect(&dup)
	c.advance(time.Second)
	c.expect(&packet.Pingresp{}) // retries exhausted: back to sleep, not lost
	if c.s.State() != Asleep {
		t.Fatalf("state %v", c.s.State())
	}
	c.in(&packet.Pingreq{ClientID: "abc"})
	c.expect(&dup) // the same exchange, retransmitted
	c.in(&packet.Puback{TopicID: 0x6162, MsgID: 1})
	c.expect(&packet.Pingresp{})
	c.calls("suspend", "resume", "suspend", "resume", "ack 1", "suspend")
}

// A client whose T_RETRY is shorter than the gateway's repeats its waking PINGREQ while the
// gateway waits for an acknowledgement that was lost: the outstanding PUBLISH goes again at once
// (DUP), not after the gateway's T_RETRY, by when the client may have given up.
func TestRepeatedPingreqWhileAwakeResendsAtOnce(t *testing.T) {
	c := newConv(t, &Config{RetryInterval: 10 * time.Second})
	c.connect("abc", true, 60)
	c.in(&packet.Disconnect{HasDuration: true, Duration: 100})
	c.deliver("ab", "x", 1, 7)
	c.in(&packet.Pingreq{ClientID: "abc"})
	pub := &packet.Publish{QoS: 1, TopicIDType: packet.TopicIDShort, TopicID: 0x6162, MsgID: 7, Data: []byte("x")}
	c.expect(&packet.Disconnect{}, pub)
	c.advance(time.Second) // the PUBLISH was lost; the client retries its PINGREQ after 1 s
	c.expect()
	c.in(&packet.Pingreq{ClientID: "abc"})
	dup := *pub
	dup.Dup = true
	c.expect(&dup)
	c.in(&packet.Puback{TopicID: 0x6162, MsgID: 7})
	c.expect(&packet.Pingresp{})
	if c.s.State() != Asleep {
		t.Fatalf("state %v", c.s.State())
	}
}

func TestSleepBufferOverflowDropsOldestQoS0(t *testing.T) { // E18
	c := newConv(t, &Config{SleepBuffer: 3})
	c.connect("abc", true, 60)
	c.in(&packet.Disconnect{HasDuration: true, Duration: 100})
	c.expect(&packet.Disconnect{})
	c.deliver("ab", "q0-old", 0, 0)
	c.deliver("ab", "q1", 1, 1)
	c.deliver("ab", "q0-mid", 0, 0)
	c.deliver("ab", "q0-new", 0, 0)  // drops q0-old
	c.deliver("ab", "q1-b", 1, 2)    // drops q0-mid
	c.deliver("ab", "q0-last", 0, 0) // drops q0-new
	c.deliver("ab", "q0-drop", 0, 0) // only QoS 1 left besides q0-last: drops q0-last
	if c.s.Dropped != 4 {
		t.Errorf("Dropped = %d, want 4", c.s.Dropped)
	}
	c.in(&packet.Pingreq{ClientID: "abc"})
	c.in(&packet.Puback{MsgID: 1})
	c.in(&packet.Puback{MsgID: 2})
	var got []string
	for _, m := range c.sent {
		if p, ok := m.(*packet.Publish); ok {
			got = append(got, string(p.Data))
		}
	}
	want := "[q1 q1-b q0-drop]"
	if s := fmtStrings(got); s != want {
		t.Errorf("delivered %s, want %s", s, want)
	}
}

func fmtStrings(s []string) string {
	out := "["
	for i, x := range s {
		if i > 0 {
			out += " "
		}
		out += x
	}
	return out + "]"
}

func TestWillUpdates(t *testing.T) { // §6.4, E20
	c := newConv(t, nil)
	c.connect("abc", true, 60)
	c.in(&packet.WillMsgUpd{Payload: []byte("m")})
	c.expect(&packet.WillMsgResp{ReturnCode: packet.NotSupported}) // no will topic yet
	c.in(&packet.WillTopicUpd{QoS: 1, Topic: "w/abc"})
	c.in(&packet.WillMsgUpd{Payload: []byte("bye")})
	c.in(&packet.WillTopicUpd{QoS: 2, Retain: true, Topic: "w/abc2"}) // keeps the message
	c.expect(&packet.WillTopicResp{}, &packet.WillMsgResp{}, &packet.WillTopicResp{})
	c.calls("setwill w/abc::1:false", "setwill w/abc:bye:1:false", "setwill w/abc2:bye:2:true")
	c.in(&packet.WillTopicUpd{}) // empty: delete both
	c.expect(&packet.WillTopicResp{})
	c.in(&packet.WillMsgUpd{Payload: []byte("m")})
	c.expect(&packet.WillMsgResp{ReturnCode: packet.NotSupported})
	c.calls("setwill nil")
}

// A persistent client updates the will of its will handshake: each update starts from the
// previous one, and the result is what a later connection without the Will flag keeps (§6.3, §6.4).
func TestWillUpdatesOfPersistentSession(t *testing.T) {
	c := newConv(t, nil)
	c.inBytes(h("0E 04 08 01 001E 73656E736F722D31")) // CONNECT will persistent keepalive=30 id=sensor-1
	c.inFixture("WILLTOPIC qos1 retain topic=sensors/s1/status")
	c.inFixture("WILLMSG offline")
	c.expectBytes(fx("WILLTOPICREQ", "WILLMSGREQ", "CONNACK accepted")...)
	c.calls("connect sensor-1 clean=false will=sensors/s1/status:offline:1:true q0=true")
	c.inFixture("WILLTOPICUPD qos0 topic=s1/gone") // keeps the message
	c.inFixture("WILLMSGUPD bye")                  // keeps the new topic
	c.expectBytes(fx("WILLTOPICRESP accepted")[0], h("03 1D 00"))
	c.calls("setwill s1/gone:offline:0:false", "setwill s1/gone:bye:0:false")
	c.inFixture("DISCONNECT")
	c.expectBytes(fx("DISCONNECT")...)

	c.b.present, c.b.calls = true, nil
	c.s = New(c.cfg, c.b)
	c.inFixture("CONNECT persistent keepalive=60 id=sensor-1") // no Will flag: the stored will stays
	c.expectBytes(fx("CONNACK accepted")...)
	c.calls("connect sensor-1 clean=false will=nil q0=true", "setwill s1/gone:bye:0:false")
	c.inFixture("WILLMSGUPD bye")
	c.expectBytes(h("03 1D 00"))
	c.calls("setwill s1/gone:bye:0:false")
}

func TestPersistentSessionSurvivesRestart(t *testing.T) {
	c := newConv(t, nil)
	c.connect("abc", false, 60)
	c.in(&packet.Register{MsgID: 1, TopicName: "up/1"})
	c.in(&packet.Subscribe{QoS: 1, MsgID: 2, TopicName: "down/#"})
	c.deliver("down/x", "1", 0, 0)
	c.in(&packet.Regack{TopicID: 2, MsgID: 1})
	c.in(&packet.Disconnect{HasDuration: true, Duration: 600})
	c.expect(&packet.Regack{TopicID: 1, MsgID: 1}, &packet.Suback{QoS: 1, MsgID: 2},
		&packet.Register{TopicID: 2, MsgID: 1, TopicName: "down/x"},
		&packet.Publish{TopicID: 2, Data: []byte("1")}, &packet.Disconnect{})

	// The gateway restarts: a new session on the same broker state, found by PINGREQ(id).
	c.b.present, c.b.calls = true, nil
	c.now = c.now.Add(time.Minute)
	c.s = New(c.cfg, c.b)
	out, ok := c.s.Resume(c.now, "abc", nil)
	if !ok {
		t.Fatal("sleeping session not found again")
	}
	c.take(out)
	c.b.pending = 1 // the broker has a queued message on its way
	c.in(&packet.Pingreq{ClientID: "abc"})
	c.b.pending = 0
	c.deliver("down/x", "2", 0, 0)
	c.expect(&packet.Publish{TopicID: 2, Data: []byte("2")}, &packet.Pingresp{}) // id known: no REGISTER
	c.calls("connect abc clean=false will=nil q0=true", "suspend", "resume", "suspend")
	c.in(&packet.Connect{ProtocolID: 1, ClientID: "abc", Duration: 60}) // from asleep: E14
	c.in(&packet.Publish{TopicID: 1, Data: []byte("up")})
	c.expect(&packet.Connack{})
	c.calls("resume", `publish up/1 "up" q0 r=false id=0`)

	// A sleeper whose timer ran out while the gateway was down is lost.
	c.in(&packet.Disconnect{HasDuration: true, Duration: 10})
	c.b.calls = nil
	c.s = New(c.cfg, c.b)
	if _, ok := c.s.Resume(c.now.Add(time.Hour), "abc", nil); ok {
		t.Fatal("expired sleeper resumed")
	}
	c.calls("connect abc clean=false will=nil q0=true", "lost")
	// No sleeping session at all: nothing kept attached.
	c.b.present, c.b.calls = false, nil
	if _, ok := New(c.cfg, c.b).Resume(c.now, "zzz", nil); ok {
		t.Fatal("unknown client resumed")
	}
	c.calls("connect zzz clean=false will=nil q0=true", "disconnect")
}

// The will of a persistent sleeper survives a gateway restart: the broker forgets it when the
// gateway detaches the client and when the waking PINGREQ attaches it again, so the session
// hands it back, and a sleep timer that runs out afterwards (or ran out meanwhile) publishes it.
func TestSleeperWillSurvivesRestart(t *testing.T) {
	c := newConv(t, nil)
	c.inBytes(h("0E 04 08 01 001E 73656E736F722D31")) // CONNECT will persistent keepalive=30 id=sensor-1
	c.inFixture("WILLTOPIC qos1 retain topic=sensors/s1/status")
	c.inFixture("WILLMSG offline")
	c.inFixture("DISCONNECT duration=300")
	c.expectBytes(fx("WILLTOPICREQ", "WILLMSGREQ", "CONNACK accepted", "DISCONNECT")...)

	for _, tc := range []struct {
		name  string
		after time.Duration // from the sleep to the waking PINGREQ
		calls []string
	}{
		{"woken in time", time.Minute, []string{"connect sensor-1 clean=false will=nil q0=true",
			"setwill sensors/s1/status:offline:1:true", "suspend", "resume", "suspend"}},
		{"sleep timer ran out while the gateway was down", time.Hour, []string{"connect sensor-1 clean=false will=nil q0=true",
			"setwill sensors/s1/status:offline:1:true", "lost"}},
		{"PINGREQ again once lost: no second will", time.Hour, []string{"connect sensor-1 clean=false will=nil q0=true",
			"disconnect"}},
	} {
		c.b.present, c.b.calls = true, nil
		s := New(c.cfg, c.b) // the restarted gateway
		if _, ok := s.Resume(c.now.Add(tc.after), "sensor-1", nil); ok {
			s.Handle(c.now.Add(tc.after), mustDecode(t, "PINGREQ id=sensor-1"), nil)
		}
		t.Log(tc.name)
		c.calls(tc.calls...) // the will is set before the client can be lost
	}
}

func mustDecode(t *testing.T, fixture string) packet.Message {
	t.Helper()
	m, err := packet.Decode(mqttsntest.Bytes(fixture))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestMessagesBeforeConnectGetDisconnect(t *testing.T) { // E28
	c := newConv(t, nil)
	c.in(&packet.Publish{QoS: 1, TopicID: 1, MsgID: 1})
	c.expect(&packet.Disconnect{})
	c.calls()
}

func TestDownlinkTooBigIsDropped(t *testing.T) { // §6.10
	c := newConv(t, &Config{MaxPacketSize: 20})
	c.connect("abc", true, 60)
	c.deliver("ab", "0123456789abcdef", 1, 3)
	c.deliver("ab", "ok", 0, 0)
	c.expect(&packet.Publish{TopicIDType: packet.TopicIDShort, TopicID: 0x6162, Data: []byte("ok")})
	c.calls("ack 3")
	if c.s.Dropped != 1 {
		t.Errorf("Dropped %d", c.s.Dropped)
	}
}

func TestExchangeInterruptedBySleepIsResumedOnWake(t *testing.T) {
	c := newConv(t, nil)
	c.connect("abc", true, 60)
	c.deliver("ab", "q1", 1, 1)
	c.deliver("cd", "q2", 2, 2)
	q1 := &packet.Publish{QoS: 1, TopicIDType: packet.TopicIDShort, TopicID: 0x6162, MsgID: 1, Data: []byte("q1")}
	c.expect(q1)
	c.in(&packet.Disconnect{HasDuration: true, Duration: 100}) // asleep before its PUBACK
	c.expect(&packet.Disconnect{})
	c.advance(time.Minute)
	c.expect() // no retransmission while asleep
	c.in(&packet.Pingreq{ClientID: "abc"})
	c.deliver("ab", "q1", 1, 1) // the broker resends its in-flight delivery on Resume: held once
	dup := *q1
	dup.Dup = true
	c.expect(&dup)
	c.in(&packet.Puback{TopicID: 0x6162, MsgID: 1})
	c.expect(&packet.Publish{QoS: 2, TopicIDType: packet.TopicIDShort, TopicID: 0x6364, MsgID: 2, Data: []byte("q2")})
	c.in(&packet.Pubrec{MsgID: 2})
	c.expect(&packet.Pubrel{MsgID: 2})
	c.in(&packet.Disconnect{HasDuration: true, Duration: 100}) // asleep between PUBREC and PUBCOMP
	c.in(&packet.Connect{ProtocolID: 1, Duration: 60, ClientID: "abc"})
	c.expect(&packet.Disconnect{}, &packet.Connack{}, &packet.Pubrel{MsgID: 2}) // not published twice
	c.in(&packet.Pubcomp{MsgID: 2})
	c.calls("suspend", "resume", "ack 1", "received 2", "suspend", "resume", "ack 2")
}

func TestLateAckWhileAsleepSendsNothingMore(t *testing.T) {
	c := newConv(t, nil)
	c.connect("abc", true, 60)
	c.deliver("ab", "1", 1, 1)
	c.deliver("ab", "2", 1, 2)
	c.expect(&packet.Publish{QoS: 1, TopicIDType: packet.TopicIDShort, TopicID: 0x6162, MsgID: 1, Data: []byte("1")})
	c.in(&packet.Disconnect{HasDuration: true, Duration: 100})
	c.in(&packet.Puback{TopicID: 0x6162, MsgID: 1}) // arrives after the sleep request
	c.expect(&packet.Disconnect{})                  // and nothing is sent to the sleeper
	c.in(&packet.Pingreq{ClientID: "abc"})
	c.expect(&packet.Publish{QoS: 1, TopicIDType: packet.TopicIDShort, TopicID: 0x6162, MsgID: 2, Data: []byte("2")})
}

// A wake CONNECT duplicated by the link reaches the gateway twice: the second one restarts the
// connection (E27). For a persistent session that restart resumes the session as an MQTT
// reconnect would [MQTT-4.4.0-1]: the delivery in flight keeps its MsgId and its step, so a
// QoS 2 message the sensor already has is not sent again under a new MsgId.
func TestRestartOfPersistentSessionKeepsDeliveryInFlight(t *testing.T) { // E27, E14
	for _, tc := range []struct {
		name      string
		released  bool // the client's PUBREC arrived before the duplicate CONNECT
		wantAfter packet.Message
	}{
		{"PUBLISH unacknowledged", false,
			&packet.Publish{Dup: true, QoS: 2, TopicIDType: packet.TopicIDShort, TopicID: 0x6162, MsgID: 7, Data: []byte("x")}},
		{"PUBREL unacknowledged", true, &packet.Pubrel{MsgID: 7}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := newConv(t, &Config{RetryInterval: time.Second})
			c.connect("abc", false, 60)
			c.b.present = true
			c.in(&packet.Disconnect{HasDuration: true, Duration: 100})
			c.deliver("ab", "x", 2, 7) // buffered while asleep
			wake := &packet.Connect{ProtocolID: 1, Duration: 60, ClientID: "abc"}
			c.in(wake)
			c.expect(&packet.Disconnect{}, &packet.Connack{},
				&packet.Publish{QoS: 2, TopicIDType: packet.TopicIDShort, TopicID: 0x6162, MsgID: 7, Data: []byte("x")})
			if tc.released {
				c.in(&packet.Pubrec{MsgID: 7})
				c.expect(&packet.Pubrel{MsgID: 7})
			}
			c.in(wake) // the duplicate: E27 restart of a persistent session
			c.expect(&packet.Connack{}, tc.wantAfter)
			c.deliver("ab", "x", 2, 7) // the broker resends its in-flight delivery on reconnect
			c.expect()                 // held once: not under a new MsgId
			if !tc.released {
				c.in(&packet.Pubrec{MsgID: 7})
				c.expect(&packet.Pubrel{MsgID: 7})
			}
			c.in(&packet.Pubcomp{MsgID: 7})
			c.expect()
			c.b.calls = slices.DeleteFunc(c.b.calls, func(call string) bool { return call == "received 7" })
			c.calls("suspend", "resume", "disconnect", "connect abc clean=false will=nil q0=true", "ack 7")
		})
	}
}

// A CONNECT with CleanSession, or one the broker has no session for, starts afresh: nothing of
// the old connection is delivered.
func TestRestartWithCleanSessionDropsDeliveryInFlight(t *testing.T) { // E27
	c := newConv(t, &Config{RetryInterval: time.Second})
	c.connect("abc", false, 60)
	c.deliver("ab", "x", 2, 7)
	c.expect(&packet.Publish{QoS: 2, TopicIDType: packet.TopicIDShort, TopicID: 0x6162, MsgID: 7, Data: []byte("x")})
	c.in(&packet.Connect{ProtocolID: 1, Duration: 60, ClientID: "abc"}) // broker: no session present
	c.expect(&packet.Connack{})
	c.b.present = true
	c.deliver("ab", "y", 2, 8)
	c.expect(&packet.Publish{QoS: 2, TopicIDType: packet.TopicIDShort, TopicID: 0x6162, MsgID: 8, Data: []byte("y")})
	c.in(&packet.Connect{CleanSession: true, ProtocolID: 1, Duration: 60, ClientID: "abc"})
	c.expect(&packet.Connack{})
	c.advance(time.Minute)
	c.expect() // nothing retransmitted
}

// The other direction of the same restart: a QoS 2 PUBLISH the broker has and the client has
// not yet released is still known, so its retransmission is not published twice.
func TestRestartOfPersistentSessionKeepsQoS2AwaitingPubrel(t *testing.T) { // E27
	c := newConv(t, nil)
	c.connect("abc", false, 60)
	c.b.present = true
	pub := &packet.Publish{QoS: 2, TopicIDType: packet.TopicIDShort, TopicID: 0x6162, MsgID: 8, Data: []byte("two")}
	c.in(pub)
	c.take(c.s.PublishDone(c.now, 8, nil, nil))
	c.expect(&packet.Pubrec{MsgID: 8})
	c.in(&packet.Connect{ProtocolID: 1, Duration: 60, ClientID: "abc"})
	c.expect(&packet.Connack{})
	dup := *pub
	dup.Dup = true
	c.in(&dup)
	c.expect(&packet.Pubrec{MsgID: 8})
	c.in(&packet.Pubrel{MsgID: 8})
	c.expect(&packet.Pubcomp{MsgID: 8})
	c.calls(`publish ab "two" q2 r=false id=8`, "disconnect", "connect abc clean=false will=nil q0=true")
}

// Waking makes the broker resend what is in flight (with DUP); the gateway hands those resends
// over asynchronously, so the client's acknowledgement of the retransmitted step can overtake
// them. A resend of a delivery already completed is stale: it must not reach the client again
// under a new MsgId.
func TestResendOvertakenByAcknowledgementIsNotDeliveredAgain(t *testing.T) { // §6.14
	for _, wake := range []packet.Message{
		&packet.Connect{ProtocolID: 1, Duration: 60, ClientID: "abc"},
		&packet.Pingreq{ClientID: "abc"},
	} {
		t.Run(wake.Type().String(), func(t *testing.T) {
			c := newConv(t, &Config{RetryInterval: time.Second})
			c.connect("abc", false, 60)
			c.deliver("ab", "q2", 2, 7)
			c.expect(&packet.Publish{QoS: 2, TopicIDType: packet.TopicIDShort, TopicID: 0x6162, MsgID: 7, Data: []byte("q2")})
			c.in(&packet.Pubrec{MsgID: 7})
			c.expect(&packet.Pubrel{MsgID: 7})
			c.in(&packet.Disconnect{HasDuration: true, Duration: 100}) // PUBCOMP lost; asleep
			c.expect(&packet.Disconnect{})
			c.in(wake)
			c.in(&packet.Pubcomp{MsgID: 7}) // answers the PUBREL resent on waking
			resend := Message{Topic: "ab", Payload: []byte("q2"), QoS: 2, Dup: true}
			c.take(c.s.Deliver(c.now, resend, 7, nil)) // the broker's resend, handed over late
			c.in(&packet.Pingreq{ClientID: "abc"})     // (wakes the PINGREQ sleeper once more)
			c.advance(5 * time.Second)
			if n := publishes(c.sent, "q2"); n != 0 {
				t.Fatalf("the completed QoS 2 delivery was sent again %d times: %s", n, show(c.sent))
			}
			if acks := strings.Count(strings.Join(c.b.calls, "\n"), "ack 7"); acks != 1 {
				t.Fatalf("acked %d times: %v", acks, c.b.calls)
			}
			c.deliver("ab", "new", 2, 7) // the broker may reuse the id for a new message
			c.in(&packet.Pingreq{ClientID: "abc"})
			if n := publishes(c.sent, "new"); n != 1 {
				t.Fatalf("a new message under a reused packet id was sent %d times: %s", n, show(c.sent))
			}
		})
	}
}

// publishes counts the PUBLISHes (retransmissions aside) of payload in sent.
func publishes(sent []packet.Message, payload string) int {
	n := 0
	for _, m := range sent {
		if p, ok := m.(*packet.Publish); ok && !p.Dup && string(p.Data) == payload {
			n++
		}
	}
	return n
}

// The sensor received a QoS 2 command (PUBREC, which the broker is told of) and was lost before
// its PUBCOMP arrived. On its next connection — a new Session — the broker resends PUBREL, not
// the PUBLISH, and the gateway sends PUBREL with the MsgId the sensor saw: the broker's packet
// id. A resend of a PUBLISH it never acknowledged carries DUP and the same MsgId.
func TestReconnectResendsPubrelForQoS2TheClientReceived(t *testing.T) { // [MQTT-4.4.0-1]
	c := newConv(t, &Config{RetryInterval: time.Second, MaxRetries: 1})
	c.connect("abc", false, 60)
	c.deliver("ab", "got", 2, 7)
	c.deliver("ab", "not yet", 2, 8)
	c.expect(&packet.Publish{QoS: 2, TopicIDType: packet.TopicIDShort, TopicID: 0x6162, MsgID: 7, Data: []byte("got")})
	c.in(&packet.Pubrec{MsgID: 7})
	c.expect(&packet.Pubrel{MsgID: 7})
	c.calls("received 7")
	c.advance(3 * time.Second) // no PUBCOMP: lost
	if c.s.State() != Lost {
		t.Fatalf("state %v", c.s.State())
	}

	c.b.present, c.b.calls, c.sent = true, nil, nil
	c.s = New(c.cfg, c.b) // the gateway forgot the lost session
	c.in(&packet.Connect{ProtocolID: 1, Duration: 60, ClientID: "abc"})
	c.take(c.s.Release(c.now, 7, nil)) // the broker's resend on attach, in order
	c.take(c.s.Deliver(c.now, Message{Topic: "ab", Payload: []byte("not yet"), QoS: 2, Dup: true}, 8, nil))
	c.expect(&packet.Connack{}, &packet.Pubrel{MsgID: 7})
	c.take(c.s.Release(c.now, 7, nil)) // a second resend (Resume) while it is held: once
	c.expect()
	c.in(&packet.Pubcomp{MsgID: 7})
	c.expect(&packet.Publish{Dup: true, QoS: 2, TopicIDType: packet.TopicIDShort, TopicID: 0x6162, MsgID: 8, Data: []byte("not yet")})
	c.in(&packet.Pubrec{MsgID: 8})
	c.in(&packet.Pubcomp{MsgID: 8})
	c.expect(&packet.Pubrel{MsgID: 8})
	c.calls("connect abc clean=false will=nil q0=true", "ack 7", "received 8", "ack 8")
}

// A PUBREL the broker resends while the sensor sleeps waits for its wake-up.
func TestReleaseWhileAsleepWaitsForWake(t *testing.T) {
	c := newConv(t, nil)
	c.connect("abc", false, 60)
	c.in(&packet.Disconnect{HasDuration: true, Duration: 100})
	c.expect(&packet.Disconnect{})
	c.take(c.s.Release(c.now, 3, nil))
	c.expect()
	c.in(&packet.Pingreq{ClientID: "abc"})
	c.expect(&packet.Pubrel{MsgID: 3})
	c.in(&packet.Pubcomp{MsgID: 3})
	c.expect(&packet.Pingresp{})
	c.calls("suspend", "resume", "ack 3", "suspend")
}

// On a link that duplicates datagrams the client answers a duplicated WILLTOPICREQ twice, and
// may retransmit WILLTOPIC (§6.13): a second WILLTOPIC is not an unexpected message, the
// handshake goes on, and a late WILLMSG copy after CONNACK changes nothing.
func TestWillHandshakeToleratesRepeatedWillTopic(t *testing.T) {
	c := newConv(t, nil)
	c.in(&packet.Connect{Will: true, ProtocolID: 1, Duration: 60, ClientID: "abc"})
	c.in(&packet.WillTopic{QoS: 1, Topic: "dead/abc"})
	c.in(&packet.WillTopic{QoS: 1, Topic: "dead/abc"})
	c.expect(&packet.WillTopicReq{}, &packet.WillMsgReq{}, &packet.WillMsgReq{})
	c.in(&packet.WillMsg{Payload: []byte("gone")})
	c.in(&packet.WillMsg{Payload: []byte("gone")})
	c.expect(&packet.Connack{})
	c.calls("connect abc clean=false will=dead/abc:gone:1:false q0=true")
	if c.s.State() != Active || c.closed {
		t.Fatalf("state %v closed %v", c.s.State(), c.closed)
	}
}

// Going to sleep and waking write only what changed: each write of a persistent session costs
// a disk flush (the gateway holds the reply until it is done).
func TestSleepWritesOnlyTheSleepState(t *testing.T) {
	c := newConv(t, nil)
	c.connect("abc", false, 60)
	c.in(&packet.Register{MsgID: 1, TopicName: "up/t"})
	c.expect(&packet.Regack{TopicID: 1, MsgID: 1})
	c.b.puts = nil
	c.in(&packet.Disconnect{HasDuration: true, Duration: 300})
	c.expect(&packet.Disconnect{})
	c.in(&packet.Pingreq{ClientID: "abc"})
	c.expect(&packet.Pingresp{})
	if got := strings.Join(c.b.puts, " "); got != DataSleep+" "+DataSleep {
		t.Fatalf("writes for a sleep and a wake: %s; want the sleep state twice", got)
	}
}
