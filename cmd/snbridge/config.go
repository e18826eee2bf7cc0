package main

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/pflag"
	"go.yaml.in/yaml/v3"
)

// Config is the whole snbridge configuration: a YAML file (configs/snbridge.yaml shows every key
// at its default) decoded strictly over DefaultConfig(), then command-line flags (ApplyFlags).
// The comment of each field says what its zero value means. A listener address is host:port,
// :port or "off"; "off" (or "") is stored as "" and means the listener is not started.
type Config struct {
	// LogLevel is debug, info, warn or error; "" means info.
	LogLevel string `yaml:"log_level" check:"loglevel"`
	// DataDir holds the store file (snbridge.db). Default "./data".
	DataDir string `yaml:"data_dir"`
	// Store keeps retained messages and persistent sessions in DataDir across restarts; false
	// keeps them in memory only. Default true.
	Store bool `yaml:"store"`

	Listeners Listeners `yaml:"listeners"`
	Limits    Limits    `yaml:"limits"`
	Auth      Auth      `yaml:"auth"`
	MQTTSN    MQTTSN    `yaml:"mqttsn"`
}

// Listeners are the MQTT 3.1.1 listeners of the broker.
type Listeners struct {
	// MQTT is the plain TCP listener. Default ":1883".
	MQTT string `yaml:"mqtt" check:"listen"`
	// MQTTTLS is the TLS listener (conventionally :8883). Off by default.
	MQTTTLS TLSListener `yaml:"mqtt_tls"`
	// WebSocket is MQTT over WebSocket [MQTT-6.0.0-1]. Off by default.
	WebSocket WebSocketListener `yaml:"websocket"`
}

// TLSListener is a TCP listener with TLS.
type TLSListener struct {
	// Addr is where to listen; "" means off (the default).
	Addr string `yaml:"addr" check:"listen"`
	// CertFile and KeyFile are the server's PEM certificate chain and key; both are required
	// when Addr is set.
	CertFile string `yaml:"cert_file"`
	KeyFile  string `yaml:"key_file"`
	// ClientCAFile is a PEM bundle of CAs that client certificates are verified against; ""
	// means client certificates are not asked for.
	ClientCAFile string `yaml:"client_ca_file"`
	// RequireClientCert refuses clients without a valid certificate (mutual TLS); needs
	// ClientCAFile.
	RequireClientCert bool `yaml:"require_client_cert"`
}

// WebSocketListener serves MQTT over WebSocket on an HTTP path.
type WebSocketListener struct {
	// Addr is where to listen; "" means off (the default).
	Addr string `yaml:"addr" check:"listen"`
	// Path is the HTTP path of the endpoint; "" means "/mqtt" (the default).
	Path string `yaml:"path" check:"urlpath"`
}

// Limits bound what clients may use.
type Limits struct {
	// MaxConnections is the most concurrent network clients (MQTT over TCP, TLS, WebSocket),
	// and, counted apart, the most MQTT-SN sensors the gateway holds (past it a CONNECT gets
	// CONNACK 0x01 "congestion"); 0 means no limit (the default).
	MaxConnections int `yaml:"max_connections"`
	// MaxPacketSize is the largest MQTT packet accepted, in bytes; 0 means the protocol's
	// 268435455. Default 1048576 (1 MiB), which keeps one client from taking a small
	// machine's memory.
	MaxPacketSize int `yaml:"max_packet_size" check:"max=268435455"`
	// MaxInflight is the QoS 1/2 deliveries per session awaiting acknowledgement; 0 means
	// 65535 (all packet ids). Default 20.
	MaxInflight int `yaml:"max_inflight" check:"max=65535"`
	// MaxQueued is the messages queued per session beyond the in-flight ones; 0 means no limit.
	// Default 1000.
	MaxQueued int `yaml:"max_queued"`
	// AdmissionWait is how long a QoS 1/2 publisher's acknowledgement may wait for a connected
	// subscriber whose queue is full before that subscriber drops the message (counted); 0
	// means no wait. Default 5s.
	AdmissionWait time.Duration `yaml:"admission_wait"`
	// SysInterval is the period of the $SYS topics; 0 means no $SYS. Default 10s.
	SysInterval time.Duration `yaml:"sys_interval"`
}

