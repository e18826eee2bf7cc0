package scenario

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestEveryExampleScenarioLoads(t *testing.T) {
	files, err := filepath.Glob("../../configs/scenarios/*.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if len(files) < 4 {
		t.Fatalf("found %d example scenarios, want at least 4", len(files))
	}
	for _, f := range files {
		sc, err := Load(f)
		if err != nil {
			t.Errorf("%v", err)
			continue
		}
		if sc.Name == "" || sc.Sensors() == 0 {
			t.Errorf("%s: name %q, %d sensors", f, sc.Name, sc.Sensors())
		}
	}
}

func TestLossyExampleMeansWhatItSays(t *testing.T) {
	sc, err := Load("../../configs/scenarios/lossy-1000.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if sc.Sensors() != 1000 || len(sc.Groups) != 3 {
		t.Fatalf("%d sensors in %d groups", sc.Sensors(), len(sc.Groups))
	}
	g := sc.Groups[2]
	if g.Publish.QoS != 2 || g.Impair.Loss != 0.10 || g.Impair.Duplicate != 0.10 || g.Publish.PayloadSize != 32 {
		t.Errorf("group qos2 = %+v / %+v", *g.Publish, g.Impair)
	}
	if !*g.CleanSession || g.KeepAlive != 60*time.Second || g.Impair.Queue != 1024 {
		t.Errorf("defaults not applied: clean %v keepalive %v queue %d", *g.CleanSession, g.KeepAlive, g.Impair.Queue)
	}
}

func TestDefaults(t *testing.T) {
	sc, err := Parse([]byte(`
groups:
  - name: a
    count: 2
    publish: {topic: "t/{id}", interval: 1s, messages: 3}
`))
	if err != nil {
		t.Fatal(err)
	}
	if sc.Gateway != "127.0.0.1:1884" || sc.Broker != "127.0.0.1:1883" || sc.Drain != 5*time.Second || sc.Seed != 1 {
		t.Errorf("scenario defaults: %+v", sc)
	}
	g := sc.Groups[0]
	if g.ClientID != "{group}-{index}" || g.Transport != "udp" || g.Publish.TopicIDType != TopicNormal || g.Publish.PayloadSize != HeaderSize {
		t.Errorf("group defaults: %+v %+v", g, *g.Publish)
	}
}

func TestStrictDecodingNamesKeyAndLine(t *testing.T) {
	_, err := Parse([]byte(`duration: 5s
groups:
  - name: a
    count: 1
    colour: red
    publish: {topic: t, interval: 1s}
`))
	if err == nil || !strings.Contains(err.Error(), `line 5: unknown key "colour"`) {
		t.Fatalf("err = %v, want the key and its line", err)
	}
}

func TestInvalidScenarios(t *testing.T) {
	base := "duration: 5s\ngroups:\n  - name: g\n    count: 3\n"
	cases := []struct{ name, yaml, want string }{
		{"empty", "", "empty scenario"},
		{"no groups", "duration: 5s\n", "no groups"},
		{"bad qos", base + "    publish: {topic: t, qos: 3, interval: 1s}\n", "qos 3"},
		{"qos -1 normal", base + "    publish: {topic: t, qos: -1, interval: 1s}\n", "qos -1 needs"},
		{"short too long", base + "    publish: {topic: abc, topic_id_type: short, interval: 1s}\n", "exactly 2 characters"},
		{"short index grows", "duration: 5s\ngroups:\n  - name: g\n    count: 11\n    publish: {topic: 'a{index}', topic_id_type: short, interval: 1s}\n", "exactly 2 characters"},
		{"predefined no id", base + "    publish: {topic: t, topic_id_type: predefined, interval: 1s}\n", "topic_id 0"},
		{"predefined placeholder", base + "    publish: {topic: 't/{id}', topic_id_type: predefined, topic_id: 3, interval: 1s}\n", "no placeholders"},
		{"wildcard", base + "    publish: {topic: 't/+', interval: 1s}\n", "wildcards"},
		{"unknown placeholder", base + "    publish: {topic: 't/{idx}', interval: 1s}\n", "unknown placeholder {idx}"},
		{"seq in topic", base + "    publish: {topic: 't/{seq}', interval: 1s}\n", "only allowed in payload_template"},
		{"interval and rate", base + "    publish: {topic: t, interval: 1s, rate: 5/s}\n", "not both"},
		{"neither", base + "    publish: {topic: t}\n", "give interval or rate"},
		{"never ends", "groups:\n  - name: g\n    count: 1\n    publish: {topic: t, interval: 1s}\n", "never end"},
		{"payload too small", base + "    publish: {topic: t, interval: 1s, payload_size: 8}\n", "payload_size 8"},
		{"client id too long", "duration: 5s\ngroups:\n  - name: g\n    count: 1\n    client_id: 'abcdefghijklmnopqrstuvwxyz'\n    publish: {topic: t, interval: 1s}\n", "1..23 characters"},
		{"dtls", base + "    transport: dtls\n    publish: {topic: t, interval: 1s}\n", "not supported by this snsim yet"},
		{"bad transport", base + "    transport: carrier-pigeon\n    publish: {topic: t, interval: 1s}\n", "want udp"},
		{"bad loss", base + "    publish: {topic: t, interval: 1s}\n    impair: {loss: 120%}\n", "between 0% and 100%"},
		{"bad rate", base + "    subscriptions: [{topic: c, command_rate: 5/week}]\n", "unknown rate unit"},
		{"idle", base, "would do nothing"},
		{"mixed command qos", base + "    subscriptions: [{topic: a, command_rate: 1/s, qos: 1}, {topic: b, command_rate: 1/s, qos: 2}]\n", "share one QoS"},
		{"sleep qos -1", base + "    publish: {topic: ab, topic_id_type: short, qos: -1, interval: 1s}\n    sleep: {awake: 1s, duration: 5s}\n", "cannot sleep"},
		{"sleep wake", base + "    publish: {topic: t, interval: 1s}\n    sleep: {awake: 1s, duration: 5s, wake: shout}\n", "sleep.wake"},
		{"duplicate group", "duration: 5s\ngroups:\n  - {name: g, count: 1, publish: {topic: t, interval: 1s}}\n  - {name: g, count: 1, publish: {topic: t, interval: 1s}}\n", "name used twice"},
		{"two documents", base + "    publish: {topic: t, interval: 1s}\n---\nduration: 1s\n", "more than one"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := Parse([]byte(c.yaml))
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("err = %v, want it to mention %q", err, c.want)
			}
		})
	}
}

