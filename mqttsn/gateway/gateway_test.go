package gateway

import (
	"context"
	"encoding/hex"
	"errors"
	"net"
	"reflect"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"snbridge/mqttsn/mqttsntest"
	"snbridge/mqttsn/packet"
	"snbridge/mqttsn/session"
	"snbridge/mqttsn/topics"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// testGateway is a gateway serving one loopback UDP socket in front of a fake broker.
type testGateway struct {
	g    *Gateway
	pc   net.PacketConn
	addr *net.UDPAddr
	errc chan error
}

func startGateway(t *testing.T, cfg Config, b Broker) *testGateway {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	tg := &testGateway{g: New(cfg, b), pc: pc, addr: pc.LocalAddr().(*net.UDPAddr), errc: make(chan error, 1)}
	go func() { tg.errc <- tg.g.Serve(context.Background(), pc) }()
	t.Cleanup(func() { tg.stop(t) })
	return tg
}

func (tg *testGateway) stop(t *testing.T) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := tg.g.Shutdown(ctx); err != nil {
		t.Errorf("Shutdown: %v", err)
	}
	if err := tg.g.Shutdown(ctx); err != nil { // idempotent
		t.Errorf("second Shutdown: %v", err)
	}
	select {
	case err := <-tg.errc:
		if err != nil {
			t.Errorf("Serve: %v", err)
		}
		tg.errc <- nil
	case <-time.After(5 * time.Second):
		t.Error("Serve did not return")
	}
	tg.pc.Close()
}

// sensor is a raw MQTT-SN peer on loopback UDP.
type sensor struct {
	t    *testing.T
	conn *net.UDPConn
	gw   *net.UDPAddr
}

func newSensor(t *testing.T, gw *net.UDPAddr) *sensor {
	t.Helper()
	c, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return &sensor{t: t, conn: c, gw: gw}
}

func (s *sensor) sendRaw(b []byte) {
	s.t.Helper()
	if _, err := s.conn.WriteToUDP(b, s.gw); err != nil {
		s.t.Fatal(err)
	}
}

func (s *sensor) send(m packet.Message) {
	s.t.Helper()
	b, err := packet.Marshal(m)
	if err != nil {
		s.t.Fatal(err)
	}
	s.sendRaw(b)
}

func (s *sensor) recvRaw(timeout time.Duration) ([]byte, bool) {
	buf := make([]byte, 2048)
	s.conn.SetReadDeadline(time.Now().Add(timeout))
	n, _, err := s.conn.ReadFromUDP(buf)
	if err != nil {
		return nil, false
	}
	return buf[:n], true
}

// expect reads the next datagram and compares it with want.
func (s *sensor) expect(want packet.Message) packet.Message {
	s.t.Helper()
	b, ok := s.recvRaw(3 * time.Second)
	if !ok {
		s.t.Fatalf("no datagram; want %T%+v", want, want)
	}
	got, err := packet.Decode(b)
	if err != nil {
		s.t.Fatalf("bad datagram % x: %v", b, err)
	}
	if want != nil && !reflect.DeepEqual(got, want) {
		s.t.Fatalf("got %T%+v, want %T%+v", got, got, want, want)
	}
	return got
}

func (s *sensor) expectBytes(want []byte) {
	s.t.Helper()
	b, ok := s.recvRaw(3 * time.Second)
	if !ok || !reflect.DeepEqual(b, want) {
		s.t.Fatalf("got % x (%v), want % x", b, ok, want)
	}
}

func (s *sensor) expectNothing(d time.Duration) {
	s.t.Helper()
	if b, ok := s.recvRaw(d); ok {
		s.t.Fatalf("unexpected datagram % x", b)
	}
}

func (s *sensor) connect(id string, clean bool, keepAlive uint16) {
	s.t.Helper()
	s.send(&packet.Connect{CleanSession: clean, ProtocolID: 1, Duration: keepAlive, ClientID: id})
	s.expect(&packet.Connack{})
}

func recvApp(t *testing.T, a *app) Message {
	t.Helper()
	select {
	case m := <-a.ch:
		return m
	case <-time.After(3 * time.Second):
		t.Fatal("the application received nothing")
	}
	return Message{}
}

