package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"

	"snbridge/mqtt/mqtttest/load"
	"snbridge/mqttsn/mqttsntest/gwbench"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "gwbench:", err)
		os.Exit(1)
	}
}

type options struct {
	snbridge, snArgs, gateway, broker, cpuprofile, loads string
	pid                                                  int
	clients, messages, payload                           int
	rates                                                []int
	connects, connectWorkers, idle, idleSockets          int
	maxInflight                                          int
}

func run(ctx context.Context, args []string, out io.Writer) error {
	fs := flag.NewFlagSet("gwbench", flag.ContinueOnError)
	var o options
	fs.StringVar(&o.snbridge, "snbridge", "", "snbridge `binary` to start on free loopback ports with a temporary data dir")
	fs.StringVar(&o.snArgs, "snbridge-args", "", "extra `flags` for snbridge (space separated)")
	fs.IntVar(&o.maxInflight, "max-inflight", 0, "limits.max_inflight of the started snbridge (the subscriber's QoS 1 window); 0 = its default")
	fs.StringVar(&o.gateway, "gateway", "", "MQTT-SN gateway UDP `addr`ess (without -snbridge)")
	fs.StringVar(&o.broker, "broker", "", "MQTT broker TCP `addr`ess (without -snbridge)")
	fs.IntVar(&o.pid, "pid", 0, "`pid` of the gateway process, for RSS (without -snbridge)")
	fs.StringVar(&o.cpuprofile, "cpuprofile", "", "have snbridge write a CPU profile of the whole run to `file`")
	fs.StringVar(&o.loads, "loads", "qos0,qos1,qos1sub0,connect,idle", "loads to run, comma separated: qos0 (at each of -rates), qos1, qos1sub0 (QoS 1 publishers, QoS 0 subscriber), connect, idle")
	fs.IntVar(&o.clients, "clients", 100, "MQTT-SN publishers of the flow loads")
	fs.IntVar(&o.messages, "messages", 1000, "messages per publisher")
	fs.IntVar(&o.payload, "payload", 32, "payload octets")
	procs := fs.Int("procs", 1, "GOMAXPROCS of the generator: on a small machine the generator must leave the gateway a core")
	rates := fs.String("rates", "50000,100000,150000,200000,0", "QoS 0 total rates in msg/s, comma separated; 0 = unpaced")
	fs.IntVar(&o.connects, "connects", 10000, "clients of the connect-rate load, one UDP socket each")
	fs.IntVar(&o.connectWorkers, "connect-workers", 64, "concurrent CONNECTs")
	fs.IntVar(&o.idle, "idle", 100000, "idle clients for the memory load, behind the forwarder encapsulation")
	fs.IntVar(&o.idleSockets, "idle-sockets", 100, "UDP sockets (forwarders) the idle clients share")
	if err := fs.Parse(args); err != nil {
		return err
	}
	for r := range strings.SplitSeq(*rates, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(r))
		if err != nil || n < 0 {
			return fmt.Errorf("-rates: %q is not a rate", r)
		}
		o.rates = append(o.rates, n)
	}
	raiseFileLimit()
	runtime.GOMAXPROCS(*procs)

	if o.snbridge != "" {
		sn, err := spawn(ctx, o.snbridge, o.cpuprofile, o.maxInflight, strings.Fields(o.snArgs))
		if err != nil {
			return err
		}
		defer sn.stop()
		o.gateway, o.broker, o.pid = sn.gateway, sn.broker, sn.cmd.Process.Pid
		fmt.Fprintf(out, "snbridge pid %d: MQTT %s, MQTT-SN %s, log %s\n", o.pid, o.broker, o.gateway, sn.logPath)
	}
	if o.gateway == "" || o.broker == "" {
		return errors.New("give -snbridge, or -gateway and -broker")
	}
	fmt.Fprintf(out, "gwbench: %s/%s, GOMAXPROCS %d\n", runtime.GOOS, runtime.GOARCH, runtime.GOMAXPROCS(0))

	sys, err := watchSys(ctx, o.broker)
	if err != nil {
		return fmt.Errorf("$SYS watcher: %w", err)
	}
	defer sys.close()
	var flows []gwbench.FlowResult
	var flowCPU []cpuUse
	var flowDrops []counters
	var conns []gwbench.ConnectResult
	var idle *idleResult
	for load := range strings.SplitSeq(o.loads, ",") {
		load = strings.TrimSpace(load)
		switch load {
		case "qos0", "qos1", "qos1sub0":
			rates := o.rates
			if load != "qos0" {
				rates = []int{0}
			}
			for _, rate := range rates {
				cfg := o.flow(0, rate)
				if load != "qos0" {
					cfg.QoS = 1
				}
				if load == "qos1sub0" {
					cfg.SubscriberQoS = 0
				}
				cBefore := sys.snapshot()
				before := o.cpu()
				r, err := gwbench.RunFlow(ctx, cfg)
				use := o.cpu().minus(before)
				drops := sys.snapshot().minus(cBefore)
				fmt.Fprintf(out, "%v; CPU: snbridge %v, gwbench %v; %v\n", r, use.gateway, use.self, drops)
				flowDrops = append(flowDrops, drops)
				if err != nil {
					return err
				}
				flows = append(flows, r)
				flowCPU = append(flowCPU, use)
			}
		case "connect":
			sw, r, err := gwbench.Connect(ctx, gwbench.ConnectConfig{Gateway: o.gateway, Clients: o.connects, Workers: o.connectWorkers})
			fmt.Fprintln(out, r)
			sw.Close()
			if err != nil {
				return err
			}
			conns = append(conns, r)
		case "idle":
			r, c, err := o.idleLoad(ctx)
			if c.Connected > 0 {
				fmt.Fprintln(out, c)
				conns = append(conns, c)
			}
			if err != nil {
				return err
			}
			idle = &r
			fmt.Fprintf(out, "idle: RSS %.1f MiB → %.1f MiB with %d clients: %.0f B per client\n", mib(r.before), mib(r.after), r.clients, r.perClient())
		case "":
		default:
			return fmt.Errorf("-loads: unknown load %q", load)
		}
	}
	printTables(out, flows, flowCPU, flowDrops, conns, idle)
	return nil
}

