package store

import (
	"errors"
	"fmt"
	"path/filepath"
	"reflect"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
)

// impl is one Store implementation under the shared suite.
type impl struct {
	name string
	open func(t *testing.T) Store
	// reopen closes s and returns a store over the same data, as a restart would.
	reopen func(t *testing.T, s Store) Store
}

var impls = []impl{
	{
		name: "memory",
		open: func(t *testing.T) Store { return NewMemory() },
		reopen: func(t *testing.T, s Store) Store {
			t.Helper()
			if err := s.Close(); err != nil {
				t.Fatalf("Close: %v", err)
			}
			return &memStore{st: s.(*memStore).st}
		},
	},
	{
		name: "bbolt",
		open: func(t *testing.T) Store {
			t.Helper()
			return mustOpen(t, t.TempDir())
		},
		reopen: func(t *testing.T, s Store) Store {
			t.Helper()
			if err := s.Close(); err != nil {
				t.Fatalf("Close: %v", err)
			}
			return mustOpen(t, filepath.Dir(s.(*boltStore).path))
		},
	},
}

func mustOpen(t testing.TB, dir string) Store {
	t.Helper()
	s, err := Open(dir, Options{})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

type loadedMsg struct {
	Client string
	Seq    uint64
	Msg    Message
}

type loadedData struct {
	Client, Key string
	Value       []byte
}

// snapshot is everything Load visits, in visit order.
type snapshot struct {
	Retained []Message
	Sessions []Session
	Messages []loadedMsg
	Data     []loadedData
}

// load runs Load and checks the visit order the contract promises: a session's messages and
// data come right after it, messages in Seq order.
func load(t *testing.T, s Store) snapshot {
	t.Helper()
	var snap snapshot
	current := ""
	lastSeq := map[string]uint64{}
	err := s.Load(Visitor{
		Retained: func(m Message) error { snap.Retained = append(snap.Retained, m); return nil },
		Session: func(sess Session) error {
			current = sess.ClientID
			snap.Sessions = append(snap.Sessions, sess)
			return nil
		},
		Message: func(c string, seq uint64, m Message) error {
			if c != current {
				t.Errorf("message %s/%d visited after session %q", c, seq, current)
			}
			if last, ok := lastSeq[c]; ok && seq <= last {
				t.Errorf("message %s/%d visited after seq %d", c, seq, last)
			}
			lastSeq[c] = seq
			snap.Messages = append(snap.Messages, loadedMsg{c, seq, m})
			return nil
		},
		Data: func(c, k string, v []byte) error {
			if c != current {
				t.Errorf("data %s/%s visited after session %q", c, k, current)
			}
			snap.Data = append(snap.Data, loadedData{c, k, v})
			return nil
		},
	})
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	return snap
}

func batch(fill func(b *Batch)) *Batch {
	var b Batch
	fill(&b)
	return &b
}

func subs(kv ...any) map[string]byte {
	m := map[string]byte{}
	for i := 0; i < len(kv); i += 2 {
		m[kv[i].(string)] = byte(kv[i+1].(int))
	}
	return m
}

var (
	fullMsg = Message{Topic: "a/b", Payload: []byte{0, 1, 0xff, '\n'}, QoS: 2, Retain: true, PacketID: 0xbeef, Dup: true, Received: true}
	qos1Msg = Message{Topic: "x", Payload: []byte("hello"), QoS: 1}
)

// step is one batch of a round-trip case, committed eagerly or lazily.
type step struct {
	lazy bool
	b    *Batch
}

var roundTrips = []struct {
	name  string
	steps []step
	want  snapshot
}{
	{
		name:  "retained, every field",
		steps: []step{{b: batch(func(b *Batch) { b.PutRetained(fullMsg); b.PutRetained(Message{Topic: "empty"}) })}},
		want:  snapshot{Retained: []Message{fullMsg, {Topic: "empty"}}},
	},
	{
		name: "retained replaced then deleted",
		steps: []step{
			{b: batch(func(b *Batch) {
				b.PutRetained(Message{Topic: "t", Payload: []byte("1")})
				b.PutRetained(Message{Topic: "u", Payload: []byte("u")})
			})},
			{b: batch(func(b *Batch) { b.PutRetained(Message{Topic: "t", Payload: []byte("2"), QoS: 1}) })},
			{b: batch(func(b *Batch) { b.DeleteRetained("u"); b.DeleteRetained("never-stored") })},
		},
		want: snapshot{Retained: []Message{{Topic: "t", Payload: []byte("2"), QoS: 1}}},
	},
	{
		name:  "session without anything",
		steps: []step{{b: batch(func(b *Batch) { b.PutSession("c1") })}},
		want:  snapshot{Sessions: []Session{{ClientID: "c1", Subscriptions: subs()}}},
	},
	{
		name: "PutSession again keeps the contents",
		steps: []step{
			{b: batch(func(b *Batch) {
				b.PutSession("c1")
				b.PutSubscription("c1", "a/#", 1)
				b.PutData("c1", "k", []byte("v"))
			})},
			{b: batch(func(b *Batch) { b.PutSession("c1") })},
		},
		want: snapshot{
			Sessions: []Session{{ClientID: "c1", Subscriptions: subs("a/#", 1)}},
			Data:     []loadedData{{"c1", "k", []byte("v")}},
		},
	},
	{
		name: "subscriptions put, regranted, deleted",
		steps: []step{
			{b: batch(func(b *Batch) {
				b.PutSession("c1")
				b.PutSubscription("c1", "a/+/c", 0)
				b.PutSubscription("c1", "#", 2)
				b.PutSubscription("c1", "gone", 1)
			})},
			{b: batch(func(b *Batch) { b.PutSubscription("c1", "a/+/c", 1); b.DeleteSubscription("c1", "gone") })},
		},
		want: snapshot{Sessions: []Session{{ClientID: "c1", Subscriptions: subs("a/+/c", 1, "#", 2)}}},
	},
	{
		name: "messages in seq order, every field, replaced, deleted",
		steps: []step{
			{b: batch(func(b *Batch) {
				b.PutSession("c1")
				b.PutMessage("c1", 256, qos1Msg)
				b.PutMessage("c1", 1, fullMsg)
				b.PutMessage("c1", 2, qos1Msg)
				b.PutMessage("c1", 1<<40, qos1Msg)
			})},
			{b: batch(func(b *Batch) {
				b.PutMessage("c1", 2, Message{Topic: "x", Payload: []byte("hello"), QoS: 1, PacketID: 7, Dup: true})
				b.DeleteMessage("c1", 1<<40)
			})},
		},
		want: snapshot{
			Sessions: []Session{{ClientID: "c1", Subscriptions: subs()}},
			Messages: []loadedMsg{
				{"c1", 1, fullMsg},
				{"c1", 2, Message{Topic: "x", Payload: []byte("hello"), QoS: 1, PacketID: 7, Dup: true}},
				{"c1", 256, qos1Msg},
			},
		},
	},
	{
		name: "data put, replaced, emptied, deleted",
		steps: []step{
			{b: batch(func(b *Batch) {
				b.PutSession("c1")
				b.PutData("c1", "topics", []byte{1, 2, 3})
				b.PutData("c1", "will", []byte("w"))
				b.PutData("c1", "sleep", []byte("s"))
				b.PutData("c1", "empty", []byte("x"))
			})},
			{b: batch(func(b *Batch) {
				b.PutData("c1", "topics", []byte{4})
				b.PutData("c1", "empty", nil)
				b.DeleteData("c1", "will")
			})},
		},
		want: snapshot{
			Sessions: []Session{{ClientID: "c1", Subscriptions: subs()}},
			Data:     []loadedData{{"c1", "empty", nil}, {"c1", "sleep", []byte("s")}, {"c1", "topics", []byte{4}}},
		},
	},
	{
		name: "DeleteSession removes only that client, not one whose id it prefixes",
		steps: []step{
			{b: batch(func(b *Batch) {
				for _, c := range []string{"a", "ab", "b"} {
					b.PutSession(c)
					b.PutSubscription(c, "f/"+c, 1)
					b.PutMessage(c, 1, Message{Topic: "m/" + c, QoS: 1})
					b.PutData(c, "k", []byte(c))
				}
			})},
			{b: batch(func(b *Batch) { b.DeleteSession("a"); b.DeleteSession("nobody") })},
		},
		want: snapshot{
			Sessions: []Session{{ClientID: "ab", Subscriptions: subs("f/ab", 1)}, {ClientID: "b", Subscriptions: subs("f/b", 1)}},
			Messages: []loadedMsg{{"ab", 1, Message{Topic: "m/ab", QoS: 1}}, {"b", 1, Message{Topic: "m/b", QoS: 1}}},
			Data:     []loadedData{{"ab", "k", []byte("ab")}, {"b", "k", []byte("b")}},
		},
	},
	{
		name: "DeleteSession then a new session of the same id starts empty",
		steps: []step{
			{b: batch(func(b *Batch) { b.PutSubscription("c", "old", 1); b.PutMessage("c", 5, qos1Msg) })},
			{b: batch(func(b *Batch) { b.DeleteSession("c"); b.PutSession("c"); b.PutSubscription("c", "new", 0) })},
		},
		want: snapshot{Sessions: []Session{{ClientID: "c", Subscriptions: subs("new", 0)}}},
	},
	{
		name: "a subscription, message or data creates its session",
		steps: []step{{b: batch(func(b *Batch) {
			b.PutMessage("m", 1, qos1Msg)
			b.PutData("d", "k", []byte("v"))
			b.PutSubscription("s", "f", 2)
		})}},
		want: snapshot{
			Sessions: []Session{{ClientID: "d", Subscriptions: subs()}, {ClientID: "m", Subscriptions: subs()}, {ClientID: "s", Subscriptions: subs("f", 2)}},
			Messages: []loadedMsg{{"m", 1, qos1Msg}},
			Data:     []loadedData{{"d", "k", []byte("v")}},
		},
	},
	{
		name: "ops apply in batch order",
		steps: []step{{b: batch(func(b *Batch) {
			b.PutMessage("c", 1, qos1Msg)
			b.DeleteMessage("c", 1)
			b.DeleteMessage("c", 2)
			b.PutMessage("c", 2, qos1Msg)
			b.DeleteRetained("r")
			b.PutRetained(Message{Topic: "r", Payload: []byte("r")})
		})}},
		want: snapshot{
			Retained: []Message{{Topic: "r", Payload: []byte("r")}},
			Sessions: []Session{{ClientID: "c", Subscriptions: subs()}},
			Messages: []loadedMsg{{"c", 2, qos1Msg}},
		},
	},
	{
		name: "lazy batches keep their order and are durable after Close",
		steps: []step{
			{lazy: true, b: batch(func(b *Batch) { b.PutMessage("c", 1, qos1Msg); b.PutMessage("c", 2, qos1Msg) })},
			{lazy: true, b: batch(func(b *Batch) { b.DeleteMessage("c", 1) })},
			{b: batch(func(b *Batch) { b.PutRetained(qos1Msg) })},
			{lazy: true, b: batch(func(b *Batch) { b.PutMessage("c", 1, fullMsg); b.DeleteRetained("x") })},
		},
		want: snapshot{
			Sessions: []Session{{ClientID: "c", Subscriptions: subs()}},
			Messages: []loadedMsg{{"c", 1, fullMsg}, {"c", 2, qos1Msg}},
		},
	},
}

func TestRoundTrip(t *testing.T) {
	for _, im := range impls {
		for _, tc := range roundTrips {
			t.Run(im.name+"/"+tc.name, func(t *testing.T) {
				s := im.open(t)
				for i, st := range tc.steps {
					commit := s.Commit
					if st.lazy {
						commit = s.CommitLazy
					}
					b := &Batch{Ops: slices.Clone(st.b.Ops)} // the table is shared by both implementations
					if err := commit(b); err != nil {
						t.Fatalf("step %d: %v", i, err)
					}
					b.Ops[0] = Op{} // the store must not keep the caller's batch
					b.Reset()
				}
				wantMessages := int64(len(tc.want.Retained) + len(tc.want.Messages))
				if got := load(t, s); !reflect.DeepEqual(got, tc.want) {
					t.Errorf("before reopen:\n got %+v\nwant %+v", got, tc.want)
				}
				if got := s.Stats().Messages; got != wantMessages {
					t.Errorf("before reopen: Stats().Messages = %d, want %d", got, wantMessages)
				}
				s = im.reopen(t, s)
				if got := load(t, s); !reflect.DeepEqual(got, tc.want) {
					t.Errorf("after reopen:\n got %+v\nwant %+v", got, tc.want)
				}
				if got := s.Stats().Messages; got != wantMessages {
					t.Errorf("after reopen: Stats().Messages = %d, want %d", got, wantMessages)
				}
				if err := s.Close(); err != nil {
					t.Fatal(err)
				}
			})
		}
	}
}

// The caller's payload buffers are free to reuse once Commit or CommitLazy returns.
func TestCallerMayReuseBuffers(t *testing.T) {
	for _, im := range impls {
		t.Run(im.name, func(t *testing.T) {
			s := im.open(t)
			payload := []byte("original")
			value := []byte("value")
			var b Batch
			b.PutMessage("c", 1, Message{Topic: "t", Payload: payload, QoS: 1})
			b.PutData("c", "k", value)
			if err := s.CommitLazy(&b); err != nil {
				t.Fatal(err)
			}
			copy(payload, "XXXXXXXX")
			copy(value, "XXXXX")
			s = im.reopen(t, s)
			got := load(t, s)
			if len(got.Messages) != 1 || string(got.Messages[0].Msg.Payload) != "original" || len(got.Data) != 1 || string(got.Data[0].Value) != "value" {
				t.Errorf("stored %+v, want the bytes as they were at CommitLazy", got)
			}
		})
	}
}

func TestInvalidBatchChangesNothing(t *testing.T) {
	long := strings.Repeat("x", maxKeySize)
	cases := []struct {
		name string
		bad  func(b *Batch)
		want string
	}{
		{"empty client id", func(b *Batch) { b.PutSession("") }, "op 1 (PutSession): empty client id"},
		{"NUL in client id", func(b *Batch) { b.PutMessage("a\x00b", 1, qos1Msg) }, "contains U+0000"},
		{"client id too long", func(b *Batch) { b.DeleteSession(strings.Repeat("c", maxClientID+1)) }, "client id of 8193 bytes"},
		{"empty retained topic", func(b *Batch) { b.PutRetained(Message{Payload: []byte("p")}) }, "op 1 (PutRetained): empty topic"},
		{"retained topic too long", func(b *Batch) { b.DeleteRetained(long + "x") }, "exceeds 32768"},
		{"message without topic", func(b *Batch) { b.PutMessage("c", 1, Message{QoS: 1}) }, "op 1 (PutMessage): empty topic"},
		{"message QoS 3", func(b *Batch) { b.PutMessage("c", 1, Message{Topic: "t", QoS: 3}) }, "QoS 3"},
		{"subscription QoS 0x80", func(b *Batch) { b.PutSubscription("c", "f", 0x80) }, "QoS 128"},
		{"empty filter", func(b *Batch) { b.DeleteSubscription("c", "") }, "empty key"},
		{"empty data key", func(b *Batch) { b.PutData("c", "", []byte("v")) }, "empty key"},
		{"data key too long", func(b *Batch) { b.PutData("c", long, nil) }, "key of 32770 bytes"},
		{"unknown kind", func(b *Batch) { b.Ops = append(b.Ops, Op{Kind: 99}) }, "op 1 (OpKind(99)): unknown op kind"},
	}
	for _, im := range impls {
		for _, tc := range cases {
			for _, lazy := range []bool{false, true} {
				t.Run(fmt.Sprintf("%s/%s/lazy=%v", im.name, tc.name, lazy), func(t *testing.T) {
					s := im.open(t)
					var b Batch
					b.PutMessage("good", 1, qos1Msg) // would be applied if validation came late
					tc.bad(&b)
					commit := s.Commit
					if lazy {
						commit = s.CommitLazy
					}
					err := commit(&b)
					if err == nil || !strings.Contains(err.Error(), tc.want) {
						t.Fatalf("error %v, want one containing %q", err, tc.want)
					}
					s = im.reopen(t, s)
					if got := load(t, s); !reflect.DeepEqual(got, snapshot{}) {
						t.Errorf("the rejected batch left %+v", got)
					}
				})
			}
		}
	}
}

func TestClosed(t *testing.T) {
	for _, im := range impls {
		t.Run(im.name, func(t *testing.T) {
			s := im.open(t)
			if err := s.Close(); err != nil {
				t.Fatal(err)
			}
			if err := s.Close(); err != nil {
				t.Errorf("second Close: %v", err)
			}
			b := batch(func(b *Batch) { b.PutSession("c") })
			for name, err := range map[string]error{
				"Commit":            s.Commit(b),
				"CommitLazy":        s.CommitLazy(b),
				"Commit(empty)":     s.Commit(&Batch{}),
				"CommitLazy(empty)": s.CommitLazy(&Batch{}),
				"Load":              s.Load(Visitor{}),
			} {
				if !errors.Is(err, ErrClosed) {
					t.Errorf("%s after Close: %v, want ErrClosed", name, err)
				}
			}
		})
	}
}

// A visitor's error stops Load and is returned as is.
func TestLoadStopsOnVisitorError(t *testing.T) {
	for _, im := range impls {
		t.Run(im.name, func(t *testing.T) {
			s := im.open(t)
			if err := s.Commit(batch(func(b *Batch) {
				b.PutMessage("c", 1, qos1Msg)
				b.PutMessage("c", 2, qos1Msg)
			})); err != nil {
				t.Fatal(err)
			}
			stop := errors.New("stop")
			calls := 0
			err := s.Load(Visitor{Message: func(string, uint64, Message) error { calls++; return stop }})
			if err != stop || calls != 1 {
				t.Errorf("Load = %v after %d calls, want the visitor's error after 1", err, calls)
			}
		})
	}
}

func TestConcurrentCommitsAllDurable(t *testing.T) {
	const goroutines, perG = 50, 20
	for _, im := range impls {
		t.Run(im.name, func(t *testing.T) {
			s := im.open(t)
			var wg sync.WaitGroup
			errs := make(chan error, goroutines)
			for g := range goroutines {
				wg.Go(func() {
					client := fmt.Sprintf("client-%02d", g)
					var b Batch
					for seq := range uint64(perG) {
						b.Reset()
						b.PutMessage(client, seq, Message{Topic: client, Payload: fmt.Appendf(nil, "%d", seq), QoS: 1})
						if seq > 0 && seq%5 == 0 {
							b.DeleteMessage(client, seq-5) // each caller's own order matters
						}
						if err := s.Commit(&b); err != nil {
							errs <- err
							return
						}
					}
				})
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				t.Fatal(err)
			}
			s = im.reopen(t, s)
			got := load(t, s)
			byClient := map[string][]uint64{}
			for _, m := range got.Messages {
				if string(m.Msg.Payload) != fmt.Sprint(m.Seq) {
					t.Errorf("%s/%d payload %q", m.Client, m.Seq, m.Msg.Payload)
				}
				byClient[m.Client] = append(byClient[m.Client], m.Seq)
			}
			want := []uint64{1, 2, 3, 4, 6, 7, 8, 9, 11, 12, 13, 14, 15, 16, 17, 18, 19} // 0, 5, 10 deleted
			if len(byClient) != goroutines {
				t.Errorf("%d clients stored, want %d", len(byClient), goroutines)
			}
			for c, seqs := range byClient {
				if !reflect.DeepEqual(seqs, want) {
					t.Errorf("%s: seqs %v, want %v", c, seqs, want)
				}
			}
			if n := s.Stats().Messages; n != int64(goroutines*len(want)) {
				t.Errorf("Stats().Messages = %d, want %d", n, goroutines*len(want))
			}
		})
	}
}

// Commits racing with Close either succeed, and are then durable, or return ErrClosed.
func TestCommitRacingClose(t *testing.T) {
	for _, im := range impls {
		t.Run(im.name, func(t *testing.T) {
			s := im.open(t)
			const goroutines = 16
			var wg sync.WaitGroup
			committed := make([][]uint64, goroutines)
			var done atomic.Int64
			for g := range goroutines {
				wg.Go(func() {
					client := fmt.Sprintf("c%d", g)
					for seq := range uint64(1000) {
						err := s.Commit(batch(func(b *Batch) { b.PutMessage(client, seq, qos1Msg) }))
						if errors.Is(err, ErrClosed) {
							return
						}
						if err != nil {
							t.Error(err)
							return
						}
						committed[g] = append(committed[g], seq)
						done.Add(1)
					}
				})
			}
			for done.Load() < goroutines {
				runtime.Gosched() // until some commits went through
			}
			if err := s.Close(); err != nil {
				t.Fatal(err)
			}
			wg.Wait()
			s = im.reopen(t, s)
			got := map[string]map[uint64]bool{}
			for _, m := range load(t, s).Messages {
				if got[m.Client] == nil {
					got[m.Client] = map[uint64]bool{}
				}
				got[m.Client][m.Seq] = true
			}
			for g, seqs := range committed {
				for _, seq := range seqs {
					if !got[fmt.Sprintf("c%d", g)][seq] {
						t.Errorf("c%d/%d: Commit returned nil but it is not stored", g, seq)
					}
				}
			}
		})
	}
}