func TestExpand(t *testing.T) {
	v := Vars{Group: "temp", ID: "t-007", Index: 7, N: 1007, Seq: 42}
	cases := map[string]string{
		"{group}-{index:04}":        "temp-0007",
		"site/{group}/{id}/temp":    "site/temp/t-007/temp",
		"n{n}":                      "n1007",
		`{"seq":{seq},"i":{index}}`: `{"seq":42,"i":7}`,
		"plain":                     "plain",
		"{index:2}":                 "07",
		"{index:1}":                 "7",
	}
	for p, want := range cases {
		if got := Expand(p, v); got != want {
			t.Errorf("Expand(%q) = %q, want %q", p, got, want)
		}
	}
}

func TestParseRate(t *testing.T) {
	cases := map[string]float64{"200/s": 200, "30/min": 0.5, "3600/h": 1, "2.5": 2.5}
	for s, want := range cases {
		r, err := ParseRate(s)
		if err != nil || float64(r) != want {
			t.Errorf("ParseRate(%q) = %v, %v; want %v", s, r, err, want)
		}
	}
	for _, s := range []string{"", "fast", "-1/s", "5/fortnight"} {
		if _, err := ParseRate(s); err == nil {
			t.Errorf("ParseRate(%q) accepted", s)
		}
	}
}

func TestLoadMissingFileAndNameFromFile(t *testing.T) {
	if _, err := Load(filepath.Join(t.TempDir(), "nope.yaml")); err == nil {
		t.Fatal("missing file accepted")
	}
	p := filepath.Join(t.TempDir(), "night-shift.yaml")
	if err := os.WriteFile(p, []byte("duration: 1s\ngroups: [{name: a, count: 1, publish: {topic: t, interval: 1s}}]\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	sc, err := Load(p)
	if err != nil || sc.Name != "night-shift" {
		t.Fatalf("Load = %v, %v", sc, err)
	}
}

// FuzzParse: any input yields a scenario or an error, never a panic, and an accepted scenario
// validates again.
func FuzzParse(f *testing.F) {
	// Small seeds: minimizing a whole example file takes the fuzzer longer than a short run.
	f.Add([]byte("groups: [{name: a, count: 1, publish: {topic: t, interval: 1s, messages: 1}}]"))
	f.Add([]byte("duration: 5s\ngroups:\n  - {name: v, count: 2, sleep: {awake: 1s, duration: 2s}, subscriptions: [{topic: 'c/{id}', qos: 1, command_rate: 5/s}], impair: {loss: 10%}}\n"))
	f.Add([]byte("groups: [{name: m, count: 3, publish: {topic: 'b{index}', topic_id_type: short, qos: -1, rate: 20/s, messages: 2}}]"))
	f.Fuzz(func(t *testing.T, data []byte) {
		sc, err := Parse(data)
		if err != nil {
			return
		}
		if err := sc.Validate(); err != nil {
			t.Fatalf("accepted scenario does not validate: %v", err)
		}
	})
}
