package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"time"

	"snbridge/mqtt/mqtttest/load"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "mqttload:", err)
		os.Exit(1)
	}
}

type spawnFlags []string

func (s *spawnFlags) String() string     { return strings.Join(*s, ", ") }
func (s *spawnFlags) Set(v string) error { *s = append(*s, v); return nil }

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("mqttload", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var cfg load.Config
	var mode string
	var qos uint
	var spawns spawnFlags
	fs.StringVar(&cfg.Broker, "broker", "127.0.0.1:1883", "broker address host:port")
	fs.StringVar(&mode, "mode", "fanin", "fanin, fanout or idle")
	fs.UintVar(&qos, "qos", 0, "QoS of publications and subscriptions: 0 or 1")
	fs.IntVar(&cfg.Clients, "clients", 0, "publishers (fanin), subscribers (fanout) or connections (idle); 0: 100, idle 10000")
	fs.IntVar(&cfg.Inflight, "inflight", 1, "QoS 1 messages a publisher may have unacknowledged")
	fs.IntVar(&cfg.Window, "window", 0, "QoS 0 unpaced: messages a publisher may have sent and not yet seen delivered; 0: a flood (with -suite: 1)")
	fs.IntVar(&cfg.PayloadSize, "size", 32, "payload bytes (at least 16)")
	fs.DurationVar(&cfg.Duration, "duration", 5*time.Second, "how long to publish")
	fs.IntVar(&cfg.Rate, "rate", 0, "messages per second over all publishers; 0: unlimited")
	fs.DurationVar(&cfg.Drain, "drain", 3*time.Second, "after publishing, wait this long without progress for the last messages")
	fs.IntVar(&cfg.BrokerPID, "pid", 0, "idle: broker process id whose VmRSS to read")
	fs.DurationVar(&cfg.Hold, "hold", 0, "idle: keep the connections open this long")
	suite := fs.Bool("suite", false, "run the standard loads against each -spawn broker and print a table")
	fs.Var(&spawns, "spawn", "with -suite: NAME=COMMAND starting a broker on {port}, or NAME:LOAD,...=COMMAND for some loads only (repeatable)")
	logDir := fs.String("logdir", os.TempDir(), "with -suite: directory of the brokers' output files")
	idle := fs.Int("idle", 10_000, "with -suite: idle connections to open (0: skip)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	cfg.Mode, cfg.QoS = load.Mode(mode), byte(qos)
	if qos > 1 {
		return fmt.Errorf("-qos %d: 0 or 1", qos)
	}
	if *suite {
		if len(spawns) == 0 {
			return errors.New("-suite needs at least one -spawn NAME=COMMAND")
		}
		return runSuite(ctx, spawns, cfg, *idle, *logDir, stdout, stderr)
	}
	res, err := load.Run(ctx, cfg)
	if err != nil {
		return err
	}
	fmt.Fprintln(stdout, res)
	return nil
}
