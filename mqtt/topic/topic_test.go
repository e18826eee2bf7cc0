package topic

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
)

func TestValidateFilter(t *testing.T) {
	cases := []struct {
		filter string
		want   error
	}{
		// MQTT 3.1.1 §4.7.1.2 and §4.7.1.3 examples.
		{"sport/tennis/player1/#", nil},
		{"sport/#", nil},
		{"#", nil},
		{"sport/tennis#", ErrMultiLevelPlace},
		{"sport/tennis/#/ranking", ErrMultiLevelPlace},
		{"+", nil},
		{"+/tennis/#", nil},
		{"sport+", ErrSingleLevelUse},
		{"sport/+/player1", nil},
		{"/+", nil},
		{"+/+", nil},
		{"a//b", nil},
		{"", ErrEmpty},
		{"a\x00b", ErrNullCharacter},
		{"a/\xff", ErrInvalidUTF8},
		{strings.Repeat("a", 65536), ErrTooLong},
		{strings.Repeat("a", 65535), nil},
		{"$SYS/#", nil},
	}
	for _, c := range cases {
		if got := ValidateFilter(c.filter); !errors.Is(got, c.want) {
			t.Errorf("ValidateFilter(%.20q) = %v, want %v", c.filter, got, c.want)
		}
	}
}

func TestValidateName(t *testing.T) {
	cases := []struct {
		name string
		want error
	}{
		{"sport/tennis", nil},
		{"/", nil},
		{"$SYS/broker/uptime", nil},
		{"sport/+", ErrWildcardInName},
		{"sport/#", ErrWildcardInName},
		{"", ErrEmpty},
		{"\x00", ErrNullCharacter},
		{strings.Repeat("x", 65536), ErrTooLong},
	}
	for _, c := range cases {
		if got := ValidateName(c.name); !errors.Is(got, c.want) {
			t.Errorf("ValidateName(%.20q) = %v, want %v", c.name, got, c.want)
		}
	}
}

// The examples of MQTT 3.1.1 §4.7.1 and §4.7.2.
var specMatches = []struct {
	filter, name string
	match        bool
}{
	{"sport/tennis/player1/#", "sport/tennis/player1", true},
	{"sport/tennis/player1/#", "sport/tennis/player1/ranking", true},
	{"sport/tennis/player1/#", "sport/tennis/player1/score/wimbledon", true},
	{"sport/#", "sport", true},
	{"sport/tennis/+", "sport/tennis/player1", true},
	{"sport/tennis/+", "sport/tennis/player2", true},
	{"sport/tennis/+", "sport/tennis/player1/ranking", false},
	{"sport/+", "sport", false},
	{"sport/+", "sport/", true},
	{"+/+", "/finance", true},
	{"/+", "/finance", true},
	{"+", "/finance", false},
	{"#", "$SYS/broker/uptime", false},
	{"+/monitor/Clients", "$SYS/monitor/Clients", false},
	{"$SYS/#", "$SYS/monitor/Clients", true},
	{"$SYS/monitor/+", "$SYS/monitor/Clients", true},
	{"#", "/finance", true},
	{"a/b", "a/b", true},
	{"a/b", "a/b/c", false},
	{"ACCOUNTS", "Accounts", false},
}

func TestMatchesSpecExamples(t *testing.T) {
	for _, c := range specMatches {
		if got := Matches(c.filter, c.name); got != c.match {
			t.Errorf("Matches(%q, %q) = %v, want %v", c.filter, c.name, got, c.match)
		}
		tr := NewTree[string]()
		tr.Subscribe(c.filter, "s", 1)
		if got := len(tr.Match(c.name, nil)) == 1; got != c.match {
			t.Errorf("Tree: %q on %q matched %v, want %v", c.filter, c.name, got, c.match)
		}
		r := NewRetained[string]()
		r.Set(c.name, c.name)
		if got := len(r.Match(c.filter, nil)) == 1; got != c.match {
			t.Errorf("Retained: %q on %q matched %v, want %v", c.filter, c.name, got, c.match)
		}
	}
}

