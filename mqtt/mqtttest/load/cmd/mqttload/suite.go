package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"snbridge/mqtt/mqtttest/load"
)

// suiteLoad is one load of the suite, named so that a -spawn can be limited to some of them.
type suiteLoad struct {
	name string
	cfg  load.Config
}

// suiteLoads are the loads of make bench-broker (issue 3): fan-in (Clients publishers → 1
// subscriber) and fan-out (1 → Clients) at QoS 0 and 1, and the idle connections; base supplies
// clients, duration, payload, inflight and window. Unpaced QoS 0 keeps a window (1 unless base
// says otherwise) of messages not yet delivered per publisher, as QoS 1 keeps one unacknowledged:
// a flood's figures would be the kernel's socket buffers and seconds of backlog. QoS 0 also
// runs paced, at a rate both brokers sustain.
func suiteLoads(base load.Config, idle int) []suiteLoad {
	var loads []suiteLoad
	for _, m := range []load.Mode{load.FanIn, load.FanOut} {
		for _, q := range []byte{0, 1} {
			c := base
			c.Mode, c.QoS = m, q
			if q == 0 {
				c.Window = max(c.Window, 1)
			} else {
				c.Window = 0
			}
			loads = append(loads, suiteLoad{fmt.Sprintf("%s-qos%d", m, q), c})
		}
		c := base
		c.Mode, c.QoS, c.Rate, c.Window = m, 0, 10_000, 0
		if m == load.FanOut {
			c.Rate = 500 // × Clients subscribers: 50 000 deliveries/s with 100
		}
		loads = append(loads, suiteLoad{fmt.Sprintf("%s-qos0-paced", m), c})
	}
	if idle > 0 {
		c := base
		c.Mode, c.Clients, c.Window = load.Idle, idle, 0
		loads = append(loads, suiteLoad{"idle", c})
	}
	return loads
}

// brokerSpec is a -spawn NAME[:LOAD,...]=COMMAND: a broker and the loads it runs (all if none
// are named).
type brokerSpec struct {
	name, command string
	only          map[string]bool
}

func parseSpec(spec string, loads []suiteLoad) (brokerSpec, error) {
	head, command, ok := strings.Cut(spec, "=")
	name, list, limited := strings.Cut(head, ":")
	if !ok || name == "" || command == "" {
		return brokerSpec{}, fmt.Errorf("-spawn %q: want NAME=COMMAND or NAME:LOAD,...=COMMAND", spec)
	}
	b := brokerSpec{name: name, command: command}
	if limited {
		b.only = map[string]bool{}
		for _, l := range strings.Split(list, ",") {
			if !slices.ContainsFunc(loads, func(s suiteLoad) bool { return s.name == l }) {
				var names []string
				for _, s := range loads {
					names = append(names, s.name)
				}
				return brokerSpec{}, fmt.Errorf("-spawn %q: no load %q (%s)", spec, l, strings.Join(names, ", "))
			}
			b.only[l] = true
		}
	}
	return b, nil
}

func (b brokerSpec) runs(l suiteLoad) bool { return b.only == nil || b.only[l.name] }

type broker struct {
	name, addr string
	cmd        *exec.Cmd
	exited     chan struct{}
}

// spawn starts one broker on a free loopback port and waits until it accepts connections.
func spawn(ctx context.Context, name, command, logDir string, stderr io.Writer) (*broker, error) {
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	command = strings.ReplaceAll(command, "{port}", strconv.Itoa(port))
	// exec, so that the PID is the broker's and its VmRSS is what we read; the shell lets the
	// command raise its own file limit (ulimit -n) for the idle connections.
	cmd := exec.CommandContext(ctx, "/bin/sh", "-c", "ulimit -n $(ulimit -Hn) 2>/dev/null; exec "+command)
	logPath := filepath.Join(logDir, "mqttload-"+name+".log")
	logFile, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	defer logFile.Close() // the child has its own descriptor
	cmd.Stdout, cmd.Stderr = logFile, logFile
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	fmt.Fprintf(stderr, "%s: %s on %s, output in %s\n", name, command, addr, logPath)
	b := &broker{name: name, addr: addr, cmd: cmd, exited: make(chan struct{})}
	go func() { _ = cmd.Wait(); close(b.exited) }()
	for deadline := time.Now().Add(10 * time.Second); ; {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			c.Close()
			return b, nil
		}
		select {
		case <-b.exited:
			return nil, fmt.Errorf("%s exited before listening on %s (%s)", name, addr, command)
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			b.stop()
			return nil, fmt.Errorf("%s: nothing listening on %s after 10 s", name, addr)
		}
	}
}

