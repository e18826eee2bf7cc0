package simtest

import (
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"

	"snbridge/mqttsn/packet"
)

// Broker is what the fake gateway publishes to and subscribes at.
type Broker interface {
	// Publish returns once the broker accepted the message.
	Publish(topic string, qos byte, retain bool, payload []byte) error
	// Subscribe registers deliver for an exact topic.
	Subscribe(topic string, qos byte, deliver func(topic string, payload []byte)) error
}

// Faults make the fake gateway break a guarantee on purpose, so tests can show the checker
// notices.
type Faults struct {
	DropAckedQoS1Every int  // acknowledge but never forward every n-th QoS 1 PUBLISH
	DuplicateQoS2      bool // forward every QoS 2 PUBLISH twice
}

// FakeGateway is a small MQTT-SN gateway for the simulator's own tests — fast, in-process, and
// able to break a guarantee on purpose (Faults) so that the checker is seen to notice; the
// end-to-end tests run snbridge itself (StartSnbridge). It serves CONNECT with will, REGISTER,
// PUBLISH at QoS −1..2 (QoS 2 de-duplicated by MsgId), SUBSCRIBE by name, predefined id or
// short name, PINGREQ, DISCONNECT with sleep (deliveries are buffered while asleep and flushed
// on PINGREQ(ClientId) or CONNECT), forwarder encapsulation. Downstream deliveries are sent
// once, without retransmission: use it on clean links.
type FakeGateway struct {
	pc         net.PacketConn
	broker     Broker
	predefined map[uint16]string
	faults     Faults

	mu       sync.Mutex
	sessions map[string]*fakeSession // by peer key (address + node id)
	byID     map[string]*fakeSession
	subs     map[string]bool // topics subscribed at the broker
	topicSub map[string][]*fakeSession
	wg       sync.WaitGroup
	qos1     atomic.Int64
}

type fakeSession struct {
	key      string
	addr     net.Addr
	node     []byte
	clientID string
	topics   map[uint16]string
	ids      map[string]uint16
	nextID   uint16
	msgID    uint16
	qos2     map[uint16]bool
	asleep   bool
	buffered [][]byte
	subQoS   map[string]byte
	subTID   map[string]uint16
	subKind  map[string]packet.TopicIDType
}

// StartFakeGateway serves on a loopback UDP port until Close.
func StartFakeGateway(broker Broker, predefined map[uint16]string, faults Faults) (*FakeGateway, error) {
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	g := &FakeGateway{pc: pc, broker: broker, predefined: predefined, faults: faults,
		sessions: map[string]*fakeSession{}, byID: map[string]*fakeSession{}, subs: map[string]bool{},
		topicSub: map[string][]*fakeSession{}}
	g.wg.Go(g.serve)
	return g, nil
}

// Addr is the gateway's UDP address.
func (g *FakeGateway) Addr() string { return g.pc.LocalAddr().String() }

// Close stops the gateway.
func (g *FakeGateway) Close() { g.pc.Close(); g.wg.Wait() }

func (g *FakeGateway) serve() {
	buf := make([]byte, 65535)
	for {
		n, from, err := g.pc.ReadFrom(buf)
		if err != nil {
			return
		}
		d := buf[:n]
		var node []byte
		if t, _, _, err := packet.ParseHeader(d); err == nil && t == packet.TypeEncapsulated {
			_, nid, inner, err := packet.DecapsulateForwarder(d)
			if err != nil {
				continue
			}
			node, d = append([]byte(nil), nid...), inner
		}
		m, err := packet.Decode(d)
		if err != nil {
			continue
		}
		g.handle(from, node, m)
	}
}

func (g *FakeGateway) sendTo(s *fakeSession, m packet.Message) {
	b, err := packet.Marshal(m)
	if err != nil {
		return
	}
	g.sendRaw(s.addr, s.node, b)
}

func (g *FakeGateway) sendRaw(addr net.Addr, node, b []byte) {
	if node != nil {
		b, _ = packet.AppendEncapsulated(nil, 0, node, b)
	}
	_, _ = g.pc.WriteTo(b, addr)
}

