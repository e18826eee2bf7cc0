package main

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	mqtt "snbridge/mqtt/packet"
)

// counters attribute lost messages: the kernel's UDP receive-buffer overflows (system wide, from
// /proc/net/snmp), and the broker's count of publishes received (from the gateway) and dropped
// (queues full), from its $SYS topics.
type counters struct {
	udpRcvbufErrors  int64
	brokerReceived   int64
	brokerDropped    int64
	brokerSysPresent bool
}

func (a counters) minus(b counters) counters {
	return counters{a.udpRcvbufErrors - b.udpRcvbufErrors, a.brokerReceived - b.brokerReceived, a.brokerDropped - b.brokerDropped, a.brokerSysPresent && b.brokerSysPresent}
}

// sysWatcher follows $SYS/broker/publish/messages/{received,dropped}.
type sysWatcher struct {
	nc   net.Conn
	mu   sync.Mutex
	cond *sync.Cond
	seq  int // publications of "dropped" seen (it comes after "received")
	vals map[string]int64
}

func watchSys(ctx context.Context, broker string) (*sysWatcher, error) {
	d := net.Dialer{Timeout: 5 * time.Second}
	nc, err := d.DialContext(ctx, "tcp", broker)
	if err != nil {
		return nil, err
	}
	w := &sysWatcher{nc: nc, vals: map[string]int64{}}
	w.cond = sync.NewCond(&w.mu)
	r := mqtt.NewReader(nc, 1<<16)
	send := func(p mqtt.Packet) error {
		b, err := mqtt.Append(nil, p)
		if err == nil {
			_, err = nc.Write(b)
		}
		return err
	}
	if err := send(&mqtt.Connect{CleanSession: true, ClientID: "gwbench-sys-" + strconv.Itoa(os.Getpid())}); err != nil {
		nc.Close()
		return nil, err
	}
	if err := send(&mqtt.Subscribe{PacketID: 1, Subscriptions: []mqtt.Subscription{{Filter: "$SYS/broker/publish/messages/+"}}}); err != nil {
		nc.Close()
		return nil, err
	}
	go func() {
		for {
			p, err := r.ReadPacket()
			if err != nil {
				w.mu.Lock()
				w.seq = -1
				w.cond.Broadcast()
				w.mu.Unlock()
				return
			}
			if pub, ok := p.(*mqtt.Publish); ok {
				name := pub.Topic[strings.LastIndexByte(pub.Topic, '/')+1:]
				v, _ := strconv.ParseInt(string(pub.Payload), 10, 64)
				w.mu.Lock()
				w.vals[name] = v
				if name == "dropped" {
					w.seq++
					w.cond.Broadcast()
				}
				w.mu.Unlock()
			}
		}
	}()
	return w, nil
}

// snapshot waits for the next publication of the counters (the broker publishes them every
// sys_interval) and returns them with the kernel's UDP counter.
func (w *sysWatcher) snapshot() counters {
	c := counters{udpRcvbufErrors: udpRcvbufErrors()}
	if w == nil {
		return c
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	start := w.seq
	if start < 0 {
		return c
	}
	timer := time.AfterFunc(3*time.Second, func() { w.mu.Lock(); w.cond.Broadcast(); w.mu.Unlock() })
	defer timer.Stop()
	deadline := time.Now().Add(3 * time.Second)
	for w.seq == start && time.Now().Before(deadline) {
		w.cond.Wait()
	}
	if w.seq > start {
		c.brokerReceived, c.brokerDropped, c.brokerSysPresent = w.vals["received"], w.vals["dropped"], true
	}
	return c
}

func (w *sysWatcher) close() {
	if w != nil {
		w.nc.Close()
	}
}

// udpRcvbufErrors is the kernel's count of UDP datagrams dropped for a full receive buffer.
func udpRcvbufErrors() int64 {
	f, err := os.Open("/proc/net/snmp")
	if err != nil {
		return 0
	}
	defer f.Close()
	var header []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) == 0 || fields[0] != "Udp:" {
			continue
		}
		if header == nil {
			header = fields
			continue
		}
		for i, h := range header {
			if h == "RcvbufErrors" && i < len(fields) {
				n, _ := strconv.ParseInt(fields[i], 10, 64)
				return n
			}
		}
	}
	return 0
}

func (c counters) String() string {
	s := fmt.Sprintf("kernel UDP drops %d", c.udpRcvbufErrors)
	if c.brokerSysPresent {
		s += fmt.Sprintf(", broker received %d, dropped %d", c.brokerReceived, c.brokerDropped)
	}
	return s
}
