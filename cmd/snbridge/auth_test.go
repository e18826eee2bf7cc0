package main

import (
	"context"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"
)

// Authentication and authorisation as a user of the binary meets them: a password file made
// with `snbridge passwd`, an ACL file in mosquitto's form with a `pattern` line, refusals as
// mosquitto_sub reports them, SUBACK 0x80 for a denied filter, a denied publish acknowledged,
// dropped and counted in $SYS, and SIGHUP reloading the ACL file.
func TestPasswordAndACLFilesEndToEnd(t *testing.T) {
	for _, tool := range []string{"mosquitto_pub", "mosquitto_sub"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("%s not installed (make test-deps installs mosquitto-clients): %v", tool, err)
		}
	}
	dir := t.TempDir()
	pw := filepath.Join(dir, "passwd")
	for user, password := range map[string]string{"alice": "apw", "bob": "bpw"} {
		if err := runIO(context.Background(), []string{"passwd", pw, user}, strings.NewReader(password+"\n"), io.Discard, io.Discard); err != nil {
			t.Fatal(err)
		}
	}
	acl := filepath.Join(dir, "acl")
	writeACL := func(bobRules string) {
		t.Helper()
		rules := "user alice\ntopic readwrite alice/#\ntopic read $SYS/broker/publish/messages/dropped\n" +
			"user bob\n" + bobRules +
			"pattern readwrite clients/%c/%u/#\n"
		if err := os.WriteFile(acl, []byte(rules), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	writeACL("topic read alice/#\n")
	cfg := filepath.Join(dir, "snbridge.yaml")
	os.WriteFile(cfg, []byte("auth:\n  allow_anonymous: false\n  password_file: "+pw+"\n  acl_file: "+acl+"\nlimits:\n  sys_interval: 1s\n"), 0o644)
	addr := freePort(t)
	host, port, _ := net.SplitHostPort(addr)
	d := startDaemon(t, "-c", cfg, "--mqtt", addr, "--data-dir", filepath.Join(dir, "data"))

	mosquitto := func(tool string, args ...string) (string, error) {
		out, err := exec.Command(tool, append([]string{"-h", host, "-p", port}, args...)...).CombinedOutput()
		return string(out), err
	}
	// Refusals, as mosquitto's own clients print them: CONNACK 5 and 4.
	if out, err := mosquitto("mosquitto_sub", "-t", "alice/#", "-C", "1", "-W", "5"); err == nil || !strings.Contains(out, "not authorised") {
		t.Fatalf("anonymous mosquitto_sub: %v, %q; want CONNACK 5 (not authorised)", err, out)
	}
	if out, err := mosquitto("mosquitto_sub", "-u", "alice", "-P", "wrong", "-t", "alice/#", "-C", "1", "-W", "5"); err == nil || !strings.Contains(out, "bad user name or password") {
		t.Fatalf("wrong password: %v, %q; want CONNACK 4 (bad user name or password)", err, out)
	}
	pub := func(user, password, topic, payload string) {
		t.Helper()
		if out, err := mosquitto("mosquitto_pub", "-u", user, "-P", password, "-i", user+"-pub", "-q", "1", "-t", topic, "-m", payload); err != nil {
			t.Fatalf("mosquitto_pub %s %s: %v\n%s", user, topic, err, out)
		}
	}

	connect := func(user, password, id string) (paho.Client, chan paho.Message) {
		t.Helper()
		got := make(chan paho.Message, 16)
		o := paho.NewClientOptions().AddBroker("tcp://" + addr).SetClientID(id).SetUsername(user).SetPassword(password).
			SetAutoReconnect(false).SetOrderMatters(true).SetDefaultPublishHandler(func(_ paho.Client, m paho.Message) { got <- m })
		c := paho.NewClient(o)
		if tok := c.Connect(); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
			t.Fatalf("connect %s: %v", user, tok.Error())
		}
		t.Cleanup(func() { c.Disconnect(10) })
		return c, got
	}
	next := func(ch chan paho.Message, what string) paho.Message {
		t.Helper()
		select {
		case m := <-ch:
			return m
		case <-time.After(5 * time.Second):
			t.Fatalf("nothing received: %s", what)
			return nil
		}
	}

	bob, bobGot := connect("bob", "bpw", "bobdev")
	tok := bob.SubscribeMultiple(map[string]byte{"alice/#": 1, "secret/#": 1, "clients/bobdev/bob/#": 1}, nil)
	if !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		t.Fatalf("subscribe: %v", tok.Error())
	}
	granted := tok.(*paho.SubscribeToken).Result()
	if granted["alice/#"] != 1 || granted["secret/#"] != 0x80 || granted["clients/bobdev/bob/#"] != 1 {
		t.Fatalf("SUBACK codes %v; want alice/# 1, secret/# 0x80 (denied), clients/bobdev/bob/# 1 (pattern %%c %%u)", granted)
	}
	alice, aliceGot := connect("alice", "apw", "alicedev")
	if tok := alice.Subscribe("alice/#", 1, nil); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		t.Fatalf("subscribe: %v", tok.Error())
	}

	pub("alice", "apw", "alice/hello", "hi")
	if m := next(bobGot, "alice's publish"); m.Topic() != "alice/hello" {
		t.Fatalf("bob got %s", m.Topic())
	}
	next(aliceGot, "alice's own publish")
	// Bob may read alice/# but not write it: acknowledged (mosquitto_pub exits 0), dropped.
	pub("bob", "bpw", "alice/forged", "no")
	pub("alice", "apw", "alice/after", "yes")
	if m := next(aliceGot, "publish after the denied one"); m.Topic() != "alice/after" {
		t.Fatalf("alice got %s %q: a denied publish was delivered", m.Topic(), m.Payload())
	}
	next(bobGot, "alice/after")
	// The pattern line gives bob clients/bobdev/bob/# (his client id and user name).
	if tok := bob.Publish("clients/bobdev/bob/t", 1, false, "mine"); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		t.Fatalf("publish: %v", tok.Error())
	}
	if m := next(bobGot, "publish allowed by the pattern"); m.Topic() != "clients/bobdev/bob/t" {
		t.Fatalf("bob got %s", m.Topic())
	}

	// The denied publish is counted.
	dropped := make(chan string, 64)
	alice.Subscribe("$SYS/broker/publish/messages/dropped", 0, func(_ paho.Client, m paho.Message) { dropped <- string(m.Payload()) })
	deadline := time.After(5 * time.Second)
	for v := ""; v != "1"; {
		select {
		case v = <-dropped:
		case <-deadline:
			t.Fatalf("$SYS/broker/publish/messages/dropped = %q, want 1", v)
		}
	}

	// SIGHUP reloads the ACL file: bob may now write alice/#, and no longer read it, so his
	// subscription to alice/# goes.
	writeACL("topic write alice/#\n")
	reloads := strings.Count(d.logs.String(), "files reloaded")
	d.cmd.Process.Signal(syscall.SIGHUP)
	for i := 0; i < 250 && strings.Count(d.logs.String(), "files reloaded") == reloads; i++ {
		time.Sleep(20 * time.Millisecond)
	}
	pub("bob", "bpw", "alice/granted", "now")
	if m := next(aliceGot, "bob's publish after SIGHUP"); m.Topic() != "alice/granted" {
		t.Fatalf("alice got %s", m.Topic())
	}
	if tok := bob.Publish("clients/bobdev/bob/t", 1, false, "after"); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		t.Fatalf("publish: %v", tok.Error())
	}
	if m := next(bobGot, "bob's own publish after SIGHUP"); m.Topic() != "clients/bobdev/bob/t" {
		t.Fatalf("bob got %s %q: his read access to alice/# was revoked by SIGHUP", m.Topic(), m.Payload())
	}
	if err := d.stop(t, syscall.SIGTERM); err != nil {
		t.Fatalf("exit after SIGTERM: %v; log:\n%s", err, d.logs.String())
	}
}
