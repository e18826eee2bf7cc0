package broker

import (
	"bytes"
	"fmt"
	"sync"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"

	"snbridge/mqtt/packet"
)

func TestQoSRoundTrips(t *testing.T) {
	_, addr := startBroker(t, Options{})
	rec := newReceived()
	sub := newPaho(t, addr, "sub", true)
	must(t, sub.Subscribe("rt/#", 2, rec.handler))
	pub := newPaho(t, addr, "pub", true)
	for q := byte(0); q <= 2; q++ {
		must(t, pub.Publish(fmt.Sprintf("rt/%d", q), q, false, []byte{q}))
	}
	msgs := rec.wait(t, 3)
	for i, m := range msgs {
		if m.Qos() != byte(i) || m.Topic() != fmt.Sprintf("rt/%d", i) || !bytes.Equal(m.Payload(), []byte{byte(i)}) || m.Retained() {
			t.Errorf("message %d: topic %s qos %d payload %v retained %v", i, m.Topic(), m.Qos(), m.Payload(), m.Retained())
		}
	}
}

// Delivery is at min(publish QoS, granted QoS) [MQTT-3.8.4-6], one copy for overlapping filters
// at the highest granted QoS.
func TestDeliveryQoSAndOverlap(t *testing.T) {
	_, addr := startBroker(t, Options{})
	c := dialRaw(t, addr)
	c.connect(&packet.Connect{ClientID: "sub", CleanSession: true})
	c.send(&packet.Subscribe{PacketID: 1, Subscriptions: []packet.Subscription{{Filter: "a/+", QoS: 0}, {Filter: "a/#", QoS: 1}, {Filter: "b/c", QoS: 0}}})
	if ack, ok := c.expect().(*packet.Suback); !ok || !bytes.Equal(ack.ReturnCodes, []byte{0, 1, 0}) {
		t.Fatalf("SUBACK %#v", ack)
	}
	pub := newPaho(t, addr, "pub", true)
	must(t, pub.Publish("a/x", 2, false, "one"))
	must(t, pub.Publish("b/c", 2, false, "two"))
	p1 := c.expect().(*packet.Publish)
	if p1.QoS != 1 || string(p1.Payload) != "one" {
		t.Fatalf("first: %#v; want one copy at QoS 1 (highest granted)", p1)
	}
	c.send(&packet.Puback{PacketID: p1.PacketID})
	if p2 := c.expect().(*packet.Publish); p2.QoS != 0 || string(p2.Payload) != "two" {
		t.Fatalf("second: %#v; want QoS 0 (granted), not a second copy of the first", p2)
	}
}

func TestRetained(t *testing.T) {
	b, addr := startBroker(t, Options{})
	pub := newPaho(t, addr, "pub", true)
	must(t, pub.Publish("ret/a", 1, true, "kept"))
	must(t, pub.Publish("ret/b", 1, true, "kept too"))
	must(t, pub.Publish("$app/x", 1, true, "hidden from #"))
	if b.RetainedCount() != 3 {
		t.Fatalf("RetainedCount = %d", b.RetainedCount())
	}
	rec := newReceived()
	sub := newPaho(t, addr, "sub", true)
	must(t, sub.Subscribe("#", 1, rec.handler))
	msgs := rec.wait(t, 2)
	for _, m := range msgs {
		if !m.Retained() {
			t.Errorf("%s: retain flag not set on a retained message sent on subscribe [MQTT-3.3.1-8]", m.Topic())
		}
		if m.Topic() == "$app/x" {
			t.Errorf("'#' matched a $ topic")
		}
	}
	// A live publish with RETAIN reaches existing subscribers with RETAIN 0 [MQTT-3.3.1-9].
	must(t, pub.Publish("ret/a", 1, true, ""))
	msgs = rec.wait(t, 3)
	if m := msgs[2]; m.Retained() || len(m.Payload()) != 0 {
		t.Fatalf("live retained publish: retained %v payload %q", m.Retained(), m.Payload())
	}
	// The empty retained publish deleted ret/a [MQTT-3.3.1-10].
	if b.RetainedCount() != 2 {
		t.Fatalf("RetainedCount after delete = %d, want 2", b.RetainedCount())
	}
	rec2 := newReceived()
	sub2 := newPaho(t, addr, "sub2", true)
	must(t, sub2.Subscribe("ret/+", 0, rec2.handler))
	if msgs := rec2.wait(t, 1); msgs[0].Topic() != "ret/b" {
		t.Fatalf("got %s", msgs[0].Topic())
	}
}

