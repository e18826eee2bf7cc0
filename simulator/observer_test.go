package simulator

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"
)

// persistentMosquitto runs Debian's mosquitto with persistence in dir on a fixed loopback port,
// so that a test can stop it (SIGTERM: it saves its sessions) and start it again.
type persistentMosquitto struct {
	t    *testing.T
	conf string
	cmd  *exec.Cmd
	addr string
}

func startPersistentMosquitto(t *testing.T) *persistentMosquitto {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	dir := t.TempDir()
	m := &persistentMosquitto{t: t, conf: filepath.Join(dir, "mosquitto.conf"), addr: fmt.Sprintf("127.0.0.1:%d", port)}
	body := fmt.Sprintf("listener %d 127.0.0.1\nallow_anonymous true\npersistence true\npersistence_location %s/\n", port, dir)
	if os.Geteuid() == 0 {
		// As root, mosquitto switches to the user mosquitto, who cannot write to our temp dir.
		body = "user root\n" + body
	}
	if err := os.WriteFile(m.conf, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	m.start()
	t.Cleanup(m.stop)
	return m
}

func (m *persistentMosquitto) start() {
	m.t.Helper()
	bin, err := exec.LookPath("mosquitto")
	if err != nil {
		bin = "/usr/sbin/mosquitto"
	}
	m.cmd = exec.Command(bin, "-c", m.conf)
	if err := m.cmd.Start(); err != nil {
		m.t.Fatalf("mosquitto (run make test-deps): %v", err)
	}
	for i := 0; i < 100; i++ {
		if c, err := net.Dial("tcp", m.addr); err == nil {
			c.Close()
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	m.t.Fatal("mosquitto did not start listening")
}

func (m *persistentMosquitto) stop() {
	if m.cmd == nil {
		return
	}
	_ = m.cmd.Process.Signal(syscall.SIGTERM)
	_ = m.cmd.Wait()
	m.cmd = nil
}

// The observer keeps a run going across a restart of the broker: it reconnects to its
// persistent session, receives what was published while it was away, reports no error, and
// Close deletes its session.
func TestObserverSurvivesBrokerRestart(t *testing.T) {
	m := startPersistentMosquitto(t)
	o, err := DialMQTT(m.addr, "observer-restart")
	if err != nil {
		t.Fatal(err)
	}
	defer o.Close()
	got := make(chan string, 10)
	if err := o.Subscribe([]string{"obs/#"}, func(_ string, p []byte) { got <- string(p) }); err != nil {
		t.Fatal(err)
	}
	publish := func(payload string) {
		t.Helper()
		c := mqtt.NewClient(observerOptions(m.addr, "publisher", true))
		if err := connect(c); err != nil {
			t.Fatal(err)
		}
		defer c.Disconnect(100)
		if tok := c.Publish("obs/t", 1, false, payload); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
			t.Fatalf("publish %s: %v", payload, tok.Error())
		}
	}
	expect := func(want string) {
		t.Helper()
		select {
		case p := <-got:
			if p != want {
				t.Fatalf("observer got %q, want %q", p, want)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("observer did not get %q", want)
		}
	}
	publish("before")
	expect("before")

	m.stop()
	m.start()
	// Published before the observer is back: the broker queues it in the observer's session.
	publish("while away")
	expect("while away")
	publish("after")
	expect("after")
	if err := o.Err(); err != nil {
		t.Fatalf("observer error after a restart it survived: %v", err)
	}

	o.Close()
	c := mqtt.NewClient(observerOptions(m.addr, "observer-restart", false))
	tok := c.Connect()
	if !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		t.Fatal(tok.Error())
	}
	defer c.Disconnect(100)
	if tok.(*mqtt.ConnectToken).SessionPresent() {
		t.Error("Close left the observer's session on the broker")
	}
}
