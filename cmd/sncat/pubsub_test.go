package main

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"snbridge/simulator/simtest"
)

// leakCheck verifies, after every cleanup of the test has run, that no goroutine is left.
func leakCheck(t *testing.T) {
	t.Cleanup(func() { goleak.VerifyNone(t) })
}

// fakeWorld: the simulator's fake gateway in front of an in-memory broker (fast, in-process);
// snbridge_test.go runs the same tools against the snbridge daemon.
func fakeWorld(t *testing.T) (*simtest.FakeGateway, []string) {
	t.Helper()
	gw, err := simtest.StartFakeGateway(simtest.NewHub(), map[uint16]string{7: "site/alarm"}, simtest.Faults{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(gw.Close)
	host, port, _ := strings.Cut(gw.Addr(), ":")
	return gw, []string{"-h", host, "-p", port, "--retry", "300ms"}
}

type subResult struct {
	out, errb string
	err       error
}

// subInBackground runs sncat sub in the background; errb is its log as it goes.
func subInBackground(args []string) (done <-chan subResult, errb *lockedBuffer) {
	result := make(chan subResult, 1)
	var out lockedBuffer
	errb = new(lockedBuffer)
	go func() {
		err := run(context.Background(), append([]string{"sub"}, args...), &out, errb)
		result <- subResult{out.String(), errb.String(), err}
	}()
	return result, errb
}

// startSub runs sncat sub in the background and waits until the gateway has its subscription.
func startSub(t *testing.T, gw *simtest.FakeGateway, topic string, args []string) <-chan subResult {
	t.Helper()
	done, _ := subInBackground(args)
	deadline := time.Now().Add(10 * time.Second)
	for gw.Subscribers(topic) == 0 {
		if time.Now().After(deadline) {
			t.Fatalf("sncat sub never subscribed to %s", topic)
		}
		time.Sleep(5 * time.Millisecond)
	}
	return done
}

func pub(t *testing.T, args ...string) {
	t.Helper()
	var out, errb bytes.Buffer
	if err := run(context.Background(), append([]string{"pub"}, args...), &out, &errb); err != nil {
		t.Fatalf("sncat pub %q: %v\n%s", args, err, errb.String())
	}
}

func awaitSub(t *testing.T, done <-chan subResult) subResult {
	t.Helper()
	select {
	case r := <-done:
		return r
	case <-time.After(20 * time.Second):
		t.Fatal("sncat sub did not finish")
	}
	return subResult{}
}

func TestPubToSubAtEveryQoS(t *testing.T) {
	leakCheck(t)
	gw, conn := fakeWorld(t)
	for _, q := range []string{"0", "1", "2"} {
		t.Run("QoS"+q, func(t *testing.T) {
			topic := "room/" + q + "/temp"
			done := startSub(t, gw, topic, append([]string{"-t", topic, "-q", q, "-C", "3", "-W", "15", "-v", "-i", "sub-" + q}, conn...))
			pub(t, append([]string{"-t", topic, "-q", q, "-m", "21.5", "-C", "3", "-i", "pub-" + q}, conn...)...)
			r := awaitSub(t, done)
			if r.err != nil {
				t.Fatalf("sub: %v\n%s", r.err, r.errb)
			}
			if want := strings.Repeat(topic+" 21.5\n", 3); r.out != want {
				t.Fatalf("sub printed %q, want %q", r.out, want)
			}
		})
	}
}

func TestPubPredefinedQoSMinus1AndShortTopic(t *testing.T) {
	leakCheck(t)
	gw, conn := fakeWorld(t)
	done := startSub(t, gw, "site/alarm", append([]string{"-T", "7", "-t", "site/alarm", "-C", "1", "-W", "15"}, conn...))
	pub(t, append([]string{"-T", "7", "-q", "-1", "-m", "fire"}, conn...)...)
	if r := awaitSub(t, done); r.err != nil || r.out != "fire\n" {
		t.Fatalf("predefined: %q %v %s", r.out, r.err, r.errb)
	}
	done = startSub(t, gw, "ab", append([]string{"-t", "ab", "-C", "1", "-W", "15", "-v"}, conn...))
	pub(t, append([]string{"-t", "ab", "-q", "1", "-m", "short"}, conn...)...)
	if r := awaitSub(t, done); r.err != nil || r.out != "ab short\n" {
		t.Fatalf("short: %q %v %s", r.out, r.err, r.errb)
	}
}

func TestSleepingSubPollsBufferedMessages(t *testing.T) {
	leakCheck(t)
	gw, conn := fakeWorld(t)
	done := startSub(t, gw, "valve/cmd", append([]string{"-t", "valve/cmd", "-q", "1", "-C", "2", "-W", "15", "--sleep", "1s", "-i", "valve"}, conn...))
	time.Sleep(100 * time.Millisecond) // let it fall asleep
	pub(t, append([]string{"-t", "valve/cmd", "-q", "1", "-m", "open"}, conn...)...)
	pub(t, append([]string{"-t", "valve/cmd", "-q", "1", "-m", "close"}, conn...)...)
	if r := awaitSub(t, done); r.err != nil || r.out != "open\nclose\n" {
		t.Fatalf("sleeping sub: %q %v %s", r.out, r.err, r.errb)
	}
}

func TestSubTimeoutExitStatus(t *testing.T) {
	leakCheck(t)
	gw, conn := fakeWorld(t)
	done := startSub(t, gw, "quiet", append([]string{"-t", "quiet", "-W", "1"}, conn...))
	r := awaitSub(t, done)
	var ec exitCode
	if !errors.As(r.err, &ec) || ec != exitTimeout {
		t.Fatalf("err %v, want exit status %d", r.err, exitTimeout)
	}
}

func TestPubSubFlagErrors(t *testing.T) {
	var out, errb bytes.Buffer
	for _, args := range [][]string{
		{"pub", "-t", "a"}, {"pub", "-m", "x"}, {"pub", "-t", "a", "-m", "x", "-n"}, {"pub", "-t", "a", "-m", "x", "-q", "3"},
		{"pub", "-t", "a", "-m", "x", "--transport", "dtls"}, {"pub", "-t", "a", "-m", "x", "-i", strings.Repeat("x", 24)},
		{"pub", "-t", "a", "-t", "b", "-m", "x"}, {"sub", "-t", "a", "-q", "-1"}, {"sub", "-t", "a", "--sleep", "10ms"},
		{"sub"}, {"pub", "-T", "70000", "-m", "x"},
	} {
		if err := run(context.Background(), args, &out, &errb); err == nil {
			t.Errorf("run(%q) accepted", args)
		}
	}
}