// waitStats polls the counters until cond holds (they are updated by the shard goroutines).
func waitStats(t *testing.T, g *Gateway, cond func(Stats) bool) {
	t.Helper()
	for i := 0; i < 200; i++ {
		if cond(g.Stats()) {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Errorf("stats %+v", g.Stats())
}

func h(s string) []byte {
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	if err != nil {
		panic(err)
	}
	return b
}

func TestDiscoveryAndStatelessPeers(t *testing.T) {
	b := newFakeBroker()
	pre := &topics.PredefinedTable{}
	pre.Add("*", "sensors/announce", 10)
	adv, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer adv.Close()
	cfg := Config{GatewayID: 7, AdvertiseAddr: adv.LocalAddr(), AdvertiseInterval: 100 * time.Millisecond}
	cfg.Predefined = pre
	tg := startGateway(t, cfg, b)
	app := newApp(b, "app", "#")

	// §6.1: periodic ADVERTISE with the interval in seconds (0 here: below one second).
	for i := 0; i < 2; i++ {
		buf := make([]byte, 64)
		adv.SetReadDeadline(time.Now().Add(3 * time.Second))
		n, _, err := adv.ReadFromUDP(buf)
		if err != nil || !reflect.DeepEqual(buf[:n], h("05 00 07 0000")) {
			t.Fatalf("ADVERTISE %d: % x %v", i, buf[:n], err)
		}
	}

	s := newSensor(t, tg.addr)
	s.sendRaw(mqttsntest.Bytes("SEARCHGW radius=1"))
	s.expectBytes(h("03 02 07")) // GWINFO gw=7

	// §6.8 QoS −1, no connection: predefined and short topics.
	s.sendRaw(mqttsntest.Bytes("PUBLISH qos-1 predefined id=10 data=on"))
	if m := recvApp(t, app); m.Topic != "sensors/announce" || string(m.Payload) != "on" || m.QoS != 0 {
		t.Errorf("QoS -1 predefined: %+v", m)
	}
	s.send(&packet.Publish{QoS: packet.QoSMinus1, TopicIDType: packet.TopicIDShort, TopicID: 0x6162, Data: []byte("x")})
	if m := recvApp(t, app); m.Topic != "ab" {
		t.Errorf("QoS -1 short: %+v", m)
	}

	// E28: anything else from an unknown peer gets DISCONNECT.
	s.sendRaw(mqttsntest.Bytes("PUBLISH qos1 id=1 msgid=2 data=21.5"))
	s.expectBytes(mqttsntest.Bytes("DISCONNECT"))
	s.sendRaw(mqttsntest.Bytes("PINGREQ"))
	s.expectBytes(mqttsntest.Bytes("DISCONNECT"))

	// Malformed datagrams are dropped and counted.
	for _, f := range mqttsntest.Malformed[:5] {
		s.sendRaw(f.Bytes)
	}
	s.expectNothing(100 * time.Millisecond)
	st := tg.g.Stats()
	if st.Malformed < 4 || st.QoSMinus1 != 2 || st.Unexpected != 2 {
		t.Errorf("stats %+v", st)
	}
}

func TestConnectRegisterPublishAllQoS(t *testing.T) {
	b := newFakeBroker()
	tg := startGateway(t, Config{}, b)
	app := newApp(b, "app", "sensors/#")
	s := newSensor(t, tg.addr)

	s.sendRaw(mqttsntest.Bytes("CONNECT will clean keepalive=30 id=sensor-1"))
	s.expectBytes(mqttsntest.Bytes("WILLTOPICREQ"))
	s.sendRaw(mqttsntest.Bytes("WILLTOPIC qos1 retain topic=sensors/s1/status"))
	s.expectBytes(mqttsntest.Bytes("WILLMSGREQ"))
	s.sendRaw(mqttsntest.Bytes("WILLMSG offline"))
	s.expectBytes(mqttsntest.Bytes("CONNACK accepted"))
	s.sendRaw(mqttsntest.Bytes("REGISTER from client topic=sensors/s1/temp msgid=1"))
	s.expectBytes(mqttsntest.Bytes("REGACK id=1 msgid=1 accepted"))

	s.sendRaw(mqttsntest.Bytes("PUBLISH qos0 id=1 data=hello"))
	s.sendRaw(mqttsntest.Bytes("PUBLISH qos1 id=1 msgid=2 data=21.5"))
	s.expectBytes(mqttsntest.Bytes("PUBACK id=1 msgid=2 accepted"))
	s.sendRaw(mqttsntest.Bytes("PUBLISH qos2 retain id=1 msgid=3 data=on"))
	s.expectBytes(mqttsntest.Bytes("PUBREC msgid=3"))
	s.sendRaw(mqttsntest.Bytes("PUBREL msgid=3"))
	s.expectBytes(mqttsntest.Bytes("PUBCOMP msgid=3"))
	for i, want := range []struct {
		payload string
		qos     byte
		retain  bool
	}{{"hello", 0, false}, {"21.5", 1, false}, {"on", 2, true}} {
		m := recvApp(t, app)
		if m.Topic != "sensors/s1/temp" || string(m.Payload) != want.payload || m.QoS != want.qos {
			t.Errorf("message %d: %+v", i, m)
		}
	}
	b.mu.Lock()
	if r := b.retained["sensors/s1/temp"]; string(r.Payload) != "on" || r.QoS != 2 {
		t.Errorf("retained %+v: the retain flag was not carried", r)
	}
	b.mu.Unlock()
	s.sendRaw(mqttsntest.Bytes("PUBLISH qos1 id=2 msgid=4 data=21.5"))
	s.expect(&packet.Puback{TopicID: 2, MsgID: 4, ReturnCode: packet.InvalidTopicID}) // E6
	s.sendRaw(mqttsntest.Bytes("DISCONNECT"))
	s.expectBytes(mqttsntest.Bytes("DISCONNECT"))
	waitStats(t, tg.g, func(st Stats) bool { return st.Clients == 0 && st.Connects == 1 })
}

func TestSubscribeAndReceiveWithGatewayRegister(t *testing.T) {
	b := newFakeBroker()
	tg := startGateway(t, Config{}, b)
	app := newApp(b, "app")
	s := newSensor(t, tg.addr)
	s.connect("sub-1", true, 60)
	s.sendRaw(mqttsntest.Bytes("SUBSCRIBE qos1 name=sensors/+/temp msgid=4"))
	s.expectBytes(mqttsntest.Bytes("SUBACK qos1 id=0 msgid=4 accepted"))
	s.send(&packet.Subscribe{QoS: 2, MsgID: 5, TopicIDType: packet.TopicIDShort, TopicID: 0x6162})
	s.expect(&packet.Suback{QoS: 2, MsgID: 5})

	app.c.Publish(Message{Topic: "sensors/a/temp", Payload: []byte("1"), QoS: 1}, nil)
	reg := s.expect(nil).(*packet.Register)
	if reg.TopicName != "sensors/a/temp" || reg.TopicID == 0 {
		t.Fatalf("REGISTER %+v", reg)
	}
	s.send(&packet.Regack{TopicID: reg.TopicID, MsgID: reg.MsgID})
	pub := s.expect(nil).(*packet.Publish)
	if pub.TopicID != reg.TopicID || pub.QoS != 1 || string(pub.Data) != "1" {
		t.Fatalf("PUBLISH %+v", pub)
	}
	s.send(&packet.Puback{TopicID: pub.TopicID, MsgID: pub.MsgID})
	app.c.Publish(Message{Topic: "ab", Payload: []byte("2"), QoS: 2}, nil)
	pub = s.expect(nil).(*packet.Publish)
	if pub.TopicIDType != packet.TopicIDShort || pub.QoS != 2 {
		t.Fatalf("short PUBLISH %+v", pub)
	}
	s.send(&packet.Pubrec{MsgID: pub.MsgID})
	s.expect(&packet.Pubrel{MsgID: pub.MsgID})
	s.send(&packet.Pubcomp{MsgID: pub.MsgID})
	s.expectNothing(100 * time.Millisecond)
}

func TestSleepWakeWithBufferedMessages(t *testing.T) {
	b := newFakeBroker()
	tg := startGateway(t, Config{}, b)
	app := newApp(b, "app")
	s := newSensor(t, tg.addr)
	s.connect("sleepy", true, 60)
	s.send(&packet.Subscribe{QoS: 1, MsgID: 1, TopicName: "cmd/#"})
	s.expect(&packet.Suback{QoS: 1, MsgID: 1})
	s.sendRaw(mqttsntest.Bytes("DISCONNECT duration=300"))
	s.expectBytes(mqttsntest.Bytes("DISCONNECT"))
	app.c.Publish(Message{Topic: "cmd/led", Payload: []byte("on"), QoS: 1}, nil)
	app.c.Publish(Message{Topic: "cmd/led", Payload: []byte("q0"), QoS: 0}, nil)
	s.expectNothing(100 * time.Millisecond)

	s.send(&packet.Pingreq{ClientID: "sleepy"})
	reg := s.expect(nil).(*packet.Register)
	s.send(&packet.Regack{TopicID: reg.TopicID, MsgID: reg.MsgID})
	pub := s.expect(nil).(*packet.Publish)
	if string(pub.Data) != "on" || pub.QoS != 1 {
		t.Fatalf("first buffered %+v", pub)
	}
	s.expectNothing(100 * time.Millisecond) // E17: no PINGRESP before the PUBACK
	s.send(&packet.Puback{TopicID: pub.TopicID, MsgID: pub.MsgID})
	s.expect(&packet.Publish{TopicID: reg.TopicID, Data: []byte("q0")})
	s.expect(&packet.Pingresp{})
	// Asleep again: the next message waits for the next PINGREQ.
	app.c.Publish(Message{Topic: "cmd/led", Payload: []byte("off")}, nil)
	s.expectNothing(100 * time.Millisecond)
	s.send(&packet.Pingreq{ClientID: "sleepy"})
	s.expect(&packet.Publish{TopicID: reg.TopicID, Data: []byte("off")})
	s.expect(&packet.Pingresp{})
}

func TestRestartKeepsSleepingPersistentClient(t *testing.T) {
	b := newFakeBroker()
	app := newApp(b, "app", "up/#")
	tg := startGateway(t, Config{}, b)
	s := newSensor(t, tg.addr)
	s.sendRaw(mqttsntest.Bytes("CONNECT persistent keepalive=60 id=sensor-1"))
	s.expectBytes(mqttsntest.Bytes("CONNACK accepted"))
	s.send(&packet.Register{MsgID: 1, TopicName: "up/temp"})
	s.expect(&packet.Regack{TopicID: 1, MsgID: 1})
	s.send(&packet.Subscribe{QoS: 1, MsgID: 2, TopicName: "down/led"})
	s.expect(&packet.Suback{QoS: 1, TopicID: 2, MsgID: 2})
	s.send(&packet.Disconnect{HasDuration: true, Duration: 600})
	s.expect(&packet.Disconnect{})
	tg.stop(t) // the gateway stops while the sensor sleeps

	app.c.Publish(Message{Topic: "down/led", Payload: []byte("blink"), QoS: 1}, nil)
	tg2 := startGateway(t, Config{}, b)
	s.gw = tg2.addr
	s.send(&packet.Pingreq{ClientID: "sensor-1"})
	// The registry survived: id 2 is known to the sensor, no REGISTER.
	pub := s.expect(nil).(*packet.Publish)
	if pub.TopicID != 2 || string(pub.Data) != "blink" || pub.QoS != 1 {
		t.Fatalf("after restart: %+v", pub)
	}
	s.send(&packet.Puback{TopicID: 2, MsgID: pub.MsgID})
	s.expect(&packet.Pingresp{})
	// Back to active: the id registered before the restart still publishes.
	s.send(&packet.Connect{ProtocolID: 1, Duration: 60, ClientID: "sensor-1"})
	s.expect(&packet.Connack{})
	s.send(&packet.Publish{TopicID: 1, Data: []byte("20")})
	if m := recvApp(t, app); m.Topic != "up/temp" || string(m.Payload) != "20" {
		t.Errorf("uplink after restart: %+v", m)
	}
	// A PINGREQ for a client the broker does not know is answered with DISCONNECT.
	other := newSensor(t, tg2.addr)
	other.send(&packet.Pingreq{ClientID: "nobody"})
	other.expect(&packet.Disconnect{})
}

func TestClientFoundAgainAfterAddressChange(t *testing.T) {
	b := newFakeBroker()
	tg := startGateway(t, Config{}, b)
	app := newApp(b, "app", "nat/#")
	s := newSensor(t, tg.addr)
	s.connect("natted", true, 60)
	s.send(&packet.Register{MsgID: 1, TopicName: "nat/x"})
	s.expect(&packet.Regack{TopicID: 1, MsgID: 1})
	s.send(&packet.Subscribe{MsgID: 2, TopicName: "back"})
	s.expect(&packet.Suback{TopicID: 2, MsgID: 2})

	moved := newSensor(t, tg.addr) // a new source port: the NAT rebound
	moved.send(&packet.Pingreq{ClientID: "natted"})
	moved.expect(&packet.Pingresp{})
	moved.send(&packet.Publish{TopicID: 1, Data: []byte("hi")})
	if m := recvApp(t, app); m.Topic != "nat/x" {
		t.Errorf("publish after move: %+v", m)
	}
	app.c.Publish(Message{Topic: "back", Payload: []byte("to new address")}, nil)
	moved.expect(&packet.Publish{TopicID: 2, Data: []byte("to new address")})
	s.send(&packet.Publish{TopicID: 1, Data: []byte("old")}) // the old address is forgotten
	s.expect(&packet.Disconnect{})
}

func TestForwarderEncapsulation(t *testing.T) {
	b := newFakeBroker()
	tg := startGateway(t, Config{}, b)
	fwd := newSensor(t, tg.addr)
	wrap := func(node string, inner []byte) []byte {
		out, err := packet.AppendEncapsulated(nil, 0, []byte(node), inner)
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	connect := func(id string) []byte {
		b, _ := packet.Marshal(&packet.Connect{CleanSession: true, ProtocolID: 1, Duration: 60, ClientID: id})
		return b
	}
	fwd.sendRaw(wrap("\x12\x34", connect("node-a")))
	fwd.expectBytes(mqttsntest.Bytes("ENCAPSULATED node=1234 CONNACK accepted"))
	fwd.sendRaw(wrap("\x56\x78", connect("node-b"))) // another node behind the same forwarder
	fwd.expectBytes(wrap("\x56\x78", h("03 05 00")))
	fwd.sendRaw(wrap("\x12\x34", h("02 16")))
	fwd.expectBytes(wrap("\x12\x34", h("02 17")))
	fwd.sendRaw(wrap("\x9a", mqttsntest.Bytes("SEARCHGW radius=1"))) // stateless, still enveloped
	fwd.expectBytes(wrap("\x9a", h("03 02 01")))
	fwd.sendRaw(wrap("\x9a", h("02 16"))) // unknown node: DISCONNECT (E28)
	fwd.expectBytes(wrap("\x9a", h("02 18")))
	if st := tg.g.Stats(); st.Clients != 2 {
		t.Errorf("clients %d, want one per node id", st.Clients)
	}
}

func TestMaxClientsAnsweredWithCongestion(t *testing.T) {
	b := newFakeBroker()
	tg := startGateway(t, Config{MaxClients: 1}, b)
	s1, s2 := newSensor(t, tg.addr), newSensor(t, tg.addr)
	s1.connect("one", true, 60)
	s2.send(&packet.Connect{CleanSession: true, ProtocolID: 1, Duration: 60, ClientID: "two"})
	s2.expect(&packet.Connack{ReturnCode: packet.Congestion})
	s2.sendRaw(mqttsntest.Bytes("CONNECT empty client id"))
	s2.expectBytes(mqttsntest.Bytes("CONNACK not supported"))
	if st := tg.g.Stats(); st.Refused != 2 || st.Clients != 1 {
		t.Errorf("stats %+v", st)
	}
}

func TestKeepAliveLossPublishesWill(t *testing.T) {
	b := newFakeBroker()
	tg := startGateway(t, Config{}, b)
	app := newApp(b, "app", "wills/#")
	s := newSensor(t, tg.addr)
	s.send(&packet.Connect{Will: true, CleanSession: true, ProtocolID: 1, Duration: 1, ClientID: "mortal"})
	s.expect(&packet.WillTopicReq{})
	s.send(&packet.WillTopic{Topic: "wills/mortal"})
	s.expect(&packet.WillMsgReq{})
	s.send(&packet.WillMsg{Payload: []byte("gone")})
	s.expect(&packet.Connack{})
	start := time.Now()
	m := recvApp(t, app) // keep-alive 1 s + 50 %
	if m.Topic != "wills/mortal" || string(m.Payload) != "gone" {
		t.Errorf("will %+v", m)
	}
	if d := time.Since(start); d < 1400*time.Millisecond {
		t.Errorf("lost after %v, before keep-alive + 50%%", d)
	}
	waitStats(t, tg.g, func(st Stats) bool { return st.Lost == 1 && st.Clients == 0 })
}

func TestServeAndShutdownContract(t *testing.T) {
	g := New(Config{}, newFakeBroker())
	if err := g.Shutdown(context.Background()); err != nil {
		t.Errorf("Shutdown before Serve: %v", err)
	}
	if err := g.Serve(context.Background()); err == nil {
		t.Error("Serve without transports succeeded")
	}
	pc, _ := net.ListenPacket("udp", "127.0.0.1:0")
	defer pc.Close()
	ctx, cancel := context.WithCancel(context.Background())
	g2 := New(Config{Shards: 3}, newFakeBroker())
	done := make(chan error, 1)
	go func() { done <- g2.Serve(ctx, pc) }()
	time.Sleep(20 * time.Millisecond)
	if err := g2.Serve(ctx, pc); !errors.Is(err, ErrServing) {
		t.Errorf("second Serve: %v", err)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Serve after cancel: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Serve did not stop on ctx")
	}
	// The caller's conn is usable again.
	if err := pc.SetReadDeadline(time.Now().Add(10 * time.Millisecond)); err != nil {
		t.Error(err)
	}
}

var _ session.Broker = (*client)(nil)

func TestOversizedDownlinkDroppedAndCounted(t *testing.T) { // §6.10: silently aborted
	b := newFakeBroker()
	cfg := Config{}
	cfg.MaxPacketSize = 64
	tg := startGateway(t, cfg, b)
	app := newApp(b, "app")
	s := newSensor(t, tg.addr)
	s.connect("small", true, 60)
	s.send(&packet.Subscribe{MsgID: 1, TopicIDType: packet.TopicIDShort, TopicID: 0x6162})
	s.expect(&packet.Suback{MsgID: 1})
	app.c.Publish(Message{Topic: "ab", Payload: make([]byte, 100)}, nil)
	app.c.Publish(Message{Topic: "ab", Payload: []byte("fits")}, nil)
	s.expect(&packet.Publish{TopicIDType: packet.TopicIDShort, TopicID: 0x6162, Data: []byte("fits")})
	waitStats(t, tg.g, func(st Stats) bool { return st.DownDropped == 1 })
	s.sendRaw(make([]byte, 65)) // an inbound datagram over the limit is dropped too
	waitStats(t, tg.g, func(st Stats) bool { return st.Oversized == 1 })
}

func TestUnackedDeliveryBeforeSleepIsSentOnceOnWake(t *testing.T) {
	b := newFakeBroker()
	tg := startGateway(t, Config{}, b)
	app := newApp(b, "app")
	s := newSensor(t, tg.addr)
	s.connect("dozy", true, 60)
	s.send(&packet.Subscribe{QoS: 1, MsgID: 1, TopicIDType: packet.TopicIDShort, TopicID: 0x6162})
	s.expect(&packet.Suback{QoS: 1, MsgID: 1})
	app.c.Publish(Message{Topic: "ab", Payload: []byte("x"), QoS: 1}, nil)
	first := s.expect(nil).(*packet.Publish)
	s.send(&packet.Disconnect{HasDuration: true, Duration: 60}) // asleep without the PUBACK
	s.expect(&packet.Disconnect{})
	s.send(&packet.Pingreq{ClientID: "dozy"})
	again := s.expect(nil).(*packet.Publish)
	if !again.Dup || again.MsgID != first.MsgID || string(again.Data) != "x" {
		t.Fatalf("on wake: %+v, want a DUP of %+v", again, first)
	}
	s.expectNothing(100 * time.Millisecond) // once, though the broker resent its in-flight copy too
	s.send(&packet.Puback{TopicID: 0x6162, MsgID: again.MsgID})
	s.expect(&packet.Pingresp{})
	b.mu.Lock()
	defer b.mu.Unlock()
	if n := len(b.sessions["dozy"].inflight); n != 0 {
		t.Errorf("%d deliveries still in flight at the broker", n)
	}
}

func TestReconnectFromNewAddressKeepsOneSession(t *testing.T) {
	b := newFakeBroker()
	tg := startGateway(t, Config{}, b)
	s := newSensor(t, tg.addr)
	s.connect("rebooted", false, 60)
	s.send(&packet.Register{MsgID: 1, TopicName: "r/x"})
	s.expect(&packet.Regack{TopicID: 1, MsgID: 1})
	moved := newSensor(t, tg.addr)
	moved.connect("rebooted", false, 60) // E27 from a new address: the same client, restarted
	moved.send(&packet.Register{MsgID: 2, TopicName: "r/x"})
	moved.expect(&packet.Regack{TopicID: 1, MsgID: 2}) // its registry survived (CleanSession 0)
	waitStats(t, tg.g, func(st Stats) bool { return st.Clients == 1 })
	s.send(&packet.Pingreq{})
	s.expect(&packet.Disconnect{})
}

// opaqueConn hides the *net.UDPConn behind a plain net.PacketConn, as a serial or DTLS
// transport would look to the gateway.
type opaqueConn struct{ net.PacketConn }

func TestSeveralTransportsAtOnce(t *testing.T) {
	b := newFakeBroker()
	app := newApp(b, "app", "multi/#")
	udp, _ := net.ListenPacket("udp", "127.0.0.1:0")
	other, _ := net.ListenPacket("udp", "127.0.0.1:0")
	defer udp.Close()
	defer other.Close()
	g := New(Config{}, b)
	done := make(chan error, 1)
	go func() { done <- g.Serve(context.Background(), udp, opaqueConn{other}) }()
	defer func() {
		g.Shutdown(context.Background())
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
	}()
	for i, addr := range []net.Addr{udp.LocalAddr(), other.LocalAddr()} {
		s := newSensor(t, addr.(*net.UDPAddr))
		id := "t" + itoa(i)
		s.connect(id, true, 60)
		s.send(&packet.Register{MsgID: 1, TopicName: "multi/" + id})
		s.expect(&packet.Regack{TopicID: 1, MsgID: 1})
		s.send(&packet.Publish{QoS: 1, TopicID: 1, MsgID: 2, Data: []byte(id)})
		s.expect(&packet.Puback{TopicID: 1, MsgID: 2})
		if m := recvApp(t, app); m.Topic != "multi/"+id {
			t.Errorf("transport %d: %+v", i, m)
		}
		s.sendRaw(mqttsntest.Bytes("SEARCHGW radius=1"))
		s.expectBytes(h("03 02 01"))
	}
}

type panickyBroker struct{ *fakeBroker }

func (p panickyBroker) Connect(o ConnectOptions, h Handler) (BrokerSession, bool, error) {
	if o.ClientID == "boom" {
		panic("broker bug")
	}
	return p.fakeBroker.Connect(o, h)
}

func TestPanicInAShardIsContained(t *testing.T) {
	tg := startGateway(t, Config{Shards: 1}, panickyBroker{newFakeBroker()})
	s := newSensor(t, tg.addr)
	s.send(&packet.Connect{ProtocolID: 1, Duration: 60, ClientID: "boom"})
	s.expectNothing(100 * time.Millisecond)
	waitStats(t, tg.g, func(st Stats) bool { return st.InternalErrors == 1 })
	newSensor(t, tg.addr).connect("fine", true, 60) // the shard still serves
}

// A sensor asleep when the gateway stopped and never heard of again is lost when its sleep timer
// runs out, its will published (§6.14), by the next gateway on the same broker; one that comes
// back in time is left to its own session.
func TestDormantSleeperLostAfterRestart(t *testing.T) {
	b := newFakeBroker()
	app := newApp(b, "app", "wills/#")
	tg := startGateway(t, Config{}, b)
	sleep := func(id string, d uint16) *sensor {
		s := newSensor(t, tg.addr)
		s.send(&packet.Connect{Will: true, ProtocolID: 1, Duration: 60, ClientID: id})
		s.expect(&packet.WillTopicReq{})
		s.send(&packet.WillTopic{Topic: "wills/" + id})
		s.expect(&packet.WillMsgReq{})
		s.send(&packet.WillMsg{Payload: []byte(id + " gone")})
		s.expect(&packet.Connack{})
		s.send(&packet.Disconnect{HasDuration: true, Duration: d})
		s.expect(&packet.Disconnect{})
		return s
	}
	sleep("dormant", 1) // lost 1.5 s after it fell asleep (its deadline kept in whole seconds, rounded up)
	slept := time.Now()
	back := sleep("back", 2) // 3 s, rounded up: lost by +4 s at the latest unless it comes back
	tg.stop(t)

	tg2 := startGateway(t, Config{}, b)
	m := recvApp(t, app)
	if m.Topic != "wills/dormant" || string(m.Payload) != "dormant gone" {
		t.Fatalf("will %+v, want the dormant sensor's", m)
	}
	if d := time.Since(slept); d < 1500*time.Millisecond {
		t.Errorf("lost %v after it slept, before its sleep timer ran out", d)
	}
	back.gw = tg2.addr
	back.send(&packet.Pingreq{ClientID: "back"}) // at +1.5 s or later: its timer renewed to +4.5 s or later
	back.expect(&packet.Pingresp{})
	select {
	case m := <-app.ch:
		t.Fatalf("a will at the old deadline of a sensor that came back: %+v", m)
	case <-time.After(time.Until(slept.Add(4300 * time.Millisecond))):
	}
	waitStats(t, tg2.g, func(st Stats) bool { return st.Lost == 1 })
}

// A persistent sensor's state writes do not stall the shard: while they wait for the disk, the
// other sensors of the shard are served; the replies that promise the state (REGACK, the
// DISCONNECT that puts the sensor to sleep) go out only once the writes are durable.
func TestSlowStoreHoldsRepliesNotTheShard(t *testing.T) {
	b := newFakeBroker()
	tg := startGateway(t, Config{Shards: 1}, b)
	sleepy := newSensor(t, tg.addr)
	sleepy.connect("sleepy", false, 60)
	other := newSensor(t, tg.addr)
	other.connect("other", true, 60)

	b.holdStores()
	sleepy.send(&packet.Register{MsgID: 1, TopicName: "up/t"})
	sleepy.sendRaw(mqttsntest.Bytes("DISCONNECT duration=300"))
	for i := 0; i < 200 && b.storesHeld() < 2; i++ {
		time.Sleep(10 * time.Millisecond)
	}
	other.send(&packet.Pingreq{})
	other.expect(&packet.Pingresp{})
	sleepy.expectNothing(100 * time.Millisecond)

	if n := b.finishStores(); n < 2 {
		t.Fatalf("%d writes held, want the registry's and the sleep state's", n)
	}
	reg := sleepy.expect(nil).(*packet.Regack)
	if reg.MsgID != 1 || reg.ReturnCode != packet.Accepted {
		t.Fatalf("REGACK %+v", reg)
	}
	sleepy.expectBytes(mqttsntest.Bytes("DISCONNECT"))
}
