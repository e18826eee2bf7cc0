package scenario

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"regexp"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// Scenario is one run of the simulator: where to find the gateway and the broker, how long to
// run, and the groups of sensors to simulate.
type Scenario struct {
	// Name labels the run in reports; defaults to the file name without extension.
	Name string `yaml:"name"`
	// Gateway is the MQTT-SN gateway's UDP address; --gateway overrides it. Default 127.0.0.1:1884.
	Gateway string `yaml:"gateway"`
	// Broker is the MQTT broker the checker subscribes to; --broker overrides it. Default 127.0.0.1:1883.
	Broker string `yaml:"broker"`
	// Duration of the publishing phase; zero means "until every sensor has sent its Messages".
	Duration time.Duration `yaml:"duration"`
	// Drain is how long the checker keeps listening after the last publish. Default 5s.
	Drain time.Duration `yaml:"drain"`
	// Seed makes jitter, ramps and impairments reproducible. Zero picks 1.
	Seed int64 `yaml:"seed"`
	// Groups of identical sensors; at least one.
	Groups []Group `yaml:"groups"`
}

// Group is a set of identical sensors.
type Group struct {
	// Name is used in {group} and in reports; required, unique, [A-Za-z0-9_-]+.
	Name string `yaml:"name"`
	// Count of sensors in the group; at least 1.
	Count int `yaml:"count"`
	// ClientID is a pattern for the MQTT-SN client id, e.g. "temp-{index:04}". Default
	// "{group}-{index}". Must expand to 1..23 characters.
	ClientID string `yaml:"client_id"`
	// Transport is udp (default). dtls and serial are reserved for later versions of snsim.
	Transport string `yaml:"transport"`
	// Forwarder, when set, puts many sensors behind one UDP socket through MQTT-SN forwarder
	// encapsulation (§5.5, message 0xFE) instead of one socket per sensor.
	Forwarder *Forwarder `yaml:"forwarder"`
	// KeepAlive sent in CONNECT. Default 60s.
	KeepAlive time.Duration `yaml:"keepalive"`
	// CleanSession of the CONNECT. Default true.
	CleanSession *bool `yaml:"clean_session"`
	// Ramp spreads the connects of the group evenly over this time. Zero connects all at once.
	Ramp time.Duration `yaml:"ramp"`
	// Publish is what each sensor sends; nil for pure actuators.
	Publish *Publish `yaml:"publish"`
	// Will registered at CONNECT (§6.2).
	Will *Will `yaml:"will"`
	// Subscriptions make the sensors actuators; commands are published to them by the checker.
	Subscriptions []Subscription `yaml:"subscriptions"`
	// Sleep cycles (§6.14); nil keeps the sensors active.
	Sleep *Sleep `yaml:"sleep"`
	// Impair is applied to every datagram this group's sensors send and receive.
	Impair Impairments `yaml:"impair"`
}

// Forwarder configures forwarder encapsulation.
type Forwarder struct {
	// SensorsPerSocket is how many sensors share one UDP socket (one forwarder). Default: all.
	SensorsPerSocket int `yaml:"sensors_per_socket"`
}

// Publish describes the uplink traffic of each sensor.
type Publish struct {
	// Topic pattern, e.g. "site/{group}/{id}/temp". For short topics it must expand to exactly 2
	// characters; for predefined topics it is the name the gateway maps TopicID to.
	Topic string `yaml:"topic"`
	// TopicIDType: normal (REGISTER first; default), predefined or short.
	TopicIDType string `yaml:"topic_id_type"`
	// TopicID is the predefined topic id (topic_id_type predefined only), 1..65534.
	TopicID int `yaml:"topic_id"`
	// QoS -1, 0, 1 or 2. QoS -1 needs a predefined or short topic.
	QoS    int  `yaml:"qos"`
	Retain bool `yaml:"retain"`
	// Interval between two publishes of one sensor, with ±Jitter. Exclusive with Rate.
	Interval time.Duration `yaml:"interval"`
	Jitter   time.Duration `yaml:"jitter"`
	// Rate is the target rate of the whole group ("200/s", "30/min" or a number per second).
	Rate Rate `yaml:"rate"`
	// Messages each sensor sends; zero means until the scenario's Duration ends.
	Messages int `yaml:"messages"`
	// PayloadSize is the total payload size in bytes, at least HeaderSize (the checker's header).
	// Default HeaderSize.
	PayloadSize int `yaml:"payload_size"`
	// PayloadTemplate is appended after the checker's header, with {group}, {id}, {index}, {seq}
	// expanded. Exclusive with PayloadSize.
	PayloadTemplate string `yaml:"payload_template"`
}

