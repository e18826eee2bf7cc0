package client_test

import (
	"bytes"
	"context"
	"errors"
	"net"
	"testing"
	"testing/synctest"
	"time"

	"snbridge/mqttsn/client"
	"snbridge/mqttsn/packet"
)

// expectMsg checks that the client's next datagram is the encoding of want.
func (g memGW) expectMsg(want packet.Message) {
	g.t.Helper()
	wb := mustMarshal(g.t, want)
	select {
	case got := <-g.conn.in:
		if !bytes.Equal(got, wb) {
			m, err := packet.Decode(got)
			g.t.Fatalf("gateway expected %#v\n want % X\n  got % X = %#v (%v)", want, wb, got, m, err)
		}
	case <-time.After(time.Hour):
		g.t.Fatalf("gateway expected %#v, got nothing", want)
	}
}

// With AutoReconnect a client whose keep-alive went unanswered connects again T_RETRY later; a
// CONNACK "congestion" makes it wait T_WAIT before the next attempt (§6.2, §6.13).
func TestAutoReconnectAfterKeepAliveLoss(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		lost, back := make(chan error, 4), make(chan struct{}, 4)
		opts := sensor1 // KeepAlive 60 s, T_RETRY 10 s, N_RETRY 3
		opts.AutoReconnect = true
		opts.WaitInterval = 6 * time.Minute
		opts.OnConnectionLost = func(err error) { lost <- err }
		opts.OnReconnect = func() { back <- struct{}{} }
		c, g := newMemClient(t, opts)
		memConnect(t, c, g)
		start := time.Now()

		g.expect("PINGREQ") // at +60 s, then unanswered
		for range 3 {
			g.expect("PINGREQ")
		}
		if err := <-lost; !errors.Is(err, client.ErrTimeout) {
			t.Fatalf("OnConnectionLost(%v), want ErrTimeout", err)
		}
		if s := c.State(); s != client.StateLost {
			t.Fatalf("state %v after the loss", s)
		}
		g.expect("CONNECT persistent keepalive=60 id=sensor-1")
		if d := time.Since(start); d != 110*time.Second {
			t.Fatalf("first reconnection at +%v, want +110s (ping at +60s, lost at +100s, then T_RETRY)", d)
		}
		g.send("CONNACK congestion")
		g.quiet()
		g.expect("CONNECT persistent keepalive=60 id=sensor-1")
		if d := time.Since(start); d != 110*time.Second+6*time.Minute {
			t.Fatalf("second attempt at +%v, want T_WAIT (6m) after the congestion", d)
		}
		g.send("CONNACK accepted")
		<-back
		if s := c.State(); s != client.StateActive {
			t.Fatalf("state %v after reconnecting", s)
		}
		// Active again: keep-alive resumes.
		g.expect("PINGREQ")
		g.send("PINGRESP")
		g.quiet()
	})
}

// A gateway that stops answering makes the attempts back off: RetryInterval, then doubling, up
// to WaitInterval.
func TestAutoReconnectBacksOff(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		opts := sensor1
		opts.AutoReconnect = true
		opts.MaxRetries = -1 // one CONNECT per attempt, unanswered after T_RETRY
		opts.WaitInterval = 50 * time.Second
		c, g := newMemClient(t, opts)
		memConnect(t, c, g)
		g.send("DISCONNECT") // §6.12: the gateway ends the connection
		var at []time.Duration
		start := time.Now()
		for range 5 {
			g.expect("CONNECT persistent keepalive=60 id=sensor-1")
			at = append(at, time.Since(start))
		}
		// Pause before each attempt: 10, 20, 40, 50, 50 s, plus the 10 s each attempt waits.
		want := []time.Duration{10 * time.Second, 40 * time.Second, 90 * time.Second, 150 * time.Second, 210 * time.Second}
		for i := range want {
			if at[i] != want[i] {
				t.Fatalf("attempts at %v, want %v", at, want)
			}
		}
		// The application disconnects the lost client: no more attempts, nothing sent.
		if err := c.Disconnect(context.Background()); err != nil {
			t.Fatalf("Disconnect while lost = %v", err)
		}
		if s := c.State(); s != client.StateDisconnected {
			t.Fatalf("state %v after Disconnect", s)
		}
		time.Sleep(time.Hour)
		g.quiet()
	})
}