func TestWillOnBrokenConnectionNotOnDisconnect(t *testing.T) {
	_, addr := startBroker(t, Options{})
	rec := newReceived()
	sub := newPaho(t, addr, "sub", true)
	must(t, sub.Subscribe("will/#", 1, rec.handler))

	polite := dialRaw(t, addr)
	polite.connect(&packet.Connect{ClientID: "polite", CleanSession: true, Will: &packet.Will{Topic: "will/polite", Payload: []byte("x"), QoS: 1}})
	polite.send(&packet.Disconnect{})
	polite.expectClosed()

	rude := dialRaw(t, addr)
	rude.connect(&packet.Connect{ClientID: "rude", CleanSession: true, Will: &packet.Will{Topic: "will/rude", Payload: []byte("gone"), QoS: 1}})
	rude.nc.Close()

	msgs := rec.wait(t, 1)
	if msgs[0].Topic() != "will/rude" || string(msgs[0].Payload()) != "gone" {
		t.Fatalf("got %s %q, want the will of the broken connection", msgs[0].Topic(), msgs[0].Payload())
	}
	time.Sleep(50 * time.Millisecond)
	if rec.count() != 1 {
		t.Fatal("the will of a client that sent DISCONNECT was published")
	}
}

func TestWillOnProtocolError(t *testing.T) {
	_, addr := startBroker(t, Options{})
	rec := newReceived()
	sub := newPaho(t, addr, "sub", true)
	must(t, sub.Subscribe("will/#", 0, rec.handler))
	c := dialRaw(t, addr)
	c.connect(&packet.Connect{ClientID: "bad", CleanSession: true, Will: &packet.Will{Topic: "will/bad", Payload: []byte("w")}})
	c.nc.Write([]byte{0xff, 0x00}) // reserved packet type 15
	c.expectClosed()
	if m := rec.wait(t, 1)[0]; m.Topic() != "will/bad" {
		t.Fatalf("got %s", m.Topic())
	}
}

func TestConnectReturnCodes(t *testing.T) {
	_, addr := startBroker(t, Options{Auth: denyUser{}})
	cases := []struct {
		name string
		p    *packet.Connect
		want packet.ConnackCode
	}{
		{"accepted", &packet.Connect{ClientID: "ok", CleanSession: true}, packet.Accepted},
		{"empty id without clean session", &packet.Connect{CleanSession: false}, packet.IdentifierRejected},
		{"bad password", &packet.Connect{ClientID: "u", CleanSession: true, UsernameFlag: true, Username: "mallory", PasswordFlag: true, Password: []byte("x")}, packet.BadUsernameOrPassword},
		{"anonymous refused", &packet.Connect{ClientID: "anonymous", CleanSession: true}, packet.NotAuthorized},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := dialRaw(t, addr)
			if tc.p.ProtocolName == "" {
				tc.p.ProtocolName, tc.p.ProtocolLevel = "MQTT", 4
			}
			c.send(tc.p)
			p, err := c.read()
			if err != nil {
				t.Fatalf("read: %v", err)
			}
			ack, ok := p.(*packet.Connack)
			if !ok || ack.ReturnCode != tc.want || ack.SessionPresent {
				t.Fatalf("got %#v, want return code %d", p, tc.want)
			}
			if tc.want != packet.Accepted {
				c.expectClosed()
			}
		})
	}
}

// denyUser refuses the user "mallory" and the client id "anonymous" without a user name.
type denyUser struct{ AllowAll }

func (denyUser) Authenticate(user, _, id string) bool {
	return user != "mallory" && !(user == "" && id == "anonymous")
}

