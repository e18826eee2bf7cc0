package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"strconv"
	"sync"
	"time"

	"github.com/spf13/pflag"

	"snbridge/mqttsn/client"
	"snbridge/mqttsn/packet"
)

// exitTimeout is mosquitto_sub's exit status when -W expires.
const exitTimeout = 27

// common are the flags pub and sub share, spelled as mosquitto_pub/sub and mqtt-sn-tools do.
type common struct {
	host, clientID, transport string
	port                      int
	qos                       int
	topics                    []string
	predefined                int
	keepalive                 int
	persistent, debug         bool
	retry                     time.Duration
	willTopic, willPayload    string
	willQoS                   int
	willRetain                bool
}

func (c *common) flags(fs *pflag.FlagSet, defaultQoS int) {
	fs.StringVarP(&c.host, "host", "h", "127.0.0.1", "gateway host")
	fs.IntVarP(&c.port, "port", "p", 1884, "gateway UDP port")
	fs.StringVarP(&c.clientID, "id", "i", "", "client id (default sncat-PID)")
	fs.StringVar(&c.transport, "transport", "udp", "udp (dtls and serial come later)")
	fs.IntVarP(&c.qos, "qos", "q", defaultQoS, "QoS -1, 0, 1 or 2")
	fs.StringArrayVarP(&c.topics, "topic", "t", nil, "topic name (a 2-character name travels as a short topic)")
	fs.IntVarP(&c.predefined, "predefined", "T", 0, "pre-defined topic id (with -t, the name it stands for)")
	fs.IntVarP(&c.keepalive, "keepalive", "k", 60, "keep-alive in seconds")
	fs.BoolVarP(&c.persistent, "disable-clean-session", "c", false, "keep the session (CleanSession off)")
	fs.BoolVarP(&c.debug, "debug", "d", false, "log the protocol exchanges on stderr")
	fs.DurationVar(&c.retry, "retry", 10*time.Second, "T_RETRY: wait for an answer before retransmitting")
	fs.StringVar(&c.willTopic, "will-topic", "", "will topic")
	fs.StringVar(&c.willPayload, "will-payload", "", "will message")
	fs.IntVar(&c.willQoS, "will-qos", 0, "will QoS 0..2")
	fs.BoolVar(&c.willRetain, "will-retain", false, "retain the will")
}

