package client_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"snbridge/mqttsn/client"
	"snbridge/mqttsn/packet"
)

var sensor1 = client.Options{ClientID: "sensor-1", KeepAlive: 60 * time.Second}

func TestConnectWithWillHandshake(t *testing.T) {
	g := newFakeGW(t)
	c := newClient(t, g, client.Options{
		ClientID:     "sensor-1",
		KeepAlive:    30 * time.Second,
		CleanSession: true,
		Will:         &client.Will{Topic: "sensors/s1/status", Payload: []byte("offline"), QoS: client.QoS1, Retain: true},
	})
	done := async(c.Connect)
	g.expect("CONNECT will clean keepalive=30 id=sensor-1")
	// The gateway's WILLTOPICREQ is lost: the client sends CONNECT again after T_RETRY.
	g.expect("CONNECT will clean keepalive=30 id=sensor-1")
	g.send("WILLTOPICREQ")
	g.expect("WILLTOPIC qos1 retain topic=sensors/s1/status")
	g.send("WILLMSGREQ")
	g.expect("WILLMSG offline")
	g.send("CONNACK accepted")
	mustWait(t, "Connect", done)
	if s := c.State(); s != client.StateActive {
		t.Fatalf("state %v after CONNACK, want active", s)
	}
}

func TestConnectRefused(t *testing.T) {
	g := newFakeGW(t)
	c := newClient(t, g, sensor1)
	done := async(c.Connect)
	g.expect("CONNECT persistent keepalive=60 id=sensor-1")
	g.send("CONNACK congestion")
	err := wait(t, done)
	if !errors.Is(err, packet.Congestion) {
		t.Fatalf("Connect = %v, want packet.Congestion", err)
	}
	if s := c.State(); s != client.StateDisconnected {
		t.Fatalf("state %v after a refusal", s)
	}
	if err := c.Publish(context.Background(), "sensors/s1/temp", nil, client.QoS1, false); !errors.Is(err, client.ErrNotConnected) {
		t.Fatalf("Publish while disconnected = %v, want ErrNotConnected", err)
	}
}

func TestPublishEveryQoS(t *testing.T) {
	g := newFakeGW(t)
	opts := sensor1
	opts.PredefinedTopics = map[string]uint16{"sensors/s1/switch": 10}
	c := newClient(t, g, opts)

	// QoS −1 needs no connection.
	done := async(func(ctx context.Context) error {
		return c.Publish(ctx, "sensors/s1/switch", []byte("on"), client.QoSMinus1, false)
	})
	g.expect("PUBLISH qos-1 predefined id=10 data=on")
	mustWait(t, "Publish QoS -1", done)

	connect(t, g, c)

	// QoS 1 on a new name: REGISTER first; the PUBACK is lost and the PUBLISH comes again with DUP.
	done = async(func(ctx context.Context) error {
		return c.Publish(ctx, "sensors/s1/temp", []byte("21.5"), client.QoS1, false)
	})
	g.expect("REGISTER from client topic=sensors/s1/temp msgid=1")
	g.send("REGACK id=1 msgid=1 accepted")
	g.expect("PUBLISH qos1 id=1 msgid=2 data=21.5")
	g.expect("PUBLISH qos1 dup id=1 msgid=2 data=21.5")
	g.send("PUBACK id=1 msgid=2 accepted")
	mustWait(t, "Publish QoS 1", done)

	// QoS 2, the registration cached; the PUBCOMP is lost once and PUBREL is repeated.
	done = async(func(ctx context.Context) error {
		return c.Publish(ctx, "sensors/s1/temp", []byte("on"), client.QoS2, true)
	})
	g.expect("PUBLISH qos2 retain id=1 msgid=3 data=on")
	g.send("PUBREC msgid=3")
	g.expect("PUBREL msgid=3")
	g.expect("PUBREL msgid=3")
	g.send("PUBCOMP msgid=3")
	mustWait(t, "Publish QoS 2", done)

	// QoS 0 and a short topic name.
	mustWait(t, "Publish QoS 0", async(func(ctx context.Context) error {
		return c.Publish(ctx, "sensors/s1/temp", []byte("hello"), client.QoS0, false)
	}))
	g.expect("PUBLISH qos0 id=1 data=hello")
	mustWait(t, "Publish short", async(func(ctx context.Context) error {
		return c.Publish(ctx, "ab", []byte("1"), client.QoS0, true)
	}))
	g.expect("PUBLISH qos0 retain short=ab data=1")
}

