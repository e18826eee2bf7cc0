package broker

import (
	"context"
	"maps"
	"testing"
)

// Only persistent sessions that no client holds are listed, with their data under the key; such
// a session can be lost in its absence, once, its will published, unless a client holds it.
func TestDetachedDataAndLoseDetached(t *testing.T) {
	b, _ := New(Options{Logger: testLogger(t)})
	defer b.Shutdown(context.Background())
	wills := &localRecorder{}
	w, _, _ := b.ConnectLocal(LocalOptions{ClientID: "watcher", CleanSession: true}, wills)
	w.Subscribe("will/#", 1)
	connect := func(id string, clean bool) *LocalClient {
		c, _, err := b.ConnectLocal(LocalOptions{ClientID: id, CleanSession: clean}, &localRecorder{})
		if err != nil {
			t.Fatal(err)
		}
		c.PutData("k", []byte("v-"+id))
		return c
	}
	asleep := connect("asleep", false)
	asleep.Suspend() // held, though offline
	connect("gone", false).Disconnect()
	connect("lost", false).Lost()
	connect("clean", true).Disconnect()
	connect("attached", false)
	other := connect("other-key", false)
	other.PutData("k", nil)
	other.Disconnect()

	want := map[string][]byte{"gone": []byte("v-gone"), "lost": []byte("v-lost")}
	if got := b.DetachedData("k"); !maps.EqualFunc(got, want, func(a, b []byte) bool { return string(a) == string(b) }) {
		t.Fatalf("DetachedData = %q, want %q", got, want)
	}

	will := &Will{Topic: "will/x", Payload: []byte("x")}
	for _, id := range []string{"asleep", "attached", "clean", "other-key", "nobody"} {
		if b.LoseDetached(id, "k", []byte("v-"+id), will) {
			t.Errorf("LoseDetached(%s) = true for a session held, clean, without the key or absent", id)
		}
	}
	if b.LoseDetached("gone", "k", []byte("changed"), will) {
		t.Error("LoseDetached with another value = true")
	}
	if !b.LoseDetached("gone", "k", []byte("v-gone"), &Will{Topic: "will/gone", Payload: []byte("bye")}) {
		t.Fatal("LoseDetached(gone) = false")
	}
	if b.LoseDetached("gone", "k", []byte("v-gone"), will) {
		t.Error("lost twice")
	}
	connect("lost", false) // held again: no longer detached
	if b.LoseDetached("lost", "k", []byte("v-lost"), will) {
		t.Error("LoseDetached of a session held again = true")
	}
	if _, ok := b.DetachedData("k")["gone"]; ok {
		t.Error("the key of a session lost in its absence is still there")
	}
	waitFor(t, "the will", func() bool { msgs, _ := wills.got(); return len(msgs) >= 1 })
	if msgs, _ := wills.got(); len(msgs) != 1 || msgs[0].Topic != "will/gone" || string(msgs[0].Payload) != "bye" {
		t.Fatalf("wills published: %+v, want gone's only", msgs)
	}
}
