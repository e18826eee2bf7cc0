package gwbench

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"snbridge/mqttsn/packet"
)

// ConnectConfig is a swarm of clients that connect and then stay idle.
type ConnectConfig struct {
	Gateway string // UDP address of the MQTT-SN gateway
	Clients int    // 0 = 10 000
	// Workers connect concurrently, each one client at a time (CONNECT, wait for CONNACK);
	// 0 = 64.
	Workers int
	// Forwarder puts the clients behind the forwarder encapsulation (0xFE, §5.5): each worker
	// has one UDP socket and its clients are wireless node ids on it. Without it every client
	// has a UDP socket of its own (Clients file descriptors).
	Forwarder bool
	// KeepAlive is the CONNECT Duration; 0 = 3600 s (the swarm is idle: no PINGREQ is sent).
	KeepAlive time.Duration
	Timeout   time.Duration // per CONNECT, with a retransmission every second; 0 = 5 s
}

// ConnectResult is what a swarm measured.
type ConnectResult struct {
	Config    ConnectConfig
	Connected int
	Elapsed   time.Duration // first CONNECT to last CONNACK
}

// PerSecond is connections accepted per second.
func (r ConnectResult) PerSecond() float64 {
	if r.Elapsed <= 0 {
		return 0
	}
	return float64(r.Connected) / r.Elapsed.Seconds()
}

func (r ConnectResult) String() string {
	how := "one UDP socket per client"
	if r.Config.Forwarder {
		how = fmt.Sprintf("forwarder encapsulation, %d sockets", r.Config.Workers)
	}
	return fmt.Sprintf("%d/%d clients connected in %v (%s, %d at a time): %.0f connects/s",
		r.Connected, r.Config.Clients, r.Elapsed.Round(time.Millisecond), how, r.Config.Workers, r.PerSecond())
}

// Swarm holds the connected clients of Connect until Close.
type Swarm struct {
	mu    sync.Mutex
	conns []*net.UDPConn
	nodes [][][]byte // per forwarder socket, its node ids
}

// Connect connects cfg.Clients clients and keeps them connected in the returned Swarm (also
// returned, with what was connected, on error).
func Connect(ctx context.Context, cfg ConnectConfig) (*Swarm, ConnectResult, error) {
	cfg.Clients = or(cfg.Clients, 10_000)
	cfg.Workers = min(or(cfg.Workers, 64), cfg.Clients)
	cfg.KeepAlive = orDur(cfg.KeepAlive, time.Hour)
	cfg.Timeout = orDur(cfg.Timeout, 5*time.Second)
	res := ConnectResult{Config: cfg}
	sw := &Swarm{}
	if cfg.Gateway == "" {
		return sw, res, errors.New("gwbench: no Gateway address")
	}
	raddr, err := net.ResolveUDPAddr("udp", cfg.Gateway)
	if err != nil {
		return sw, res, err
	}
	run := runID()
	var connected atomic.Int64
	var next atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, cfg.Workers)
	start := time.Now()
	for range cfg.Workers {
		wg.Go(func() {
			buf, rbuf := make([]byte, 0, 128), make([]byte, 512)
			var shared *net.UDPConn
			var nodes [][]byte
			if cfg.Forwarder {
				c, err := net.DialUDP("udp", nil, raddr)
				if err != nil {
					errs <- err
					return
				}
				c.SetReadBuffer(1 << 20)
				shared = c
				defer func() {
					sw.mu.Lock()
					sw.conns = append(sw.conns, shared)
					sw.nodes = append(sw.nodes, nodes)
					sw.mu.Unlock()
				}()
			}
			for ctx.Err() == nil {
				i := int(next.Add(1)) - 1
				if i >= cfg.Clients {
					return
				}
				conn, node := shared, []byte(nil)
				if cfg.Forwarder {
					node = binary.BigEndian.AppendUint32(nil, uint32(i))
				} else {
					c, err := net.DialUDP("udp", nil, raddr)
					if err != nil {
						errs <- err
						return
					}
					conn = c
				}
				id := "gwi-" + run + "-" + strconv.Itoa(i)
				m := &packet.Connect{CleanSession: true, ProtocolID: packet.ProtocolID, Duration: uint16(cfg.KeepAlive / time.Second), ClientID: id}
				reply, err := exchange(ctx, conn, node, m, packet.TypeConnack, cfg.Timeout, &buf, rbuf)
				if err == nil {
					err = reply.(*packet.Connack).ReturnCode.Err()
				}
				if err != nil {
					if !cfg.Forwarder {
						conn.Close()
					}
					errs <- fmt.Errorf("%s: CONNECT: %w", id, err)
					return
				}
				connected.Add(1)
				if cfg.Forwarder {
					nodes = append(nodes, node)
				} else {
					sw.mu.Lock()
					sw.conns = append(sw.conns, conn)
					sw.nodes = append(sw.nodes, nil)
					sw.mu.Unlock()
				}
			}
		})
	}
	wg.Wait()
	res.Elapsed = time.Since(start)
	res.Connected = int(connected.Load())
	select {
	case err := <-errs:
		return sw, res, fmt.Errorf("gwbench: %w", err)
	default:
	}
	return sw, res, ctx.Err()
}

// Close sends DISCONNECT for every client of the swarm (so the gateway frees them) and closes
// its sockets.
func (s *Swarm) Close() {
	s.mu.Lock()
	defer s.mu.Unlock()
	disc, _ := packet.Append(nil, &packet.Disconnect{})
	var buf []byte
	for i, c := range s.conns {
		if s.nodes[i] == nil {
			c.Write(disc)
		}
		for j, node := range s.nodes[i] {
			buf, _ = packet.AppendEncapsulated(buf[:0], 0, node, disc)
			c.Write(buf)
			if j%256 == 255 {
				time.Sleep(time.Millisecond) // do not overrun the gateway's socket buffer
			}
		}
		c.Close()
	}
	s.conns, s.nodes = nil, nil
}
