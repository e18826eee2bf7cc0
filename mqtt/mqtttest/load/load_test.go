package load

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// startMosquitto runs Debian's mosquitto on a free loopback port for the test.
func startMosquitto(t *testing.T, extra string) (addr string, pid int) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	conf := filepath.Join(t.TempDir(), "mosquitto.conf")
	content := fmt.Sprintf("listener %d 127.0.0.1\nallow_anonymous true\n%s", port, extra)
	if err := os.WriteFile(conf, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("/usr/sbin/mosquitto", "-c", conf)
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting mosquitto (apt-get install mosquitto): %v", err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	addr = fmt.Sprintf("127.0.0.1:%d", port)
	for range 100 {
		if c, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
			c.Close()
			return addr, cmd.Process.Pid
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("mosquitto not listening on %s: %s", addr, out.String())
	return "", 0
}

func TestFlowsAgainstMosquitto(t *testing.T) {
	addr, _ := startMosquitto(t, "max_queued_messages 0\n")
	for _, c := range []Config{
		{Mode: FanIn, QoS: 0, Clients: 3, Rate: 3000},
		{Mode: FanIn, QoS: 1, Clients: 3, Inflight: 4},
		{Mode: FanOut, QoS: 0, Clients: 3, Rate: 1000},
		{Mode: FanOut, QoS: 1, Clients: 3},
		{Mode: FanIn, QoS: 0, Clients: 3, Window: 1},
		{Mode: FanOut, QoS: 0, Clients: 3, Window: 2},
	} {
		c.Broker, c.Duration, c.Drain = addr, 300*time.Millisecond, 2*time.Second
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		res, err := Run(ctx, c)
		cancel()
		if err != nil {
			t.Fatalf("%s QoS %d: %v", c.Mode, c.QoS, err)
		}
		subs := uint64(1)
		if c.Mode == FanOut {
			subs = 3
		}
		if res.Sent == 0 || res.Expected != res.Sent*subs || res.Received != res.Expected {
			t.Errorf("%s QoS %d: sent %d, expected %d, received %d", c.Mode, c.QoS, res.Sent, res.Expected, res.Received)
		}
		if c.Window > 0 && res.Stalls != 0 {
			t.Errorf("%s QoS 0 window %d: %d stalls without loss", c.Mode, c.Window, res.Stalls)
		}
		if c.QoS == 1 && res.Acked != res.Sent {
			t.Errorf("%s QoS 1: %d of %d acknowledged", c.Mode, res.Acked, res.Sent)
		}
		if res.P50 <= 0 || res.P99 < res.P50 || res.Max < res.P99 || res.Rate <= 0 {
			t.Errorf("%s QoS %d: implausible measures %s", c.Mode, c.QoS, res)
		}
		if c.Rate > 0 {
			// paced: about Rate × Duration messages, not a flood
			want := float64(c.Rate) * c.Duration.Seconds()
			if got := float64(res.Sent); got > 1.2*want+10 || got < 0.5*want {
				t.Errorf("%s QoS %d at %d/s for %v: sent %v", c.Mode, c.QoS, c.Rate, c.Duration, got)
			}
		}
		t.Log(res)
	}
}

// mosquitto's default max_queued_messages (1000) drops QoS 1 messages for a slow subscriber;
// the generator reports it rather than hiding it.
func TestLossIsReported(t *testing.T) {
	addr, _ := startMosquitto(t, "max_queued_messages 5\nmax_inflight_messages 1\n")
	res, err := Run(context.Background(), Config{Broker: addr, Mode: FanIn, QoS: 1, Clients: 4, Inflight: 50,
		Duration: 300 * time.Millisecond, Drain: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if res.Received >= res.Expected || !strings.Contains(res.String(), "lost") {
		t.Errorf("no loss reported: %s", res)
	}
}

func TestIdleReadsBrokerRSS(t *testing.T) {
	addr, pid := startMosquitto(t, "")
	res, err := Run(context.Background(), Config{Broker: addr, Mode: Idle, Clients: 200, BrokerPID: pid})
	if err != nil {
		t.Fatal(err)
	}
	if res.Connected != 200 || res.RSSBefore <= 0 || res.RSSAfter < res.RSSBefore {
		t.Errorf("idle: %+v", res)
	}
	t.Log(res)
}

func TestConfigErrors(t *testing.T) {
	for _, c := range []Config{
		{},
		{Broker: "x:1", Mode: "sideways"},
		{Broker: "x:1", Mode: FanIn, QoS: 2},
		{Broker: "x:1", Mode: FanIn, PayloadSize: 8},
		{Broker: "x:1", Mode: FanIn, QoS: 1, Window: 1},
		{Broker: "x:1", Mode: FanIn, Rate: 100, Window: 1},
	} {
		if _, err := Run(context.Background(), c); err == nil {
			t.Errorf("%+v accepted", c)
		}
	}
	// nothing listening: a dial error, not a hang
	l, _ := net.Listen("tcp", "127.0.0.1:0")
	addr := l.Addr().String()
	l.Close()
	if _, err := Run(context.Background(), Config{Broker: addr, Mode: FanIn, Timeout: time.Second}); err == nil {
		t.Errorf("a run against a closed port succeeded")
	}
}

func TestHistogram(t *testing.T) {
	var h histogram
	for i := 1; i <= 1000; i++ {
		h.record(time.Duration(i) * time.Microsecond)
	}
	for _, c := range []struct {
		q    float64
		want time.Duration
	}{{0.5, 500 * time.Microsecond}, {0.99, 990 * time.Microsecond}} {
		got := h.percentile(c.q)
		if d := float64(got-c.want) / float64(c.want); d > 0.01 || d < -0.04 {
			t.Errorf("p%v = %v, want %v within 4%%", c.q*100, got, c.want)
		}
	}
	if h.max != time.Millisecond {
		t.Errorf("max %v", h.max)
	}
	for v := uint64(0); v < 1<<20; v = v*5/4 + 1 { // bucket floors are monotonic and below v
		if f := bucketFloor(bucket(v)); f > v || float64(v-f) > float64(v)/32+1 {
			t.Fatalf("bucket floor of %d is %d", v, f)
		}
	}
}