func (g *FakeGateway) reply(addr net.Addr, node []byte, m packet.Message) {
	b, err := packet.Marshal(m)
	if err == nil {
		g.sendRaw(addr, node, b)
	}
}

func (g *FakeGateway) handle(from net.Addr, node []byte, m packet.Message) {
	key := from.String() + "/" + string(node)
	g.mu.Lock()
	s := g.sessions[key]
	g.mu.Unlock()
	switch m := m.(type) {
	case *packet.Connect:
		g.mu.Lock()
		old := g.byID[m.ClientID]
		if old != nil && !m.CleanSession || old != nil && old.asleep {
			// Persistent or sleeping session: keep it, move it to this address.
			delete(g.sessions, old.key)
			old.key, old.addr, old.node = key, from, node
			s = old
		} else {
			s = &fakeSession{key: key, addr: from, node: node, clientID: m.ClientID, topics: map[uint16]string{},
				ids: map[string]uint16{}, qos2: map[uint16]bool{}, subQoS: map[string]byte{}, subTID: map[string]uint16{},
				subKind: map[string]packet.TopicIDType{}}
			if old != nil {
				g.unsubscribeAll(old)
			}
		}
		g.sessions[key] = s
		g.byID[m.ClientID] = s
		wasAsleep := s.asleep
		s.asleep = false
		g.mu.Unlock()
		if m.Will && !wasAsleep {
			g.reply(from, node, &packet.WillTopicReq{})
			return // the will handshake continues with WILLTOPIC, WILLMSG
		}
		g.reply(from, node, &packet.Connack{ReturnCode: packet.Accepted})
		g.flush(s)
	case *packet.WillTopic:
		g.reply(from, node, &packet.WillMsgReq{})
	case *packet.WillMsg:
		g.reply(from, node, &packet.Connack{ReturnCode: packet.Accepted})
	case *packet.Publish:
		g.publish(s, from, node, m)
	case *packet.Pubrel:
		if s != nil {
			g.mu.Lock()
			delete(s.qos2, m.MsgID)
			g.mu.Unlock()
		}
		g.reply(from, node, &packet.Pubcomp{MsgID: m.MsgID})
	case *packet.Register:
		if s == nil {
			return
		}
		g.mu.Lock()
		id := s.ids[m.TopicName]
		if id == 0 {
			s.nextID++
			id = s.nextID + 1000
			s.ids[m.TopicName], s.topics[id] = id, m.TopicName
		}
		g.mu.Unlock()
		g.reply(from, node, &packet.Regack{TopicID: id, MsgID: m.MsgID, ReturnCode: packet.Accepted})
	case *packet.Subscribe:
		if s == nil {
			return
		}
		g.subscribe(s, m)
	case *packet.Pingreq:
		if s == nil && m.ClientID != "" {
			g.mu.Lock()
			s = g.byID[m.ClientID]
			if s != nil {
				delete(g.sessions, s.key)
				s.key, s.addr, s.node = key, from, node
				g.sessions[key] = s
			}
			g.mu.Unlock()
		}
		if s != nil {
			g.flush(s)
		}
		g.reply(from, node, &packet.Pingresp{})
	case *packet.Disconnect:
		if s != nil {
			g.mu.Lock()
			if m.HasDuration {
				s.asleep = true
			} else if g.byID[s.clientID] == s {
				delete(g.sessions, s.key)
			}
			g.mu.Unlock()
		}
		g.reply(from, node, &packet.Disconnect{})
	}
}

