package main

// End-to-end: sncat against the snbridge daemon, built from cmd/snbridge (simtest.StartSnbridge).

import (
	"regexp"
	"strings"
	"testing"

	"snbridge/simulator/simtest"
)

// TestPubToSubThroughSnbridge runs sncat pub → snbridge → sncat sub at every QoS, the
// subscriber's session and the publisher's both on the real gateway.
func TestPubToSubThroughSnbridge(t *testing.T) {
	sb := simtest.StartSnbridge(t, "retry_interval: 500ms")
	host, port, _ := strings.Cut(sb.Gateway, ":")
	conn := []string{"-h", host, "-p", port, "--retry", "500ms"}
	for _, q := range []string{"0", "1", "2"} {
		t.Run("QoS"+q, func(t *testing.T) {
			topic := "e2e/sncat/" + q
			done, errb := subInBackground(append([]string{"-d", "-t", topic, "-q", q, "-C", "3", "-W", "20", "-v", "-i", "e2e-sub-" + q}, conn...))
			errb.await(t, regexp.MustCompile(`msg=subscribed`)) // SUBACK received: publish now
			pub(t, append([]string{"-t", topic, "-q", q, "-m", "hello " + q, "-C", "3", "-i", "e2e-pub-" + q}, conn...)...)
			r := awaitSub(t, done)
			if r.err != nil {
				t.Fatalf("sub: %v\n%s\nsnbridge:\n%s", r.err, r.errb, sb.Log.String())
			}
			if want := strings.Repeat(topic+" hello "+q+"\n", 3); r.out != want {
				t.Fatalf("sub printed %q, want %q", r.out, want)
			}
		})
	}
}

// TestSleepingSubThroughSnbridge: sncat sub --sleep falls asleep on the real gateway (§6.14);
// what is published meanwhile — at QoS 0 too, the gateway buffers every QoS — arrives when
// it polls, in order and once.
func TestSleepingSubThroughSnbridge(t *testing.T) {
	sb := simtest.StartSnbridge(t, "retry_interval: 500ms")
	host, port, _ := strings.Cut(sb.Gateway, ":")
	conn := []string{"-h", host, "-p", port, "--retry", "500ms"}
	for _, q := range []string{"0", "1", "2"} {
		t.Run("QoS"+q, func(t *testing.T) {
			topic := "e2e/sncat/sleeper/" + q
			done, errb := subInBackground(append([]string{"-d", "-t", topic, "-q", q, "-C", "3", "-W", "20",
				"--sleep", "2s", "-i", "e2e-sleeper-" + q}, conn...))
			errb.await(t, regexp.MustCompile(`msg=asleep`)) // DISCONNECT(2s) acknowledged
			for _, m := range []string{"one", "two", "three"} {
				pub(t, append([]string{"-t", topic, "-q", q, "-m", m, "-i", "e2e-waker-" + q}, conn...)...)
			}
			r := awaitSub(t, done)
			if r.err != nil {
				t.Fatalf("sub: %v\n%s\nsnbridge:\n%s", r.err, r.errb, sb.Log.String())
			}
			if r.out != "one\ntwo\nthree\n" {
				t.Fatalf("sleeping sub printed %q\n%s", r.out, r.errb)
			}
		})
	}
}