func (b *broker) stop() {
	_ = b.cmd.Process.Signal(os.Interrupt)
	select {
	case <-b.exited:
	case <-time.After(5 * time.Second):
		_ = b.cmd.Process.Kill()
		<-b.exited
	}
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func runSuite(ctx context.Context, specs []string, base load.Config, idle int, logDir string, stdout, stderr io.Writer) error {
	loads := suiteLoads(base, idle)
	brokers := make([]brokerSpec, len(specs))
	for i, spec := range specs {
		var err error
		if brokers[i], err = parseSpec(spec, loads); err != nil {
			return err
		}
	}
	// All brokers run at once and take turns load by load, so that each load meets every broker
	// in about the same conditions on a shared machine; an idle broker costs the others nothing.
	results := make([]map[string]load.Result, len(brokers)) // nil: did not start
	running := make([]*broker, len(brokers))
	defer func() {
		for _, b := range running {
			if b != nil {
				b.stop()
			}
		}
	}()
	var errs []error
	for i, bs := range brokers {
		b, err := spawn(ctx, bs.name, bs.command, logDir, stderr)
		if err != nil {
			// the other brokers are still measured; this one's rows say it did not start
			errs = append(errs, err)
			continue
		}
		running[i] = b
		results[i] = map[string]load.Result{}
	}
	for _, l := range loads {
		for i, bs := range brokers {
			b := running[i]
			if b == nil || !bs.runs(l) {
				continue
			}
			cfg := l.cfg
			cfg.Broker = b.addr
			if cfg.Mode == load.Idle {
				cfg.BrokerPID = b.cmd.Process.Pid
			}
			fmt.Fprintf(stderr, "%s: %s …\n", b.name, l.name)
			res, err := load.Run(ctx, cfg)
			if err != nil {
				errs = append(errs, fmt.Errorf("%s %s: %w", b.name, l.name, err))
				res.Config = cfg
			}
			results[i][l.name] = res
			fmt.Fprintln(stderr, "  ", res)
		}
	}
	printTables(stdout, loads, brokers, results)
	return errors.Join(errs...)
}

// printTables writes the results as Markdown tables (as BENCHMARKS.md keeps them): the flows,
// then the idle connections.
func printTables(w io.Writer, loads []suiteLoad, brokers []brokerSpec, results []map[string]load.Result) {
	fmt.Fprintln(w, "| load | broker | accepted/s | delivered/s | delivered / sent | p50 | p99 | max |")
	fmt.Fprintln(w, "|---|---|---:|---:|---:|---:|---:|---:|")
	idle := false
	for _, l := range loads {
		if l.cfg.Mode == load.Idle {
			idle = true
			continue
		}
		for i, bs := range brokers {
			if !bs.runs(l) {
				continue
			}
			label := loadLabel(l.cfg, load.DefaultClients)
			if results[i] == nil {
				fmt.Fprintf(w, "| %s | %s | did not start | | | | | |\n", label, bs.name)
				continue
			}
			r := results[i][l.name]
			// accepted: publishes written (QoS 0) or acknowledged (QoS 1) per second of publishing
			accepted := r.Sent
			if l.cfg.QoS == 1 {
				accepted = r.Acked
			}
			loss := ""
			if r.Received < r.Expected {
				loss = fmt.Sprintf(" (%.1f %% lost)", 100*float64(r.Expected-r.Received)/float64(r.Expected))
			}
			fmt.Fprintf(w, "| %s | %s | %s | %s | %s / %s%s | %s | %s | %s |\n", label, bs.name,
				thousands(uint64(float64(accepted)/r.Config.Duration.Seconds())), thousands(uint64(r.Rate)),
				thousands(r.Received), thousands(r.Expected), loss, roundDur(r.P50), roundDur(r.P99), roundDur(r.Max))
		}
	}
	if !idle {
		return
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "| idle connections | broker | open | broker VmRSS before → after | per connection |")
	fmt.Fprintln(w, "|---|---|---:|---:|---:|")
	for _, l := range loads {
		if l.cfg.Mode != load.Idle {
			continue
		}
		for i, bs := range brokers {
			if !bs.runs(l) {
				continue
			}
			if results[i] == nil {
				fmt.Fprintf(w, "| %s | %s | did not start | | |\n", thousands(uint64(l.cfg.Clients)), bs.name)
				continue
			}
			r := results[i][l.name]
			rss, perConn := "-", "-"
			if r.RSSAfter > 0 && r.Connected > 0 {
				rss = fmt.Sprintf("%.1f → %.1f MiB", float64(r.RSSBefore)/(1<<20), float64(r.RSSAfter)/(1<<20))
				perConn = fmt.Sprintf("%.2f KiB", float64(r.RSSAfter-r.RSSBefore)/1024/float64(r.Connected))
			}
			fmt.Fprintf(w, "| %s | %s | %s | %s | %s |\n", thousands(uint64(l.cfg.Clients)), bs.name, thousands(uint64(r.Connected)), rss, perConn)
		}
	}
}

func loadLabel(c load.Config, defaultClients int) string {
	if c.Clients == 0 {
		c.Clients = defaultClients
	}
	label := fmt.Sprintf("%s %d×, QoS %d", c.Mode, c.Clients, c.QoS)
	if c.Rate > 0 {
		label += fmt.Sprintf(" @%s/s", thousands(uint64(c.Rate)))
	}
	if c.QoS == 1 {
		label += fmt.Sprintf(", inflight %d", c.Inflight)
	}
	if c.Window > 0 {
		label += fmt.Sprintf(", window %d", c.Window)
	}
	return label
}

// thousands writes n in groups of three digits, as BENCHMARKS.md does: 155 000.
func thousands(n uint64) string {
	s := strconv.FormatUint(n, 10)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + " " + s[i:]
	}
	return s
}

// roundDur rounds a latency to three significant digits or so: 1.41 s, 233 µs.
func roundDur(d time.Duration) string {
	switch {
	case d >= time.Second:
		return fmt.Sprintf("%.2f s", d.Seconds())
	case d >= 10*time.Millisecond:
		return fmt.Sprintf("%.0f ms", float64(d)/float64(time.Millisecond))
	case d >= time.Millisecond:
		return fmt.Sprintf("%.2f ms", float64(d)/float64(time.Millisecond))
	default:
		return fmt.Sprintf("%d µs", d/time.Microsecond)
	}
}
