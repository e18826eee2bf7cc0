package session

import (
	"encoding/binary"
	"errors"
	"time"

	"snbridge/mqttsn/packet"
	"snbridge/mqttsn/topics"
)

// State is where a client is in the §6.14 state diagram (plus the will handshake of §6.2).
//
//	                 CONNECT (+ WILLTOPICREQ/WILLTOPIC/WILLMSGREQ/WILLMSG)
//	disconnected ────────────────────────────────────────────────▶ active ◀──────────┐
//	  ▲   ▲                                                    │  │   │              │
//	  │   └──────────── DISCONNECT ───────────────────────────┘  │   │ keep-alive   │ CONNECT
//	  │                                         DISCONNECT(dur)   │   │ expiry,      │ (flags ignored,
//	  │ DISCONNECT                                                ▼   ▼ retries out  │  E14)
//	  ├──────────────────────────────────────────────────── asleep    lost (will) ◀┐ │
//	  │                              PINGREQ(id)  │  ▲  DISCONNECT(dur): restart    │ │
//	  │                                           ▼  │  sleep timer (E15)           │ │
//	  └─────────────────────────────────────────── awake ── PINGRESP after the ─────┘ │
//	                                                │        buffered messages         │
//	                                                └──────────────────────────────────┘
//	asleep ── sleep timer expiry (+ tolerance, E16) ──▶ lost (will published)
type State uint8

const (
	Disconnected State = iota
	WaitWillTopic
	WaitWillMsg
	Active
	Asleep
	Awake
	Lost
)

var stateNames = [...]string{"disconnected", "wait-willtopic", "wait-willmsg", "active", "asleep", "awake", "lost"}

func (s State) String() string {
	if int(s) < len(stateNames) {
		return stateNames[s]
	}
	return "state?"
}

// TimerKind names the timers a session asks its owner to arm.
type TimerKind uint8

const (
	// TimerSupervise: keep-alive, sleep duration or will-handshake deadline.
	TimerSupervise TimerKind = iota
	// TimerRetry: retransmission of the gateway's REGISTER / PUBLISH / PUBREL (T_RETRY).
	TimerRetry
)

// ActionKind says what an Action asks the owner to do.
type ActionKind uint8

const (
	Send  ActionKind = iota // send Msg to the client
	Arm                     // call Session.Timer(now, Timer) at At (an earlier pending one may fire first; that is harmless)
	Close                   // the session is over: forget it (after the Sends before it)
)

// Action is one thing the owner of a session must do, in order.
type Action struct {
	Kind  ActionKind
	Msg   packet.Message
	Timer TimerKind
	At    time.Time
}

// delivery is one downlink message waiting for, or in, transmission to the client.
type delivery struct {
	topic    string
	payload  []byte
	packetID uint16 // broker's, for Ack; 0 for QoS 0
	msgID    uint16 // on the wire, once sent: the packetID for QoS 1/2, ours for REGISTER
	topicID  uint16
	qos      byte
	retain   bool
	dup      bool  // the broker resends it: it may have reached the client before
	stage    uint8 // see stage*
	retries  uint8
	idType   topics.IDType
}

const (
	stageQueued      uint8 = iota
	stageRegistering       // our REGISTER for its topic is unacknowledged
	stagePublished         // PUBLISH QoS 1/2 sent, waiting for PUBACK / PUBREC
	stageReleased          // PUBREL sent, waiting for PUBCOMP
	stageRelease           // QoS 2 the client received on an earlier connection: PUBREL to send
)

// restart is what a persistent session carries over a restarted connection: the deliveries
// (their MsgIds and steps) and the QoS 2 ids awaiting PUBREL, as an MQTT reconnect resumes
// them [MQTT-4.4.0-1].
type restart struct {
	queue   []delivery
	uplinks []uplink
}

// uplink is a QoS 1/2 PUBLISH from the client being handled.
type uplink struct {
	msgID   uint16
	topicID uint16
	qos     byte
	done    bool // broker accepted it (QoS 2: PUBREC sent, waiting for PUBREL)
}

// maxUplinks bounds the QoS 2 message ids remembered for duplicate detection; past it the
// oldest completed one is forgotten.
const maxUplinks = 16

