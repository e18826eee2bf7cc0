package main

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/spf13/pflag"
)

func writeConfig(t *testing.T, text string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "config.yaml")
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// leafKeys lists the dotted path of every key of a Config (not those inside list items).
func leafKeys(t reflect.Type, prefix string) []string {
	var keys []string
	for i := range t.NumField() {
		f := t.Field(i)
		p := join(prefix, f.Tag.Get("yaml"))
		if f.Type.Kind() == reflect.Struct && f.Type != durationType {
			keys = append(keys, leafKeys(f.Type, p)...)
		} else {
			keys = append(keys, p)
		}
	}
	return keys
}

// Every YAML file in configs/ that starts with "# snbridge config" must load; one that says
// "# snbridge config (defaults)" must equal DefaultConfig() and show every key.
func TestConfigsDirectory(t *testing.T) {
	files, err := filepath.Glob("../../configs/*.yaml")
	if err != nil {
		t.Fatal(err)
	}
	loaded := 0
	for _, path := range files {
		src, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		first, _, _ := strings.Cut(string(src), "\n")
		if !strings.HasPrefix(first, "# snbridge config") {
			continue
		}
		loaded++
		t.Run(filepath.Base(path), func(t *testing.T) {
			cfg, lines, err := loadConfig(path)
			if err != nil {
				t.Fatal(err)
			}
			if first != "# snbridge config (defaults)" {
				return
			}
			if want := DefaultConfig(); !reflect.DeepEqual(cfg, want) {
				t.Errorf("claims the defaults but loads as\n%+v\nwant\n%+v", cfg, want)
			}
			for _, key := range leafKeys(reflect.TypeFor[Config](), "") {
				if lines[key] == 0 {
					t.Errorf("key %s is missing from the file", key)
				}
			}
		})
	}
	if loaded == 0 {
		t.Fatal("no snbridge config in configs/ (configs/snbridge.yaml is expected)")
	}
}

func TestLoadConfigOverlaysDefaults(t *testing.T) {
	path := writeConfig(t, `
log_level: debug
listeners:
  mqtt: 127.0.0.1:11883
  websocket:
    addr: "[::1]:8080"
mqttsn:
  udp: off
  retry_interval: 1m30s
  advertise_interval: 3600s
  predefined:
    - {client: "*", topic: sensors/t, id: 1}
    - client: node-7
      topic: node-7/cmd
      id: 65534
`)
	cfg, err := LoadConfig(path)
	if err != nil {
		t.Fatal(err)
	}
	want := DefaultConfig()
	want.LogLevel = "debug"
	want.Listeners.MQTT = "127.0.0.1:11883"
	want.Listeners.WebSocket.Addr = "[::1]:8080"
	want.MQTTSN.UDP = ""
	want.MQTTSN.RetryInterval = 90 * time.Second
	want.MQTTSN.AdvertiseInterval = time.Hour
	want.MQTTSN.Predefined = []PredefinedTopic{{"*", "sensors/t", 1}, {"node-7", "node-7/cmd", 65534}}
	if !reflect.DeepEqual(cfg, want) {
		t.Errorf("got\n%+v\nwant\n%+v", cfg, want)
	}
}

func TestLoadConfigEmptyFileIsDefaults(t *testing.T) {
	for _, text := range []string{"", "# nothing\n", "listeners:\n"} {
		cfg, err := LoadConfig(writeConfig(t, text))
		if err != nil || !reflect.DeepEqual(cfg, DefaultConfig()) {
			t.Errorf("%q: %v, %+v; want the defaults", text, err, cfg)
		}
	}
}

func TestListenerOff(t *testing.T) {
	path := writeConfig(t, `
listeners:
  mqtt: off
  mqtt_tls: {addr: "off"}
  websocket: {addr: ""}
mqttsn:
  udp: "off"
`)
	cfg, err := LoadConfig(path)
	if err != nil {
		t.Fatal(err)
	}
	l := cfg.Listeners
	if l.MQTT != "" || l.MQTTTLS.Addr != "" || l.WebSocket.Addr != "" || cfg.MQTTSN.UDP != "" {
		t.Errorf("off listeners decoded as %+v, udp %q; want all \"\"", l, cfg.MQTTSN.UDP)
	}
}

