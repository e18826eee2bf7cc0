// Command snbridge is the MQTT broker and MQTT-SN gateway daemon.
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

	"github.com/spf13/pflag"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil && !errors.Is(err, pflag.ErrHelp) {
		fmt.Fprintln(os.Stderr, "snbridge:", err)
		os.Exit(1)
	}
}

// run is the whole program, testable without a process: it returns when ctx is done or on error.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := pflag.NewFlagSet("snbridge", pflag.ContinueOnError)
	fs.SetOutput(stderr)
	showVersion := fs.Bool("version", false, "print the version and exit")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *showVersion {
		fmt.Fprintln(stdout, "snbridge", version)
		return nil
	}
	log := slog.New(slog.NewTextHandler(stderr, nil))
	log.Info("snbridge started", "version", version)
	<-ctx.Done()
	log.Info("snbridge stopped")
	return nil
}
