package topics

import (
	"errors"
	"fmt"
	"strings"
	"testing"
)

func mustPre(t *testing.T, text string) *PredefinedTable {
	t.Helper()
	p, err := ParsePredefined(strings.NewReader(text))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestParsePredefinedPahoForm(t *testing.T) {
	p := mustPre(t, `
# ClientID, TopicName, TopicID
*,wildcard/node/xxxx,1
GatewayTestClient,mqttsn/predefined/topic1,1   # per-client wins
  *  ,  a/b  , 7
`)
	if n, ok := p.Name("GatewayTestClient", 1); !ok || n != "mqttsn/predefined/topic1" {
		t.Errorf("per-client id 1 = %q %v", n, ok)
	}
	if n, ok := p.Name("other", 1); !ok || n != "wildcard/node/xxxx" {
		t.Errorf("global id 1 for other = %q %v", n, ok)
	}
	if id, ok := p.ID("anyone", "a/b"); !ok || id != 7 {
		t.Errorf("a/b = %d %v", id, ok)
	}
	if p.Len() != 3 {
		t.Errorf("Len = %d", p.Len())
	}
}

// Older Paho gateway releases wrote "every client" as COMMON; their files load the same.
func TestParsePredefinedPahoCommon(t *testing.T) {
	p := mustPre(t, "#  ClientID, TopicName, TopicID\nCOMMON,ty/common, 1\nNode-1,ty/own, 2\n")
	if n, ok := p.Name("anyone", 1); !ok || n != "ty/common" {
		t.Errorf("COMMON id 1 for anyone = %q %v", n, ok)
	}
	if _, ok := p.Name("anyone", 2); ok {
		t.Error("a per-client id is visible to another client")
	}
	if id, ok := p.ID("Node-1", "ty/common"); !ok || id != 1 {
		t.Errorf("ty/common for Node-1 = %d %v", id, ok)
	}
}

func TestParsePredefinedErrorsNameLine(t *testing.T) {
	cases := []struct{ text, want string }{
		{"*, a, 1\n*, b", ":2: want 3 comma-separated fields"},
		{"\n\n*, a/+, 3", ":3: topic name \"a/+\" contains a wildcard"},
		{"*, a, 0", ":1: topic id \"0\" is not a number in 1..65534"},
		{"*, a, 65535", ":1: topic id"},
		{"*, a, x1", ":1: topic id \"x1\""},
		{", a, 1", ":1: empty client id"},
		{"*, , 1", ":1: empty topic name"},
		{"*, a, 1\n*, b, 1", ":2: predefined id 1 is already \"a\""},
		{"c, a, 1\nc, a, 2", ":2: predefined topic \"a\" already has id 1"},
	}
	for _, c := range cases {
		_, err := ParsePredefined(strings.NewReader(c.text))
		var pe *ParseError
		if !errors.As(err, &pe) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q: err = %v, want %q", c.text, err, c.want)
		}
	}
}

func TestExamplePredefinedFileLoads(t *testing.T) {
	p, err := LoadPredefined("../../configs/predefined.conf")
	if err != nil {
		t.Fatal(err)
	}
	if n, _ := p.Name("meter-0042", 100); n != "meters/0042/energy" {
		t.Errorf("meter id 100 = %q", n)
	}
	if _, ok := p.Name("someone-else", 100); ok {
		t.Error("a per-client id is visible to another client")
	}
	if n, _ := p.Name("meter-0042", 2); n != "sensors/time" {
		t.Errorf("global id 2 for meter = %q", n)
	}
	if _, err := LoadPredefined("no/such/file"); err == nil {
		t.Error("missing file loaded")
	}
}