// Auth is authentication and authorization of MQTT clients.
type Auth struct {
	// AllowAnonymous lets clients connect without a user name. Default true.
	AllowAnonymous bool `yaml:"allow_anonymous"`
	// PasswordFile lists users and bcrypt password hashes; "" means no password check.
	PasswordFile string `yaml:"password_file"`
	// ACLFile lists topic access rules; "" means every client may use every topic.
	ACLFile string `yaml:"acl_file"`
}

// MQTTSN is the MQTT-SN v1.2 gateway.
type MQTTSN struct {
	// UDP is the gateway's UDP listener; "" means off. Default ":1884".
	UDP string `yaml:"udp" check:"listen"`
	// GatewayID is the GwId of ADVERTISE and GWINFO (MQTT-SN §5.3.3), 1 to 255. Default 1.
	GatewayID uint8 `yaml:"gateway_id" check:"min=1"`
	// AdvertiseInterval is T_ADV, the period of ADVERTISE broadcasts (§6.1: more than 15
	// minutes), in whole seconds up to 65535s; 0 means no ADVERTISE. Default 900s.
	AdvertiseInterval time.Duration `yaml:"advertise_interval" check:"seconds16"`
	// AdvertiseAddress is where ADVERTISE is sent (a broadcast or multicast host:port); ""
	// means 255.255.255.255 on the UDP listener's port.
	AdvertiseAddress string `yaml:"advertise_address" check:"hostport"`
	// KeepaliveMaxIdle is the longest keep-alive a sensor may ask for in CONNECT: a longer one
	// is refused with CONNACK 0x03 "not supported" (MQTT-SN has no way to ask the sensor for a
	// shorter one, and supervising a shorter period than it announced would lose a sensor that
	// keeps its word). A sensor asking for none (keep-alive 0) is held to it as if it had asked
	// for it (MQTT-SN-1.2.md §6 E22). Supervision adds the §7.2 tolerance (+50% up to a minute,
	// +10% above) in both cases. Sleep durations are not capped. 0 means no limit: any
	// keep-alive is accepted and a keep-alive-0 sensor is never lost for silence. Default
	// 65535s, the largest keep-alive a sensor can ask for.
	KeepaliveMaxIdle time.Duration `yaml:"keepalive_max_idle"`
	// RetryInterval is T_RETRY, the wait for a sensor's reply before retransmitting (§6.13);
	// must be more than 0. Default 10s.
	RetryInterval time.Duration `yaml:"retry_interval" check:"positive"`
	// MaxRetries is N_RETRY, retransmissions before the sensor is considered lost; 0 means
	// send once. Default 3.
	MaxRetries int `yaml:"max_retries"`
	// MaxTopicsPerClient bounds the topic ids a client may register; 0 means no limit (65533
	// ids). Default 1000.
	MaxTopicsPerClient int `yaml:"max_topics_per_client" check:"max=65533"`
	// MaxSleepBuffer bounds the messages the gateway holds for one sensor on their way to it.
	// While a sensor sleeps (§6.14) its messages wait in its broker session's queue, bounded by
	// limits.max_queued under the broker's overflow policy; when it wakes they move here, and
	// past this bound the oldest QoS 0 message is dropped first (counted; QoS 1/2 are never
	// dropped). So a value below limits.max_queued drops QoS 0 messages at wake-up. 0 means
	// limits.max_queued. Default 0.
	MaxSleepBuffer int `yaml:"max_sleep_buffer"`
	// PredefinedFile is a file of predefined topic ids, one "client,topic,id" a line as in the
	// Paho gateway's predefinedTopic.conf ("*" for every client); "" means none.
	PredefinedFile string `yaml:"predefined_file"`
	// Predefined are predefined topic ids given in this file, added to PredefinedFile's.
	Predefined []PredefinedTopic `yaml:"predefined"`
}

// PredefinedTopic is a topic id known to a client and the gateway without REGISTER (§3.2).
type PredefinedTopic struct {
	// Client is the client id it is defined for; "*" means every client.
	Client string `yaml:"client"`
	Topic  string `yaml:"topic"`
	// ID is the topic id, 1 to 65534 (0x0000 and 0xFFFF are reserved).
	ID uint16 `yaml:"id" check:"topicid"`
}