func TestUnsupportedProtocolLevel(t *testing.T) {
	_, addr := startBroker(t, Options{})
	c := dialRaw(t, addr)
	// CONNECT "MQIsdp" level 3 (MQTT 3.1), clean session, keepalive 60, client id "c".
	c.nc.Write([]byte{0x10, 0x0f, 0, 6, 'M', 'Q', 'I', 's', 'd', 'p', 3, 0x02, 0, 60, 0, 1, 'c'})
	ack, ok := c.expect().(*packet.Connack)
	if !ok || ack.ReturnCode != packet.UnacceptableProtocolVersion {
		t.Fatalf("got %#v, want CONNACK 1 [MQTT-3.1.2-2]", ack)
	}
	c.expectClosed()
}

func TestEmptyClientIDGetsGeneratedID(t *testing.T) {
	b, addr := startBroker(t, Options{})
	c := dialRaw(t, addr)
	if ack := c.connect(&packet.Connect{CleanSession: true}); ack.ReturnCode != packet.Accepted {
		t.Fatalf("refused: %v", ack.ReturnCode)
	}
	b.mu.Lock()
	n := len(b.sessions)
	b.mu.Unlock()
	if n != 1 {
		t.Fatalf("%d sessions", n)
	}
}

func TestGarbageAndFirstPacketNotConnect(t *testing.T) {
	_, addr := startBroker(t, Options{ConnectTimeout: 300 * time.Millisecond})
	c := dialRaw(t, addr)
	c.nc.Write([]byte("GET / HTTP/1.1\r\n\r\n")) // waits for a body that never comes: connect timeout
	c.expectClosed()
	c1 := dialRaw(t, addr)
	c1.nc.Write([]byte{0x00, 0x00}) // reserved packet type 0
	c1.expectClosed()
	c2 := dialRaw(t, addr)
	c2.send(&packet.Pingreq{})
	c2.expectClosed()
	c3 := dialRaw(t, addr)
	c3.connect(&packet.Connect{ClientID: "twice", CleanSession: true})
	c3.send(&packet.Connect{ProtocolName: "MQTT", ProtocolLevel: 4, ClientID: "twice", CleanSession: true})
	c3.expectClosed()
	// Others are not affected.
	pub := newPaho(t, addr, "fine", true)
	must(t, pub.Publish("x", 1, false, "y"))
}

func TestPersistentSessionQueueAndSessionPresent(t *testing.T) {
	_, addr := startBroker(t, Options{})
	rec := newReceived()
	sub := newPaho(t, addr, "sleepy", false, func(o *paho.ClientOptions) {
		o.SetDefaultPublishHandler(rec.handler)
	})
	must(t, sub.Subscribe("q/#", 1, rec.handler))
	sub.Disconnect(100)

	pub := newPaho(t, addr, "pub", true)
	for i := 0; i < 5; i++ {
		must(t, pub.Publish("q/x", 1, false, fmt.Sprint(i)))
	}
	must(t, pub.Publish("q/zero", 0, false, "qos0 not queued"))
	must(t, pub.Publish("barrier", 1, false, "")) // the QoS 0 publish is routed before this one

	c := dialRaw(t, addr)
	ack := c.connect(&packet.Connect{ClientID: "sleepy", CleanSession: false})
	if !ack.SessionPresent {
		t.Fatal("session present not set [MQTT-3.2.2-2]")
	}
	for i := 0; i < 5; i++ {
		p, ok := c.expect().(*packet.Publish)
		if !ok || string(p.Payload) != fmt.Sprint(i) || p.QoS != 1 {
			t.Fatalf("message %d: %#v", i, p)
		}
		c.send(&packet.Puback{PacketID: p.PacketID})
	}
	c.send(&packet.Pingreq{})
	if _, ok := c.expect().(*packet.Pingresp); !ok {
		t.Fatal("a QoS 0 message was queued for an offline session")
	}
	c.send(&packet.Disconnect{})
	c.expectClosed()
	// Clean session discards the stored session: session present 0 [MQTT-3.2.2-1].
	c2 := dialRaw(t, addr)
	if ack := c2.connect(&packet.Connect{ClientID: "sleepy", CleanSession: true}); ack.SessionPresent {
		t.Fatal("session present with clean session")
	}
}