// topic returns the topic names to use and the client options for them.
func (c *common) options(stderr io.Writer, role string) (client.Options, []string, error) {
	if c.transport != "udp" {
		if c.transport == "dtls" || c.transport == "serial" {
			return client.Options{}, nil, fmt.Errorf("--transport %s is not supported by this sncat yet (udp only)", c.transport)
		}
		return client.Options{}, nil, fmt.Errorf("--transport %q: want udp", c.transport)
	}
	if c.qos < -1 || c.qos > 2 {
		return client.Options{}, nil, fmt.Errorf("-q %d: want -1, 0, 1 or 2", c.qos)
	}
	if c.port < 1 || c.port > 65535 {
		return client.Options{}, nil, fmt.Errorf("-p %d: want 1..65535", c.port)
	}
	if c.keepalive < 0 || c.keepalive > 65535 {
		return client.Options{}, nil, fmt.Errorf("-k %d: want 0..65535", c.keepalive)
	}
	id := c.clientID
	if id == "" {
		id = fmt.Sprintf("sncat-%s-%d", role, os.Getpid())
	}
	if len(id) > 23 {
		return client.Options{}, nil, fmt.Errorf("-i %q: a client id has at most 23 characters", id)
	}
	opts := client.Options{ClientID: id, KeepAlive: time.Duration(c.keepalive) * time.Second,
		CleanSession: !c.persistent, RetryInterval: c.retry}
	if c.keepalive == 0 {
		opts.KeepAlive = -1
	}
	topics := c.topics
	if c.predefined != 0 {
		if c.predefined < 1 || c.predefined > 0xFFFE {
			return client.Options{}, nil, fmt.Errorf("-T %d: want 1..65534", c.predefined)
		}
		name := "predefined/" + strconv.Itoa(c.predefined)
		if len(topics) == 1 {
			name = topics[0]
		} else if len(topics) > 1 {
			return client.Options{}, nil, errors.New("-T names one topic: give at most one -t with it")
		}
		opts.PredefinedTopics = map[string]uint16{name: uint16(c.predefined)}
		topics = []string{name}
	}
	if len(topics) == 0 {
		return client.Options{}, nil, errors.New("give a topic with -t or -T")
	}
	if c.willTopic != "" {
		if c.willQoS < 0 || c.willQoS > 2 {
			return client.Options{}, nil, fmt.Errorf("--will-qos %d: want 0..2", c.willQoS)
		}
		opts.Will = &client.Will{Topic: c.willTopic, Payload: []byte(c.willPayload), QoS: client.QoS(c.willQoS), Retain: c.willRetain}
	}
	if c.debug {
		opts.Logger = slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return opts, topics, nil
}

func (c *common) dial(ctx context.Context, opts client.Options) (*client.Client, error) {
	return client.Dial(ctx, "udp", net.JoinHostPort(c.host, strconv.Itoa(c.port)), opts)
}

func runPub(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	fs := pflag.NewFlagSet("sncat pub", pflag.ContinueOnError)
	fs.SetOutput(stderr)
	var c common
	c.flags(fs, 0)
	message := fs.StringP("message", "m", "", "message to publish")
	null := fs.BoolP("null-message", "n", false, "publish an empty message")
	lines := fs.BoolP("stdin-line", "l", false, "publish each line of stdin as a message")
	whole := fs.BoolP("stdin-file", "s", false, "publish all of stdin as one message")
	retain := fs.BoolP("retain", "r", false, "retain the message")
	repeat := fs.IntP("count", "C", 1, "publish the message this many times")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: sncat pub -t TOPIC (-m MESSAGE | -n | -l | -s) [-q QOS] [-h HOST] [-p PORT] [-i ID] [-r] …")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("pub: unexpected argument %q", fs.Arg(0))
	}
	sources := 0
	for _, b := range []bool{fs.Changed("message"), *null, *lines, *whole} {
		if b {
			sources++
		}
	}
	if sources != 1 {
		return errors.New("pub: give exactly one of -m, -n, -l, -s")
	}
	if *repeat < 1 {
		return fmt.Errorf("pub: -C %d: want at least 1", *repeat)
	}
	opts, topics, err := c.options(stderr, "pub")
	if err != nil {
		return err
	}
	if len(topics) != 1 {
		return errors.New("pub: give one topic")
	}
	cl, err := c.dial(ctx, opts)
	if err != nil {
		return err
	}
	defer cl.Close()
	qos := client.QoS(c.qos)
	if qos != packet.QoSMinus1 {
		if err := cl.Connect(ctx); err != nil {
			return fmt.Errorf("connect to %s: %w", cl.Gateway(), err)
		}
		defer func() {
			dctx, cancel := context.WithTimeout(context.Background(), 2*c.retry)
			defer cancel()
			_ = cl.Disconnect(dctx)
		}()
	}
	publish := func(payload []byte) error {
		if err := cl.Publish(ctx, topics[0], payload, qos, *retain); err != nil {
			return fmt.Errorf("publish to %s: %w", topics[0], err)
		}
		return nil
	}
	switch {
	case *lines:
		sc := bufio.NewScanner(stdin)
		sc.Buffer(make([]byte, 64*1024), 64*1024)
		for sc.Scan() {
			if err := publish([]byte(sc.Text())); err != nil {
				return err
			}
		}
		return sc.Err()
	case *whole:
		b, err := io.ReadAll(io.LimitReader(stdin, 65000))
		if err != nil {
			return err
		}
		return publish(b)
	}
	payload := []byte(*message)
	if *null {
		payload = nil
	}
	for range *repeat {
		if err := publish(payload); err != nil {
			return err
		}
	}
	return nil
}