// Each bad file gives one error: file, line, key and what is wrong.
func TestConfigErrors(t *testing.T) {
	cases := []struct {
		name, text, want string
	}{
		{"unknown key with its line and section", "listeners:\n  mqtt: \":1883\"\n  mqtt_tsl:\n    addr: \":8883\"\n",
			`config.yaml:3: unknown key "mqtt_tsl" in section "listeners" (did you mean "mqtt_tls"?)`},
		{"unknown top-level key", "log_level: info\nstroe: false\n",
			`config.yaml:2: unknown key "stroe" in the top level (did you mean "store"?)`},
		{"unknown key in a list item", "mqttsn:\n  predefined:\n    - {client: a, topic: t, id: 1, qos: 1}\n",
			`config.yaml:3: unknown key "qos" in section "mqttsn.predefined[0]"`},
		{"duration without unit", "mqttsn:\n  retry_interval: 10\n",
			`config.yaml:2: mqttsn.retry_interval: 10 is not a duration: give the unit, like 10s or 10ms`},
		{"duration garbage", "limits:\n  sys_interval: ten seconds\n",
			`config.yaml:2: limits.sys_interval: "ten seconds" is not a duration (like 10s, 1m30s, 15m)`},
		{"negative duration", "limits:\n  sys_interval: -1s\n", `config.yaml:2: limits.sys_interval: -1s is negative`},
		{"zero retry interval", "mqttsn:\n  retry_interval: 0s\n", `config.yaml:2: mqttsn.retry_interval: must be more than 0`},
		{"advertise beyond 16 bits", "mqttsn:\n  advertise_interval: 24h\n",
			`config.yaml:2: mqttsn.advertise_interval: 24h0m0s is not a whole number of seconds from 0 to 65535s`},
		{"address without port", "listeners:\n  mqtt: 1883\n",
			`config.yaml:2: listeners.mqtt: "1883" is not an address: missing port in address (want host:port, :port or off)`},
		{"address with bad port", "mqttsn:\n  udp: \":http-alt\"\n", `config.yaml:2: mqttsn.udp: ":http-alt" has port "http-alt", not a number from 0 to 65535`},
		{"address port too big", "listeners:\n  websocket:\n    addr: \":70000\"\n", `config.yaml:3: listeners.websocket.addr: ":70000" has port "70000"`},
		{"advertise address needs a host", "mqttsn:\n  advertise_address: \":1884\"\n",
			`config.yaml:2: mqttsn.advertise_address: ":1884" has no host (want host:port)`},
		{"bool", "store: yes\n", `config.yaml:1: store: "yes" is not true or false`},
		{"negative int", "limits:\n  max_queued: -5\n", `config.yaml:2: limits.max_queued: "-5" is not a whole number of 0 or more`},
		{"int over its maximum", "limits:\n  max_inflight: 70000\n", `config.yaml:2: limits.max_inflight: 70000 is more than the maximum 65535`},
		{"gateway id over a byte", "mqttsn:\n  gateway_id: 256\n", `config.yaml:2: mqttsn.gateway_id: "256" is not a number from 1 to 255`},
		{"gateway id 0", "mqttsn:\n  udp: \":1884\"\n  gateway_id: 0\n", `config.yaml:3: mqttsn.gateway_id: "0" is not a number from 1 to 255`},
		{"reserved topic id", "mqttsn:\n  predefined:\n    - {client: a, topic: t, id: 65535}\n",
			`config.yaml:3: mqttsn.predefined[0].id: "65535" is not a number from 1 to 65534`},
		{"log level", "log_level: verbose\n", `config.yaml:1: log_level: "verbose" is not a log level (debug, info, warn, error)`},
		{"websocket path", "listeners:\n  websocket:\n    path: mqtt\n", `config.yaml:3: listeners.websocket.path: "mqtt" is not a path`},
		{"section given a value", "mqttsn: on\n", `config.yaml:1: section "mqttsn": want a section of keys, got "on"`},
		{"value given a section", "data_dir:\n  path: x\n", `config.yaml:2: data_dir: want a single value, got a section`},
		{"no value", "limits:\n  max_queued:\n", `config.yaml:2: limits.max_queued: no value`},
		{"TLS without certificate", "listeners:\n  mqtt_tls:\n    addr: \":8883\"\n",
			`config.yaml:3: listeners.mqtt_tls.addr: a TLS listener needs cert_file and key_file`},
		{"client cert without CA", "listeners:\n  mqtt_tls:\n    require_client_cert: true\n",
			`config.yaml:3: listeners.mqtt_tls.require_client_cert: needs client_ca_file`},
		{"two listeners on one address", "listeners:\n  mqtt: \":8080\"\n  websocket: {addr: \":8080\"}\n",
			`config.yaml:3: listeners.websocket.addr: :8080 is also the address of listeners.mqtt`},
		{"duplicate predefined id", "mqttsn:\n  predefined:\n    - {client: a, topic: t, id: 1}\n    - {client: a, topic: u, id: 1}\n",
			`config.yaml:4: mqttsn.predefined[1]: id 1 is already predefined for client "a" by mqttsn.predefined[0]`},
		{"predefined without topic", "mqttsn:\n  predefined:\n    - {client: a, id: 1}\n", `config.yaml:3: mqttsn.predefined[0]: no topic`},
		{"store on without directory", "data_dir: \"\"\n", `config.yaml:1: data_dir: empty, but the store is on`},
		{"duplicate key", "store: true\nstore: false\n", `config.yaml:2: key "store" given twice in the top level (first at line 1)`},
		{"two documents", "store: true\n---\nstore: false\n", `config.yaml:2: a second YAML document`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			path := writeConfig(t, tc.text)
			cfg, err := LoadConfig(path)
			if err == nil {
				t.Fatalf("loaded as %+v, want an error", cfg)
			}
			msg := strings.ReplaceAll(err.Error(), path, "config.yaml")
			if !strings.Contains(msg, tc.want) {
				t.Errorf("error\n  %s\nwant it to contain\n  %s", msg, tc.want)
			}
			if strings.Count(msg, "\n") != 0 {
				t.Errorf("more than one error reported:\n%s", msg)
			}
		})
	}
}