// Session is one MQTT-SN client as the gateway sees it. It is driven by one goroutine at a time.
type Session struct {
	cfg      *Config
	b        Broker
	clientID string
	reg      topics.Registry
	queue    []delivery // downlink, in order; queue[0] may be in transmission
	uplinks  []uplink
	will     *Will // held during the handshake and for will updates
	// resumed: the exchanges of a persistent session whose connection restarts (E27), taken
	// up again by attach if the broker still holds the session.
	resumed *restart
	// completed: packet ids this attachment acknowledged to the broker (see ack).
	completed []uint16

	superviseAt, superviseArmed int64 // Unix ns; armed = when the owner's pending timer fires (0 = none)
	retryAt, retryArmed         int64

	keepAlive uint16 // seconds (or sleep duration while asleep)
	nextMsgID uint16
	state     State
	clean     bool
	connected bool // the broker session is attached
	dirty     bool // registry changed: save it (CleanSession 0)

	Dropped uint32 // downlink messages dropped (buffer overflow, too big, refused topic)
}

// New returns a disconnected session of a client whose broker session is b.
func New(cfg *Config, b Broker) *Session {
	return &Session{cfg: cfg, b: b, nextMsgID: 1}
}

// State returns the session's state.
func (s *Session) State() State { return s.state }

// ClientID returns the client id given at CONNECT ("" before).
func (s *Session) ClientID() string { return s.clientID }

// CheckConnect returns the CONNACK return code a CONNECT is refused with before any state is
// made (E21 ProtocolId, E23 client id, a keep-alive above Config.MaxIdle), or Accepted.
func CheckConnect(cfg *Config, c *packet.Connect) packet.ReturnCode {
	if c.ProtocolID != packet.ProtocolID || c.ClientID == "" || len(c.ClientID) > cfg.maxClientIDLen() {
		return packet.NotSupported
	}
	if maxIdle := cfg.maxIdle(); maxIdle > 0 && time.Duration(c.Duration)*time.Second > maxIdle {
		// The gateway cannot tell the client a shorter keep-alive (CONNACK has no field for it);
		// refusing is better than losing a client that keeps its word.
		return packet.NotSupported
	}
	return packet.Accepted
}

func send(out []Action, m packet.Message) []Action { return append(out, Action{Kind: Send, Msg: m}) }

// Handle processes one message from the client and appends the resulting actions to out.
func (s *Session) Handle(now time.Time, m packet.Message, out []Action) []Action {
	if c, ok := m.(*packet.Connect); ok {
		return s.flush(s.connect(now, c, out))
	}
	switch s.state {
	case Disconnected, Lost:
		return send(out, &packet.Disconnect{}) // E28: CONNECT first
	case WaitWillTopic, WaitWillMsg:
		return s.handshake(now, m, out)
	}
	switch m := m.(type) {
	case *packet.Pingreq:
		out = s.pingreq(now, m, out)
	case *packet.Disconnect:
		out = s.disconnect(now, m, out)
	case *packet.Register:
		out = s.register(m, out)
	case *packet.Regack:
		out = s.regack(now, m, out)
	case *packet.Publish:
		out = s.publish(m, out)
	case *packet.Puback:
		out = s.puback(now, m, out)
	case *packet.Pubrec:
		out = s.pubrec(now, m, out)
	case *packet.Pubcomp:
		out = s.pubcomp(now, m, out)
	case *packet.Pubrel:
		out = s.pubrel(m, out)
	case *packet.Subscribe:
		out = s.subscribe(m, out)
	case *packet.Unsubscribe:
		out = s.unsubscribe(m, out)
	case *packet.WillTopicUpd:
		out = s.willTopicUpd(m, out)
	case *packet.WillMsgUpd:
		out = s.willMsgUpd(m, out)
	}
	if s.state == Active {
		out = s.touch(now, out)
	}
	return s.flush(out)
}

// touch restarts keep-alive supervision: any message from the client counts (§6.11). A client
// asking for keep-alive 0 is held to Config.MaxIdle as if it had asked for that (E22).
func (s *Session) touch(now time.Time, out []Action) []Action {
	d := time.Duration(s.keepAlive) * time.Second
	if d == 0 {
		if d = s.cfg.maxIdle(); d == 0 {
			s.superviseAt = 0 // no limit: never lost for silence
			return out
		}
	}
	return s.supervise(now.Add(Supervision(d)), out)
}

