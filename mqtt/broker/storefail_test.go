package broker

import (
	"errors"
	"sync/atomic"
	"testing"

	"snbridge/mqtt/packet"
	"snbridge/mqtt/store"
)

// failingStore is a store whose Commit fails while fail is set (a full disk).
type failingStore struct {
	store.Store
	fail atomic.Bool
}

func (f *failingStore) Commit(b *store.Batch) error {
	if f.fail.Load() {
		return errors.New("no space left on device")
	}
	return f.Store.Commit(b)
}

// A persistent session that the store cannot record is refused with CONNACK 3 (server
// unavailable) rather than accepted and lost at the next restart; a clean session, which
// writes nothing, is still accepted, and once the store works the persistent one is too.
func TestSessionNotStoredIsRefused(t *testing.T) {
	st := &failingStore{Store: store.NewMemory()}
	b, addr := startBroker(t, Options{Store: st})
	st.fail.Store(true)
	c := dialRaw(t, addr)
	if ack := c.connect(&packet.Connect{ClientID: "p", CleanSession: false}); ack.ReturnCode != packet.ServerUnavailable {
		t.Fatalf("CONNACK %d, want 3 when the session cannot be stored", ack.ReturnCode)
	}
	c.expectClosed()
	if _, _, err := b.ConnectLocal(LocalOptions{ClientID: "lp", CleanSession: false}, &localRecorder{}); err == nil {
		t.Fatal("ConnectLocal of a persistent session that cannot be stored: no error")
	}
	clean := dialRaw(t, addr)
	if ack := clean.connect(&packet.Connect{ClientID: "c", CleanSession: true}); ack.ReturnCode != packet.Accepted {
		t.Fatalf("clean session refused: %d", ack.ReturnCode)
	}
	st.fail.Store(false)
	c2 := dialRaw(t, addr)
	if ack := c2.connect(&packet.Connect{ClientID: "p", CleanSession: false}); ack.ReturnCode != packet.Accepted || ack.SessionPresent {
		t.Fatalf("after the store recovered: %+v, want accepted without a session", ack)
	}
}

// A subscription of a persistent session that the store cannot record is refused with 0x80
// and does not deliver: granted, it would be gone after a restart.
func TestSubscriptionNotStoredIsRefused(t *testing.T) {
	st := &failingStore{Store: store.NewMemory()}
	_, addr := startBroker(t, Options{Store: st})
	c := dialRaw(t, addr)
	c.connect(&packet.Connect{ClientID: "p", CleanSession: false})
	c.send(&packet.Subscribe{PacketID: 1, Subscriptions: []packet.Subscription{{Filter: "kept", QoS: 1}}})
	if ack := c.expect().(*packet.Suback); ack.ReturnCodes[0] != 1 {
		t.Fatalf("SUBACK %v", ack.ReturnCodes)
	}
	st.fail.Store(true)
	c.send(&packet.Subscribe{PacketID: 2, Subscriptions: []packet.Subscription{{Filter: "lost", QoS: 0}}})
	if ack := c.expect().(*packet.Suback); ack.ReturnCodes[0] != 0x80 {
		t.Fatalf("SUBACK %v, want 0x80 when the subscription cannot be stored", ack.ReturnCodes)
	}
	st.fail.Store(false)
	pub := dialRaw(t, addr)
	pub.connect(&packet.Connect{ClientID: "pub", CleanSession: true})
	pub.send(&packet.Publish{Topic: "lost", Payload: []byte("no")})
	pub.send(&packet.Publish{Topic: "kept", Payload: []byte("yes")})
	if p := c.expect().(*packet.Publish); p.Topic != "kept" {
		t.Fatalf("got %s: a refused subscription delivers", p.Topic)
	}
}