// Unacknowledged messages are redelivered with DUP and the same packet id on reconnect
// [MQTT-4.4.0-1]; a PUBREC'd QoS 2 message gets its PUBREL again.
func TestRedeliveryWithDup(t *testing.T) {
	_, addr := startBroker(t, Options{})
	c := dialRaw(t, addr)
	c.connect(&packet.Connect{ClientID: "r", CleanSession: false})
	c.send(&packet.Subscribe{PacketID: 1, Subscriptions: []packet.Subscription{{Filter: "d/#", QoS: 2}}})
	if _, ok := c.expect().(*packet.Suback); !ok {
		t.Fatal("no SUBACK")
	}
	pub := newPaho(t, addr, "pub", true)
	must(t, pub.Publish("d/1", 1, false, "one"))
	must(t, pub.Publish("d/2", 2, false, "two"))
	p1 := c.expect().(*packet.Publish)
	p2 := c.expect().(*packet.Publish)
	if p1.Dup || p2.Dup || p2.QoS != 2 {
		t.Fatalf("first delivery: %#v %#v", p1, p2)
	}
	c.send(&packet.Pubrec{PacketID: p2.PacketID})
	if rel, ok := c.expect().(*packet.Pubrel); !ok || rel.PacketID != p2.PacketID {
		t.Fatal("no PUBREL")
	}
	c.nc.Close()

	time.Sleep(20 * time.Millisecond)
	c = dialRaw(t, addr)
	if ack := c.connect(&packet.Connect{ClientID: "r", CleanSession: false}); !ack.SessionPresent {
		t.Fatal("session not present")
	}
	again, ok := c.expect().(*packet.Publish)
	if !ok || !again.Dup || again.PacketID != p1.PacketID || string(again.Payload) != "one" {
		t.Fatalf("redelivery: %#v", again)
	}
	rel, ok := c.expect().(*packet.Pubrel)
	if !ok || rel.PacketID != p2.PacketID {
		t.Fatalf("PUBREL not resent: %#v", rel)
	}
	c.send(&packet.Puback{PacketID: p1.PacketID})
	c.send(&packet.Pubcomp{PacketID: p2.PacketID})
	c.send(&packet.Pingreq{})
	if _, ok := c.expect().(*packet.Pingresp); !ok {
		t.Fatal("unexpected packet")
	}
}

func TestTakeover(t *testing.T) {
	_, addr := startBroker(t, Options{})
	lost := make(chan error, 1)
	first := newPaho(t, addr, "same", false, func(o *paho.ClientOptions) {
		o.SetConnectionLostHandler(func(_ paho.Client, err error) { lost <- err })
	})
	rec := newReceived()
	must(t, first.Subscribe("take/#", 1, rec.handler))
	second := newPaho(t, addr, "same", false)
	select {
	case <-lost:
	case <-time.After(5 * time.Second):
		t.Fatal("the first connection was not closed on takeover [MQTT-3.1.4-2]")
	}
	// The session (with its subscription) went to the new connection.
	rec2 := newReceived()
	second.AddRoute("take/#", rec2.handler)
	pub := newPaho(t, addr, "pub", true)
	must(t, pub.Publish("take/1", 1, false, "x"))
	rec2.wait(t, 1)
}

func TestInboundQoS2NotRoutedTwice(t *testing.T) {
	_, addr := startBroker(t, Options{})
	rec := newReceived()
	sub := newPaho(t, addr, "sub", true)
	must(t, sub.Subscribe("x", 2, rec.handler))
	c := dialRaw(t, addr)
	c.connect(&packet.Connect{ClientID: "p", CleanSession: true})
	c.send(&packet.Publish{QoS: 2, Topic: "x", PacketID: 7, Payload: []byte("once")})
	if r, ok := c.expect().(*packet.Pubrec); !ok || r.PacketID != 7 {
		t.Fatal("no PUBREC")
	}
	c.send(&packet.Publish{QoS: 2, Dup: true, Topic: "x", PacketID: 7, Payload: []byte("once")})
	if _, ok := c.expect().(*packet.Pubrec); !ok {
		t.Fatal("no second PUBREC")
	}
	c.send(&packet.Pubrel{PacketID: 7})
	if r, ok := c.expect().(*packet.Pubcomp); !ok || r.PacketID != 7 {
		t.Fatal("no PUBCOMP")
	}
	rec.wait(t, 1)
	time.Sleep(50 * time.Millisecond)
	if rec.count() != 1 {
		t.Fatalf("QoS 2 message delivered %d times", rec.count())
	}
}