func TestPublishReRegistersOnInvalidTopicID(t *testing.T) {
	g := newFakeGW(t)
	c := newClient(t, g, sensor1)
	connect(t, g, c)

	publish := func(ctx context.Context) error {
		return c.Publish(ctx, "sensors/s1/temp", []byte("21.5"), client.QoS1, false)
	}
	done := async(publish)
	g.expect("REGISTER from client topic=sensors/s1/temp msgid=1")
	g.send("REGACK id=1 msgid=1 accepted")
	g.expect("PUBLISH qos1 id=1 msgid=2 data=21.5")
	g.send("PUBACK id=1 msgid=2 invalid topic id") // the gateway lost the registration
	g.expect("REGISTER from client topic=sensors/s1/temp msgid=3")
	g.send("REGACK id=2 msgid=3 accepted")
	g.expect("PUBLISH qos1 id=2 msgid=4 data=21.5")
	g.send("PUBACK id=2 msgid=4 accepted")
	mustWait(t, "Publish", done)

	// The new id is cached.
	id, err := c.Register(context.Background(), "sensors/s1/temp")
	if err != nil || id != 2 {
		t.Fatalf("Register after re-registration = %d, %v; want 2 from the cache", id, err)
	}
}

func TestPublishInvalidTopicTwiceFails(t *testing.T) {
	g := newFakeGW(t)
	c := newClient(t, g, sensor1)
	connect(t, g, c)
	done := async(func(ctx context.Context) error {
		return c.Publish(ctx, "sensors/s1/temp", []byte("21.5"), client.QoS1, false)
	})
	g.expect("REGISTER from client topic=sensors/s1/temp msgid=1")
	g.send("REGACK id=1 msgid=1 accepted")
	g.expect("PUBLISH qos1 id=1 msgid=2 data=21.5")
	g.send("PUBACK id=1 msgid=2 invalid topic id")
	g.expect("REGISTER from client topic=sensors/s1/temp msgid=3")
	g.send("REGACK id=2 msgid=3 accepted")
	g.expect("PUBLISH qos1 id=2 msgid=4 data=21.5")
	g.sendBytes([]byte{0x07, 0x0D, 0x00, 0x02, 0x00, 0x04, 0x02}) // PUBACK id=2 msgid=4 invalid topic id
	if err := wait(t, done); !errors.Is(err, packet.InvalidTopicID) {
		t.Fatalf("Publish = %v, want packet.InvalidTopicID after one re-registration", err)
	}
}

func TestPublishRejectsBadArguments(t *testing.T) {
	g := newFakeGW(t)
	c := newClient(t, g, sensor1)
	ctx := context.Background()
	for _, tc := range []struct {
		topic string
		qos   client.QoS
		want  error
	}{
		{"", client.QoS0, client.ErrInvalidTopic},
		{"a/+/b", client.QoS1, client.ErrInvalidTopic},
		{"a/#", client.QoS0, client.ErrInvalidTopic},
		{"sensors/s1/temp", client.QoSMinus1, client.ErrInvalidTopic}, // QoS -1 cannot register
		{"ab", 3, client.ErrInvalidQoS},
	} {
		if err := c.Publish(ctx, tc.topic, nil, tc.qos, false); !errors.Is(err, tc.want) {
			t.Errorf("Publish(%q, %v) = %v, want %v", tc.topic, tc.qos, err, tc.want)
		}
	}
}

func TestSubscribeAndReceive(t *testing.T) {
	g := newFakeGW(t)
	other := make(chan client.Message, 8)
	opts := sensor1
	opts.OnMessage = func(m client.Message) { other <- m }
	c := newClient(t, g, opts)
	connect(t, g, c)

	got := make(chan client.Message, 8)
	var sub client.Subscription
	done := async(func(ctx context.Context) (err error) {
		sub, err = c.Subscribe(ctx, "cmd/+/led", client.QoS1, func(m client.Message) { got <- m })
		return err
	})
	g.expect("SUBSCRIBE qos1 name=cmd/+/led msgid=1")
	g.send("SUBACK qos1 id=0 msgid=1 accepted")
	mustWait(t, "Subscribe", done)
	if sub.QoS != client.QoS1 || sub.TopicID != 0 {
		t.Fatalf("Subscribe = %+v, want QoS1 and topic id 0 (wildcard)", sub)
	}

	// The gateway registers the concrete topic before the first PUBLISH (§6.10).
	g.send("REGISTER from gateway id=5 msgid=7 topic=cmd/s1/led")
	g.expect("REGACK id=5 msgid=7 accepted")
	g.send("PUBLISH qos1 id=5 msgid=8 data=on")
	g.expect("PUBACK id=5 msgid=8 accepted")
	m := receive(t, got)
	if m.Topic != "cmd/s1/led" || string(m.Payload) != "on" || m.QoS != client.QoS1 || m.TopicID != 5 {
		t.Fatalf("handler got %+v", m)
	}

	// QoS 2 with a retransmission: acknowledged twice, delivered once.
	g.send("PUBLISH qos2 id=5 msgid=9 data=off")
	g.expect("PUBREC msgid=9")
	g.send("PUBLISH qos2 dup id=5 msgid=9 data=off")
	g.expect("PUBREC msgid=9")
	g.send("PUBREL msgid=9")
	g.expect("PUBCOMP msgid=9")
	g.send("PUBLISH qos0 id=5 data=blink")
	if m := receive(t, got); string(m.Payload) != "off" || m.QoS != client.QoS2 {
		t.Fatalf("handler got %+v, want the QoS 2 message", m)
	}
	// Handlers run in arrival order, so a second "off" would come before "blink".
	if m := receive(t, got); string(m.Payload) != "blink" {
		t.Fatalf("handler got %q after the QoS 2 message, want blink (no duplicate)", m.Payload)
	}

	// A topic id the client never heard of is refused (§6.10) and not delivered.
	g.send("PUBLISH qos1 id=99 msgid=10 data=x")
	g.expect("PUBACK id=99 msgid=10 invalid topic id")

	// The gateway's PINGREQ is answered (§6.11).
	g.send("PINGREQ")
	g.expect("PINGRESP")

	// After UNSUBSCRIBE the topic's messages go to Options.OnMessage (still acknowledged).
	done = async(func(ctx context.Context) error { return c.Unsubscribe(ctx, "cmd/+/led") })
	g.expect("UNSUBSCRIBE name=cmd/+/led msgid=2")
	g.send("UNSUBACK msgid=2")
	mustWait(t, "Unsubscribe", done)
	g.send("PUBLISH qos1 id=5 msgid=8 data=on")
	g.expect("PUBACK id=5 msgid=8 accepted")
	if m := receive(t, other); m.Topic != "cmd/s1/led" {
		t.Fatalf("OnMessage got %+v", m)
	}
	select {
	case m := <-got:
		t.Fatalf("the unsubscribed handler got %+v", m)
	default:
	}
}