func (s *Session) supervise(at time.Time, out []Action) []Action {
	s.superviseAt = at.UnixNano()
	if s.superviseArmed == 0 || s.superviseArmed > s.superviseAt {
		s.superviseArmed = s.superviseAt
		out = append(out, Action{Kind: Arm, Timer: TimerSupervise, At: at})
	}
	return out
}

func (s *Session) armRetry(now time.Time, out []Action) []Action {
	s.retryAt = now.UnixNano() + s.cfg.retryInterval()
	if s.retryArmed == 0 || s.retryArmed > s.retryAt {
		s.retryArmed = s.retryAt
		out = append(out, Action{Kind: Arm, Timer: TimerRetry, At: time.Unix(0, s.retryAt)})
	}
	return out
}

// Timer is called when a timer armed by an Arm action fires.
func (s *Session) Timer(now time.Time, k TimerKind, out []Action) []Action {
	t := now.UnixNano()
	switch k {
	case TimerSupervise:
		s.superviseArmed = 0
		if s.superviseAt == 0 {
			return out
		}
		if t < s.superviseAt {
			return s.supervise(time.Unix(0, s.superviseAt), out)
		}
		s.superviseAt = 0
		switch s.state {
		case WaitWillTopic, WaitWillMsg:
			s.will, s.state = nil, Disconnected // handshake abandoned; nothing attached yet
			return append(out, Action{Kind: Close})
		case Active, Asleep, Awake:
			return s.lose(out) // §6.11 keep-alive, §6.14 sleep timer (E16)
		}
	case TimerRetry:
		s.retryArmed = 0
		if s.retryAt == 0 {
			return out
		}
		if t < s.retryAt {
			s.retryArmed = s.retryAt
			return append(out, Action{Kind: Arm, Timer: TimerRetry, At: time.Unix(0, s.retryAt)})
		}
		s.retryAt = 0
		return s.flush(s.retry(now, out))
	}
	return out
}

// lose ends the session abnormally: the broker publishes the will. A lost sleeper is asleep no
// more: a later PINGREQ with its client id must not find it so (and publish the will again).
func (s *Session) lose(out []Action) []Action {
	if s.connected {
		if s.state == Asleep || s.state == Awake {
			s.putSleep(nil)
		}
		s.b.Lost()
	}
	s.reset(Lost)
	return append(out, Action{Kind: Close})
}

// reset drops the connection state (not the identity) and enters st.
func (s *Session) reset(st State) {
	s.connected, s.state = false, st
	s.queue, s.uplinks, s.will, s.resumed, s.completed = nil, nil, nil, nil, nil
	s.superviseAt, s.retryAt = 0, 0
}

// Closed is called when the broker ends the session (takeover by another connection with the
// same client id, or broker shutdown): the client is told with DISCONNECT.
func (s *Session) Closed(out []Action) []Action {
	if !s.connected {
		return out
	}
	s.reset(Disconnected)
	out = send(out, &packet.Disconnect{})
	return append(out, Action{Kind: Close})
}

func (s *Session) newMsgID() uint16 {
	id := s.nextMsgID
	if s.nextMsgID++; s.nextMsgID == 0 {
		s.nextMsgID = 1 // E10: never 0
	}
	return id
}

// ---- connection (§6.2, §6.3) ----

func (s *Session) connect(now time.Time, c *packet.Connect, out []Action) []Action {
	if rc := CheckConnect(s.cfg, c); rc != packet.Accepted {
		return send(out, &packet.Connack{ReturnCode: rc})
	}
	s.keepAlive = c.Duration
	if (s.state == Asleep || s.state == Awake) && c.ClientID == s.clientID {
		// E14: back to active; flags ignored, no will handshake; deliver what was buffered.
		if s.state == Asleep {
			s.b.Resume()
		}
		wasAsleep := s.state == Asleep
		s.state = Active
		s.putSleep(nil)
		out = send(out, &packet.Connack{ReturnCode: packet.Accepted})
		out = s.touch(now, out)
		if wasAsleep {
			return s.resume(now, out)
		}
		return s.pump(now, out)
	}
	if s.connected {
		// E27: a CONNECT while connected restarts the connection (a rebooted node reconnects,
		// or the link duplicated a wake-up CONNECT). A persistent session resumes what was in
		// flight, with the same MsgIds, so a QoS 2 message the client holds is not sent anew.
		var r *restart
		if !s.clean && !c.CleanSession && c.ClientID == s.clientID {
			r = &restart{queue: s.queue, uplinks: s.completedUplinks()}
		}
		s.b.Disconnect()
		s.reset(Disconnected)
		s.resumed = r
	}
	s.clientID, s.clean = c.ClientID, c.CleanSession
	s.will = nil
	if c.Will {
		s.state = WaitWillTopic
		out = send(out, &packet.WillTopicReq{})
		return s.supervise(now.Add(s.handshakeTimeout()), out)
	}
	return s.attach(now, out, !c.CleanSession)
}

