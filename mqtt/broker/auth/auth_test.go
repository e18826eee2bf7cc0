package auth

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"golang.org/x/crypto/bcrypt"
)

func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func hash(t *testing.T, password string) string {
	t.Helper()
	h, err := bcrypt.GenerateFromPassword([]byte(password), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	return string(h)
}

func TestAnonymous(t *testing.T) {
	for _, allow := range []bool{false, true} {
		a, err := New(Config{AllowAnonymous: allow})
		if err != nil {
			t.Fatal(err)
		}
		if got := a.Authenticate("", "", "c1"); got != allow {
			t.Errorf("allow_anonymous %v: anonymous client admitted = %v", allow, got)
		}
		// without a password file a user name is not checked
		if !a.Authenticate("bob", "anything", "c1") {
			t.Errorf("allow_anonymous %v, no password file: user bob refused", allow)
		}
	}
}

func TestPasswordFile(t *testing.T) {
	path := writeFile(t, "passwd", "# users\nalice:"+hash(t, "wonderland")+"\n\nbob:"+hash(t, "builder")+"\n")
	a, err := New(Config{PasswordFile: path})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		user, password string
		want           bool
	}{
		{"alice", "wonderland", true},
		{"bob", "builder", true},
		{"alice", "builder", false},
		{"alice", "", false},
		{"carol", "wonderland", false},
		{"", "", false}, // anonymous, not allowed
	} {
		if got := a.Authenticate(c.user, c.password, "c"); got != c.want {
			t.Errorf("Authenticate(%q, %q) = %v, want %v", c.user, c.password, got, c.want)
		}
	}
}

func TestBadPasswordFiles(t *testing.T) {
	good := hash(t, "x")
	for _, c := range []struct {
		content string
		line    int
		problem string
	}{
		{"alice:" + good + "\nbob\n", 2, "no ':'"},
		{"alice:secret\n", 1, "not a bcrypt hash"},
		{"alice:$1$abc$def\n", 1, "not a bcrypt hash"},
		{"# c\nalice:" + good + "\nalice:" + good + "\n", 3, "appears twice"},
		{":" + good + "\n", 1, "empty user name"},
	} {
		path := writeFile(t, "pw", c.content)
		_, err := New(Config{PasswordFile: path})
		var fe *FileError
		if !errors.As(err, &fe) || fe.File != path || fe.Line != c.line || !strings.Contains(fe.Problem, c.problem) {
			t.Errorf("%q: err = %v, want %s:%d: …%s…", c.content, err, path, c.line, c.problem)
		}
		if err != nil && !strings.Contains(err.Error(), path) {
			t.Errorf("error %q does not name the file", err)
		}
	}
	_, err := New(Config{PasswordFile: filepath.Join(t.TempDir(), "missing")})
	if err == nil || !strings.Contains(err.Error(), "missing") {
		t.Errorf("missing password file: %v", err)
	}
}