func TestConfigErrorsAreAllReported(t *testing.T) {
	path := writeConfig(t, "stroe: true\nlimits:\n  max_queued: x\nmqttsn:\n  udp: 1884\n")
	_, err := LoadConfig(path)
	if err == nil {
		t.Fatal("no error")
	}
	var ce *ConfigError
	if !errors.As(err, &ce) || ce.Line != 1 || ce.Where != path {
		t.Errorf("first error %#v, want a ConfigError at %s:1", ce, path)
	}
	for _, line := range []string{":1: ", ":3: ", ":5: "} {
		if !strings.Contains(err.Error(), path+line) {
			t.Errorf("no error at line %s in\n%s", line, err)
		}
	}
}

func TestLoadConfigMissingFile(t *testing.T) {
	_, err := LoadConfig(filepath.Join(t.TempDir(), "nope.yaml"))
	if !errors.Is(err, os.ErrNotExist) || !strings.Contains(err.Error(), "nope.yaml") {
		t.Errorf("error %v, want one naming the missing file", err)
	}
}

func newFlags(t *testing.T, args ...string) *pflag.FlagSet {
	t.Helper()
	fs := pflag.NewFlagSet("snbridge", pflag.ContinueOnError)
	for _, name := range []string{"mqtt", "mqtt-tls", "ws", "data-dir", "log-level", "mqttsn", "predefined"} {
		fs.String(name, "", "")
	}
	fs.StringP("config", "c", "", "")
	if err := fs.Parse(args); err != nil {
		t.Fatal(err)
	}
	return fs
}