func (s *Session) handshakeTimeout() time.Duration {
	return time.Duration(s.cfg.retryInterval()) * time.Duration(s.cfg.maxRetries()+1)
}

func (s *Session) handshake(now time.Time, m packet.Message, out []Action) []Action {
	switch m := m.(type) {
	case *packet.WillTopic:
		// In WaitWillMsg it is a retransmission (§6.13) — or the answer to a WILLTOPICREQ the
		// link duplicated: take it again and prompt for the message again.
		if m.Delete() { // E19: empty WILLTOPIC deletes the will; no WILLMSGREQ
			return s.flush(s.attach(now, out, false))
		}
		s.will = &Will{Topic: m.Topic, QoS: byte(max(m.QoS, 0)), Retain: m.Retain}
		s.state = WaitWillMsg
		out = send(out, &packet.WillMsgReq{})
		return s.supervise(now.Add(s.handshakeTimeout()), out)
	case *packet.WillMsg:
		if s.state != WaitWillMsg {
			break
		}
		s.will.Payload = append([]byte(nil), m.Payload...)
		return s.flush(s.attach(now, out, false))
	}
	// §4.2 REC: anything else during the handshake ends it.
	s.reset(Disconnected)
	out = send(out, &packet.Disconnect{})
	return append(out, Action{Kind: Close})
}

// attach connects the broker session and answers CONNACK. keepWill: CleanSession 0 without the
// Will flag keeps the stored will (§6.3); otherwise s.will (possibly nil) replaces it.
func (s *Session) attach(now time.Time, out []Action, keepWill bool) []Action {
	r := s.resumed
	s.resumed, s.completed = nil, nil
	present, err := s.b.Connect(ConnectOptions{
		ClientID: s.clientID, CleanSession: s.clean, Will: s.will,
		QueueQoS0: true, MaxInflight: s.cfg.maxInflight(),
	})
	if err != nil {
		s.reset(Disconnected)
		out = send(out, &packet.Connack{ReturnCode: rcFor(err)})
		return append(out, Action{Kind: Close})
	}
	s.connected, s.state = true, Active
	s.reg.Reset(s.clientID, s.cfg.Predefined, s.cfg.maxTopics())
	if present && !s.clean {
		if b, ok := s.b.Data(DataTopics); ok {
			_ = s.reg.UnmarshalBinary(b) // malformed: start empty rather than refuse the client
		}
		// The client may have lost its ids: REGISTER them again before publishing (§6.10).
		s.reg.ForgetAll()
		if keepWill {
			s.restoreWill()
		}
	}
	if !s.clean {
		s.dirty = true
		s.putWill(s.will, keepWill)
		s.putSleep(nil)
	}
	out = send(out, &packet.Connack{ReturnCode: packet.Accepted})
	out = s.touch(now, out)
	if r != nil && present && !s.clean {
		// The broker resends its in-flight deliveries with their packet ids; Deliver holds
		// each once.
		s.queue, s.uplinks = r.queue, r.uplinks
		return s.resume(now, out)
	}
	return out
}

func rcFor(err error) packet.ReturnCode {
	if errors.Is(err, ErrNotAuthorized) {
		return packet.NotSupported
	}
	return packet.Congestion
}

// flush saves the registry of a persistent session after it changed.
func (s *Session) flush(out []Action) []Action {
	if s.dirty && s.connected && !s.clean {
		if b, err := s.reg.MarshalBinary(); err == nil {
			_ = s.b.PutData(DataTopics, b)
		}
	}
	s.dirty = false
	return out
}