func TestTreeOverlapHighestQoSOnce(t *testing.T) {
	tr := NewTree[string]()
	tr.Subscribe("a/+", "c1", 0)
	tr.Subscribe("a/#", "c1", 2)
	tr.Subscribe("a/b", "c1", 1)
	tr.Subscribe("a/b", "c2", 1)
	got := tr.Match("a/b", nil)
	sort.Slice(got, func(i, j int) bool { return got[i].Key < got[j].Key })
	want := []Subscriber[string]{{"c1", 2}, {"c2", 1}}
	if !slices.Equal(got, want) {
		t.Fatalf("Match = %v, want %v", got, want)
	}
	if tr.Len() != 4 {
		t.Fatalf("Len = %d, want 4", tr.Len())
	}
	// Re-subscribing replaces the QoS and does not add a subscription [MQTT-3.8.4-3].
	if tr.Subscribe("a/#", "c1", 0) {
		t.Fatal("re-subscribe reported a new subscription")
	}
	got = tr.Match("a/b", got[:0])
	sort.Slice(got, func(i, j int) bool { return got[i].Key < got[j].Key })
	if want := []Subscriber[string]{{"c1", 1}, {"c2", 1}}; !slices.Equal(got, want) {
		t.Fatalf("after re-subscribe Match = %v, want %v", got, want)
	}
	for _, f := range []string{"a/+", "a/#", "a/b"} {
		if !tr.Unsubscribe(f, "c1") {
			t.Fatalf("Unsubscribe(%q) found nothing", f)
		}
	}
	if tr.Unsubscribe("a/b", "c1") {
		t.Fatal("second Unsubscribe reported a removal")
	}
	if got := tr.Match("a/b", nil); !slices.Equal(got, []Subscriber[string]{{"c2", 1}}) {
		t.Fatalf("after unsubscribe Match = %v", got)
	}
	tr.Unsubscribe("a/b", "c2")
	if !tr.root.empty() || tr.Len() != 0 || len(tr.keys) != 0 {
		t.Fatal("tree not pruned after removing every subscription")
	}
}

var levels = []string{"a", "b", "", "$x", "c"}

func randName(r *rand.Rand) string {
	n := 1 + r.IntN(4)
	parts := make([]string, n)
	for i := range parts {
		parts[i] = levels[r.IntN(len(levels))]
		if i > 0 && parts[i] == "$x" {
			parts[i] = "x"
		}
	}
	if s := strings.Join(parts, "/"); s != "" {
		return s
	}
	return "a"
}

func randFilter(r *rand.Rand) string {
	n := 1 + r.IntN(4)
	parts := make([]string, n)
	for i := range parts {
		switch r.IntN(6) {
		case 0:
			parts[i] = "+"
		case 1:
			if i == n-1 {
				parts[i] = "#"
				continue
			}
			parts[i] = "a"
		default:
			parts[i] = levels[r.IntN(len(levels))]
		}
	}
	if s := strings.Join(parts, "/"); s != "" {
		return s
	}
	return "+"
}

// The trie and the retained index agree with the plain Matches on random filters and names,
// including empty levels, '$' names, overlaps and removals.
func TestTreeAndRetainedAgreeWithMatches(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for round := 0; round < 200; round++ {
		tr := NewTree[int]()
		subs := map[[2]any]byte{}
		for i := 0; i < 30; i++ {
			f, k, q := randFilter(r), r.IntN(8), byte(r.IntN(3))
			if err := ValidateFilter(f); err != nil {
				t.Fatalf("generated invalid filter %q: %v", f, err)
			}
			tr.Subscribe(f, k, q)
			subs[[2]any{f, k}] = q
			if r.IntN(4) == 0 { // remove one again
				tr.Unsubscribe(f, k)
				delete(subs, [2]any{f, k})
			}
		}
		if tr.Len() != len(subs) {
			t.Fatalf("Len = %d, want %d", tr.Len(), len(subs))
		}
		ret := NewRetained[string]()
		names := map[string]bool{}
		for i := 0; i < 10; i++ {
			n := randName(r)
			ret.Set(n, n)
			names[n] = true
		}
		for i := 0; i < 20; i++ {
			name := randName(r)
			want := map[int]byte{}
			for fk, q := range subs {
				if Matches(fk[0].(string), name) {
					k := fk[1].(int)
					if old, ok := want[k]; !ok || q > old {
						want[k] = q
					}
				}
			}
			got := map[int]byte{}
			for _, s := range tr.Match(name, nil) {
				if _, dup := got[s.Key]; dup {
					t.Fatalf("%q: subscriber %d delivered twice", name, s.Key)
				}
				got[s.Key] = s.QoS
			}
			if fmt.Sprint(got) != fmt.Sprint(want) {
				t.Fatalf("Match(%q) = %v, want %v (subs %v)", name, got, want, subs)
			}
		}
		for i := 0; i < 20; i++ {
			f := randFilter(r)
			var want []string
			for n := range names {
				if Matches(f, n) {
					want = append(want, n)
				}
			}
			got := ret.Match(f, nil)
			sort.Strings(got)
			sort.Strings(want)
			if !slices.Equal(got, want) {
				t.Fatalf("Retained.Match(%q) = %q, want %q", f, got, want)
			}
		}
	}
}

