package simtest

import (
	"bytes"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"snbridge/mqttsn/packet"
)

// Snbridge is a running snbridge daemon: its MQTT broker and its MQTT-SN gateway.
type Snbridge struct {
	Broker  string // MQTT TCP address
	Gateway string // MQTT-SN UDP address
	Log     *LogBuffer
}

// LogBuffer is a goroutine-safe writer: it collects the daemon's output, and String may be
// called while writes go on.
type LogBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *LogBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *LogBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

var (
	buildOnce sync.Once
	buildPath string
	buildErr  error
)

// Main is a TestMain for packages that use StartSnbridge: it runs the tests, then deletes the
// snbridge binary they shared (the build outlives each test), and exits with the tests' status.
func Main(m *testing.M) {
	code := m.Run()
	if buildPath != "" {
		_ = os.RemoveAll(filepath.Dir(buildPath))
	}
	os.Exit(code)
}

// snbridgeBinary builds cmd/snbridge once per test binary (Main deletes it).
func snbridgeBinary(t testing.TB) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "snsim-snbridge-")
		if err != nil {
			buildErr = err
			return
		}
		buildPath = filepath.Join(dir, "snbridge")
		out, err := exec.Command("go", "build", "-o", buildPath, "snbridge/cmd/snbridge").CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build snbridge: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return buildPath
}

// StartSnbridge builds and starts snbridge on loopback ports with a private data directory and
// the extra YAML under the mqttsn key (e.g. "retry_interval: 500ms"); it is stopped with SIGTERM
// when the test ends.
func StartSnbridge(t testing.TB, mqttsnExtra string) *Snbridge {
	t.Helper()
	bin := snbridgeBinary(t)
	dir := t.TempDir()
	data := memoryDir(t)
	for attempt := 0; attempt < 5; attempt++ {
		tcp, udp := freePort(t), freeUDPPort(t)
		conf := filepath.Join(dir, "snbridge.yaml")
		body := fmt.Sprintf(`log_level: warn
data_dir: %s
listeners:
  mqtt: "127.0.0.1:%d"
limits:
  max_queued: 100000
  sys_interval: 0s
mqttsn:
  udp: "127.0.0.1:%d"
  advertise_interval: 0s
%s
`, data, tcp, udp, indent(mqttsnExtra))
		if err := os.WriteFile(conf, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		s := &Snbridge{Broker: fmt.Sprintf("127.0.0.1:%d", tcp), Gateway: fmt.Sprintf("127.0.0.1:%d", udp), Log: &LogBuffer{}}
		cmd := exec.Command(bin, "-c", conf)
		cmd.Stdout, cmd.Stderr = s.Log, s.Log
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		exited := make(chan struct{})
		go func() { _ = cmd.Wait(); close(exited) }()
		if waitUp(s, exited) {
			t.Cleanup(func() {
				_ = cmd.Process.Signal(os.Interrupt)
				select {
				case <-exited:
				case <-time.After(10 * time.Second):
					_ = cmd.Process.Kill()
					<-exited
				}
			})
			return s
		}
		_ = cmd.Process.Kill()
		<-exited
		if attempt == 4 {
			t.Fatalf("snbridge did not start:\n%s", s.Log.String())
		}
	}
	return nil
}

// memoryDir is a temporary directory in memory (tmpfs /dev/shm) where there is one, else on
// disk. The daemon's store fsyncs on every state change of a persistent sensor (connect,
// sleep, wake); the tests judge delivery guarantees, and must not turn into a measure of the
// disk under a busy machine (speed is for benchmarks).
func memoryDir(t testing.TB) string {
	if st, err := os.Stat("/dev/shm"); err == nil && st.IsDir() {
		if d, err := os.MkdirTemp("/dev/shm", "snbridge-test-"); err == nil {
			t.Cleanup(func() { _ = os.RemoveAll(d) })
			return d
		}
	}
	return t.TempDir()
}

func indent(s string) string {
	s = strings.TrimSpace(s)
	if s == "" {
		return ""
	}
	return "  " + strings.ReplaceAll(s, "\n", "\n  ")
}

// waitUp waits until the MQTT port accepts and the gateway answers SEARCHGW with GWINFO.
func waitUp(s *Snbridge, exited <-chan struct{}) bool {
	deadline := time.Now().Add(15 * time.Second)
	search, _ := packet.Marshal(&packet.SearchGW{Radius: 0})
	for time.Now().Before(deadline) {
		select {
		case <-exited:
			return false
		default:
		}
		c, err := net.DialTimeout("tcp", s.Broker, 200*time.Millisecond)
		if err != nil {
			time.Sleep(20 * time.Millisecond)
			continue
		}
		c.Close()
		u, err := net.Dial("udp", s.Gateway)
		if err != nil {
			return false
		}
		_, _ = u.Write(search)
		_ = u.SetReadDeadline(time.Now().Add(200 * time.Millisecond))
		b := make([]byte, 64)
		n, err := u.Read(b)
		u.Close()
		if err == nil {
			if m, err := packet.Decode(b[:n]); err == nil && m.Type() == packet.TypeGWInfo {
				return true
			}
		}
	}
	return false
}

func freeUDPPort(t testing.TB) int {
	c, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	return c.LocalAddr().(*net.UDPAddr).Port
}