// ---- keep-alive, disconnect, sleep (§6.11, §6.12, §6.14) ----

func (s *Session) pingreq(now time.Time, m *packet.Pingreq, out []Action) []Action {
	if m.ClientID != "" && m.ClientID != s.clientID {
		return out // not this client's (EMQX ignores it too)
	}
	switch s.state {
	case Asleep: // §6.14 wake-up; E31: without a client id too
		s.state = Awake
		s.superviseAt = 0
		s.b.Resume()
		return s.resume(now, out)
	case Awake:
		// A retransmitted PINGREQ: the client is still waiting, so what it waits for was lost
		// (our message or its acknowledgement). Send the outstanding step again at once rather
		// than at our T_RETRY, which may be longer than the client's and outlast its retries.
		if len(s.queue) > 0 && s.queue[0].stage != stageQueued && s.queue[0].stage != stageRelease {
			return s.armRetry(now, s.resend(&s.queue[0], out))
		}
		return s.pump(now, out)
	}
	return send(out, &packet.Pingresp{})
}

func (s *Session) disconnect(now time.Time, m *packet.Disconnect, out []Action) []Action {
	if !m.HasDuration || m.Duration == 0 {
		s.b.Disconnect()
		s.reset(Disconnected)
		out = send(out, &packet.Disconnect{})
		return append(out, Action{Kind: Close})
	}
	if s.state != Asleep {
		s.b.Suspend()
	}
	s.state, s.keepAlive = Asleep, m.Duration
	s.retryAt = 0
	d := Supervision(time.Duration(m.Duration) * time.Second)
	s.putSleep(&sleepInfo{duration: m.Duration, deadline: now.Add(d)})
	out = send(out, &packet.Disconnect{})
	return s.supervise(now.Add(d), out)
}

// awakeDone ends an awake period when nothing is left to send: PINGRESP, asleep again (§6.14).
func (s *Session) awakeDone(now time.Time, out []Action) []Action {
	s.state = Asleep
	s.b.Suspend()
	d := Supervision(time.Duration(s.keepAlive) * time.Second)
	s.putSleep(&sleepInfo{duration: s.keepAlive, deadline: now.Add(d)})
	out = send(out, &packet.Pingresp{})
	return s.supervise(now.Add(d), out)
}

type sleepInfo struct {
	duration uint16
	deadline time.Time
}

func (s *Session) putSleep(si *sleepInfo) {
	if s.clean || !s.connected {
		return
	}
	var b []byte
	if si != nil {
		b = binary.BigEndian.AppendUint16(make([]byte, 0, 10), si.duration)
		// Whole seconds, rounded up: never lost before its time after a restart.
		b = binary.BigEndian.AppendUint64(b, uint64(si.deadline.Add(time.Second-1).Unix()))
	}
	_ = s.b.PutData(DataSleep, b)
}

// SleepDeadline reads the value a session keeps under DataSleep: when the sleeper is lost if it
// has not woken by then (its sleep duration and the §7.2 tolerance after it fell asleep).
func SleepDeadline(b []byte) (time.Time, bool) {
	si, ok := decodeSleep(b)
	return si.deadline, ok
}

func decodeSleep(b []byte) (sleepInfo, bool) {
	if len(b) != 10 {
		return sleepInfo{}, false
	}
	return sleepInfo{duration: binary.BigEndian.Uint16(b), deadline: time.Unix(int64(binary.BigEndian.Uint64(b[2:])), 0)}, true
}

