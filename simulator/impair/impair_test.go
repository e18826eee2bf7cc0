package impair

import (
	"encoding/binary"
	"errors"
	"net"
	"os"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"go.uber.org/goleak"
)

var t0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

var peer = &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 1884}

func seqDatagram(i int) []byte {
	b := make([]byte, 4)
	binary.BigEndian.PutUint32(b, uint32(i))
	return b
}

// drain pops everything due by at and returns the sequence numbers in order.
func drain(l *Link, at time.Time) []int {
	var got []int
	buf := make([]byte, 64)
	for {
		n, _, ok := l.Pop(at, buf)
		if !ok {
			return got
		}
		got = append(got, int(binary.BigEndian.Uint32(buf[:n])))
	}
}

func TestPerfectLinkIsTransparent(t *testing.T) {
	l := NewLink(Config{})
	for i := range 100 {
		l.Push(t0, seqDatagram(i), peer)
	}
	got := drain(l, t0)
	if len(got) != 100 {
		t.Fatalf("delivered %d of 100", len(got))
	}
	for i, s := range got {
		if s != i {
			t.Fatalf("position %d holds %d: a perfect link reordered", i, s)
		}
	}
}

func TestLossRateAndReproducibility(t *testing.T) {
	run := func(seed uint64) []int {
		l := NewLink(Config{Loss: 0.10, Seed: seed, Queue: 20000})
		for i := range 10000 {
			l.Push(t0, seqDatagram(i), peer)
		}
		got := drain(l, t0)
		if st := l.Stats(); st.Lost+uint64(len(got)) != 10000 || st.Lost != uint64(10000-len(got)) {
			t.Fatalf("stats %+v disagree with %d delivered", st, len(got))
		}
		return got
	}
	a, b, c := run(7), run(7), run(8)
	lost := 10000 - len(a)
	if lost < 900 || lost > 1100 {
		t.Errorf("lost %d of 10000 at 10%%", lost)
	}
	if len(a) != len(b) {
		t.Fatalf("same seed, different fate: %d vs %d delivered", len(a), len(b))
	}
	for i := range a {
		if a[i] != b[i] {
			t.Fatalf("same seed, different fate at %d", i)
		}
	}
	same := len(a) == len(c)
	for i := 0; same && i < len(a); i++ {
		same = a[i] == c[i]
	}
	if same {
		t.Error("seeds 7 and 8 lost exactly the same datagrams")
	}
}

func TestDuplicationDeliversTwice(t *testing.T) {
	l := NewLink(Config{Duplicate: 1})
	for i := range 10 {
		if n := l.Push(t0, seqDatagram(i), peer); n != 2 {
			t.Fatalf("Push queued %d copies, want 2", n)
		}
	}
	got := drain(l, t0)
	if len(got) != 20 || l.Stats().Duplicated != 10 {
		t.Fatalf("delivered %d, stats %+v", len(got), l.Stats())
	}
	for i := range 10 {
		if got[2*i] != i || got[2*i+1] != i {
			t.Fatalf("copies not adjacent: %v", got)
		}
	}
}

func TestDelayHoldsUntilDue(t *testing.T) {
	l := NewLink(Config{Delay: 50 * time.Millisecond})
	l.Push(t0, seqDatagram(1), peer)
	if got := drain(l, t0.Add(49*time.Millisecond)); len(got) != 0 {
		t.Fatalf("released after 49ms of a 50ms delay: %v", got)
	}
	if next, ok := l.Next(); !ok || !next.Equal(t0.Add(50*time.Millisecond)) {
		t.Fatalf("Next = %v %v", next, ok)
	}
	if got := drain(l, t0.Add(50*time.Millisecond)); len(got) != 1 {
		t.Fatalf("not released when due: %v", got)
	}
}

func TestJitterStaysWithinBounds(t *testing.T) {
	l := NewLink(Config{Delay: 20 * time.Millisecond, Jitter: 5 * time.Millisecond, Seed: 3})
	for i := range 1000 {
		l.Push(t0, seqDatagram(i), peer)
	}
	if got := drain(l, t0.Add(15*time.Millisecond-1)); len(got) != 0 {
		t.Fatalf("%d datagrams left before delay-jitter", len(got))
	}
	early := len(drain(l, t0.Add(20*time.Millisecond)))
	rest := len(drain(l, t0.Add(25*time.Millisecond)))
	if early+rest != 1000 || early < 300 || rest < 300 {
		t.Fatalf("jitter spread: %d by 20ms, %d by 25ms", early, rest)
	}
}