// Will is the sensor's last will.
type Will struct {
	Topic   string `yaml:"topic"`
	Message string `yaml:"message"`
	QoS     int    `yaml:"qos"`
	Retain  bool   `yaml:"retain"`
}

// Subscription makes a sensor an actuator that must receive the commands published to it.
type Subscription struct {
	// Topic pattern, e.g. "site/{group}/{id}/cmd"; one concrete topic per sensor, no wildcards.
	Topic string `yaml:"topic"`
	// TopicIDType: normal (default), predefined or short.
	TopicIDType string `yaml:"topic_id_type"`
	TopicID     int    `yaml:"topic_id"`
	// QoS 0..2 of the subscription and of the commands the checker publishes.
	QoS int `yaml:"qos"`
	// CommandRate is the rate at which the checker publishes commands to the whole group.
	CommandRate Rate `yaml:"command_rate"`
	// Commands per sensor; zero means until the scenario's Duration ends.
	Commands int `yaml:"commands"`
}

// Sleep describes sleep cycles (§6.14): awake for Awake, then DISCONNECT(Duration) and asleep.
type Sleep struct {
	// Awake is the time spent active between two sleeps.
	Awake time.Duration `yaml:"awake"`
	// Duration of each sleep, sent in DISCONNECT; 1s..65535s.
	Duration time.Duration `yaml:"duration"`
	// Wake is how the sensor wakes: "pingreq" (poll buffered messages, then back to sleep;
	// default) or "connect" (go active again).
	Wake string `yaml:"wake"`
}

// Impairments degrade the sensor's link, in both directions.
type Impairments struct {
	Loss      Percent       `yaml:"loss"`
	Duplicate Percent       `yaml:"duplicate"`
	Reorder   Percent       `yaml:"reorder"`
	Delay     time.Duration `yaml:"delay"`
	Jitter    time.Duration `yaml:"jitter"`
	// Queue bounds the datagrams held for delay or reordering; beyond it they are dropped and
	// counted. Default 1024.
	Queue int `yaml:"queue"`
}

// Any reports whether any impairment is configured.
func (im Impairments) Any() bool {
	return im.Loss > 0 || im.Duplicate > 0 || im.Reorder > 0 || im.Delay > 0 || im.Jitter > 0
}

// Topic id types, as written in a scenario.
const (
	TopicNormal     = "normal"
	TopicPredefined = "predefined"
	TopicShort      = "short"
)

// HeaderSize is the size of the checker's header at the start of every payload.
const HeaderSize = 21

// maxClientID is the MQTT-SN limit on client ids (§5.3.1).
const maxClientID = 23

// Percent is a probability in [0,1], written "10%" or 0.1.
type Percent float64

// UnmarshalYAML accepts "12.5%" or a fraction between 0 and 1.
func (p *Percent) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.ScalarNode {
		return fmt.Errorf("line %d: want a percentage like \"10%%\" or 0.1", n.Line)
	}
	s := strings.TrimSpace(n.Value)
	var v float64
	var err error
	if pct, ok := strings.CutSuffix(s, "%"); ok {
		v, err = strconv.ParseFloat(strings.TrimSpace(pct), 64)
		v /= 100
	} else {
		v, err = strconv.ParseFloat(s, 64)
	}
	if err != nil || math.IsNaN(v) || v < 0 || v > 1 {
		return fmt.Errorf("line %d: %q is not a percentage between 0%% and 100%%", n.Line, n.Value)
	}
	*p = Percent(v)
	return nil
}

