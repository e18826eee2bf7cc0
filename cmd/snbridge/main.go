package main

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"os"
	"os/signal"
	"strings"
	"sync/atomic"
	"syscall"

	"github.com/spf13/pflag"

	"snbridge/mqtt/broker"
	"snbridge/mqtt/broker/auth"
	"snbridge/mqtt/store"
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
	return runIO(ctx, args, os.Stdin, stdout, stderr)
}

func runIO(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	if len(args) > 0 && args[0] == "passwd" {
		return runPasswd(args[1:], stdin, stderr)
	}
	fs := pflag.NewFlagSet("snbridge", pflag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: snbridge [flags]\n       snbridge passwd FILE USER\n\nflags:")
		fs.PrintDefaults()
	}
	showVersion := fs.Bool("version", false, "print the version and exit")
	configFile := fs.StringP("config", "c", "", "YAML configuration `file` (flags override it)")
	fs.String("mqtt", ":1883", "MQTT listener `addr`ess, or off")
	fs.String("mqtt-tls", "off", "MQTT over TLS listener `addr`ess (needs cert and key in the config file), or off")
	fs.String("ws", "off", "MQTT over WebSocket listener `addr`ess (path /mqtt), or off")
	fs.String("mqttsn", ":1884", "MQTT-SN gateway UDP listener `addr`ess, or off")
	fs.String("predefined", "", "predefined MQTT-SN topics `file` (ClientID, TopicName, TopicID per line)")
	fs.String("data-dir", "./data", "`dir`ectory of the store")
	fs.String("log-level", "info", "debug, info, warn or error")
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile to `file` until exit")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *showVersion {
		fmt.Fprintln(stdout, "snbridge", version)
		return nil
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q (see --help)", fs.Arg(0))
	}
	cfg := DefaultConfig()
	if *configFile != "" {
		var err error
		if cfg, err = LoadConfig(*configFile); err != nil {
			return err
		}
	}
	if err := cfg.ApplyFlags(fs); err != nil {
		return err
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: cfg.SlogLevel()}))
	if *cpuProfile != "" {
		stop, err := startCPUProfile(*cpuProfile)
		if err != nil {
			return err
		}
		defer stop()
	}
	return serve(ctx, cfg, log)
}

// serve runs the broker of cfg until ctx is done; SIGHUP reloads the password and ACL files.
func serve(ctx context.Context, cfg Config, log *slog.Logger) error {
	authz, err := auth.New(auth.Config{AllowAnonymous: cfg.Auth.AllowAnonymous, PasswordFile: cfg.Auth.PasswordFile, ACLFile: cfg.Auth.ACLFile})
	if err != nil {
		return err
	}
	opts := broker.Options{
		Auth:           authz,
		Logger:         log,
		Version:        version,
		MaxConnections: cfg.Limits.MaxConnections,
		MaxPacketSize:  cfg.Limits.MaxPacketSize,
		MaxInflight:    cfg.Limits.MaxInflight,
		MaxQueued:      cfg.Limits.MaxQueued,
		AdmissionWait:  cfg.Limits.AdmissionWait,
		SysInterval:    cfg.Limits.SysInterval,
	}
	// The config's zero values: no limit, no $SYS, no admission wait.
	if opts.MaxInflight == 0 {
		opts.MaxInflight = math.MaxUint16
	}
	if opts.MaxQueued == 0 {
		opts.MaxQueued = math.MaxInt32
	}
	if opts.SysInterval == 0 {
		opts.SysInterval = -1
	}
	if opts.AdmissionWait == 0 {
		opts.AdmissionWait = -1
	}
	l := cfg.Listeners
	if l.MQTT != "" {
		opts.Listeners = append(opts.Listeners, broker.Listener{Name: "mqtt", Addr: l.MQTT})
	}
	var certs *certReloader
	if l.MQTTTLS.Addr != "" {
		var tc *tls.Config
		tc, certs, err = tlsConfig(l.MQTTTLS)
		if err != nil {
			return err
		}
		opts.Listeners = append(opts.Listeners, broker.Listener{Name: "mqtt-tls", Addr: l.MQTTTLS.Addr, TLS: tc})
	}
	if l.WebSocket.Addr != "" {
		opts.Listeners = append(opts.Listeners, broker.Listener{Name: "ws", Addr: l.WebSocket.Addr, WebSocket: true, Path: l.WebSocket.Path})
	}
	var st store.Store
	if cfg.Store {
		if err := os.MkdirAll(cfg.DataDir, 0o755); err != nil {
			return fmt.Errorf("data dir: %w", err)
		}
		if st, err = store.Open(cfg.DataDir, store.Options{Logger: log}); err != nil {
			return err
		}
		opts.Store = st
	}
	b, err := broker.New(opts)
	if err != nil {
		if st != nil {
			st.Close()
		}
		return err
	}
	gw, err := startGateway(ctx, cfg, b, log)
	if err != nil {
		if st != nil {
			st.Close()
		}
		return err
	}
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	served := make(chan error, 1)
	go func() { served <- b.Serve(gw.brokerCtx) }()
	log.Info("snbridge started", "version", version, "data_dir", cfg.DataDir, "store", cfg.Store)
	for {
		select {
		case <-hup:
			if err := authz.Reload(); err != nil {
				log.Error("SIGHUP: reload failed; the previous password and ACL files stay in force", "err", err)
			} else {
				log.Info("SIGHUP: password and ACL files reloaded", "subscriptions_removed", b.Reauthorize())
			}
			if certs != nil {
				if err := certs.reload(); err != nil {
					log.Error("SIGHUP: TLS certificate reload failed; the previous one stays in force", "err", err)
				} else {
					log.Info("SIGHUP: TLS certificate reloaded", "cert_file", certs.certFile)
				}
			}
			continue
		case err = <-served:
		}
		break
	}
	if gerr := gw.wait(); err == nil {
		err = gerr
	}
	if st != nil {
		if cerr := st.Close(); cerr != nil && err == nil {
			err = fmt.Errorf("closing the store: %w", cerr)
		}
	}
	if err != nil {
		return err
	}
	log.Info("snbridge stopped")
	return nil
}