func (o *options) flow(qos, rate int) gwbench.FlowConfig {
	return gwbench.FlowConfig{Gateway: o.gateway, Broker: o.broker, Clients: o.clients, Messages: o.messages, Payload: o.payload, QoS: qos, SubscriberQoS: -1, Rate: rate}
}

type idleResult struct {
	clients       int
	before, after int64
}

func (r idleResult) perClient() float64 { return float64(r.after-r.before) / float64(r.clients) }

// idleLoad connects o.idle clients behind the forwarder encapsulation and reads the gateway's
// RSS before and after (after a pause for the heap to settle).
func (o *options) idleLoad(ctx context.Context) (idleResult, gwbench.ConnectResult, error) {
	if o.pid == 0 {
		return idleResult{}, gwbench.ConnectResult{}, errors.New("idle: the gateway's pid is needed (-pid)")
	}
	time.Sleep(2 * time.Second)
	before, err := load.RSS(o.pid)
	if err != nil {
		return idleResult{}, gwbench.ConnectResult{}, err
	}
	sw, c, err := gwbench.Connect(ctx, gwbench.ConnectConfig{Gateway: o.gateway, Clients: o.idle, Workers: o.idleSockets, Forwarder: true})
	defer sw.Close()
	if err != nil {
		return idleResult{}, c, err
	}
	time.Sleep(2 * time.Second)
	after, err := load.RSS(o.pid)
	return idleResult{clients: c.Connected, before: before, after: after}, c, err
}

// cpuUse is CPU time (user + system) of the gateway process and of gwbench itself.
type cpuUse struct{ gateway, self time.Duration }

func (a cpuUse) minus(b cpuUse) cpuUse { return cpuUse{a.gateway - b.gateway, a.self - b.self} }

