package client_test

import (
	"context"
	"errors"
	"net"
	"testing"
	"time"

	"snbridge/mqttsn/client"
	"snbridge/mqttsn/mqttsntest"
	"snbridge/mqttsn/packet"
)

func TestSleepPollWake(t *testing.T) {
	g := newFakeGW(t)
	got := make(chan client.Message, 8)
	c := newClient(t, g, sensor1)
	connect(t, g, c)

	subscribeLED(t, g, c, got)

	done := async(func(ctx context.Context) error { return c.Sleep(ctx, 300*time.Second) })
	g.expect("DISCONNECT duration=300")
	g.send("DISCONNECT")
	mustWait(t, "Sleep", done)
	if s := c.State(); s != client.StateAsleep {
		t.Fatalf("state %v after Sleep", s)
	}
	if err := c.Publish(context.Background(), "cmd/s1/led", nil, client.QoS0, false); !errors.Is(err, client.ErrNotConnected) {
		t.Fatalf("Publish while asleep = %v, want ErrNotConnected", err)
	}

	// Poll: the gateway flushes what it buffered, then PINGRESP.
	done = async(c.Poll)
	g.expect("PINGREQ id=sensor-1")
	if s := c.State(); s != client.StateAwake {
		t.Fatalf("state %v while polling, want awake", s)
	}
	g.send("PUBLISH qos0 id=5 data=blink")
	g.send("PUBLISH qos1 id=5 msgid=8 data=on")
	g.expect("PUBACK id=5 msgid=8 accepted")
	g.send("PINGRESP")
	mustWait(t, "Poll", done)
	// Poll returned after the handlers ran: both messages are there without waiting.
	for _, want := range []string{"blink", "on"} {
		select {
		case m := <-got:
			if string(m.Payload) != want || m.Topic != "cmd/s1/led" {
				t.Fatalf("handler got %+v, want %s", m, want)
			}
		default:
			t.Fatalf("Poll returned before the handler saw %q", want)
		}
	}
	if s := c.State(); s != client.StateAsleep {
		t.Fatalf("state %v after Poll, want asleep", s)
	}

	// Wake: CONNECT without Will or CleanSession, the session kept.
	done = async(c.Wake)
	g.expect("CONNECT persistent keepalive=60 id=sensor-1")
	g.send("CONNACK accepted")
	mustWait(t, "Wake", done)
	if s := c.State(); s != client.StateActive {
		t.Fatalf("state %v after Wake", s)
	}

	done = async(c.Disconnect)
	g.expect("DISCONNECT")
	g.send("DISCONNECT")
	mustWait(t, "Disconnect", done)
	if s := c.State(); s != client.StateDisconnected {
		t.Fatalf("state %v after Disconnect", s)
	}
	if err := c.Poll(context.Background()); !errors.Is(err, client.ErrNotAsleep) {
		t.Fatalf("Poll while disconnected = %v, want ErrNotAsleep", err)
	}
}

// A PINGRESP that is lost makes the client repeat its PINGREQ; every message from the gateway
// restarts T_RETRY (§6.14).
func TestPollRetransmitsPingreq(t *testing.T) {
	g := newFakeGW(t)
	c := newClient(t, g, sensor1)
	connect(t, g, c)
	done := async(func(ctx context.Context) error { return c.Sleep(ctx, time.Minute) })
	g.read() // DISCONNECT with Duration
	g.send("DISCONNECT")
	mustWait(t, "Sleep", done)

	done = async(c.Poll)
	g.expect("PINGREQ id=sensor-1")
	g.expect("PINGREQ id=sensor-1") // no answer within T_RETRY
	g.send("PINGRESP")
	mustWait(t, "Poll", done)
}

func TestGatewayDisconnectIsReported(t *testing.T) {
	g := newFakeGW(t)
	lost := make(chan error, 1)
	opts := sensor1
	opts.OnConnectionLost = func(err error) { lost <- err }
	c := newClient(t, g, opts)
	connect(t, g, c)
	g.send("DISCONNECT")
	select {
	case err := <-lost:
		if !errors.Is(err, client.ErrGatewayDisconnect) {
			t.Fatalf("OnConnectionLost(%v), want ErrGatewayDisconnect", err)
		}
	case <-time.After(step):
		t.Fatal("OnConnectionLost not called")
	}
	if s := c.State(); s != client.StateDisconnected {
		t.Fatalf("state %v", s)
	}
}