// Resume re-attaches a CleanSession-0 client that was asleep when the gateway stopped, found by
// the client id of its waking PINGREQ. It reports false (and leaves nothing attached) when the
// broker has no such sleeping session; the owner then answers DISCONNECT. A sleeper whose sleep
// timer ran out meanwhile is lost: its will is published.
func (s *Session) Resume(now time.Time, clientID string, out []Action) ([]Action, bool) {
	if clientID == "" || len(clientID) > s.cfg.maxClientIDLen() {
		return out, false
	}
	present, err := s.b.Connect(ConnectOptions{ClientID: clientID, QueueQoS0: true, MaxInflight: s.cfg.maxInflight()})
	if err != nil {
		return out, false
	}
	raw, _ := s.b.Data(DataSleep)
	si, asleep := decodeSleep(raw)
	if !present || !asleep {
		s.b.Disconnect()
		return out, false
	}
	s.clientID, s.connected, s.clean, s.keepAlive = clientID, true, false, si.duration
	s.restoreWill() // attaching without one cleared it in the broker
	s.state = Asleep
	if now.After(si.deadline) {
		s.lose(nil)
		return out, false
	}
	s.reg.Reset(clientID, s.cfg.Predefined, s.cfg.maxTopics())
	if b, ok := s.b.Data(DataTopics); ok {
		_ = s.reg.UnmarshalBinary(b)
	}
	s.b.Suspend()
	return s.supervise(si.deadline, out), true
}

// ---- will (§6.3, §6.4) ----

func (s *Session) putWill(w *Will, keep bool) {
	if keep || s.clean {
		return
	}
	_ = s.b.PutData(DataWill, encodeWill(w))
}

func encodeWill(w *Will) []byte {
	if w == nil {
		return nil
	}
	b := []byte{w.QoS<<5 | boolBit(w.Retain)<<4}
	b = binary.BigEndian.AppendUint16(b, uint16(len(w.Topic)))
	b = append(b, w.Topic...)
	return append(b, w.Payload...)
}

// StoredWill reads the will a persistent session keeps under DataWill.
func StoredWill(b []byte) (*Will, bool) { return decodeWill(b) }

func decodeWill(b []byte) (*Will, bool) {
	if len(b) < 3 {
		return nil, false
	}
	n := int(binary.BigEndian.Uint16(b[1:]))
	if n == 0 || len(b) < 3+n || b[0]>>5 > 2 {
		return nil, false
	}
	return &Will{QoS: b[0] >> 5, Retain: b[0]&0x10 != 0, Topic: string(b[3 : 3+n]), Payload: append([]byte(nil), b[3+n:]...)}, true
}

func boolBit(b bool) byte {
	if b {
		return 1
	}
	return 0
}

// restoreWill hands the stored will of a persistent session back to the broker, which forgets
// it when the client is detached normally and when it is attached without one.
func (s *Session) restoreWill() {
	if b, ok := s.b.Data(DataWill); ok {
		if w, ok := decodeWill(b); ok {
			s.b.SetWill(w)
		}
	}
}

// currentWill reads the will the session holds for updates (E20): the one of this connection,
// or the stored one a persistent session kept from an earlier connection.
func (s *Session) currentWill() *Will {
	if s.will != nil {
		return s.will
	}
	if !s.clean {
		if b, ok := s.b.Data(DataWill); ok {
			if w, ok := decodeWill(b); ok {
				return w
			}
		}
	}
	return nil
}

func (s *Session) willTopicUpd(m *packet.WillTopicUpd, out []Action) []Action {
	if m.Delete() { // §6.4: deletes topic and message
		s.setWill(nil)
		return send(out, &packet.WillTopicResp{ReturnCode: packet.Accepted})
	}
	if topics.HasWildcard(m.Topic) || m.QoS < 0 {
		return send(out, &packet.WillTopicResp{ReturnCode: packet.NotSupported})
	}
	w := &Will{Topic: m.Topic, QoS: byte(m.QoS), Retain: m.Retain}
	if old := s.currentWill(); old != nil {
		w.Payload = old.Payload
	}
	s.setWill(w)
	return send(out, &packet.WillTopicResp{ReturnCode: packet.Accepted})
}

func (s *Session) willMsgUpd(m *packet.WillMsgUpd, out []Action) []Action {
	old := s.currentWill()
	if old == nil { // E20: no will topic to attach the message to
		return send(out, &packet.WillMsgResp{ReturnCode: packet.NotSupported})
	}
	w := *old
	w.Payload = append([]byte(nil), m.Payload...)
	s.setWill(&w)
	return send(out, &packet.WillMsgResp{ReturnCode: packet.Accepted})
}

// setWill hands w to the broker and keeps it: in memory, where the next update starts from, and
// in the store for a persistent session (so a later CONNECT without the Will flag keeps it, §6.3).
func (s *Session) setWill(w *Will) {
	s.b.SetWill(w)
	s.will = w
	s.putWill(w, false)
}