func (o *options) cpu() cpuUse {
	var u cpuUse
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) == nil {
		u.self = time.Duration(ru.Utime.Nano() + ru.Stime.Nano()).Round(10 * time.Millisecond)
	}
	if o.pid == 0 {
		return u
	}
	// /proc/PID/stat: fields 14 and 15 are utime and stime in clock ticks (USER_HZ, 100 on Linux).
	b, err := os.ReadFile("/proc/" + strconv.Itoa(o.pid) + "/stat")
	if err != nil {
		return u
	}
	f := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+2:]))
	if len(f) > 12 {
		ut, _ := strconv.ParseInt(f[11], 10, 64)
		st, _ := strconv.ParseInt(f[12], 10, 64)
		u.gateway = time.Duration(ut+st) * 10 * time.Millisecond
	}
	return u
}

func mib(b int64) float64 { return float64(b) / (1 << 20) }

func printTables(out io.Writer, flows []gwbench.FlowResult, cpu []cpuUse, drops []counters, conns []gwbench.ConnectResult, idle *idleResult) {
	if len(flows) > 0 {
		fmt.Fprintln(out, "\n| load | msg/s | delivered | lost: kernel / gateway / broker | dup | retries | p50 | p99 | max | snbridge CPU | µs CPU/msg | gwbench CPU |")
		fmt.Fprintln(out, "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
		for i, r := range flows {
			name := fmt.Sprintf("QoS %d → sub QoS %d, %d × %d", r.Config.QoS, r.Config.SubscriberQoS, r.Config.Clients, r.Config.Messages)
			switch {
			case r.Config.QoS == 1:
				name += ", 1 in flight per client"
			case r.Config.Rate > 0:
				name += fmt.Sprintf(", paced %d/s", r.Config.Rate)
			default:
				name += ", unpaced"
			}
			perMsg := "–"
			// Per datagram that reached the gateway's socket (the kernel's drops cost it nothing).
			if handled := int64(r.Sent) - drops[i].udpRcvbufErrors; cpu[i].gateway > 0 && handled > 0 {
				perMsg = fmt.Sprintf("%.1f", float64(cpu[i].gateway.Microseconds())/float64(handled))
			}
			lost := fmt.Sprint(r.Lost())
			if d := drops[i]; d.brokerSysPresent {
				// The gateway hands the broker what it does not drop; the kernel count is system-wide.
				gw := int64(r.Sent) - d.udpRcvbufErrors - d.brokerReceived
				lost = fmt.Sprintf("%d: %d / %d / %d", r.Lost(), d.udpRcvbufErrors, max(gw, 0), d.brokerDropped)
			}
			if r.SubscriberDropped {
				lost += " (subscriber disconnected by the broker)"
			}
			fmt.Fprintf(out, "| %s | %.0f | %d / %d | %s | %d | %d | %v | %v | %v | %v | %s | %v |\n", name, r.PerSecond(), r.Delivered, r.Expected(),
				lost, r.Duplicates, r.Retries, round(r.P50), round(r.P99), round(r.Max), cpu[i].gateway, perMsg, cpu[i].self)
		}
	}
	if len(conns) > 0 {
		fmt.Fprintln(out, "\n| connects | clients | time | connects/s |")
		fmt.Fprintln(out, "|---|---:|---:|---:|")
		for _, r := range conns {
			how := fmt.Sprintf("one UDP socket per client, %d at a time", r.Config.Workers)
			if r.Config.Forwarder {
				how = fmt.Sprintf("forwarder encapsulation, %d sockets, 1 at a time each", r.Config.Workers)
			}
			fmt.Fprintf(out, "| %s | %d / %d | %v | %.0f |\n", how, r.Connected, r.Config.Clients, r.Elapsed.Round(time.Millisecond), r.PerSecond())
		}
	}
	if idle != nil {
		fmt.Fprintln(out, "\n| idle clients | RSS before | RSS after | per client |")
		fmt.Fprintln(out, "|---:|---:|---:|---:|")
		fmt.Fprintf(out, "| %d | %.1f MiB | %.1f MiB | %.0f B |\n", idle.clients, mib(idle.before), mib(idle.after), idle.perClient())
	}
}

func round(d time.Duration) time.Duration {
	switch {
	case d >= time.Second:
		return d.Round(10 * time.Millisecond)
	case d >= time.Millisecond:
		return d.Round(10 * time.Microsecond)
	}
	return d.Round(time.Microsecond)
}

// raiseFileLimit lifts the soft limit of open files to the hard one (inherited by snbridge):
// the connect load opens one socket per client.
func raiseFileLimit() {
	var l syscall.Rlimit
	if syscall.Getrlimit(syscall.RLIMIT_NOFILE, &l) == nil && l.Cur < l.Max {
		l.Cur = l.Max
		_ = syscall.Setrlimit(syscall.RLIMIT_NOFILE, &l)
	}
}

// snbridge is a spawned snbridge process.
type snbridge struct {
	cmd             *exec.Cmd
	dir, logPath    string
	gateway, broker string
	done            chan error
}

var listenRE = regexp.MustCompile(`msg=listening listener=(\S+) addr=(\S+)`)

// spawn starts snbridge on free loopback ports (":0", read back from its log) with a temporary
// data directory and the store on, as it runs by default.
func spawn(ctx context.Context, bin, cpuprofile string, maxInflight int, extra []string) (*snbridge, error) {
	dir, err := os.MkdirTemp("", "gwbench-")
	if err != nil {
		return nil, err
	}
	cfg := filepath.Join(dir, "snbridge.yaml")
	// No ADVERTISE broadcasts from a benchmark.
	yaml := "limits:\n  sys_interval: 1s\n" // $SYS counters attribute the losses
	if maxInflight > 0 {
		yaml += fmt.Sprintf("  max_inflight: %d\n", maxInflight)
	}
	yaml += "mqttsn:\n  advertise_interval: 0s\n"
	if err := os.WriteFile(cfg, []byte(yaml), 0o644); err != nil {
		return nil, err
	}
	args := []string{"-c", cfg, "--mqtt", "127.0.0.1:0", "--mqttsn", "127.0.0.1:0", "--data-dir", filepath.Join(dir, "data")}
	if cpuprofile != "" {
		args = append(args, "--cpuprofile", cpuprofile)
	}
	args = append(args, extra...)
	s := &snbridge{dir: dir, logPath: filepath.Join(dir, "snbridge.log"), done: make(chan error, 1)}
	logf, err := os.Create(s.logPath)
	if err != nil {
		return nil, err
	}
	s.cmd = exec.Command(bin, args...)
	s.cmd.Stdout = logf
	stderr, err := s.cmd.StderrPipe()
	if err != nil {
		return nil, err
	}
	if err := s.cmd.Start(); err != nil {
		return nil, err
	}
	found := make(chan [2]string, 4)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			fmt.Fprintln(logf, sc.Text())
			if m := listenRE.FindStringSubmatch(sc.Text()); m != nil {
				found <- [2]string{m[1], m[2]}
			}
		}
		s.done <- s.cmd.Wait()
		logf.Close()
	}()
	timeout := time.After(10 * time.Second)
	for s.gateway == "" || s.broker == "" {
		select {
		case l := <-found:
			switch l[0] {
			case "mqtt":
				s.broker = l[1]
			case "mqttsn":
				s.gateway = l[1]
			}
		case err := <-s.done:
			return nil, fmt.Errorf("snbridge exited: %v (log %s)", err, s.logPath)
		case <-timeout:
			s.stop()
			return nil, fmt.Errorf("snbridge did not start listening (log %s)", s.logPath)
		case <-ctx.Done():
			s.stop()
			return nil, ctx.Err()
		}
	}
	return s, nil
}

// stop ends snbridge with SIGTERM (a CPU profile is written on the way out) and removes its
// data directory; the log stays.
func (s *snbridge) stop() {
	s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.done:
	case <-time.After(30 * time.Second):
		s.cmd.Process.Kill()
		<-s.done
	}
	os.RemoveAll(filepath.Join(s.dir, "data"))
}
