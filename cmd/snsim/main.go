package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/spf13/pflag"

	"snbridge/simulator"
	"snbridge/simulator/report"
	"snbridge/simulator/scenario"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	switch {
	case err == nil, errors.Is(err, pflag.ErrHelp):
	case errors.Is(err, errVerdict):
		os.Exit(2)
	default:
		fmt.Fprintln(os.Stderr, "snsim:", err)
		os.Exit(1)
	}
}

// errVerdict is returned when the run took place and a guarantee was broken; the summary has
// already said which.
var errVerdict = errors.New("a delivery guarantee was broken")

const usage = `usage: snsim COMMAND [flags]

commands:
  run SCENARIO   simulate the scenario's sensors against a gateway and check every message
  bench          measure a gateway: N UDP clients publishing 32-byte messages to one MQTT subscriber

snsim COMMAND --help shows the flags of a command.
`

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return errors.New("no command given")
	}
	switch args[0] {
	case "run":
		return runScenario(ctx, args[1:], stdout, stderr)
	case "bench":
		return runBench(ctx, args[1:], stdout, stderr)
	case "--version", "version":
		fmt.Fprintln(stdout, "snsim", version)
		return nil
	case "-h", "--help", "help":
		fmt.Fprint(stdout, usage)
		return nil
	}
	fmt.Fprint(stderr, usage)
	return fmt.Errorf("unknown command %q", args[0])
}

// outputs are the report destinations shared by run and bench.
type outputs struct {
	json, html string
	progress   bool
	verbose    bool
	retry      time.Duration
	retries    int
}

func (o *outputs) flags(fs *pflag.FlagSet) {
	fs.StringVar(&o.json, "json", "", "write the report as JSON to this file (- for stdout)")
	fs.StringVar(&o.html, "report", "", "write a self-contained HTML report to this file")
	fs.BoolVar(&o.progress, "progress", isTerminal(os.Stderr), "show a live progress line on stderr")
	fs.BoolVarP(&o.verbose, "verbose", "v", false, "log what the simulator does")
	fs.DurationVar(&o.retry, "retry", time.Second, "T_RETRY of the sensors: wait for an answer before retransmitting")
	fs.IntVar(&o.retries, "retries", 6, "N_RETRY of the sensors: retransmissions before giving up")
}

func (o *outputs) options(stderr io.Writer) (simulator.Options, error) {
	if o.retry <= 0 || o.retries < 1 {
		return simulator.Options{}, errors.New("--retry must be positive and --retries at least 1")
	}
	opts := simulator.Options{RetryInterval: o.retry, Retries: o.retries}
	if o.progress {
		opts.Progress = stderr
	}
	if o.verbose {
		opts.Logger = slog.New(slog.NewTextHandler(stderr, nil))
	}
	return opts, nil
}

func (o *outputs) write(r *report.Report, stdout io.Writer) error {
	if o.json != "" {
		if err := writeFile(o.json, stdout, func(w io.Writer) error { return report.WriteJSON(w, r) }); err != nil {
			return err
		}
	}
	if o.html != "" {
		if err := writeFile(o.html, stdout, func(w io.Writer) error { return report.WriteHTML(w, r) }); err != nil {
			return err
		}
	}
	return nil
}

func writeFile(path string, stdout io.Writer, write func(io.Writer) error) error {
	if path == "-" {
		return write(stdout)
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := write(f); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func isTerminal(f *os.File) bool {
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

func runScenario(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := pflag.NewFlagSet("snsim run", pflag.ContinueOnError)
	fs.SetOutput(stderr)
	gateway := fs.String("gateway", "", "MQTT-SN gateway UDP address (overrides the scenario)")
	broker := fs.String("broker", "", "MQTT broker address for the checker (overrides the scenario)")
	duration := fs.Duration("duration", 0, "publishing time (overrides the scenario)")
	var out outputs
	out.flags(fs)
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: snsim run SCENARIO [flags]")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		fs.Usage()
		return errors.New("run: give exactly one scenario file")
	}
	if *duration < 0 {
		return errors.New("run: --duration must not be negative")
	}
	sc, err := scenario.Load(fs.Arg(0))
	if err != nil {
		return err
	}
	opts, err := out.options(stderr)
	if err != nil {
		return err
	}
	opts.Gateway, opts.Broker, opts.Duration = *gateway, *broker, *duration
	r, err := simulator.Run(ctx, sc, opts)
	if err != nil {
		return err
	}
	if err := report.WriteSummary(stdout, r); err != nil {
		return err
	}
	if err := out.write(r, stdout); err != nil {
		return err
	}
	if !r.Passed() {
		return errVerdict
	}
	return nil
}

func runBench(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := pflag.NewFlagSet("snsim bench", pflag.ContinueOnError)
	fs.SetOutput(stderr)
	gateway := fs.String("gateway", "127.0.0.1:1884", "MQTT-SN gateway UDP address")
	broker := fs.String("broker", "127.0.0.1:1883", "MQTT broker address of the subscriber")
	clients := fs.IntP("clients", "n", 100, "number of UDP clients")
	qosList := fs.IntSlice("qos", []int{0, 1}, "QoS levels to measure, one run each")
	rate := fs.Float64("rate", 5000, "total publish rate, messages per second")
	duration := fs.Duration("duration", 10*time.Second, "publishing time of each run")
	payload := fs.Int("payload", 32, "payload size in bytes (at least 21, the checker's header)")
	perSocket := fs.Int("forwarder", 0, "put this many clients behind each UDP socket (forwarder encapsulation); 0: one socket each")
	var out outputs
	out.flags(fs)
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 0 {
		return fmt.Errorf("bench: unexpected argument %q", fs.Arg(0))
	}
	var results []benchResult
	var last *report.Report
	broken := false
	for _, q := range *qosList {
		sc, err := benchScenario(*clients, q, *rate, *duration, *payload, *perSocket)
		if err != nil {
			return err
		}
		opts, err := out.options(stderr)
		if err != nil {
			return err
		}
		opts.Gateway, opts.Broker = *gateway, *broker
		r, err := simulator.Run(ctx, sc, opts)
		if err != nil {
			return err
		}
		writeBench(stdout, r, q, *payload)
		broken = broken || !r.Passed()
		results = append(results, benchOf(r, q, *payload))
		last = r
	}
	if out.json != "" {
		if err := writeFile(out.json, stdout, func(w io.Writer) error { return writeBenchJSON(w, results) }); err != nil {
			return err
		}
	}
	if out.html != "" && last != nil {
		if err := writeFile(out.html, stdout, func(w io.Writer) error { return report.WriteHTML(w, last) }); err != nil {
			return err
		}
	}
	if broken {
		return errVerdict
	}
	return nil
}