// DefaultConfig is the configuration without a file or flags.
func DefaultConfig() Config {
	return Config{
		LogLevel: "info",
		DataDir:  "./data",
		Store:    true,
		Listeners: Listeners{
			MQTT:      ":1883",
			WebSocket: WebSocketListener{Path: "/mqtt"},
		},
		Limits: Limits{
			MaxPacketSize: 1 << 20,
			MaxInflight:   20,
			MaxQueued:     1000,
			AdmissionWait: 5 * time.Second,
			SysInterval:   10 * time.Second,
		},
		Auth: Auth{AllowAnonymous: true},
		MQTTSN: MQTTSN{
			UDP:                ":1884",
			GatewayID:          1,
			AdvertiseInterval:  900 * time.Second,
			KeepaliveMaxIdle:   65535 * time.Second,
			RetryInterval:      10 * time.Second,
			MaxRetries:         3,
			MaxTopicsPerClient: 1000,
		},
	}
}

// SlogLevel is LogLevel as a slog.Level.
func (c *Config) SlogLevel() slog.Level {
	switch c.LogLevel {
	case "debug":
		return slog.LevelDebug
	case "warn":
		return slog.LevelWarn
	case "error":
		return slog.LevelError
	}
	return slog.LevelInfo
}

// ConfigError is one problem in the configuration, located by file and line, or by flag.
type ConfigError struct {
	Where string // the file name, or "flag --name"
	Line  int    // 0 when not from a file
	Msg   string // what is wrong, starting with the key
}

func (e *ConfigError) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("%s:%d: %s", e.Where, e.Line, e.Msg)
	}
	return e.Where + ": " + e.Msg
}

// LoadConfig reads the YAML file at path over DefaultConfig(): keys absent from the file keep
// their default. Decoding is strict: an unknown key, a value of the wrong kind or out of range
// is an error naming the file, line and key; every such problem is reported, joined.
func LoadConfig(path string) (Config, error) {
	cfg, _, err := loadConfig(path)
	return cfg, err
}

// loadConfig also returns the line of every key present in the file, by dotted path.
func loadConfig(path string) (Config, map[string]int, error) {
	cfg := DefaultConfig()
	src, err := os.ReadFile(path)
	if err != nil {
		return cfg, nil, fmt.Errorf("config: %w", err)
	}
	var doc yaml.Node
	dec := yaml.NewDecoder(bytes.NewReader(src))
	if err := dec.Decode(&doc); err != nil && !errors.Is(err, errEOF) {
		return cfg, nil, fmt.Errorf("%s: %w", path, err)
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); err == nil {
		return cfg, nil, &ConfigError{Where: path, Line: extra.Line, Msg: "a second YAML document; the configuration is one document"}
	}
	d := &decoder{where: path, lines: map[string]int{}}
	if doc.Kind == yaml.DocumentNode && len(doc.Content) == 1 {
		d.value(doc.Content[0], reflect.ValueOf(&cfg).Elem(), "", "")
	}
	if err := errors.Join(d.errs...); err != nil {
		return cfg, d.lines, err
	}
	return cfg, d.lines, cfg.validate(path, d.lines)
}

// errEOF is what the YAML decoder returns for an empty file: defaults only.
var errEOF = func() error {
	var n yaml.Node
	return yaml.NewDecoder(strings.NewReader("")).Decode(&n)
}()

// ConfigFromFlags is the whole configuration step of main, after fs.Parse: the file named by
// the "config" flag (-c/--config) over the defaults, or the defaults alone when it is not set;
// then the other flags ApplyFlags knows.
func ConfigFromFlags(fs *pflag.FlagSet) (Config, error) {
	cfg := DefaultConfig()
	if f := fs.Lookup("config"); f != nil && f.Value.String() != "" {
		var err error
		if cfg, err = LoadConfig(f.Value.String()); err != nil {
			return cfg, err
		}
	}
	return cfg, cfg.ApplyFlags(fs)
}

// flagKeys maps the command-line flags ApplyFlags knows to the keys they set.
var flagKeys = []struct{ flag, key string }{
	{"log-level", "log_level"},
	{"data-dir", "data_dir"},
	{"mqtt", "listeners.mqtt"},
	{"mqtt-tls", "listeners.mqtt_tls.addr"},
	{"ws", "listeners.websocket.addr"},
	{"mqttsn", "mqttsn.udp"},
	{"predefined", "mqttsn.predefined_file"},
}