// Pre-defined ids and short names are subscribed without registration and routed by id and name.
func TestSubscribePredefinedAndShort(t *testing.T) {
	g := newFakeGW(t)
	opts := sensor1
	opts.PredefinedTopics = map[string]uint16{"sensors/s1/switch": 10}
	c := newClient(t, g, opts)
	connect(t, g, c)

	predef := make(chan client.Message, 4)
	short := make(chan client.Message, 4)
	done := async(func(ctx context.Context) error {
		sub, err := c.Subscribe(ctx, "sensors/s1/switch", client.QoS2, func(m client.Message) { predef <- m })
		if err == nil && (sub.TopicID != 10 || sub.QoS != client.QoS2) {
			t.Errorf("Subscribe predefined = %+v", sub)
		}
		return err
	})
	g.expectMsg(&packet.Subscribe{QoS: client.QoS2, TopicIDType: packet.TopicIDPredefined, MsgID: 1, TopicID: 10})
	g.sendMsg(&packet.Suback{QoS: client.QoS2, TopicID: 10, MsgID: 1})
	mustWait(t, "Subscribe predefined", done)

	done = async(func(ctx context.Context) error {
		_, err := c.Subscribe(ctx, "ab", client.QoS0, func(m client.Message) { short <- m })
		return err
	})
	g.expectMsg(&packet.Subscribe{TopicIDType: packet.TopicIDShort, MsgID: 2, TopicID: 0x6162})
	g.sendMsg(&packet.Suback{MsgID: 2})
	mustWait(t, "Subscribe short", done)

	g.send("PUBLISH qos-1 predefined id=10 data=on") // routed by id; QoS −1 needs no ack
	g.send("PUBLISH qos0 retain short=ab data=1")
	if m := receive(t, predef); m.Topic != "sensors/s1/switch" || m.TopicIDType != packet.TopicIDPredefined || string(m.Payload) != "on" {
		t.Fatalf("predefined handler got %+v", m)
	}
	if m := receive(t, short); m.Topic != "ab" || !m.Retain || string(m.Payload) != "1" {
		t.Fatalf("short handler got %+v", m)
	}

	// A refused subscription is an error carrying the return code, and its handler is dropped.
	done = async(func(ctx context.Context) error {
		_, err := c.Subscribe(ctx, "cd", client.QoS1, func(client.Message) { t.Error("handler of a refused subscription called") })
		return err
	})
	g.expectMsg(&packet.Subscribe{QoS: client.QoS1, TopicIDType: packet.TopicIDShort, MsgID: 3, TopicID: 0x6364})
	g.sendMsg(&packet.Suback{MsgID: 3, ReturnCode: packet.NotSupported})
	if err := wait(t, done); !errors.Is(err, packet.NotSupported) {
		t.Fatalf("Subscribe = %v, want packet.NotSupported", err)
	}
	g.sendMsg(&packet.Publish{TopicIDType: packet.TopicIDShort, TopicID: 0x6364, Data: []byte("z")})
	g.send("PUBLISH qos0 retain short=ab data=1") // a marker: handlers run in order
	receive(t, short)
}
