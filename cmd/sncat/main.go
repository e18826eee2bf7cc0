package main

import (
	"context"
	"errors"
	"fmt"
	"io"
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
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	var ec exitCode
	switch {
	case err == nil, errors.Is(err, pflag.ErrHelp):
	case errors.As(err, &ec):
		os.Exit(int(ec))
	default:
		fmt.Fprintln(os.Stderr, "sncat:", err)
		os.Exit(1)
	}
}

// exitCode ends the program with a status and no message (the message was printed already).
type exitCode int

func (e exitCode) Error() string { return fmt.Sprintf("exit status %d", int(e)) }

const usage = `usage: sncat COMMAND [flags]

commands:
  pub    publish one message (or lines of stdin) to an MQTT-SN gateway
  sub    subscribe and print messages
  dump   decode MQTT-SN traffic from a UDP port, a relay or a pcap file

sncat COMMAND --help shows the flags of a command.
`

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return errors.New("no command given")
	}
	switch args[0] {
	case "pub":
		return runPub(ctx, args[1:], os.Stdin, stdout, stderr)
	case "sub":
		return runSub(ctx, args[1:], stdout, stderr)
	case "dump":
		return runDump(ctx, args[1:], stdout, stderr)
	case "--version", "version":
		fmt.Fprintln(stdout, "sncat", version)
		return nil
	case "-h", "--help", "help":
		fmt.Fprint(stdout, usage)
		return nil
	}
	fmt.Fprint(stderr, usage)
	return fmt.Errorf("unknown command %q", args[0])
}