// ApplyFlags overrides c with the flags of fs that were set on the command line, then checks
// the result: --log-level, --data-dir, --mqtt, --mqtt-tls, --ws, --mqttsn (addresses, or off)
// and --predefined (a predefined-topics file). Flags that fs does not define are skipped, so
// the caller defines the ones it offers (as string flags) and parses before calling. Values are
// checked as the same key in the file would be. Precedence: defaults < file < flags.
func (c *Config) ApplyFlags(fs *pflag.FlagSet) error {
	var errs []error
	for _, fk := range flagKeys {
		if f := fs.Lookup(fk.flag); f != nil && f.Changed {
			if err := c.Set(fk.key, f.Value.String(), "flag --"+fk.flag); err != nil {
				errs = append(errs, err)
			}
		}
	}
	if err := errors.Join(errs...); err != nil {
		return err
	}
	return c.validate("config", nil)
}

// Set sets one key, by its dotted path in the file ("listeners.mqtt", "mqttsn.retry_interval"),
// from text, checked as in a file; where names the source in errors ("flag --mqtt").
func (c *Config) Set(key, value, where string) error {
	v, check, ok := lookup(reflect.ValueOf(c).Elem(), key)
	if !ok {
		return &ConfigError{Where: where, Msg: fmt.Sprintf("unknown key %q", key)}
	}
	d := &decoder{where: where, lines: map[string]int{}}
	d.scalar(&yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: value}, v, key, check)
	return errors.Join(d.errs...)
}

// Validate checks what no single key can: settings that need each other.
func (c *Config) Validate() error { return c.validate("config", nil) }

func (c *Config) validate(where string, lines map[string]int) error {
	var errs []error
	fail := func(key, format string, args ...any) {
		errs = append(errs, &ConfigError{Where: where, Line: lines[key], Msg: key + ": " + fmt.Sprintf(format, args...)})
	}
	if c.Store && c.DataDir == "" {
		fail("data_dir", "empty, but the store is on (store: true)")
	}
	if t := c.Listeners.MQTTTLS; t.Addr != "" && (t.CertFile == "" || t.KeyFile == "") {
		fail("listeners.mqtt_tls.addr", "a TLS listener needs cert_file and key_file")
	}
	if t := c.Listeners.MQTTTLS; t.RequireClientCert && t.ClientCAFile == "" {
		fail("listeners.mqtt_tls.require_client_cert", "needs client_ca_file to verify client certificates against")
	}
	tcp := map[string]string{}
	for _, l := range []struct{ key, addr string }{
		{"listeners.mqtt", c.Listeners.MQTT},
		{"listeners.mqtt_tls.addr", c.Listeners.MQTTTLS.Addr},
		{"listeners.websocket.addr", c.Listeners.WebSocket.Addr},
	} {
		if _, port, _ := net.SplitHostPort(l.addr); l.addr == "" || port == "0" {
			continue
		}
		if other, dup := tcp[l.addr]; dup {
			fail(l.key, "%s is also the address of %s", l.addr, other)
		}
		tcp[l.addr] = l.key
	}
	type clientID struct {
		client string
		id     uint16
	}
	type clientTopic struct{ client, topic string }
	ids, topics := map[clientID]int{}, map[clientTopic]int{}
	for i, p := range c.MQTTSN.Predefined {
		key := fmt.Sprintf("mqttsn.predefined[%d]", i)
		switch {
		case p.Client == "":
			fail(key, `no client (use "*" for every client)`)
		case p.Topic == "":
			fail(key, "no topic")
		case p.ID == 0:
			fail(key, "no id (1 to 65534)")
		default:
			if j, dup := ids[clientID{p.Client, p.ID}]; dup {
				fail(key, "id %d is already predefined for client %q by mqttsn.predefined[%d]", p.ID, p.Client, j)
			} else if j, dup := topics[clientTopic{p.Client, p.Topic}]; dup {
				fail(key, "topic %q is already predefined for client %q by mqttsn.predefined[%d]", p.Topic, p.Client, j)
			}
			ids[clientID{p.Client, p.ID}] = i
			topics[clientTopic{p.Client, p.Topic}] = i
		}
	}
	return errors.Join(errs...)
}

// decoder fills a Config from YAML nodes by the yaml tags of its fields, strictly, collecting
// errors rather than stopping at the first.
type decoder struct {
	where string
	lines map[string]int
	errs  []error
}

