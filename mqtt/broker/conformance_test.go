package broker

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	paho "github.com/eclipse/paho.mqtt.golang"

	"snbridge/mqtt/packet"
)

// Messages from one publisher reach a subscriber in the order sent, whatever their QoS: a QoS 0
// message does not overtake QoS 1/2 messages waiting for the in-flight window [MQTT-4.6.0-6].
func TestOrderKeptAcrossQoSLevels(t *testing.T) {
	_, addr := startBroker(t, Options{MaxInflight: 1})
	sub := dialRaw(t, addr)
	sub.connect(&packet.Connect{ClientID: "sub", CleanSession: true})
	sub.send(&packet.Subscribe{PacketID: 1, Subscriptions: []packet.Subscription{{Filter: "o", QoS: 2}}})
	sub.expect()
	pub := dialRaw(t, addr)
	pub.connect(&packet.Connect{ClientID: "pub", CleanSession: true})
	const n = 12
	for i := range n {
		pub.send(&packet.Publish{Topic: "o", QoS: byte(i % 3), PacketID: uint16(i + 1), Payload: []byte(fmt.Sprint(i))})
	}
	for i := 0; i < n; {
		switch p := sub.expect().(type) {
		case *packet.Publish:
			if string(p.Payload) != fmt.Sprint(i) || p.QoS != byte(i%3) {
				t.Fatalf("message %d: got %q at QoS %d: order not kept", i, p.Payload, p.QoS)
			}
			i++
			switch p.QoS {
			case 1:
				sub.send(&packet.Puback{PacketID: p.PacketID})
			case 2:
				sub.send(&packet.Pubrec{PacketID: p.PacketID})
			}
		case *packet.Pubrel:
			sub.send(&packet.Pubcomp{PacketID: p.PacketID})
		default:
			t.Fatalf("unexpected %v", p.Type())
		}
	}
}

// paho's will, set with SetWill, is published when its socket breaks (no DISCONNECT), and
// reaches a paho subscriber with its QoS and retain flag kept.
func TestPahoWillOnBrokenSocket(t *testing.T) {
	b, addr := startBroker(t, Options{})
	conns := make(chan net.Conn, 1)
	newPaho(t, addr, "dying", true, func(o *paho.ClientOptions) {
		o.SetWill("will/dying", "gone", 1, true)
		o.SetCustomOpenConnectionFn(func(*url.URL, paho.ClientOptions) (net.Conn, error) {
			nc, err := net.Dial("tcp", addr)
			if err == nil {
				conns <- nc
			}
			return nc, err
		})
	})
	rec := newReceived()
	sub := newPaho(t, addr, "watcher", true)
	must(t, sub.Subscribe("will/#", 1, rec.handler))
	(<-conns).Close()
	if m := rec.wait(t, 1)[0]; m.Topic() != "will/dying" || string(m.Payload()) != "gone" || m.Qos() != 1 {
		t.Fatalf("got %s %q QoS %d", m.Topic(), m.Payload(), m.Qos())
	}
	if b.RetainedCount() != 1 {
		t.Fatal("the retained will was not kept")
	}
}

// The $SYS topics are the broker's: a client's PUBLISH to one is acknowledged, dropped and
// counted, as mosquitto does; a retained value cannot be forged.
func TestClientCannotPublishToSys(t *testing.T) {
	b, addr := startBroker(t, Options{SysInterval: time.Hour, Version: "1.0"})
	rec := newReceived()
	sub := newPaho(t, addr, "watcher", true)
	must(t, sub.Subscribe("$SYS/broker/version", 0, rec.handler))
	if m := rec.wait(t, 1)[0]; string(m.Payload()) != "snbridge 1.0" {
		t.Fatalf("version %q", m.Payload())
	}
	must(t, sub.Subscribe("barrier", 1, rec.handler))
	pub := newPaho(t, addr, "forger", true)
	must(t, pub.Publish("$SYS/broker/version", 1, true, "forged"))
	must(t, pub.Publish("barrier", 1, false, "after"))
	if m := rec.wait(t, 2)[1]; m.Topic() != "barrier" {
		t.Fatalf("got %s %q: a client published to $SYS", m.Topic(), m.Payload())
	}
	if n := b.stats.pubDropped.Load(); n != 1 {
		t.Fatalf("%d dropped, want the forged $SYS publish counted", n)
	}
	late := newReceived()
	sub2 := newPaho(t, addr, "late", true)
	must(t, sub2.Subscribe("$SYS/broker/version", 0, late.handler))
	if m := late.wait(t, 1)[0]; string(m.Payload()) != "snbridge 1.0" {
		t.Fatalf("retained version %q after a client's publish", m.Payload())
	}
}