func (g *FakeGateway) publish(s *fakeSession, from net.Addr, node []byte, m *packet.Publish) {
	var topic string
	switch m.TopicIDType {
	case packet.TopicIDPredefined:
		topic = g.predefined[m.TopicID]
	case packet.TopicIDShort:
		topic = packet.ShortTopicName(m.TopicID)
	default:
		if s != nil {
			g.mu.Lock()
			topic = s.topics[m.TopicID]
			g.mu.Unlock()
		}
	}
	if topic == "" || (s == nil && m.QoS != packet.QoSMinus1) {
		if m.QoS > 0 {
			g.reply(from, node, &packet.Puback{TopicID: m.TopicID, MsgID: m.MsgID, ReturnCode: packet.InvalidTopicID})
		}
		return
	}
	qos := byte(max(m.QoS, 0))
	payload := append([]byte(nil), m.Data...)
	switch m.QoS {
	case packet.QoS1:
		drop := g.faults.DropAckedQoS1Every > 0 && g.qos1.Add(1)%int64(g.faults.DropAckedQoS1Every) == 0
		if !drop && g.broker.Publish(topic, qos, m.Retain, payload) != nil {
			return
		}
		g.reply(from, node, &packet.Puback{TopicID: m.TopicID, MsgID: m.MsgID, ReturnCode: packet.Accepted})
	case packet.QoS2:
		g.mu.Lock()
		seen := s.qos2[m.MsgID]
		s.qos2[m.MsgID] = true
		g.mu.Unlock()
		if !seen {
			if g.broker.Publish(topic, qos, m.Retain, payload) != nil {
				return
			}
			if g.faults.DuplicateQoS2 {
				_ = g.broker.Publish(topic, qos, m.Retain, payload)
			}
		}
		g.reply(from, node, &packet.Pubrec{MsgID: m.MsgID})
	default:
		_ = g.broker.Publish(topic, qos, m.Retain, payload)
	}
}

func (g *FakeGateway) subscribe(s *fakeSession, m *packet.Subscribe) {
	var topic string
	var tid uint16
	switch m.TopicIDType {
	case packet.TopicIDPredefined:
		topic, tid = g.predefined[m.TopicID], m.TopicID
	case packet.TopicIDShort:
		topic, tid = packet.ShortTopicName(m.TopicID), m.TopicID
	default:
		topic = m.TopicName
		g.mu.Lock()
		tid = s.ids[topic]
		if tid == 0 {
			s.nextID++
			tid = s.nextID + 1000
			s.ids[topic], s.topics[tid] = tid, topic
		}
		g.mu.Unlock()
	}
	if topic == "" || strings.ContainsAny(topic, "+#") {
		g.sendTo(s, &packet.Suback{MsgID: m.MsgID, ReturnCode: packet.NotSupported})
		return
	}
	qos := byte(max(m.QoS, 0))
	g.mu.Lock()
	if _, again := s.subQoS[topic]; !again {
		g.topicSub[topic] = append(g.topicSub[topic], s)
	}
	s.subQoS[topic], s.subTID[topic], s.subKind[topic] = qos, tid, m.TopicIDType
	first := !g.subs[topic]
	g.subs[topic] = true
	g.mu.Unlock()
	if first {
		if err := g.broker.Subscribe(topic, 2, g.deliver); err != nil {
			g.sendTo(s, &packet.Suback{MsgID: m.MsgID, ReturnCode: packet.Congestion})
			return
		}
	}
	g.sendTo(s, &packet.Suback{QoS: packet.QoS(qos), TopicID: tid, MsgID: m.MsgID, ReturnCode: packet.Accepted})
}

func (g *FakeGateway) unsubscribeAll(s *fakeSession) {
	for topic := range s.subQoS {
		list := g.topicSub[topic]
		for i, o := range list {
			if o == s {
				g.topicSub[topic] = append(list[:i], list[i+1:]...)
				break
			}
		}
	}
}

// deliver hands a broker message to every session subscribed to its topic.
func (g *FakeGateway) deliver(topic string, payload []byte) {
	g.mu.Lock()
	defer g.mu.Unlock()
	for _, s := range g.topicSub[topic] {
		s.msgID++
		if s.msgID == 0 {
			s.msgID = 1
		}
		q := packet.QoS(s.subQoS[topic])
		mid := uint16(0)
		if q > 0 {
			mid = s.msgID
		}
		b, err := packet.Marshal(&packet.Publish{QoS: q, TopicIDType: s.subKind[topic], TopicID: s.subTID[topic], MsgID: mid, Data: payload})
		if err != nil {
			continue
		}
		if s.asleep {
			s.buffered = append(s.buffered, b)
			continue
		}
		g.sendRaw(s.addr, s.node, b)
	}
}