func TestSetPassword(t *testing.T) {
	path := filepath.Join(t.TempDir(), "passwd")
	if err := SetPassword(path, "alice", "one", bcrypt.MinCost); err != nil {
		t.Fatal(err)
	}
	if st, err := os.Stat(path); err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("new password file: %v, mode %v; want 0600", err, st.Mode())
	}
	// a comment and a second user, then a change of alice's password
	f, _ := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	f.WriteString("# the builder\n")
	f.Close()
	if err := SetPassword(path, "bob", "two", bcrypt.MinCost); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, 0o640); err != nil {
		t.Fatal(err)
	}
	before, _ := os.ReadFile(path)
	if err := SetPassword(path, "alice", "three", bcrypt.MinCost); err != nil {
		t.Fatal(err)
	}
	after, _ := os.ReadFile(path)
	lines := strings.Split(strings.TrimSuffix(string(after), "\n"), "\n")
	if len(lines) != 3 || !strings.HasPrefix(lines[0], "alice:") || lines[1] != "# the builder" || !strings.HasPrefix(lines[2], "bob:") {
		t.Fatalf("file after changing alice:\n%s", after)
	}
	if strings.Split(string(before), "\n")[2] != lines[2] {
		t.Errorf("bob's line changed")
	}
	if st, _ := os.Stat(path); st.Mode().Perm() != 0o640 {
		t.Errorf("mode %v after the change, want 0640 kept", st.Mode().Perm())
	}
	a, err := New(Config{PasswordFile: path})
	if err != nil {
		t.Fatal(err)
	}
	if a.Authenticate("alice", "one", "c") || !a.Authenticate("alice", "three", "c") || !a.Authenticate("bob", "two", "c") {
		t.Errorf("after SetPassword: alice/one %v, alice/three %v, bob/two %v",
			a.Authenticate("alice", "one", "c"), a.Authenticate("alice", "three", "c"), a.Authenticate("bob", "two", "c"))
	}
	entries, _ := os.ReadDir(filepath.Dir(path))
	if len(entries) != 1 {
		t.Errorf("directory holds %d files, want only the password file (no temporary left)", len(entries))
	}
	// a bad user name changes nothing
	for _, bad := range []string{"", "a:b", "a\nb"} {
		if err := SetPassword(path, bad, "x", bcrypt.MinCost); err == nil {
			t.Errorf("SetPassword(%q) accepted", bad)
		}
	}
	if err := SetPassword(path, "carol", strings.Repeat("p", 73), bcrypt.MinCost); err == nil {
		t.Errorf("a 73-byte password (bcrypt's limit is 72) was accepted")
	}
	if now, _ := os.ReadFile(path); string(now) != string(after) {
		t.Errorf("refused changes modified the file")
	}
}

const testACL = `# anonymous clients
topic read public/#
topic read $SYS/broker/uptime

user alice
topic readwrite home/#
topic write logs/alice
topic read   weather/+/temp
	topic	write	logs/tabs

user bob
topic home/kitchen/+
topic read +/lights

# every client
pattern write devices/%c/status
pattern read clients/%u/#
pattern readwrite id-%c/of/%u

user nobody
`