// A takeover of a persistent session closes the older connection and resends what was in
// flight on it to the new one, with DUP and the same packet id [MQTT-3.1.4-2], [MQTT-4.4.0-1].
func TestTakeoverRedeliversInFlight(t *testing.T) {
	_, addr := startBroker(t, Options{})
	older := dialRaw(t, addr)
	older.connect(&packet.Connect{ClientID: "same", CleanSession: false})
	older.send(&packet.Subscribe{PacketID: 1, Subscriptions: []packet.Subscription{{Filter: "t", QoS: 1}}})
	older.expect()
	pub := newPaho(t, addr, "pub", true)
	must(t, pub.Publish("t", 1, false, "m"))
	first := older.expect().(*packet.Publish)
	newer := dialRaw(t, addr)
	if ack := newer.connect(&packet.Connect{ClientID: "same", CleanSession: false}); !ack.SessionPresent {
		t.Fatal("session present 0 on takeover of a persistent session")
	}
	again, ok := newer.expect().(*packet.Publish)
	if !ok || !again.Dup || again.PacketID != first.PacketID || string(again.Payload) != "m" {
		t.Fatalf("after takeover: %#v; want the in-flight message again with DUP", again)
	}
	older.expectClosed()
}

// Client ids beyond the 23 characters of 0-9a-zA-Z a server must accept are accepted too
// [MQTT-3.1.3-5], as mosquitto does: long ones, and any UTF-8.
func TestLongAndUnicodeClientIDsAccepted(t *testing.T) {
	_, addr := startBroker(t, Options{})
	for _, id := range []string{strings.Repeat("x", 200), "sensor/kitchen #1 — température", "a+b"} {
		c := dialRaw(t, addr)
		if ack := c.connect(&packet.Connect{ClientID: id, CleanSession: false}); ack.ReturnCode != packet.Accepted {
			t.Errorf("client id %q refused with %d", id, ack.ReturnCode)
		}
	}
}

// The WebSocket listener selects the "mqtt" subprotocol, refuses a client that does not offer
// it [MQTT-6.0.0-3], and serves only its path, /mqtt by default.
func TestWebSocketSubprotocolAndPath(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	startBroker(t, Options{Listeners: []Listener{{Name: "ws", Listener: ln, WebSocket: true}}})
	base := "ws://" + ln.Addr().String()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()

	wc, _, err := websocket.Dial(ctx, base+"/mqtt", &websocket.DialOptions{Subprotocols: []string{"mqtt"}})
	if err != nil {
		t.Fatalf("dial with the mqtt subprotocol: %v", err)
	}
	if wc.Subprotocol() != "mqtt" {
		t.Fatalf("subprotocol %q, want mqtt", wc.Subprotocol())
	}
	nc := websocket.NetConn(ctx, wc, websocket.MessageBinary)
	buf, _ := packet.Append(nil, &packet.Connect{ProtocolName: "MQTT", ProtocolLevel: 4, ClientID: "ws", CleanSession: true})
	nc.Write(buf)
	if p, err := packet.NewReader(nc, 0).ReadPacket(); err != nil {
		t.Fatalf("no CONNACK over WebSocket: %v", err)
	} else if ack, ok := p.(*packet.Connack); !ok || ack.ReturnCode != packet.Accepted {
		t.Fatalf("got %#v", p)
	}
	nc.Close()

	bare, _, err := websocket.Dial(ctx, base+"/mqtt", nil)
	if err != nil {
		t.Fatalf("dial without a subprotocol: %v", err)
	}
	if _, _, err := bare.Read(ctx); websocket.CloseStatus(err) != websocket.StatusPolicyViolation {
		t.Fatalf("without the mqtt subprotocol: %v, want a close with policy violation", err)
	}

	if _, resp, err := websocket.Dial(ctx, base+"/other", &websocket.DialOptions{Subprotocols: []string{"mqtt"}}); err == nil || resp == nil || resp.StatusCode != http.StatusNotFound {
		t.Fatalf("another path: %v, %v; want 404", err, resp)
	}
}