func TestWillUpdates(t *testing.T) {
	g := newFakeGW(t)
	c := newClient(t, g, sensor1)
	connect(t, g, c)
	done := async(func(ctx context.Context) error { return c.WillTopicUpdate(ctx, "s1/gone", client.QoS0, false) })
	g.expect("WILLTOPICUPD qos0 topic=s1/gone")
	g.send("WILLTOPICRESP accepted")
	mustWait(t, "WillTopicUpdate", done)

	done = async(func(ctx context.Context) error { return c.WillMessageUpdate(ctx, []byte("bye")) })
	g.expect("WILLMSGUPD bye")
	g.send("WILLMSGRESP not supported")
	if err := wait(t, done); !errors.Is(err, packet.NotSupported) {
		t.Fatalf("WillMessageUpdate = %v, want packet.NotSupported", err)
	}

	done = async(func(ctx context.Context) error { return c.WillTopicUpdate(ctx, "", client.QoS0, false) })
	g.expect("WILLTOPICUPD delete")
	g.send("WILLTOPICRESP pre-1.2") // an old gateway's two-octet answer (erratum E29)
	mustWait(t, "WillTopicUpdate delete", done)
}

func TestSearchGatewayAndAdvertise(t *testing.T) {
	g := newFakeGW(t)
	ads := make(chan client.Advertisement, 1)
	opts := sensor1
	opts.OnAdvertise = func(a client.Advertisement) { ads <- a }
	c := newClient(t, g, opts)

	var info client.GatewayInfo
	done := async(func(ctx context.Context) (err error) {
		info, err = c.SearchGateway(ctx, 1)
		return err
	})
	g.expect("SEARCHGW radius=1")
	g.expect("SEARCHGW radius=1") // unanswered: searched again
	g.send("GWINFO gw=1")
	mustWait(t, "SearchGateway", done)
	if info.GatewayID != 1 || info.From.String() != g.conn.LocalAddr().String() || info.Address != nil {
		t.Fatalf("SearchGateway = %+v", info)
	}

	// ADVERTISE is accepted from any gateway, not only the client's own.
	other, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	if _, err := other.WriteTo(mqttsntest.Bytes("ADVERTISE gw=1 duration=900"), c.LocalAddr()); err != nil {
		t.Fatal(err)
	}
	select {
	case a := <-ads:
		if a.GatewayID != 1 || a.Interval != 900*time.Second || a.From.String() != other.LocalAddr().String() {
			t.Fatalf("OnAdvertise(%+v)", a)
		}
	case <-time.After(step):
		t.Fatal("OnAdvertise not called")
	}
}

// Datagrams from anyone but the gateway are ignored: a stranger cannot complete a handshake.
func TestStrangerIgnored(t *testing.T) {
	g := newFakeGW(t)
	c := newClient(t, g, sensor1)
	done := async(c.Connect)
	g.expect("CONNECT persistent keepalive=60 id=sensor-1")

	stranger, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer stranger.Close()
	if _, err := stranger.WriteTo(mqttsntest.Bytes("CONNACK accepted"), c.LocalAddr()); err != nil {
		t.Fatal(err)
	}
	g.expect("CONNECT persistent keepalive=60 id=sensor-1") // still waiting: retransmitted
	g.send("CONNACK accepted")
	mustWait(t, "Connect", done)
}

// A client may answer SEARCHGW on a gateway's behalf, with the gateway's address (§6.1).
func TestSearchGatewayAnsweredByAnotherClient(t *testing.T) {
	g := newFakeGW(t)
	peer := newFakeGW(t) // another client, answering for the gateway
	opts := sensor1
	opts.SearchAddr = peer.conn.LocalAddr()
	c := newClient(t, g, opts)
	var info client.GatewayInfo
	done := async(func(ctx context.Context) (err error) {
		info, err = c.SearchGateway(ctx, 1)
		return err
	})
	peer.expect("SEARCHGW radius=1")
	peer.send("GWINFO gw=1 addr=127.0.0.1")
	mustWait(t, "SearchGateway", done)
	if info.GatewayID != 1 || info.From.String() != peer.conn.LocalAddr().String() || string(info.Address) != "\x7f\x00\x00\x01" {
		t.Fatalf("SearchGateway = %+v", info)
	}
}