func newACL(t *testing.T, content string) *Auth {
	t.Helper()
	a, err := New(Config{AllowAnonymous: true, ACLFile: writeFile(t, "acl", content)})
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func TestACLPublish(t *testing.T) {
	a := newACL(t, testACL)
	for _, c := range []struct {
		user, client, topic string
		want                bool
	}{
		{"", "anon", "public/news", false}, // read only
		{"alice", "a1", "home/kitchen/light", true},
		{"alice", "a1", "home", true}, // "home/#" covers its parent level
		{"alice", "a1", "logs/alice", true},
		{"alice", "a1", "logs/tabs", true}, // words separated by tabs
		{"alice", "a1", "logs/bob", false},
		{"alice", "a1", "weather/paris/temp", false}, // read only
		{"bob", "b1", "home/kitchen/light", true},    // readwrite by default
		{"bob", "b1", "home/kitchen", false},
		{"bob", "b1", "home/kitchen/light/x", false},
		{"bob", "b1", "home/hall/light", false},
		{"carol", "c1", "home/kitchen/light", false}, // no section: patterns only
		{"carol", "c1", "devices/c1/status", true},   // pattern %c
		{"carol", "c1", "devices/c2/status", false},
		{"", "anon", "devices/anon/status", true}, // patterns apply to anonymous clients too
		{"carol", "c1", "id-c1/of/carol", true},   // substitution inside a level
		{"carol", "c1", "id-c1/of/alice", false},
		{"carol", "c1", "id-c2/of/carol", false},
		{"nobody", "n", "public/news", false}, // an empty user section grants nothing
	} {
		if got := a.CanPublish(c.user, c.client, c.topic); got != c.want {
			t.Errorf("CanPublish(%q, %q, %q) = %v, want %v", c.user, c.client, c.topic, got, c.want)
		}
	}
}

func TestACLSubscribe(t *testing.T) {
	a := newACL(t, testACL)
	for _, c := range []struct {
		user, client, filter string
		want                 bool
	}{
		{"", "anon", "public/news", true},
		{"", "anon", "public/#", true},
		{"", "anon", "public/+/x", true},
		{"", "anon", "public", true},
		{"", "anon", "#", false},
		{"", "anon", "+/news", false},
		{"", "anon", "home/x", false}, // alice's rules are not anonymous rules
		{"", "anon", "$SYS/broker/uptime", true},
		{"", "anon", "$SYS/broker/+", false},
		{"alice", "a1", "home/#", true},
		{"alice", "a1", "home/+/light", true},
		{"alice", "a1", "logs/alice", false}, // write only
		{"alice", "a1", "weather/+/temp", true},
		{"alice", "a1", "weather/oslo/temp", true},
		{"alice", "a1", "weather/#", false},
		{"alice", "a1", "weather/+/+", false},
		{"alice", "a1", "weather/oslo/temp/x", false},
		{"bob", "b1", "home/kitchen/+", true},
		{"bob", "b1", "home/kitchen/#", false}, // "+" does not cover "#"
		{"bob", "b1", "home/+/x", false},
		{"bob", "b1", "x/lights", true},
		{"bob", "b1", "+/lights", true},
		{"bob", "b1", "$SYS/lights", false}, // a leading wildcard does not match $ topics [MQTT-4.7.2-1]
		{"carol", "c1", "clients/carol/#", true},
		{"carol", "c1", "clients/alice/#", false},
		{"carol", "c1", "clients/+/x", false},
		{"carol", "c1", "devices/c1/status", false}, // write only
	} {
		if got := a.CanSubscribe(c.user, c.client, c.filter); got != c.want {
			t.Errorf("CanSubscribe(%q, %q, %q) = %v, want %v", c.user, c.client, c.filter, got, c.want)
		}
	}
	if !a.CanRead("alice", "a1", "weather/oslo/temp") || a.CanRead("alice", "a1", "logs/alice") {
		t.Errorf("CanRead disagrees with the read rules")
	}
}

// A user name or client id with a wildcard or a '/' must not widen a pattern.
func TestACLSubstitutionCannotWiden(t *testing.T) {
	a := newACL(t, "pattern readwrite devices/%c/#\npattern read users/%u\n")
	for _, c := range []struct{ user, client, topic string }{
		{"u", "+", "devices/x/y"},
		{"u", "#", "devices/x"},
		{"u", "a/b", "devices/a/b/c"},
		{"#", "c", "users/#"},
		{"", "c", "users/"},
	} {
		if a.CanPublish(c.user, c.client, c.topic) || a.CanSubscribe(c.user, c.client, c.topic) {
			t.Errorf("user %q client %q reached %q", c.user, c.client, c.topic)
		}
	}
	if !a.CanPublish("u", "dev1", "devices/dev1/x") {
		t.Errorf("the pattern does not work for a plain client id")
	}
}

func TestNoACLAllowsAll(t *testing.T) {
	a, err := New(Config{})
	if err != nil {
		t.Fatal(err)
	}
	if !a.CanPublish("", "c", "any/topic") || !a.CanSubscribe("u", "c", "#") {
		t.Errorf("without an ACL file something was denied")
	}
}

func TestBadACLFiles(t *testing.T) {
	for _, c := range []struct {
		content string
		line    int
		problem string
	}{
		{"topic read a\nfoo bar\n", 2, "unknown keyword"},
		{"user\n", 1, "without a user name"},
		{"\n\ntopic read\n", 3, "without a topic"},
		{"topic read a/#/b\n", 1, "'#' is not the last level"},
		{"topic a/b#\n", 1, "'#' does not fill its level"},
		{"pattern write a/x+\n", 1, "'+' does not fill its level"},
		{"topic deny a\n", 1, "not supported"},
	} {
		path := writeFile(t, "acl", c.content)
		_, err := New(Config{ACLFile: path})
		var fe *FileError
		if !errors.As(err, &fe) || fe.File != path || fe.Line != c.line || !strings.Contains(fe.Problem, c.problem) {
			t.Errorf("%q: err = %v, want %s:%d: …%s…", c.content, err, path, c.line, c.problem)
		}
	}
}

func TestReload(t *testing.T) {
	dir := t.TempDir()
	aclPath := filepath.Join(dir, "acl")
	pwPath := filepath.Join(dir, "pw")
	os.WriteFile(aclPath, []byte("user alice\ntopic a/#\n"), 0o600)
	os.WriteFile(pwPath, []byte("alice:"+hash(t, "one")+"\n"), 0o600)
	a, err := New(Config{ACLFile: aclPath, PasswordFile: pwPath})
	if err != nil {
		t.Fatal(err)
	}

	// a bad ACL file: the reload fails as a whole and the old tables stay
	os.WriteFile(aclPath, []byte("user alice\ntopic b/#\nbogus\n"), 0o600)
	SetPassword(pwPath, "alice", "two", bcrypt.MinCost)
	if err := a.Reload(); err == nil || !strings.Contains(err.Error(), aclPath+":3:") {
		t.Errorf("Reload of a bad ACL file: %v", err)
	}
	if !a.CanPublish("alice", "c", "a/x") || a.CanPublish("alice", "c", "b/x") || !a.Authenticate("alice", "one", "c") {
		t.Errorf("after a failed reload the old rules are not in force")
	}

	os.WriteFile(aclPath, []byte("user alice\ntopic b/#\n"), 0o600)
	if err := a.Reload(); err != nil {
		t.Fatal(err)
	}
	if a.CanPublish("alice", "c", "a/x") || !a.CanPublish("alice", "c", "b/x") {
		t.Errorf("after a reload the new ACL is not in force")
	}
	if a.Authenticate("alice", "one", "c") || !a.Authenticate("alice", "two", "c") {
		t.Errorf("after a reload the new password is not in force")
	}

	// Update changes the configuration itself
	if err := a.Update(Config{AllowAnonymous: true}); err != nil {
		t.Fatal(err)
	}
	if !a.Authenticate("", "", "c") || !a.CanPublish("alice", "c", "a/x") {
		t.Errorf("Update to an open configuration did not apply")
	}
	if err := a.Update(Config{ACLFile: filepath.Join(dir, "absent")}); err == nil {
		t.Errorf("Update with a missing file succeeded")
	}
	if !a.Authenticate("", "", "c") {
		t.Errorf("a failed Update changed the configuration")
	}
}

// Checks run while reloads swap the tables (go test -race).
func TestReloadWhileChecking(t *testing.T) {
	path := writeFile(t, "acl", "topic read a/#\npattern write d/%c\n")
	a, err := New(Config{AllowAnonymous: true, ACLFile: path})
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			for range 2000 {
				if !a.CanSubscribe("", "c", "a/b") || !a.CanPublish("", "c", "d/c") {
					t.Errorf("goroutine %d: a check failed during reloads", g)
					return
				}
			}
		})
	}
	for range 50 {
		if err := a.Reload(); err != nil {
			t.Error(err)
			break
		}
	}
	wg.Wait()
}

func TestCoversAllocatesNothing(t *testing.T) {
	a := newACL(t, testACL)
	allocs := testing.AllocsPerRun(100, func() {
		a.CanPublish("carol", "c1", "id-c1/of/carol")
		a.CanSubscribe("alice", "a1", "weather/+/temp")
	})
	if allocs != 0 {
		t.Errorf("%v allocations per check", allocs)
	}
}