// flush sends what was buffered while the session slept, then pauses briefly so the datagrams
// precede the PINGRESP or CONNACK that follows on loopback.
func (g *FakeGateway) flush(s *fakeSession) {
	g.mu.Lock()
	pending := s.buffered
	s.buffered = nil
	addr, node := s.addr, s.node
	g.mu.Unlock()
	for _, b := range pending {
		g.sendRaw(addr, node, b)
	}
	if len(pending) > 0 {
		time.Sleep(time.Millisecond)
	}
}

// Hub is an in-memory broker: the fake gateway's Broker and the simulator's Observer at once.
type Hub struct {
	mu      sync.Mutex
	exact   map[string][]func(string, []byte)
	filters []hubFilter
}

type hubFilter struct {
	filter  string
	handler func(string, []byte)
}

// NewHub returns an empty hub.
func NewHub() *Hub { return &Hub{exact: map[string][]func(string, []byte){}} }

// Publish implements Broker: the message goes to every matching subscriber, synchronously.
func (h *Hub) Publish(topic string, _ byte, _ bool, payload []byte) error {
	h.mu.Lock()
	var targets []func(string, []byte)
	targets = append(targets, h.exact[topic]...)
	for _, f := range h.filters {
		if match(f.filter, topic) {
			targets = append(targets, f.handler)
		}
	}
	h.mu.Unlock()
	for _, t := range targets {
		t(topic, append([]byte(nil), payload...))
	}
	return nil
}

// Subscribe implements Broker for an exact topic.
func (h *Hub) Subscribe(topic string, _ byte, deliver func(string, []byte)) error {
	h.mu.Lock()
	h.exact[topic] = append(h.exact[topic], deliver)
	h.mu.Unlock()
	return nil
}

// SubscribeFilters is the Observer side: MQTT filters with + and #.
func (h *Hub) SubscribeFilters(filters []string, handler func(string, []byte)) error {
	h.mu.Lock()
	for _, f := range filters {
		h.filters = append(h.filters, hubFilter{f, handler})
	}
	h.mu.Unlock()
	return nil
}

func match(filter, topic string) bool {
	fl, tl := strings.Split(filter, "/"), strings.Split(topic, "/")
	for i, f := range fl {
		if f == "#" {
			return true
		}
		if i >= len(tl) || (f != "+" && f != tl[i]) {
			return false
		}
	}
	return len(fl) == len(tl)
}

// PahoBroker is a Broker over one MQTT connection to a real broker (paho), so the fake gateway
// can stand in front of mosquitto like an aggregating gateway.
type PahoBroker struct {
	c mqtt.Client
}

// DialPaho connects a PahoBroker to addr (host:port).
func DialPaho(addr, clientID string) (*PahoBroker, error) {
	opts := mqtt.NewClientOptions().AddBroker("tcp://" + addr).SetClientID(clientID).SetCleanSession(true).
		SetAutoReconnect(false).SetOrderMatters(false)
	c := mqtt.NewClient(opts)
	if t := c.Connect(); !t.WaitTimeout(10*time.Second) || t.Error() != nil {
		return nil, fmt.Errorf("paho connect %s: %v", addr, t.Error())
	}
	return &PahoBroker{c: c}, nil
}

// Publish implements Broker.
func (p *PahoBroker) Publish(topic string, qos byte, retain bool, payload []byte) error {
	t := p.c.Publish(topic, qos, retain, payload)
	if !t.WaitTimeout(10 * time.Second) {
		return errors.New("paho publish: timeout")
	}
	return t.Error()
}

// Subscribe implements Broker.
func (p *PahoBroker) Subscribe(topic string, qos byte, deliver func(string, []byte)) error {
	t := p.c.Subscribe(topic, qos, func(_ mqtt.Client, m mqtt.Message) { deliver(m.Topic(), m.Payload()) })
	if !t.WaitTimeout(10 * time.Second) {
		return errors.New("paho subscribe: timeout")
	}
	return t.Error()
}

// Close disconnects.
func (p *PahoBroker) Close() { p.c.Disconnect(100) }

// Subscribers is the number of sessions subscribed to topic.
func (g *FakeGateway) Subscribers(topic string) int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return len(g.topicSub[topic])
}
