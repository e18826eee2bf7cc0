package main

import (
	"encoding/json"
	"os/exec"
	"strings"
	"testing"
)

const module = "snbridge"

// allowedImports is ../shared/DESIGN.md §3: which module packages each package may depend on
// (directly or not). A package not listed may import nothing from the module; cmd/* is free.
var allowedImports = map[string][]string{
	"mqttsn/packet":  {},
	"mqtt/packet":    {},
	"mqtt/topic":     {},
	"mqtt/store":     {"mqtt/packet", "mqtt/topic"},
	"mqtt/broker":    {"mqtt/packet", "mqtt/topic", "mqtt/store"},
	"mqttsn/topics":  {"mqttsn/packet"},
	"mqttsn/session": {"mqttsn/packet", "mqttsn/topics"},
	"mqttsn/gateway": {"mqttsn/packet", "mqttsn/topics", "mqttsn/session"},
	"mqttsn/client":  {"mqttsn/packet", "mqttsn/topics"},
	"bridge":         {"mqtt/packet", "mqtt/topic"},
	"radio":          {"mqttsn/packet"},
	"simulator":      {"simulator", "mqttsn/packet", "mqttsn/client", "mqttsn/topics", "mqtt/packet"}, // its subpackages use each other
}

// testHelpers may be imported by tests, the simulator and cmd only; go list -deps without -test
// shows non-test imports, so any appearance of them in a library's deps is a violation.
var testHelpers = []string{"mqtt/mqtttest", "mqttsn/mqttsntest"}

func TestImportRules(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", "-json=ImportPath,Deps", module+"/...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	dec := json.NewDecoder(strings.NewReader(string(out)))
	seen := 0
	for dec.More() {
		var p struct {
			ImportPath string
			Deps       []string
		}
		if err := dec.Decode(&p); err != nil {
			t.Fatal(err)
		}
		rel, ok := strings.CutPrefix(p.ImportPath, module+"/")
		if !ok || strings.HasPrefix(rel, "cmd/") {
			continue
		}
		seen++
		allowed, known := allowedImports[topLevelRule(rel)]
		for _, d := range p.Deps {
			dep, inModule := strings.CutPrefix(d, module+"/")
			if !inModule || strings.HasPrefix(dep, rel+"/") {
				continue
			}
			if !known && !isHelper(rel) {
				t.Errorf("%s is not in DESIGN.md §3's table yet imports %s", rel, dep)
				continue
			}
			if isHelper(rel) || contains(allowed, topLevelRule(dep)) {
				continue
			}
			if isHelper(dep) && rel == "simulator" {
				continue
			}
			t.Errorf("%s imports %s: not allowed by DESIGN.md §3", rel, dep)
		}
	}
	if seen == 0 {
		t.Fatal("go list found no packages of the module")
	}
}

// topLevelRule maps a package to the row of the table that governs it (radio/xbee → radio).
func topLevelRule(rel string) string {
	for k := range allowedImports {
		if rel == k || strings.HasPrefix(rel, k+"/") {
			return k
		}
	}
	return rel
}

// isHelper: a test-helper package or one below it (mqtt/mqtttest/load and its command).
func isHelper(rel string) bool {
	for _, h := range testHelpers {
		if rel == h || strings.HasPrefix(rel, h+"/") {
			return true
		}
	}
	return false
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}