func TestRegisterAssignsStableIDsAvoidingReservedAndPredefined(t *testing.T) {
	p := mustPre(t, "*, pre/one, 1\n*, pre/three, 3\nc1, mine, 2\nother, theirs, 4")
	var r Registry
	r.Reset("c1", p, 0)
	id, typ, err := r.Register("a")
	if err != nil || typ != Normal || id != 4 { // 1, 2, 3 are predefined for c1; 4 is only other's
		t.Fatalf("first id = %d %v %v, want 4 normal", id, typ, err)
	}
	id2, _, _ := r.Register("b")
	if id2 != 5 {
		t.Errorf("second id = %d, want 5", id2)
	}
	if again, _, _ := r.Register("a"); again != id {
		t.Errorf("re-REGISTER gave %d, want %d", again, id)
	}
	if n, err := r.Lookup(Normal, 5); err != nil || n != "b" {
		t.Errorf("Lookup(normal,5) = %q %v", n, err)
	}
	if _, err := r.Lookup(Normal, 1); !errors.Is(err, ErrUnknownID) {
		t.Errorf("normal 1 is not registered, got %v", err)
	}
	if n, _ := r.Lookup(Predefined, 1); n != "pre/one" {
		t.Errorf("predefined 1 = %q", n)
	}
	if _, err := r.Lookup(Predefined, 4); !errors.Is(err, ErrUnknownID) {
		t.Errorf("another client's predefined id resolved: %v", err)
	}
	if n, _ := r.Lookup(Short, 0x6162); n != "ab" {
		t.Errorf("short = %q", n)
	}
	if _, err := r.Lookup(Short, uint16('a')<<8|'#'); !errors.Is(err, ErrWildcard) {
		t.Errorf("short wildcard: %v", err)
	}
	if _, err := r.Lookup(Reserved, 1); !errors.Is(err, ErrReserved) {
		t.Errorf("reserved type: %v", err)
	}
}

func TestRegisterPredefinedNameReturnsPredefinedID(t *testing.T) {
	p := mustPre(t, "*, pre/one, 9")
	var r Registry
	r.Reset("c", p, 0)
	id, typ, err := r.Register("pre/one")
	if err != nil || id != 9 || typ != Predefined {
		t.Fatalf("got %d %v %v", id, typ, err)
	}
	// The client learnt 9 from a REGACK and will publish with TopicIdType normal.
	if n, err := r.Lookup(Normal, 9); err != nil || n != "pre/one" {
		t.Errorf("Lookup(normal, 9) = %q %v", n, err)
	}
	if next, _, _ := r.Register("x"); next == 9 {
		t.Error("normal id collides with predefined")
	}
}

func TestRegisterRejectsBadNamesAndReportsExhaustion(t *testing.T) {
	var r Registry
	r.Reset("c", nil, 2)
	for _, name := range []string{"", "a/#", "+/b"} {
		if _, _, err := r.Register(name); err == nil {
			t.Errorf("Register(%q) accepted", name)
		}
	}
	r.Register("x")
	r.Register("y")
	if _, _, err := r.Register("z"); !errors.Is(err, ErrExhausted) {
		t.Errorf("third topic with limit 2: %v", err)
	}
	if _, _, err := r.Register("x"); err != nil {
		t.Errorf("known name after exhaustion: %v", err)
	}
	if _, _, _, err := r.Downlink("zz/z"); !errors.Is(err, ErrExhausted) {
		t.Errorf("downlink exhaustion: %v", err)
	}
	r.Clear()
	if _, _, err := r.Register("z"); err != nil {
		t.Errorf("after Clear: %v", err)
	}
}

func TestIDSpaceNeverUsesReservedIDs(t *testing.T) {
	var r Registry
	r.Reset("c", nil, 0)
	r.next = 0xFFFE
	a, _, _ := r.Register("a")
	b, _, _ := r.Register("b")
	if a != 0xFFFE || b != 1 {
		t.Errorf("ids around the wrap: %#x %#x, want 0xfffe 0x1", a, b)
	}
}

func TestDownlinkChoosesTopicForm(t *testing.T) {
	p := mustPre(t, "*, pre/x, 20")
	var r Registry
	r.Reset("c", p, 0)
	sub, _, _ := r.Register("sub/by/name")
	cases := []struct {
		name     string
		typ      IDType
		id       uint16
		register bool
	}{
		{"pre/x", Predefined, 20, false},
		{"sub/by/name", Normal, sub, false},
		{"ab", Short, 0x6162, false},
		{"from/wildcard", Normal, sub + 1, true},
		{"from/wildcard", Normal, sub + 1, true}, // still not acked
	}
	for _, c := range cases {
		typ, id, reg, err := r.Downlink(c.name)
		if err != nil || typ != c.typ || id != c.id || reg != c.register {
			t.Errorf("Downlink(%q) = %v %d %v %v, want %v %d %v", c.name, typ, id, reg, err, c.typ, c.id, c.register)
		}
	}
	r.MarkKnown(sub + 1)
	if _, _, reg, _ := r.Downlink("from/wildcard"); reg {
		t.Error("REGISTER again after REGACK")
	}
	r.Forget(sub + 1) // client answered PUBACK 0x02
	if _, id, reg, _ := r.Downlink("from/wildcard"); !reg || id != sub+1 {
		t.Errorf("after Forget: id %d register %v, want same id re-registered", id, reg)
	}
	r.Reject(sub + 1)
	if _, _, _, err := r.Downlink("from/wildcard"); !errors.Is(err, ErrRejected) {
		t.Errorf("after Reject: %v", err)
	}
	r.ForgetAll()
	if _, _, reg, _ := r.Downlink("sub/by/name"); !reg {
		t.Error("after ForgetAll the client must be told the id again")
	}
}