func TestReorderLetsLaterDatagramsOvertake(t *testing.T) {
	l := NewLink(Config{Reorder: 0.2, ReorderGap: 10 * time.Millisecond, Seed: 11})
	for i := range 200 {
		l.Push(t0.Add(time.Duration(i)*time.Millisecond), seqDatagram(i), peer)
	}
	got := drain(l, t0.Add(time.Second))
	if len(got) != 200 {
		t.Fatalf("reordering lost datagrams: %d of 200", len(got))
	}
	inversions := 0
	for i := 1; i < len(got); i++ {
		if got[i] < got[i-1] {
			inversions++
		}
	}
	if r := l.Stats().Reordered; r < 20 || inversions == 0 {
		t.Fatalf("reordered %d, inversions %d", r, inversions)
	}
}

func TestQueueIsBounded(t *testing.T) {
	l := NewLink(Config{Delay: time.Second, Queue: 3})
	for i := range 5 {
		l.Push(t0, seqDatagram(i), peer)
	}
	if st := l.Stats(); st.Overflow != 2 || l.Len() != 3 {
		t.Fatalf("queue %d, stats %+v", l.Len(), st)
	}
	if got := drain(l, t0.Add(time.Second)); len(got) != 3 || got[0] != 0 || got[2] != 2 {
		t.Fatalf("kept %v, want the first three", got)
	}
}

func TestConfigValidate(t *testing.T) {
	for _, c := range []Config{{Loss: 1.5}, {Duplicate: -0.1}, {Delay: -time.Second}, {Queue: -1}} {
		if c.Validate() == nil {
			t.Errorf("%+v accepted", c)
		}
	}
	if _, err := Wrap(newPipe().a, Config{Reorder: 2}, Config{}); err == nil {
		t.Error("Wrap accepted reorder 200%")
	}
}

func BenchmarkLinkPushPop(b *testing.B) {
	l := NewLink(Config{Loss: 0.1, Duplicate: 0.1, Delay: time.Millisecond, Jitter: time.Millisecond})
	d := make([]byte, 32)
	buf := make([]byte, 64)
	b.ReportAllocs()
	now := t0
	for b.Loop() {
		now = now.Add(time.Millisecond)
		l.Push(now, d, peer)
		for {
			if _, _, ok := l.Pop(now.Add(2*time.Millisecond), buf); !ok {
				break
			}
		}
	}
}

// pipe is an in-memory datagram link between two PacketConns, so Conn can be tested inside a
// synctest bubble on a fake clock.
type pipe struct{ a, b *memConn }

func newPipe() pipe {
	a := &memConn{addr: &net.UDPAddr{IP: net.IPv4(10, 0, 0, 1), Port: 1}, in: make(chan []byte, 1024), done: make(chan struct{})}
	b := &memConn{addr: &net.UDPAddr{IP: net.IPv4(10, 0, 0, 2), Port: 2}, in: make(chan []byte, 1024), done: make(chan struct{})}
	a.peer, b.peer = b, a
	return pipe{a, b}
}

type memConn struct {
	addr *net.UDPAddr
	peer *memConn
	in   chan []byte
	done chan struct{}
	once sync.Once
}

func (m *memConn) ReadFrom(b []byte) (int, net.Addr, error) {
	select {
	case d := <-m.in:
		return copy(b, d), m.peer.addr, nil
	case <-m.done:
		return 0, nil, net.ErrClosed
	}
}

func (m *memConn) WriteTo(b []byte, _ net.Addr) (int, error) {
	select {
	case m.peer.in <- append([]byte(nil), b...):
	default: // full: dropped, as UDP would
	}
	return len(b), nil
}

func (m *memConn) Close() error                     { m.once.Do(func() { close(m.done) }); return nil }
func (m *memConn) LocalAddr() net.Addr              { return m.addr }
func (m *memConn) SetDeadline(time.Time) error      { return nil }
func (m *memConn) SetReadDeadline(time.Time) error  { return nil }
func (m *memConn) SetWriteDeadline(time.Time) error { return nil }