func runSub(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := pflag.NewFlagSet("sncat sub", pflag.ContinueOnError)
	fs.SetOutput(stderr)
	var c common
	c.flags(fs, 0)
	count := fs.IntP("count", "C", 0, "exit after this many messages (0: never)")
	timeout := fs.IntP("timeout", "W", 0, "exit after this many seconds (status 27 when messages were expected)")
	verbose := fs.BoolP("verbose", "v", false, `print "topic payload"`)
	sleep := fs.Duration("sleep", 0, "sleep between polls for this long (§6.14): the gateway buffers messages meanwhile")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: sncat sub -t TOPIC [-t TOPIC …] [-q QOS] [-C COUNT] [-W SECONDS] [-v] [--sleep D] [-h HOST] [-p PORT] …")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("sub: unexpected argument %q", fs.Arg(0))
	}
	if c.qos < 0 {
		return fmt.Errorf("sub: -q %d: subscriptions take QoS 0, 1 or 2", c.qos)
	}
	if *count < 0 || *timeout < 0 {
		return errors.New("sub: -C and -W must not be negative")
	}
	if *sleep != 0 && (*sleep < time.Second || *sleep > 65535*time.Second) {
		return fmt.Errorf("sub: --sleep %v: want 1s..65535s", *sleep)
	}
	opts, topics, err := c.options(stderr, "sub")
	if err != nil {
		return err
	}
	if *timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, time.Duration(*timeout)*time.Second)
		defer cancel()
	}
	ctx, stop := context.WithCancel(ctx)
	defer stop()

	var mu sync.Mutex
	received := 0
	handler := func(m client.Message) {
		mu.Lock()
		defer mu.Unlock()
		if *count > 0 && received >= *count {
			return
		}
		received++
		if *verbose {
			topic := m.Topic
			if topic == "" {
				topic = fmt.Sprintf("predefined/%d", m.TopicID)
			}
			fmt.Fprintf(stdout, "%s %s\n", topic, m.Payload)
		} else {
			fmt.Fprintf(stdout, "%s\n", m.Payload)
		}
		if *count > 0 && received >= *count {
			stop()
		}
	}
	opts.OnMessage = handler
	cl, err := c.dial(ctx, opts)
	if err != nil {
		return err
	}
	defer cl.Close()
	if err := cl.Connect(ctx); err != nil {
		return fmt.Errorf("connect to %s: %w", cl.Gateway(), err)
	}
	for _, t := range topics {
		if _, err := cl.Subscribe(ctx, t, client.QoS(c.qos), handler); err != nil {
			return fmt.Errorf("subscribe to %s: %w", t, err)
		}
	}
	if *sleep > 0 {
		if err := cl.Sleep(ctx, *sleep); err != nil {
			return err
		}
		// Poll a little before the gateway's sleep timer would run out.
		every := *sleep * 9 / 10
	loop:
		for {
			t := time.NewTimer(every)
			select {
			case <-ctx.Done():
				t.Stop()
				break loop
			case <-t.C:
			}
			if err := cl.Poll(ctx); err != nil && ctx.Err() == nil {
				return err
			}
		}
	} else {
		<-ctx.Done()
	}
	// Leave cleanly, whatever ended the wait.
	dctx, cancel := context.WithTimeout(context.Background(), 2*c.retry)
	defer cancel()
	_ = cl.Disconnect(dctx)
	mu.Lock()
	got := received
	mu.Unlock()
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		fmt.Fprintf(stderr, "sncat: timed out after %ds with %d messages\n", *timeout, got)
		return exitCode(exitTimeout) // as mosquitto_sub -W
	}
	return nil
}