func TestNameIndexAgreesWithScan(t *testing.T) {
	var r Registry
	r.Reset("c", nil, 0)
	for i := 0; i < 40; i++ {
		id, _, err := r.Register(fmt.Sprintf("t/%d", i))
		if err != nil || id != uint16(i+1) {
			t.Fatalf("t/%d: %d %v", i, id, err)
		}
	}
	for i := 0; i < 40; i++ {
		if id, _, _ := r.Register(fmt.Sprintf("t/%d", i)); id != uint16(i+1) {
			t.Errorf("t/%d re-registered as %d", i, id)
		}
	}
}

func TestSerialisationRoundTrip(t *testing.T) {
	p := mustPre(t, "*, pre, 3")
	var r Registry
	r.Reset("c", p, 0)
	for i := 0; i < 12; i++ {
		r.Register(fmt.Sprintf("room/%d/temp", i))
	}
	r.Register("pre")
	_, wid, _, _ := r.Downlink("w/x") // assigned, not known
	r.Reject(2)
	b, err := r.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	var back Registry
	back.Reset("c", p, 0)
	if err := back.UnmarshalBinary(b); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 12; i++ {
		name := fmt.Sprintf("room/%d/temp", i)
		a, _, _ := r.Register(name)
		if n, err := back.Lookup(Normal, a); err != nil || n != name {
			t.Errorf("id %d restored as %q %v", a, n, err)
		}
	}
	if _, _, reg, _ := back.Downlink("w/x"); !reg {
		t.Error("unacknowledged id came back as known")
	}
	if _, _, _, err := back.Downlink(mustName(t, &back, 2)); !errors.Is(err, ErrRejected) {
		t.Errorf("rejection lost: %v", err)
	}
	if next, _, _ := back.Register("new"); next != wid+1 {
		t.Errorf("next id after restore = %d, want %d", next, wid+1)
	}
	want := 4 // version, next id, count
	for _, e := range r.entries {
		want += 4 + len(e.name) // id, flags, length octet, name
	}
	if len(b) != want {
		t.Errorf("serialised form is %d octets, want %d (4 per entry beyond its name)", len(b), want)
	}
}

func mustName(t *testing.T, r *Registry, id uint16) string {
	n, ok := r.Name(id)
	if !ok {
		t.Fatalf("no id %d", id)
	}
	return n
}

func TestUnmarshalRejectsMalformedAndKeepsState(t *testing.T) {
	var r Registry
	r.Reset("c", nil, 0)
	r.Register("keep")
	good, _ := r.MarshalBinary()
	bad := [][]byte{
		nil,
		{2, 0, 1, 0},
		{1, 0, 1, 0xFF, 0xFF, 0xFF, 0xFF, 0x0F}, // huge count
		append(append([]byte{}, good...), 0),    // trailing
		{1, 0, 1, 1, 0, 0, 1, 1, 'a'},           // id 0
		{1, 0, 1, 2, 0, 5, 1, 1, 'a', 0, 4, 1, 1, 'b'}, // out of order
		{1, 0, 1, 1, 0, 5, 1, 9, 'a'},                  // name length past end
		{1, 0, 1, 1, 0, 5, 1, 3, 'a', '/', '#'},        // wildcard
	}
	for _, b := range bad {
		if err := r.UnmarshalBinary(b); !errors.Is(err, ErrBadEncoded) {
			t.Errorf("% x: err %v", b, err)
		}
	}
	if n, err := r.Lookup(Normal, 1); err != nil || n != "keep" {
		t.Errorf("state changed by bad input: %q %v", n, err)
	}
}

func FuzzUnmarshal(f *testing.F) {
	var r Registry
	r.Reset("c", nil, 0)
	r.Register("a/b")
	r.Register("c")
	b, _ := r.MarshalBinary()
	f.Add(b)
	f.Fuzz(func(t *testing.T, data []byte) {
		var r Registry
		r.Reset("c", nil, 0)
		if r.UnmarshalBinary(data) != nil {
			return
		}
		again, _ := r.MarshalBinary()
		var r2 Registry
		r2.Reset("c", nil, 0)
		if err := r2.UnmarshalBinary(again); err != nil {
			t.Fatalf("re-encoded form rejected: %v", err)
		}
	})
}
