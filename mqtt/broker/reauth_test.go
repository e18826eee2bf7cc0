package broker

import (
	"sync/atomic"
	"testing"

	paho "github.com/eclipse/paho.mqtt.golang"

	"snbridge/mqtt/store"
)

// revocable allows every filter but the one in deny.
type revocable struct {
	AllowAll
	deny atomic.Value // string
}

func (r *revocable) CanSubscribe(_, _, filter string) bool {
	d, _ := r.deny.Load().(string)
	return filter != d
}

// After the rules change (SIGHUP), a connected client's subscription that is no longer allowed
// stops delivering; the others go on.
func TestReauthorizeRemovesRevokedSubscriptions(t *testing.T) {
	rules := &revocable{}
	b, addr := startBroker(t, Options{Auth: rules})
	rec := newReceived()
	sub := newPaho(t, addr, "sub", true)
	must(t, sub.Subscribe("a/#", 1, rec.handler))
	must(t, sub.Subscribe("b/#", 1, rec.handler))
	if n := b.Reauthorize(); n != 0 {
		t.Fatalf("Reauthorize removed %d subscriptions with unchanged rules", n)
	}
	rules.deny.Store("a/#")
	if n := b.Reauthorize(); n != 1 {
		t.Fatalf("Reauthorize removed %d subscriptions, want 1", n)
	}
	pub := newPaho(t, addr, "pub", true)
	must(t, pub.Publish("a/x", 1, false, "revoked"))
	must(t, pub.Publish("b/x", 1, false, "allowed"))
	if m := rec.wait(t, 1)[0]; m.Topic() != "b/x" {
		t.Fatalf("got %s: a revoked subscription still delivers", m.Topic())
	}
}

// A persistent session's subscriptions are checked again when its client comes back: the rules
// may have changed while it was away. The removal is stored.
func TestReconnectChecksStoredSubscriptions(t *testing.T) {
	rules := &revocable{}
	st := store.NewMemory()
	b, addr := startBroker(t, Options{Auth: rules, Store: st})
	sub := newPaho(t, addr, "away", false)
	must(t, sub.Subscribe("a/#", 1, nil))
	must(t, sub.Subscribe("b/#", 1, nil))
	sub.Disconnect(50)
	rules.deny.Store("a/#")

	rec := newReceived()
	back := newPaho(t, addr, "away", false, func(o *paho.ClientOptions) { o.SetDefaultPublishHandler(rec.handler) })
	pub := newPaho(t, addr, "pub", true)
	must(t, pub.Publish("a/x", 1, false, "revoked"))
	must(t, pub.Publish("b/x", 1, false, "allowed"))
	if m := rec.wait(t, 1)[0]; m.Topic() != "b/x" {
		t.Fatalf("got %s: a subscription revoked while the client was away still delivers", m.Topic())
	}
	back.Disconnect(50)
	if n := b.SubscriptionCount(); n != 1 {
		t.Fatalf("%d subscriptions, want 1", n)
	}
	b2, err := New(Options{Store: st})
	if err != nil {
		t.Fatal(err)
	}
	if n := b2.SubscriptionCount(); n != 1 {
		t.Fatalf("%d subscriptions restored from the store, want 1: the removal was not stored", n)
	}
}