func TestRetainedSetDelete(t *testing.T) {
	r := NewRetained[string]()
	r.Set("a/b", "1")
	r.Set("a/b", "2")
	r.Set("a", "3")
	if r.Len() != 2 {
		t.Fatalf("Len = %d, want 2", r.Len())
	}
	if v, ok := r.Get("a/b"); !ok || v != "2" {
		t.Fatalf("Get = %q %v, want the replacement", v, ok)
	}
	if !r.Delete("a/b") || r.Delete("a/b") || r.Delete("zz") {
		t.Fatal("Delete did not report exactly one removal")
	}
	if got := r.Match("#", nil); !slices.Equal(got, []string{"3"}) {
		t.Fatalf("Match(#) = %q", got)
	}
	r.Delete("a")
	if len(r.root.children) != 0 || r.Len() != 0 {
		t.Fatal("index not pruned")
	}
}

func TestTreeConcurrent(t *testing.T) {
	tr := NewTree[int]()
	var wg sync.WaitGroup
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var buf []Subscriber[int]
			for i := 0; i < 500; i++ {
				f := fmt.Sprintf("s/%d/+", i%50)
				tr.Subscribe(f, g, 1)
				buf = tr.Match(fmt.Sprintf("s/%d/t", i%50), buf[:0])
				if len(buf) == 0 {
					t.Errorf("own subscription not matched")
					return
				}
				tr.Unsubscribe(f, g)
			}
		}()
	}
	wg.Wait()
	if tr.Len() != 0 {
		t.Fatalf("Len = %d after all unsubscribed", tr.Len())
	}
}

// 10 000 subscriptions: one per sensor plus a few wildcards; a publish matches three.
func BenchmarkMatch10k(b *testing.B) {
	tr := NewTree[int]()
	for i := 0; i < 10000; i++ {
		tr.Subscribe(fmt.Sprintf("sensors/%d/temp", i), i, 1)
	}
	tr.Subscribe("sensors/+/temp", 10001, 0)
	tr.Subscribe("sensors/#", 10002, 2)
	buf := make([]Subscriber[int], 0, 16)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		buf = tr.Match("sensors/4242/temp", buf[:0])
		if len(buf) != 3 {
			b.Fatalf("matched %d", len(buf))
		}
	}
}

func BenchmarkMatch10kParallel(b *testing.B) {
	tr := NewTree[int]()
	for i := 0; i < 10000; i++ {
		tr.Subscribe(fmt.Sprintf("sensors/%d/temp", i), i, 1)
	}
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		buf := make([]Subscriber[int], 0, 16)
		for pb.Next() {
			buf = tr.Match("sensors/4242/temp", buf[:0])
		}
	})
}

func BenchmarkRetainedMatch(b *testing.B) {
	r := NewRetained[int]()
	for i := 0; i < 10000; i++ {
		r.Set(fmt.Sprintf("sensors/%d/temp", i), i)
	}
	buf := make([]int, 0, 16)
	b.ReportAllocs()
	for b.Loop() {
		buf = r.Match("sensors/4242/+", buf[:0])
	}
}