// tlsConfig builds the TLS listener's configuration; its certificate is reloaded on SIGHUP
// (new connections get the new one), as mosquitto does.
func tlsConfig(t TLSListener) (*tls.Config, *certReloader, error) {
	certs := &certReloader{certFile: t.CertFile, keyFile: t.KeyFile}
	if err := certs.reload(); err != nil {
		return nil, nil, err
	}
	tc := &tls.Config{GetCertificate: certs.get, MinVersion: tls.VersionTLS12}
	if t.ClientCAFile != "" {
		pem, err := os.ReadFile(t.ClientCAFile)
		if err != nil {
			return nil, nil, fmt.Errorf("TLS listener: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, nil, fmt.Errorf("TLS listener: %s: no PEM certificate found", t.ClientCAFile)
		}
		tc.ClientCAs = pool
		tc.ClientAuth = tls.VerifyClientCertIfGiven
		if t.RequireClientCert {
			tc.ClientAuth = tls.RequireAndVerifyClientCert
		}
	}
	return tc, certs, nil
}

// certReloader holds the TLS listener's certificate, replaced whole on reload.
type certReloader struct {
	certFile, keyFile string
	cert              atomic.Pointer[tls.Certificate]
}

// reload reads the certificate and key files; on error the previous certificate stays.
func (r *certReloader) reload() error {
	cert, err := tls.LoadX509KeyPair(r.certFile, r.keyFile)
	if err != nil {
		return fmt.Errorf("TLS listener: %w", err)
	}
	r.cert.Store(&cert)
	return nil
}

func (r *certReloader) get(*tls.ClientHelloInfo) (*tls.Certificate, error) { return r.cert.Load(), nil }

// runPasswd is `snbridge passwd FILE USER`: the password is the first line of stdin (prompted
// for on a terminal, where it is echoed: pipe it in to keep it off the screen).
func runPasswd(args []string, stdin io.Reader, stderr io.Writer) error {
	if len(args) != 2 {
		return errors.New("usage: snbridge passwd FILE USER (the password is read from stdin)")
	}
	if f, ok := stdin.(*os.File); ok {
		if fi, err := f.Stat(); err == nil && fi.Mode()&os.ModeCharDevice != 0 {
			fmt.Fprint(stderr, "Password for ", args[1], ": ")
		}
	}
	line, err := bufio.NewReader(stdin).ReadString('\n')
	if err != nil && !(errors.Is(err, io.EOF) && line != "") {
		return errors.New("passwd: no password on stdin")
	}
	password := strings.TrimRight(line, "\r\n")
	if password == "" {
		return errors.New("passwd: empty password")
	}
	if err := auth.SetPassword(args[0], args[1], password, 0); err != nil {
		return fmt.Errorf("passwd: %w", err)
	}
	return nil
}