func TestInflightWindowAndOrdering(t *testing.T) {
	_, addr := startBroker(t, Options{MaxInflight: 3})
	c := dialRaw(t, addr)
	c.connect(&packet.Connect{ClientID: "w", CleanSession: true})
	c.send(&packet.Subscribe{PacketID: 1, Subscriptions: []packet.Subscription{{Filter: "w", QoS: 1}}})
	c.expect()
	pub := newPaho(t, addr, "pub", true)
	for i := 0; i < 6; i++ {
		must(t, pub.Publish("w", 1, false, fmt.Sprint(i)))
	}
	var got []*packet.Publish
	for i := 0; i < 3; i++ {
		got = append(got, c.expect().(*packet.Publish))
	}
	c.send(&packet.Pingreq{})
	if _, ok := c.expect().(*packet.Pingresp); !ok {
		t.Fatal("more than MaxInflight messages in flight")
	}
	for _, p := range got {
		c.send(&packet.Puback{PacketID: p.PacketID})
	}
	for i := 0; i < 3; i++ {
		got = append(got, c.expect().(*packet.Publish))
	}
	for i, p := range got {
		if string(p.Payload) != fmt.Sprint(i) {
			t.Fatalf("message %d is %q: order not kept", i, p.Payload)
		}
	}
}

// Many publishers writing to one subscriber at once (a fan-in, whose deliveries are batched
// into fewer writes) lose nothing and keep each publisher's order [MQTT-4.6.0-5], at QoS 0 and
// at QoS 1, where the subscriber's acknowledgements let the next messages into its window.
func TestFanInKeepsEachPublishersOrder(t *testing.T) {
	const pubs, each = 20, 300
	for _, qos := range []byte{0, 1} {
		t.Run(fmt.Sprint("qos", qos), func(t *testing.T) {
			b, addr := startBroker(t, Options{MaxQueued: pubs * each, OutboundQueue: pubs * each})
			sub := dialRaw(t, addr)
			sub.connect(&packet.Connect{ClientID: "sub", CleanSession: true})
			sub.send(&packet.Subscribe{PacketID: 1, Subscriptions: []packet.Subscription{{Filter: "fan/+", QoS: qos}}})
			if _, ok := sub.expect().(*packet.Suback); !ok {
				t.Fatal("no SUBACK")
			}
			var wg sync.WaitGroup
			for i := range pubs {
				c := dialRaw(t, addr)
				c.connect(&packet.Connect{ClientID: fmt.Sprint("pub", i), CleanSession: true})
				wg.Go(func() {
					// all of a publisher's messages in one write: bursts at the subscriber
					var buf []byte
					for n := range each {
						buf, _ = packet.Append(buf, &packet.Publish{QoS: qos, PacketID: uint16(n + 1), Topic: fmt.Sprint("fan/", i), Payload: []byte(fmt.Sprint(n))})
					}
					c.nc.Write(buf)
				})
			}
			next := make([]int, pubs)
			for got := 0; got < pubs*each; got++ {
				p, err := sub.read()
				if err != nil {
					t.Fatalf("after %d messages: %v (dropped %d)", got, err, b.stats.pubDropped.Load())
				}
				pub, ok := p.(*packet.Publish)
				if !ok {
					t.Fatalf("got %v", p.Type())
				}
				var i int
				fmt.Sscanf(pub.Topic, "fan/%d", &i)
				if string(pub.Payload) != fmt.Sprint(next[i]) {
					t.Fatalf("publisher %d: got message %s, want %d", i, pub.Payload, next[i])
				}
				next[i]++
				if qos == 1 {
					sub.send(&packet.Puback{PacketID: pub.PacketID})
				}
			}
			wg.Wait()
		})
	}
}
