package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"sync"
	"time"

	"github.com/spf13/pflag"

	"snbridge/simulator/capture"
)

// maxRelayPeers bounds the sensors a relay tracks; beyond it new peers are refused and counted.
const maxRelayPeers = 10000

func runDump(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := pflag.NewFlagSet("sncat dump", pflag.ContinueOnError)
	fs.SetOutput(stderr)
	host := fs.StringP("host", "h", "0.0.0.0", "address to listen on")
	port := fs.IntP("port", "p", 1884, "UDP port to listen on; with -r, only datagrams from or to it (0: all)")
	file := fs.StringP("read", "r", "", "read a classic pcap file instead of listening")
	relay := fs.String("relay", "", "forward everything to this gateway (host:port) and back, dumping both directions")
	count := fs.IntP("count", "C", 0, "stop after this many datagrams (0: no limit)")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: sncat dump [-h HOST] [-p PORT] [--relay GATEWAY] | -r FILE.pcap [-p PORT]")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("dump: unexpected argument %q", fs.Arg(0))
	}
	if *port < 0 || *port > 65535 {
		return fmt.Errorf("dump: port %d out of range", *port)
	}
	d := &dumper{w: stdout, limit: *count}
	if *file != "" {
		if *relay != "" {
			return errors.New("dump: --relay and -r exclude each other")
		}
		return d.pcap(*file, uint16(*port))
	}
	pc, err := net.ListenPacket("udp", net.JoinHostPort(*host, strconv.Itoa(*port)))
	if err != nil {
		return err
	}
	fmt.Fprintf(stderr, "sncat: dumping MQTT-SN on udp %s\n", pc.LocalAddr())
	if *relay != "" {
		gw, err := net.ResolveUDPAddr("udp", *relay)
		if err != nil {
			pc.Close()
			return fmt.Errorf("dump: relay address: %w", err)
		}
		return d.relay(ctx, pc, gw)
	}
	return d.listen(ctx, pc)
}

// dumper prints one line per datagram, serialised, and stops after limit lines.
type dumper struct {
	mu    sync.Mutex
	w     io.Writer
	n     int
	limit int
}

// errLimit ends a dump that reached its count.
var errLimit = errors.New("count reached")

func (d *dumper) line(at time.Time, src, dst string, datagram []byte) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.limit > 0 && d.n >= d.limit {
		return errLimit
	}
	d.n++
	_, err := fmt.Fprintf(d.w, "%s %s > %s %s\n", at.Format("15:04:05.000000"), src, dst, capture.Format(datagram))
	if err == nil && d.limit > 0 && d.n >= d.limit {
		return errLimit
	}
	return err
}

func (d *dumper) pcap(path string, port uint16) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	r, err := capture.NewReader(f)
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	for {
		dg, err := r.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
		if port != 0 && dg.Src.Port() != port && dg.Dst.Port() != port {
			continue
		}
		if err := d.line(dg.Time.UTC(), dg.Src.String(), dg.Dst.String(), dg.Payload); err != nil {
			if errors.Is(err, errLimit) {
				return nil
			}
			return err
		}
	}
}

// closeOnDone closes c when ctx ends, so a blocked read returns; stop releases it.
func closeOnDone(ctx context.Context, c io.Closer) (stop func()) {
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		select {
		case <-ctx.Done():
			c.Close()
		case <-done:
		}
	})
	return func() { close(done); wg.Wait() }
}

func (d *dumper) listen(ctx context.Context, pc net.PacketConn) error {
	defer pc.Close()
	defer closeOnDone(ctx, pc)()
	buf := make([]byte, 65535)
	local := pc.LocalAddr().String()
	for {
		n, from, err := pc.ReadFrom(buf)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return err
		}
		if err := d.line(time.Now(), from.String(), local, buf[:n]); err != nil {
			if errors.Is(err, errLimit) {
				return nil
			}
			return err
		}
	}
}

// relay forwards each sensor's datagrams to the gateway through a socket of its own (so the
// gateway sees one peer per sensor) and the gateway's answers back, dumping both.
func (d *dumper) relay(ctx context.Context, pc net.PacketConn, gw *net.UDPAddr) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	defer pc.Close()
	defer closeOnDone(ctx, pc)()
	var (
		mu    sync.Mutex
		peers = map[string]*net.UDPConn{}
		wg    sync.WaitGroup
	)
	defer func() {
		mu.Lock()
		for _, up := range peers {
			up.Close()
		}
		mu.Unlock()
		wg.Wait()
	}()
	buf := make([]byte, 65535)
	for {
		n, from, err := pc.ReadFrom(buf)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return err
		}
		mu.Lock()
		up := peers[from.String()]
		if up == nil && len(peers) < maxRelayPeers {
			up, err = net.DialUDP("udp", nil, gw)
			if err != nil {
				mu.Unlock()
				return err
			}
			peers[from.String()] = up
			sensor := from
			wg.Go(func() {
				b := make([]byte, 65535)
				for {
					n, err := up.Read(b)
					if err != nil {
						return
					}
					_, _ = pc.WriteTo(b[:n], sensor) // forward first: the count may end the relay
					if err := d.line(time.Now(), gw.String(), sensor.String(), b[:n]); err != nil {
						cancel()
						pc.Close()
						return
					}
				}
			})
		}
		mu.Unlock()
		if up != nil {
			_, _ = up.Write(buf[:n])
		}
		if err := d.line(time.Now(), from.String(), gw.String(), buf[:n]); err != nil {
			if errors.Is(err, errLimit) {
				return nil
			}
			return err
		}
	}
}
