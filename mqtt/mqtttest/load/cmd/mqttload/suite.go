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
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"snbridge/mqtt/mqtttest/load"
)

// suiteLoads are the loads of make bench-broker; base supplies duration, payload and inflight.
func suiteLoads(base load.Config, idle int) []load.Config {
	var loads []load.Config
	for _, m := range []load.Mode{load.FanIn, load.FanOut} {
		for _, q := range []byte{0, 1} {
			c := base
			c.Mode, c.QoS = m, q
			loads = append(loads, c)
		}
		// QoS 0 unpaced measures throughput but its latency is the broker's backlog; paced at a
		// rate both brokers sustain, latency is the broker's own.
		c := base
		c.Mode, c.QoS, c.Rate = m, 0, 10_000
		if m == load.FanOut {
			c.Rate = 2_000 // × 10 subscribers
		}
		loads = append(loads, c)
	}
	if idle > 0 {
		c := base
		c.Mode, c.Clients = load.Idle, idle
		loads = append(loads, c)
	}
	return loads
}

type broker struct {
	name, addr string
	cmd        *exec.Cmd
	exited     chan struct{}
}

// spawn starts one broker on a free loopback port and waits until it accepts connections.
func spawn(ctx context.Context, spec, logDir string, stderr io.Writer) (*broker, error) {
	name, command, ok := strings.Cut(spec, "=")
	if !ok || name == "" || command == "" {
		return nil, fmt.Errorf("-spawn %q: want NAME=COMMAND", spec)
	}
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
	results := make([][]load.Result, len(specs))
	names := make([]string, len(specs))
	var errs []error
	for i, spec := range specs {
		b, err := spawn(ctx, spec, logDir, stderr)
		if err != nil {
			// the other brokers are still measured; this one's rows say it did not start
			errs = append(errs, err)
			names[i], _, _ = strings.Cut(spec, "=")
			continue
		}
		names[i] = b.name
		for _, l := range loads {
			l.Broker = b.addr
			if l.Mode == load.Idle {
				l.BrokerPID = b.cmd.Process.Pid
			}
			fmt.Fprintf(stderr, "%s: %s QoS %d …\n", b.name, l.Mode, l.QoS)
			res, err := load.Run(ctx, l)
			if err != nil {
				errs = append(errs, fmt.Errorf("%s %s QoS %d: %w", b.name, l.Mode, l.QoS, err))
				res.Config = l
			}
			results[i] = append(results[i], res)
			fmt.Fprintln(stderr, "  ", res)
		}
		b.stop()
	}
	tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "load\tbroker\tmsg/s\tdelivered\tp50\tp99\tmax\tbroker RSS\tper conn\t")
	for j, l := range loads {
		for i := range specs {
			if results[i] == nil {
				fmt.Fprintf(tw, "%s\t%s\tdid not start\t\t\t\t\t\t\t\n", l.Mode, names[i])
				continue
			}
			r := results[i][j]
			if l.Mode == load.Idle {
				rss, perConn := "-", "-"
				if r.RSSAfter > 0 && r.Connected > 0 {
					rss = fmt.Sprintf("%.1f→%.1f MiB", float64(r.RSSBefore)/(1<<20), float64(r.RSSAfter)/(1<<20))
					perConn = fmt.Sprintf("%.2f KiB", float64(r.RSSAfter-r.RSSBefore)/1024/float64(r.Connected))
				}
				fmt.Fprintf(tw, "idle %d\t%s\t-\t%d open\t-\t-\t-\t%s\t%s\t\n", l.Clients, names[i], r.Connected, rss, perConn)
				continue
			}
			label := fmt.Sprintf("%s %d×, QoS %d", l.Mode, r.Config.Clients, l.QoS)
			if l.Rate > 0 {
				label += fmt.Sprintf(" @%d/s", l.Rate)
			}
			if l.QoS == 1 {
				label += fmt.Sprintf(" inflight %d", r.Config.Inflight)
			}
			fmt.Fprintf(tw, "%s\t%s\t%.0f\t%d/%d\t%v\t%v\t%v\t-\t-\t\n", label, names[i],
				r.Rate, r.Received, r.Expected, r.P50.Round(time.Microsecond), r.P99.Round(time.Microsecond), r.Max.Round(time.Microsecond))
		}
	}
	tw.Flush()
	return errors.Join(errs...)
}