// Rate is events per second, written "200/s", "30/min", "2/h" or a number per second.
type Rate float64

// UnmarshalYAML parses a rate.
func (r *Rate) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.ScalarNode {
		return fmt.Errorf("line %d: want a rate like \"200/s\"", n.Line)
	}
	v, err := ParseRate(n.Value)
	if err != nil {
		return fmt.Errorf("line %d: %w", n.Line, err)
	}
	*r = v
	return nil
}

// ParseRate parses "200/s", "30/min", "2/h" or a plain number of events per second.
func ParseRate(s string) (Rate, error) {
	num, unit, hasUnit := strings.Cut(strings.TrimSpace(s), "/")
	v, err := strconv.ParseFloat(strings.TrimSpace(num), 64)
	if err != nil || math.IsNaN(v) || math.IsInf(v, 0) || v < 0 {
		return 0, fmt.Errorf("%q is not a rate like \"200/s\"", s)
	}
	if hasUnit {
		switch strings.TrimSpace(unit) {
		case "s", "sec":
		case "m", "min":
			v /= 60
		case "h":
			v /= 3600
		default:
			return 0, fmt.Errorf("%q: unknown rate unit %q (s, min, h)", s, unit)
		}
	}
	return Rate(v), nil
}

// Load reads and validates a scenario file.
func Load(path string) (*Scenario, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	sc, err := Parse(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if sc.Name == "" {
		base := path[strings.LastIndex(path, "/")+1:]
		sc.Name = strings.TrimSuffix(strings.TrimSuffix(base, ".yaml"), ".yml")
	}
	return sc, nil
}

var unknownField = regexp.MustCompile(`line (\d+): field (\S+) not found in type \S+`)

// Parse decodes a scenario strictly (an unknown key is an error naming the key and its line),
// applies defaults and validates it.
func Parse(data []byte) (*Scenario, error) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	var sc Scenario
	if err := dec.Decode(&sc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, errors.New("empty scenario")
		}
		var te *yaml.TypeError
		if errors.As(err, &te) {
			msgs := make([]string, len(te.Errors))
			for i, m := range te.Errors {
				msgs[i] = unknownField.ReplaceAllString(m, `line $1: unknown key "$2"`)
			}
			return nil, errors.New(strings.Join(msgs, "; "))
		}
		return nil, err
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		return nil, errors.New("more than one YAML document in the scenario")
	}
	sc.setDefaults()
	if err := sc.Validate(); err != nil {
		return nil, err
	}
	return &sc, nil
}

// Complete applies the defaults and validates a scenario built in code rather than parsed.
func (sc *Scenario) Complete() error {
	sc.setDefaults()
	return sc.Validate()
}

func (sc *Scenario) setDefaults() {
	if sc.Gateway == "" {
		sc.Gateway = "127.0.0.1:1884"
	}
	if sc.Broker == "" {
		sc.Broker = "127.0.0.1:1883"
	}
	if sc.Drain == 0 {
		sc.Drain = 5 * time.Second
	}
	if sc.Seed == 0 {
		sc.Seed = 1
	}
	for i := range sc.Groups {
		g := &sc.Groups[i]
		if g.ClientID == "" {
			g.ClientID = "{group}-{index}"
		}
		if g.Transport == "" {
			g.Transport = "udp"
		}
		if g.KeepAlive == 0 {
			g.KeepAlive = 60 * time.Second
		}
		if g.CleanSession == nil {
			t := true
			g.CleanSession = &t
		}
		if g.Forwarder != nil && g.Forwarder.SensorsPerSocket == 0 {
			g.Forwarder.SensorsPerSocket = g.Count
		}
		if p := g.Publish; p != nil {
			if p.TopicIDType == "" {
				p.TopicIDType = TopicNormal
			}
			if p.PayloadSize == 0 && p.PayloadTemplate == "" {
				p.PayloadSize = HeaderSize
			}
		}
		for j := range g.Subscriptions {
			if g.Subscriptions[j].TopicIDType == "" {
				g.Subscriptions[j].TopicIDType = TopicNormal
			}
		}
		if g.Sleep != nil && g.Sleep.Wake == "" {
			g.Sleep.Wake = "pingreq"
		}
		if g.Impair.Queue == 0 {
			g.Impair.Queue = 1024
		}
	}
}