// A clean-session client that reconnects subscribes again, and its handler receives what the
// gateway sends on the restored subscription.
func TestAutoReconnectRestoresSubscriptions(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		got := make(chan client.Message, 4)
		back := make(chan struct{}, 1)
		opts := client.Options{ClientID: "abc", KeepAlive: time.Minute, CleanSession: true, AutoReconnect: true,
			OnReconnect: func() { back <- struct{}{} }}
		c, g := newMemClient(t, opts)
		done := make(chan error, 1)
		go func() { done <- c.Connect(context.Background()) }()
		g.expect("CONNECT clean keepalive=60 id=abc")
		g.send("CONNACK accepted")
		if err := <-done; err != nil {
			t.Fatal(err)
		}
		go func() {
			_, err := c.Subscribe(context.Background(), "cmd/+/led", client.QoS1, func(m client.Message) { got <- m })
			done <- err
		}()
		g.expect("SUBSCRIBE qos1 name=cmd/+/led msgid=1")
		g.send("SUBACK qos1 id=0 msgid=1 accepted")
		if err := <-done; err != nil {
			t.Fatal(err)
		}

		// A QoS 1 publish goes unanswered: after N_RETRY the connection is gone (§6.13).
		go func() { done <- c.Publish(context.Background(), "ab", []byte("x"), client.QoS1, false) }()
		pub := &packet.Publish{QoS: client.QoS1, TopicIDType: packet.TopicIDShort, TopicID: 0x6162, MsgID: 2, Data: []byte("x")}
		g.expectMsg(pub)
		dup := *pub
		dup.Dup = true
		for range 3 {
			g.expectMsg(&dup)
		}
		if err := <-done; !errors.Is(err, client.ErrTimeout) {
			t.Fatalf("Publish = %v, want ErrTimeout", err)
		}
		g.expect("CONNECT clean keepalive=60 id=abc")
		g.send("CONNACK accepted")
		g.expectMsg(&packet.Subscribe{QoS: client.QoS1, MsgID: 3, TopicName: "cmd/+/led"})
		g.conn.WriteTo(mustMarshal(t, &packet.Suback{QoS: client.QoS1, MsgID: 3}), nil)
		<-back
		g.send("REGISTER from gateway id=5 msgid=7 topic=cmd/s1/led")
		g.expect("REGACK id=5 msgid=7 accepted")
		g.send("PUBLISH qos1 id=5 msgid=8 data=on")
		g.expect("PUBACK id=5 msgid=8 accepted")
		if m := <-got; m.Topic != "cmd/s1/led" || string(m.Payload) != "on" {
			t.Fatalf("handler got %+v", m)
		}
		select {
		case m := <-got:
			t.Fatalf("delivered twice: %+v", m)
		default:
		}
	})
}

// A gateway that no longer knows a sleeping client answers its PINGREQ with DISCONNECT: Poll
// says so at once and the client is disconnected.
func TestPollAnsweredWithDisconnect(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c, g := newMemClient(t, sensor1)
		memConnect(t, c, g)
		done := make(chan error, 1)
		go func() { done <- c.Sleep(context.Background(), 300*time.Second) }()
		g.expect("DISCONNECT duration=300")
		g.send("DISCONNECT")
		if err := <-done; err != nil {
			t.Fatal(err)
		}
		go func() { done <- c.Poll(context.Background()) }()
		g.expect("PINGREQ id=sensor-1")
		g.send("DISCONNECT")
		if err := <-done; !errors.Is(err, client.ErrGatewayDisconnect) {
			t.Fatalf("Poll = %v, want ErrGatewayDisconnect", err)
		}
		if s := c.State(); s != client.StateDisconnected {
			t.Fatalf("state %v, want disconnected", s)
		}
		g.quiet() // no PINGREQ retransmission
	})
}

// Discovery (§6.1): a client made with one address finds its gateway with SEARCHGW at
// SearchAddr and moves to it with UseGateway, refused while connected.
func TestSearchGatewayThenUseGateway(t *testing.T) {
	wrong, right := newFakeGW(t), newFakeGW(t)
	opts := sensor1
	opts.SearchAddr = right.conn.LocalAddr() // stands for a broadcast address
	c := newClient(t, wrong, opts)
	done := async(func(ctx context.Context) error {
		info, err := c.SearchGateway(ctx, 1)
		if err != nil {
			return err
		}
		return c.UseGateway(info.From)
	})
	right.expect("SEARCHGW radius=1")
	right.send("GWINFO gw=1")
	mustWait(t, "SearchGateway and UseGateway", done)
	if !sameUDP(c.Gateway(), right.conn.LocalAddr()) {
		t.Fatalf("gateway %v, want %v", c.Gateway(), right.conn.LocalAddr())
	}
	connect(t, right, c)
	if err := c.UseGateway(wrong.conn.LocalAddr()); err == nil {
		t.Fatal("UseGateway while connected succeeded")
	}
}