func (d *decoder) fail(line int, format string, args ...any) {
	d.errs = append(d.errs, &ConfigError{Where: d.where, Line: line, Msg: fmt.Sprintf(format, args...)})
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

func (d *decoder) value(n *yaml.Node, v reflect.Value, path, check string) {
	if n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	null := n.Kind == yaml.ScalarNode && n.Tag == "!!null"
	switch v.Kind() {
	case reflect.Struct:
		if null {
			return // "section:" with nothing under it: the defaults stay
		}
		if n.Kind != yaml.MappingNode {
			d.fail(n.Line, "%s: want a section of keys, got %s", sectionName(path), describe(n))
			return
		}
		seen := map[string]int{}
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, val := n.Content[i], n.Content[i+1]
			if first, dup := seen[k.Value]; dup {
				d.fail(k.Line, "key %q given twice in %s (first at line %d)", k.Value, sectionName(path), first)
				continue
			}
			seen[k.Value] = k.Line
			f, field, ok := fieldByKey(v, k.Value)
			if !ok {
				d.fail(k.Line, "unknown key %q in %s%s", k.Value, sectionName(path), suggest(v.Type(), k.Value))
				continue
			}
			p := join(path, k.Value)
			d.lines[p] = k.Line
			d.value(val, f, p, field.Tag.Get("check"))
		}
	case reflect.Slice:
		if null {
			v.SetZero()
			return
		}
		if n.Kind != yaml.SequenceNode {
			d.fail(n.Line, "%s: want a list, got %s", path, describe(n))
			return
		}
		out := reflect.Zero(v.Type()) // an empty list is nil, as in DefaultConfig
		for i, item := range n.Content {
			elem := reflect.New(v.Type().Elem()).Elem()
			p := fmt.Sprintf("%s[%d]", path, i)
			d.lines[p] = item.Line
			d.value(item, elem, p, check)
			out = reflect.Append(out, elem)
		}
		v.Set(out)
	default:
		if n.Kind != yaml.ScalarNode {
			d.fail(n.Line, "%s: want a single value, got %s", path, describe(n))
			return
		}
		d.scalar(n, v, path, check)
	}
}

var durationType = reflect.TypeFor[time.Duration]()

// scalar decodes and checks one value. check is the field's `check` tag.
func (d *decoder) scalar(n *yaml.Node, v reflect.Value, path, check string) {
	s := n.Value
	null := n.Tag == "!!null"
	bad := func(format string, args ...any) { d.fail(n.Line, "%s: "+format, append([]any{path}, args...)...) }
	if null && v.Kind() != reflect.String {
		bad("no value")
		return
	}
	switch {
	case v.Type() == durationType:
		dur, err := time.ParseDuration(s)
		if err != nil {
			if _, numErr := strconv.ParseFloat(s, 64); numErr == nil {
				bad("%s is not a duration: give the unit, like %ss or %sms", s, s, s)
			} else {
				bad("%q is not a duration (like 10s, 1m30s, 15m)", s)
			}
			return
		}
		if dur < 0 {
			bad("%v is negative", dur)
			return
		}
		if check == "positive" && dur == 0 {
			bad("must be more than 0")
			return
		}
		if check == "seconds16" && (dur%time.Second != 0 || dur > 65535*time.Second) {
			bad("%v is not a whole number of seconds from 0 to 65535s (MQTT-SN Duration)", dur)
			return
		}
		v.SetInt(int64(dur))
	case v.Kind() == reflect.String:
		if null {
			s = ""
		}
		if msg := checkString(check, s); msg != "" {
			bad("%q %s", s, msg)
			return
		}
		if check == "listen" && s == "off" {
			s = ""
		}
		if check == "urlpath" && s == "" {
			s = "/mqtt"
		}
		v.SetString(s)
	case v.Kind() == reflect.Bool:
		switch s {
		case "true":
			v.SetBool(true)
		case "false":
			v.SetBool(false)
		default:
			bad("%q is not true or false", s)
		}
	case v.Kind() == reflect.Int:
		i, err := strconv.ParseInt(s, 10, 64)
		if err != nil || i < 0 {
			bad("%q is not a whole number of 0 or more", s)
			return
		}
		if limit, ok := strings.CutPrefix(check, "max="); ok {
			if m, _ := strconv.ParseInt(limit, 10, 64); i > m {
				bad("%d is more than the maximum %d", i, m)
				return
			}
		}
		v.SetInt(i)
	case v.Kind() == reflect.Uint8 || v.Kind() == reflect.Uint16:
		bits := v.Type().Bits()
		u, err := strconv.ParseUint(s, 10, bits)
		lo, hi := uint64(0), uint64(1)<<bits-1
		switch check {
		case "topicid":
			lo, hi = 1, 0xFFFE // 0x0000 and 0xFFFF are reserved (§5.3.11)
		case "min=1":
			lo = 1
		}
		if err != nil || u < lo || u > hi {
			bad("%q is not a number from %d to %d", s, lo, hi)
			return
		}
		v.SetUint(u)
	default:
		bad("cannot be set (%s)", v.Type()) // a Config field of a kind this decoder lacks
	}
}