var groupName = regexp.MustCompile(`^[A-Za-z0-9_-]+$`)

// Validate checks every rule of the format and reports the first broken one, naming the group.
func (sc *Scenario) Validate() error {
	if len(sc.Groups) == 0 {
		return errors.New("no groups: a scenario needs at least one group of sensors")
	}
	if sc.Duration < 0 || sc.Drain < 0 {
		return errors.New("duration and drain must not be negative")
	}
	seen := map[string]bool{}
	total := 0
	for i := range sc.Groups {
		g := &sc.Groups[i]
		if err := g.validate(sc); err != nil {
			name := g.Name
			if name == "" {
				name = fmt.Sprintf("#%d", i+1)
			}
			return fmt.Errorf("group %s: %w", name, err)
		}
		if seen[g.Name] {
			return fmt.Errorf("group %s: name used twice", g.Name)
		}
		seen[g.Name] = true
		total += g.Count
	}
	if total > math.MaxInt32 {
		return errors.New("too many sensors")
	}
	return nil
}

func (g *Group) validate(sc *Scenario) error {
	if !groupName.MatchString(g.Name) {
		return fmt.Errorf("name %q: want letters, digits, '-' or '_'", g.Name)
	}
	if g.Count < 1 || g.Count > 1_000_000 {
		return fmt.Errorf("count %d: want 1..1000000", g.Count)
	}
	switch g.Transport {
	case "udp":
	case "dtls", "serial":
		return fmt.Errorf("transport %s is not supported by this snsim yet (udp only)", g.Transport)
	default:
		return fmt.Errorf("transport %q: want udp (dtls and serial are reserved)", g.Transport)
	}
	if g.Forwarder != nil && (g.Forwarder.SensorsPerSocket < 1) {
		return fmt.Errorf("forwarder.sensors_per_socket %d: want at least 1", g.Forwarder.SensorsPerSocket)
	}
	if err := checkPattern(g.ClientID, false); err != nil {
		return fmt.Errorf("client_id: %w", err)
	}
	// The longest id is the one with the largest index.
	if id := Expand(g.ClientID, Vars{Group: g.Name, Index: g.Count - 1}); len(id) == 0 || len(id) > maxClientID {
		return fmt.Errorf("client_id %q expands to %q: want 1..%d characters", g.ClientID, id, maxClientID)
	}
	if g.KeepAlive < time.Second || g.KeepAlive > 65535*time.Second {
		return fmt.Errorf("keepalive %v: want 1s..65535s", g.KeepAlive)
	}
	if g.Ramp < 0 {
		return errors.New("ramp must not be negative")
	}
	if g.Publish == nil && len(g.Subscriptions) == 0 {
		return errors.New("neither publish nor subscriptions: the sensors would do nothing")
	}
	if p := g.Publish; p != nil {
		if err := p.validate(sc, g); err != nil {
			return fmt.Errorf("publish: %w", err)
		}
	}
	for j := range g.Subscriptions {
		if err := g.Subscriptions[j].validate(sc, g); err != nil {
			return fmt.Errorf("subscriptions[%d]: %w", j, err)
		}
		if g.Subscriptions[j].QoS != g.Subscriptions[0].QoS {
			return errors.New("subscriptions: all of a group's subscriptions share one QoS (the checker follows one command stream per actuator)")
		}
	}
	if w := g.Will; w != nil {
		if err := checkTopicPattern(w.Topic, TopicNormal, 0); err != nil {
			return fmt.Errorf("will.topic: %w", err)
		}
		if w.QoS < 0 || w.QoS > 2 {
			return fmt.Errorf("will.qos %d: want 0..2", w.QoS)
		}
	}
	if s := g.Sleep; s != nil {
		if s.Awake <= 0 {
			return errors.New("sleep.awake: want a positive duration")
		}
		if s.Duration < time.Second || s.Duration > 65535*time.Second {
			return fmt.Errorf("sleep.duration %v: want 1s..65535s", s.Duration)
		}
		if s.Wake != "pingreq" && s.Wake != "connect" {
			return fmt.Errorf("sleep.wake %q: want pingreq or connect", s.Wake)
		}
		if p := g.Publish; p != nil && p.QoS == -1 {
			return errors.New("sleep with qos -1 publishing: a QoS -1 sensor never connects, so it cannot sleep")
		}
	}
	im := g.Impair
	if im.Delay < 0 || im.Jitter < 0 {
		return errors.New("impair: delay and jitter must not be negative")
	}
	if im.Queue < 1 {
		return fmt.Errorf("impair.queue %d: want at least 1", im.Queue)
	}
	return nil
}

