package forwarder

import (
	"bytes"
	"errors"
	"net"
	"os"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"snbridge/mqttsn/packet"
)

// echoGateway answers every encapsulated PINGREQ(id) with an encapsulated PINGREQ("re:"+id)
// addressed to the same node, so each node can tell its own answer.
func echoGateway(t *testing.T) (net.PacketConn, func()) {
	gw, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	wg.Go(func() {
		b := make([]byte, 2048)
		for {
			n, from, err := gw.ReadFrom(b)
			if err != nil {
				return
			}
			_, node, inner, err := packet.DecapsulateForwarder(b[:n])
			if err != nil {
				continue
			}
			m, err := packet.Decode(inner)
			if err != nil {
				continue
			}
			reply, _ := packet.Marshal(&packet.Pingreq{ClientID: "re:" + m.(*packet.Pingreq).ClientID})
			env, _ := packet.AppendEncapsulated(nil, 0, node, reply)
			_, _ = gw.WriteTo(env, from)
		}
	})
	return gw, func() { gw.Close(); wg.Wait() }
}

func ping(t *testing.T, id string) []byte {
	b, err := packet.Marshal(&packet.Pingreq{ClientID: id})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestNodesShareOneSocket(t *testing.T) {
	defer goleak.VerifyNone(t)
	gw, stop := echoGateway(t)
	defer stop()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	f := New(pc, gw.LocalAddr())
	defer f.Close()
	var nodes []*Node
	for i := range uint16(3) {
		n, err := f.Node(NodeID(i + 1))
		if err != nil {
			t.Fatal(err)
		}
		nodes = append(nodes, n)
	}
	if _, err := f.Node(NodeID(2)); err == nil {
		t.Fatal("a node id used twice was accepted")
	}
	if _, err := f.Node(nil); err == nil {
		t.Fatal("an empty node id was accepted")
	}
	for i, n := range nodes {
		if n.LocalAddr().String() != pc.LocalAddr().String() {
			t.Fatal("nodes do not share the socket")
		}
		if _, err := n.WriteTo(ping(t, string(rune('a'+i))), nil); err != nil {
			t.Fatal(err)
		}
	}
	buf := make([]byte, 64)
	for i, n := range nodes {
		_ = n.SetReadDeadline(time.Now().Add(5 * time.Second))
		k, from, err := n.ReadFrom(buf)
		if err != nil {
			t.Fatalf("node %d: %v", i, err)
		}
		if want := ping(t, "re:"+string(rune('a'+i))); !bytes.Equal(buf[:k], want) || from.String() != gw.LocalAddr().String() {
			t.Fatalf("node %d got % x from %v, want % x", i, buf[:k], from, want)
		}
	}
}

func TestNodeDeadlineAndClose(t *testing.T) {
	defer goleak.VerifyNone(t)
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	f := New(pc, pc.LocalAddr())
	n, _ := f.Node([]byte{7})
	_ = n.SetReadDeadline(time.Now().Add(20 * time.Millisecond))
	if _, _, err := n.ReadFrom(make([]byte, 8)); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("ReadFrom past deadline: %v", err)
	}
	_ = n.SetReadDeadline(time.Time{})
	errc := make(chan error, 1)
	go func() { _, _, err := n.ReadFrom(make([]byte, 8)); errc <- err }()
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-errc:
		if !errors.Is(err, net.ErrClosed) {
			t.Fatalf("blocked read ended with %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Close did not wake a blocked read")
	}
	if _, err := n.WriteTo([]byte{2, 0x16}, nil); !errors.Is(err, net.ErrClosed) {
		t.Fatalf("write after close: %v", err)
	}
	if _, err := f.Node([]byte{8}); !errors.Is(err, net.ErrClosed) {
		t.Fatalf("Node after close: %v", err)
	}
	_ = f.Close()
}

func TestUnknownNodeAndGarbageAreDropped(t *testing.T) {
	defer goleak.VerifyNone(t)
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	f := New(pc, pc.LocalAddr())
	defer f.Close()
	n, _ := f.Node([]byte{1})
	src, err := net.Dial("udp", pc.LocalAddr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	other, _ := packet.AppendEncapsulated(nil, 0, []byte{9}, []byte{2, 0x17})
	mine, _ := packet.AppendEncapsulated(nil, 0, []byte{1}, []byte{2, 0x17})
	_, _ = src.Write(other)
	_, _ = src.Write([]byte{2, 0x17}) // not encapsulated
	_, _ = src.Write(mine)
	_ = n.SetReadDeadline(time.Now().Add(5 * time.Second))
	buf := make([]byte, 8)
	k, _, err := n.ReadFrom(buf)
	if err != nil || !bytes.Equal(buf[:k], []byte{2, 0x17}) {
		t.Fatalf("read % x %v", buf[:k], err)
	}
	if d := f.Dropped(); d != 2 {
		t.Fatalf("dropped %d, want 2", d)
	}
}