// With AutoReconnect and SearchAddr a lost client looks for a gateway first and moves to the one
// that answers (§6.13), subscribing there again; its handler gets what the new gateway sends.
func TestAutoReconnectMovesToAnotherGateway(t *testing.T) {
	first, second := newFakeGW(t), newFakeGW(t)
	got := make(chan client.Message, 4)
	back := make(chan struct{}, 1)
	opts := sensor1
	opts.SearchAddr = second.conn.LocalAddr() // stands for a broadcast address only the second hears
	opts.AutoReconnect = true
	opts.OnReconnect = func() { back <- struct{}{} }
	c := newClient(t, first, opts)
	connect(t, first, c)
	subscribeLED(t, first, c, got)

	first.send("DISCONNECT") // the first gateway goes away
	second.expect("SEARCHGW radius=1")
	second.send("GWINFO gw=1")
	second.expect("CONNECT persistent keepalive=60 id=sensor-1")
	second.send("CONNACK accepted")
	second.expectMsg(&packet.Subscribe{QoS: client.QoS1, MsgID: 2, TopicName: "cmd/s1/led"})
	second.sendMsg(&packet.Suback{QoS: client.QoS1, TopicID: 9, MsgID: 2})
	select {
	case <-back:
	case <-time.After(step):
		t.Fatal("OnReconnect not called")
	}
	if !sameUDP(c.Gateway(), second.conn.LocalAddr()) {
		t.Fatalf("gateway %v after the move", c.Gateway())
	}
	second.sendMsg(&packet.Publish{QoS: client.QoS1, TopicID: 9, MsgID: 1, Data: []byte("on")})
	second.expectMsg(&packet.Puback{TopicID: 9, MsgID: 1})
	if m := receive(t, got); m.Topic != "cmd/s1/led" || string(m.Payload) != "on" {
		t.Fatalf("handler got %+v", m)
	}
	// The id 5 of the first gateway means nothing here any more.
	done := async(func(ctx context.Context) error { return c.Publish(ctx, "cmd/s1/led", []byte("x"), client.QoS0, false) })
	second.expectMsg(&packet.Publish{TopicID: 9, Data: []byte("x")})
	mustWait(t, "Publish", done)
}

func sameUDP(a, b net.Addr) bool {
	ua, ok1 := a.(*net.UDPAddr)
	ub, ok2 := b.(*net.UDPAddr)
	return ok1 && ok2 && ua.AddrPort() == ub.AddrPort()
}

// A persistent client subscribes again too: CONNACK does not say whether the gateway kept its
// session (one restarted without a store has not).
func TestAutoReconnectResubscribesPersistentSession(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		back := make(chan struct{}, 1)
		opts := sensor1
		opts.AutoReconnect = true
		opts.OnReconnect = func() { back <- struct{}{} }
		c, g := newMemClient(t, opts)
		memConnect(t, c, g)
		done := make(chan error, 1)
		go func() {
			_, err := c.Subscribe(context.Background(), "cmd/s1/led", client.QoS1, func(client.Message) {})
			done <- err
		}()
		g.expect("SUBSCRIBE qos1 name=cmd/s1/led msgid=1")
		g.send("SUBACK qos1 id=5 msgid=1 accepted")
		if err := <-done; err != nil {
			t.Fatal(err)
		}
		g.send("DISCONNECT") // a restarted gateway that does not know the client (E28)
		g.expect("CONNECT persistent keepalive=60 id=sensor-1")
		g.send("CONNACK accepted")
		g.expectMsg(&packet.Subscribe{QoS: client.QoS1, MsgID: 2, TopicName: "cmd/s1/led"})
		g.quiet()
		select {
		case <-back:
			t.Fatal("OnReconnect before the subscription was restored")
		default:
		}
		g.conn.WriteTo(mustMarshal(t, &packet.Suback{QoS: client.QoS1, TopicID: 5, MsgID: 2}), nil)
		<-back
	})
}