func TestApplyFlagsOverrideTheFile(t *testing.T) {
	cfg, err := LoadConfig(writeConfig(t, "data_dir: /var/lib/snbridge\nlisteners:\n  mqtt: \":2883\"\nmqttsn:\n  udp: \":2884\"\n"))
	if err != nil {
		t.Fatal(err)
	}
	fs := newFlags(t, "--mqtt", "off", "--ws", "127.0.0.1:9001", "--log-level", "warn", "--predefined", "topics.conf")
	if err := cfg.ApplyFlags(fs); err != nil {
		t.Fatal(err)
	}
	want := DefaultConfig()
	want.DataDir = "/var/lib/snbridge" // from the file, no flag
	want.MQTTSN.UDP = ":2884"          // from the file, no flag
	want.Listeners.MQTT = ""           // --mqtt off over the file's :2883
	want.Listeners.WebSocket.Addr = "127.0.0.1:9001"
	want.LogLevel = "warn"
	want.MQTTSN.PredefinedFile = "topics.conf"
	if !reflect.DeepEqual(cfg, want) {
		t.Errorf("got\n%+v\nwant\n%+v", cfg, want)
	}
	if cfg.SlogLevel().String() != "WARN" {
		t.Errorf("SlogLevel = %v", cfg.SlogLevel())
	}
}

func TestApplyFlagsChecksValues(t *testing.T) {
	cfg := DefaultConfig()
	err := cfg.ApplyFlags(newFlags(t, "--mqttsn", "1884", "--log-level", "loud"))
	for _, want := range []string{
		`flag --mqttsn: mqttsn.udp: "1884" is not an address`,
		`flag --log-level: log_level: "loud" is not a log level`,
	} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error %v, want it to contain %q", err, want)
		}
	}
	if cfg.MQTTSN.UDP != ":1884" || cfg.LogLevel != "info" {
		t.Errorf("bad flags changed the config: %+v", cfg)
	}
	// A TLS listener from the command line still needs its certificate from the file.
	cfg = DefaultConfig()
	if err := cfg.ApplyFlags(newFlags(t, "--mqtt-tls", ":8883")); err == nil || !strings.Contains(err.Error(), "needs cert_file and key_file") {
		t.Errorf("--mqtt-tls without certificates: %v", err)
	}
}

func TestSetUnknownKey(t *testing.T) {
	cfg := DefaultConfig()
	for _, key := range []string{"listeners.mqtt_tsl.addr", "listeners", "mqttsn.predefined", ""} {
		if err := cfg.Set(key, "x", "test"); err == nil || !strings.Contains(err.Error(), "unknown key") {
			t.Errorf("Set(%q): %v, want unknown key", key, err)
		}
	}
	if err := cfg.Set("mqttsn.retry_interval", "250ms", "test"); err != nil || cfg.MQTTSN.RetryInterval != 250*time.Millisecond {
		t.Errorf("Set retry_interval: %v, %v", err, cfg.MQTTSN.RetryInterval)
	}
}

func TestConfigFromFlags(t *testing.T) {
	path := writeConfig(t, "limits:\n  max_queued: 5\nlisteners:\n  mqtt: \":2883\"\n")
	cfg, err := ConfigFromFlags(newFlags(t, "-c", path, "--mqtt", ":3883"))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Limits.MaxQueued != 5 || cfg.Listeners.MQTT != ":3883" {
		t.Errorf("file or flag not applied: %+v", cfg)
	}
	cfg, err = ConfigFromFlags(newFlags(t))
	if err != nil || !reflect.DeepEqual(cfg, DefaultConfig()) {
		t.Errorf("without -c: %v, %+v; want the defaults", err, cfg)
	}
	bad := writeConfig(t, "limits:\n  max_qeued: 5\n")
	if _, err := ConfigFromFlags(newFlags(t, "--config", bad)); err == nil || !strings.Contains(err.Error(), bad+":2: unknown key") {
		t.Errorf("bad file: %v", err)
	}
}
