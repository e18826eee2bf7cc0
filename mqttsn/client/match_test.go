package client

import "testing"

func TestMatchTopic(t *testing.T) {
	for _, tc := range []struct {
		filter, name string
		match        bool
	}{
		{"cmd/+/led", "cmd/s1/led", true},
		{"cmd/+/led", "cmd/s1/s2/led", false},
		{"cmd/#", "cmd", true}, // [MQTT-4.7.1-2]
		{"cmd/#", "cmd/s1/led", true},
		{"#", "cmd/s1", true},
		{"#", "$SYS/x", false}, // [MQTT-4.7.2-1]
		{"+/x", "$SYS/x", false},
		{"$SYS/#", "$SYS/x", true},
		{"cmd/s1", "cmd/s1/led", false},
		{"cmd/s1/led", "cmd/s1", false},
		{"+", "a", true},
		{"+", "a/b", false},
		{"a/+", "a/", true},
		{"ab", "ab", true},
	} {
		if got := matchTopic(tc.filter, tc.name); got != tc.match {
			t.Errorf("matchTopic(%q, %q) = %v, want %v", tc.filter, tc.name, got, tc.match)
		}
	}
}

func TestValidFilter(t *testing.T) {
	for f, want := range map[string]bool{
		"a/b": true, "a/+/b": true, "#": true, "a/#": true, "+": true,
		"": false, "a/#/b": false, "a#": false, "a/b+": false, "+a/b": false,
	} {
		if got := validFilter(f); got != want {
			t.Errorf("validFilter(%q) = %v, want %v", f, got, want)
		}
	}
}