func (p *Publish) validate(sc *Scenario, g *Group) error {
	if p.QoS < -1 || p.QoS > 2 {
		return fmt.Errorf("qos %d: want -1, 0, 1 or 2", p.QoS)
	}
	if err := checkTopicIDType(p.TopicIDType, p.TopicID); err != nil {
		return err
	}
	if p.QoS == -1 && p.TopicIDType == TopicNormal {
		return errors.New("qos -1 needs topic_id_type predefined or short (§6.8)")
	}
	if err := checkTopicPattern(p.Topic, p.TopicIDType, g.Count); err != nil {
		return fmt.Errorf("topic: %w", err)
	}
	if p.Interval < 0 || p.Jitter < 0 {
		return errors.New("interval and jitter must not be negative")
	}
	switch {
	case p.Interval > 0 && p.Rate > 0:
		return errors.New("give interval or rate, not both")
	case p.Interval == 0 && p.Rate == 0:
		return errors.New("give interval or rate")
	}
	if p.Jitter > p.Interval && p.Interval > 0 {
		return fmt.Errorf("jitter %v is larger than interval %v", p.Jitter, p.Interval)
	}
	if p.Messages < 0 {
		return errors.New("messages must not be negative")
	}
	if p.Messages == 0 && sc.Duration == 0 {
		return errors.New("messages is 0 and the scenario has no duration: the run would never end")
	}
	if p.PayloadTemplate != "" {
		if p.PayloadSize != 0 {
			return errors.New("give payload_size or payload_template, not both")
		}
		if err := checkPattern(p.PayloadTemplate, true); err != nil {
			return fmt.Errorf("payload_template: %w", err)
		}
	}
	if p.PayloadTemplate == "" && (p.PayloadSize < HeaderSize || p.PayloadSize > 65000) {
		return fmt.Errorf("payload_size %d: want %d..65000 (the checker's header takes %d bytes)", p.PayloadSize, HeaderSize, HeaderSize)
	}
	return nil
}

func (s *Subscription) validate(sc *Scenario, g *Group) error {
	if s.QoS < 0 || s.QoS > 2 {
		return fmt.Errorf("qos %d: want 0..2", s.QoS)
	}
	if err := checkTopicIDType(s.TopicIDType, s.TopicID); err != nil {
		return err
	}
	if err := checkTopicPattern(s.Topic, s.TopicIDType, g.Count); err != nil {
		return fmt.Errorf("topic: %w", err)
	}
	if s.CommandRate <= 0 {
		return errors.New("command_rate: want a positive rate like \"10/s\"")
	}
	if s.Commands < 0 {
		return errors.New("commands must not be negative")
	}
	if s.Commands == 0 && sc.Duration == 0 {
		return errors.New("commands is 0 and the scenario has no duration: the run would never end")
	}
	return nil
}