// checkString returns what is wrong with s for the check, or "".
func checkString(check, s string) string {
	switch check {
	case "listen":
		if s == "" || s == "off" {
			return ""
		}
		return checkHostPort(s, false)
	case "hostport":
		if s == "" {
			return ""
		}
		return checkHostPort(s, true)
	case "loglevel":
		if s != "" && !slices.Contains([]string{"debug", "info", "warn", "error"}, s) {
			return "is not a log level (debug, info, warn, error)"
		}
	case "urlpath":
		if s != "" && !strings.HasPrefix(s, "/") {
			return `is not a path (it starts with "/")`
		}
	}
	return ""
}

func checkHostPort(s string, needHost bool) string {
	want := "(want host:port, :port or off)"
	if needHost {
		want = "(want host:port)"
	}
	host, port, err := net.SplitHostPort(s)
	if err != nil {
		var ae *net.AddrError
		if errors.As(err, &ae) {
			return "is not an address: " + ae.Err + " " + want
		}
		return "is not an address " + want
	}
	if needHost && host == "" {
		return "has no host " + want
	}
	if p, err := strconv.ParseUint(port, 10, 16); err != nil || (needHost && p == 0) {
		return fmt.Sprintf("has port %q, not a number from %d to 65535", port, map[bool]int{false: 0, true: 1}[needHost])
	}
	return ""
}

func sectionName(path string) string {
	if path == "" {
		return "the top level"
	}
	return fmt.Sprintf("section %q", path)
}

func describe(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a section"
	case yaml.SequenceNode:
		return "a list"
	}
	return fmt.Sprintf("%q", n.Value)
}

// fieldByKey finds the field of struct v whose yaml tag is key.
func fieldByKey(v reflect.Value, key string) (reflect.Value, reflect.StructField, bool) {
	t := v.Type()
	for i := range t.NumField() {
		if f := t.Field(i); f.Tag.Get("yaml") == key {
			return v.Field(i), f, true
		}
	}
	return reflect.Value{}, reflect.StructField{}, false
}

// lookup finds a leaf by dotted path.
func lookup(v reflect.Value, path string) (reflect.Value, string, bool) {
	var field reflect.StructField
	for key := range strings.SplitSeq(path, ".") {
		if v.Kind() != reflect.Struct {
			return v, "", false
		}
		f, sf, ok := fieldByKey(v, key)
		if !ok {
			return v, "", false
		}
		v, field = f, sf
	}
	if v.Kind() == reflect.Struct || v.Kind() == reflect.Slice {
		return v, "", false
	}
	return v, field.Tag.Get("check"), true
}

// suggest names a key of t close to the unknown one (a typo, a transposition).
func suggest(t reflect.Type, key string) string {
	best, bestDist := "", 3
	for i := range t.NumField() {
		k := t.Field(i).Tag.Get("yaml")
		if d := editDistance(key, k); d < bestDist {
			best, bestDist = k, d
		}
	}
	if best == "" {
		return ""
	}
	return fmt.Sprintf(" (did you mean %q?)", best)
}

// editDistance is the optimal string alignment distance (a transposition counts as one edit).
func editDistance(a, b string) int {
	d := make([][]int, len(a)+1)
	for i := range d {
		d[i] = make([]int, len(b)+1)
		d[i][0] = i
	}
	for j := range d[0] {
		d[0][j] = j
	}
	for i := 1; i <= len(a); i++ {
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			d[i][j] = min(d[i-1][j]+1, d[i][j-1]+1, d[i-1][j-1]+cost)
			if i > 1 && j > 1 && a[i-1] == b[j-2] && a[i-2] == b[j-1] {
				d[i][j] = min(d[i][j], d[i-2][j-2]+1)
			}
		}
	}
	return d[len(a)][len(b)]
}