func TestConnDelaysBothDirectionsOnFakeClock(t *testing.T) {
	defer goleak.VerifyNone(t)
	synctest.Test(t, func(t *testing.T) {
		p := newPipe()
		c, err := Wrap(p.a, Config{Delay: 100 * time.Millisecond}, Config{Delay: 30 * time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		start := time.Now()

		// Outbound: the peer sees the datagram 100ms later, not before.
		if _, err := c.WriteTo([]byte("up"), p.b.addr); err != nil {
			t.Fatal(err)
		}
		synctest.Wait()
		if len(p.b.in) != 0 {
			t.Fatal("outbound datagram arrived before its delay")
		}
		buf := make([]byte, 16)
		n, _, err := p.b.ReadFrom(buf)
		if err != nil || string(buf[:n]) != "up" || time.Since(start) != 100*time.Millisecond {
			t.Fatalf("peer read %q %v after %v", buf[:n], err, time.Since(start))
		}

		// Inbound: ReadFrom returns 30ms after the peer sent.
		sent := time.Now()
		_, _ = p.b.WriteTo([]byte("down"), p.a.addr)
		n, from, err := c.ReadFrom(buf)
		if err != nil || string(buf[:n]) != "down" || from.String() != p.b.addr.String() || time.Since(sent) != 30*time.Millisecond {
			t.Fatalf("read %q from %v (%v) after %v", buf[:n], from, err, time.Since(sent))
		}
	})
}

func TestConnLossAndDuplicationOnFakeClock(t *testing.T) {
	defer goleak.VerifyNone(t)
	synctest.Test(t, func(t *testing.T) {
		p := newPipe()
		c, err := Wrap(p.a, Config{Loss: 1}, Config{Duplicate: 1})
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		for range 10 {
			_, _ = c.WriteTo([]byte("x"), p.b.addr)
		}
		synctest.Wait()
		if len(p.b.in) != 0 {
			t.Fatalf("%d datagrams crossed a 100%% loss link", len(p.b.in))
		}
		_, _ = p.b.WriteTo([]byte("y"), p.a.addr)
		buf := make([]byte, 8)
		for i := range 2 {
			if n, _, err := c.ReadFrom(buf); err != nil || string(buf[:n]) != "y" {
				t.Fatalf("copy %d: %q %v", i, buf[:n], err)
			}
		}
		out, in := c.Stats()
		if out.Lost != 10 || in.Duplicated != 1 || in.Delivered != 2 {
			t.Fatalf("stats out %+v in %+v", out, in)
		}
	})
}

func TestConnReadDeadlineAndClose(t *testing.T) {
	defer goleak.VerifyNone(t)
	synctest.Test(t, func(t *testing.T) {
		p := newPipe()
		c, err := Wrap(p.a, Config{}, Config{})
		if err != nil {
			t.Fatal(err)
		}
		_ = c.SetReadDeadline(time.Now().Add(time.Second))
		start := time.Now()
		if _, _, err := c.ReadFrom(make([]byte, 8)); !errors.Is(err, os.ErrDeadlineExceeded) || time.Since(start) != time.Second {
			t.Fatalf("ReadFrom = %v after %v, want a deadline error after 1s", err, time.Since(start))
		}
		_ = c.SetReadDeadline(time.Time{})
		errc := make(chan error, 1)
		go func() {
			_, _, err := c.ReadFrom(make([]byte, 8))
			errc <- err
		}()
		synctest.Wait()
		if err := c.Close(); err != nil {
			t.Fatal(err)
		}
		if err := <-errc; !errors.Is(err, net.ErrClosed) {
			t.Fatalf("blocked ReadFrom returned %v on Close", err)
		}
		if err := c.Close(); err != nil {
			t.Fatalf("second Close: %v", err)
		}
		if _, err := c.WriteTo([]byte("z"), p.b.addr); !errors.Is(err, net.ErrClosed) {
			t.Fatalf("WriteTo after Close: %v", err)
		}
	})
}

func TestConnOverRealUDP(t *testing.T) {
	defer goleak.VerifyNone(t)
	srv, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	raw, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	c, err := Wrap(raw, Config{Delay: time.Millisecond}, Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.WriteTo([]byte("ping"), srv.LocalAddr()); err != nil {
		t.Fatal(err)
	}
	_ = srv.SetReadDeadline(time.Now().Add(5 * time.Second))
	buf := make([]byte, 16)
	n, from, err := srv.ReadFrom(buf)
	if err != nil || string(buf[:n]) != "ping" {
		t.Fatalf("server read %q %v", buf[:n], err)
	}
	_, _ = srv.WriteTo([]byte("pong"), from)
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	if n, _, err := c.ReadFrom(buf); err != nil || string(buf[:n]) != "pong" {
		t.Fatalf("client read %q %v", buf[:n], err)
	}
}