func checkTopicIDType(t string, id int) error {
	switch t {
	case TopicNormal, TopicShort:
		if id != 0 {
			return fmt.Errorf("topic_id is only for topic_id_type predefined, not %s", t)
		}
	case TopicPredefined:
		if id < 1 || id > 0xFFFE {
			return fmt.Errorf("topic_id %d: a predefined id is 1..65534", id)
		}
	default:
		return fmt.Errorf("topic_id_type %q: want normal, predefined or short", t)
	}
	return nil
}

// checkTopicPattern checks a topic pattern; for short topics every sensor's topic must be exactly
// 2 characters (§6.7), which count (the group size) lets us check on the longest expansion.
func checkTopicPattern(p, idType string, count int) error {
	if p == "" {
		return errors.New("empty topic")
	}
	if strings.ContainsAny(p, "+#\x00") {
		return fmt.Errorf("%q: a sensor's topic must not contain wildcards or NUL", p)
	}
	if err := checkPattern(p, false); err != nil {
		return err
	}
	if idType == TopicPredefined && strings.Contains(p, "{") {
		return fmt.Errorf("%q: a predefined topic id names one topic, so its name takes no placeholders", p)
	}
	if idType == TopicShort {
		for _, idx := range []int{0, max(count-1, 0)} {
			if t := Expand(p, Vars{Group: "g", ID: "x", Index: idx}); len(t) != 2 || strings.Contains(p, "{group}") || strings.Contains(p, "{id}") {
				return fmt.Errorf("%q: a short topic name is exactly 2 characters for every sensor (§6.7)", p)
			}
		}
	}
	return nil
}

var placeholder = regexp.MustCompile(`\{([a-z]+)(?::(\d+))?\}`)

// checkPattern rejects placeholders we do not know, so a typo is an error, not a literal "{idx}".
func checkPattern(p string, payload bool) error {
	for _, m := range placeholder.FindAllStringSubmatch(p, -1) {
		switch m[1] {
		case "group", "index", "id", "n":
		case "seq":
			if !payload {
				return fmt.Errorf("%q: {seq} is only allowed in payload_template", p)
			}
		default:
			return fmt.Errorf("%q: unknown placeholder {%s} (group, id, index, n, seq)", p, m[1])
		}
		if m[2] != "" && len(m[2]) > 2 {
			return fmt.Errorf("%q: width %s too large", p, m[2])
		}
	}
	// Payloads may hold JSON braces; names and ids may not hold a stray '{'.
	if !payload && strings.Count(p, "{") != len(placeholder.FindAllString(p, -1)) {
		return fmt.Errorf("%q: unbalanced or malformed '{' placeholder", p)
	}
	return nil
}

// Vars are the values a pattern may refer to.
type Vars struct {
	Group string // {group}
	ID    string // {id}: the client id
	Index int    // {index}: index within the group, from 0; {index:04} pads with zeros
	N     int    // {n}: index across the scenario, from 0
	Seq   uint32 // {seq}: message sequence number (payload templates only)
}

// Expand substitutes the placeholders of a pattern already checked by Validate.
func Expand(p string, v Vars) string {
	if !strings.Contains(p, "{") {
		return p
	}
	return placeholder.ReplaceAllStringFunc(p, func(m string) string {
		sm := placeholder.FindStringSubmatch(m)
		var num int64
		switch sm[1] {
		case "group":
			return v.Group
		case "id":
			return v.ID
		case "index":
			num = int64(v.Index)
		case "n":
			num = int64(v.N)
		case "seq":
			num = int64(v.Seq)
		default:
			return m
		}
		s := strconv.FormatInt(num, 10)
		if w, _ := strconv.Atoi(sm[2]); len(s) < w {
			s = strings.Repeat("0", w-len(s)) + s
		}
		return s
	})
}

// Sensors is the total number of sensors of the scenario.
func (sc *Scenario) Sensors() int {
	n := 0
	for _, g := range sc.Groups {
		n += g.Count
	}
	return n
}
