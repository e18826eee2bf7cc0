package auth

import (
	"errors"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"

	"golang.org/x/crypto/bcrypt"
)

// Config says where the rules come from. The zero Config refuses anonymous clients, accepts
// every user name without a password check, and allows every topic.
type Config struct {
	// AllowAnonymous admits clients that send no user name (mosquitto's allow_anonymous).
	AllowAnonymous bool
	// PasswordFile is a file of "user:bcrypt-hash" lines; "" checks no passwords.
	PasswordFile string
	// ACLFile is a mosquitto ACL file; "" allows every client every topic.
	ACLFile string
}

// Auth answers the broker's authentication and authorisation questions. Create it with New.
type Auth struct {
	mu     sync.Mutex // serialises reloads; checks read tables without it
	cfg    Config
	tables atomic.Pointer[tables]
}

// tables are one consistent reading of the configuration; never modified once published.
type tables struct {
	allowAnonymous bool
	passwords      map[string][]byte // user → bcrypt hash; nil: no password file
	acl            *acl              // nil: no ACL file
}

// New reads the files of cfg.
func New(cfg Config) (*Auth, error) {
	a := &Auth{}
	if err := a.Update(cfg); err != nil {
		return nil, err
	}
	return a, nil
}

// Reload reads the configured files again. On error the previous tables stay in force.
func (a *Auth) Reload() error {
	a.mu.Lock()
	cfg := a.cfg
	a.mu.Unlock()
	return a.Update(cfg)
}

// Update replaces the configuration (a reloaded broker config) and reads its files. On error the
// previous configuration and tables stay in force.
func (a *Auth) Update(cfg Config) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	t := &tables{allowAnonymous: cfg.AllowAnonymous}
	var errs []error
	if cfg.PasswordFile != "" {
		p, err := LoadPasswordFile(cfg.PasswordFile)
		errs = append(errs, err)
		t.passwords = p
	}
	if cfg.ACLFile != "" {
		acl, err := loadACLFile(cfg.ACLFile)
		errs = append(errs, err)
		t.acl = acl
	}
	if err := errors.Join(errs...); err != nil {
		return err
	}
	a.cfg = cfg
	a.tables.Store(t)
	return nil
}

// dummyHash is compared against when the user is unknown, so that a refusal takes as long
// whether or not the user exists.
var dummyHash = []byte("$2a$10$wzrnPCjtiB1OX6RCSzmfBekrxXb9NRMZMPkZ5bV/J.ZXx3ihzF0QC")

// Authenticate reports whether a client may connect with these credentials: without a user name
// only if anonymous clients are allowed; with one, if there is no password file or the password
// matches the user's hash in it.
func (a *Auth) Authenticate(username, password, clientID string) bool {
	t := a.tables.Load()
	if username == "" {
		return t.allowAnonymous
	}
	if t.passwords == nil {
		return true
	}
	hash, ok := t.passwords[username]
	if !ok {
		_ = bcrypt.CompareHashAndPassword(dummyHash, []byte(password))
		return false
	}
	return bcrypt.CompareHashAndPassword(hash, []byte(password)) == nil
}

// CanPublish reports whether the client may publish to topic (a topic name, no wildcards): a
// "write" or "readwrite" rule matches it.
func (a *Auth) CanPublish(username, clientID, topic string) bool {
	t := a.tables.Load()
	return t.acl == nil || t.acl.allowTopic(username, clientID, topic, accessWrite)
}

// CanRead reports whether a message published to topic may be delivered to the client: a "read"
// or "readwrite" rule matches it. A broker that checked the subscription with CanSubscribe need
// not call it; it is for deliveries decided otherwise (a retained message after a reload).
func (a *Auth) CanRead(username, clientID, topic string) bool {
	t := a.tables.Load()
	return t.acl == nil || t.acl.allowTopic(username, clientID, topic, accessRead)
}

// CanSubscribe reports whether the client may subscribe to filter: a "read" or "readwrite" rule
// covers it, that is matches every topic the filter matches ("a/+" covers "a/b" and "a/+" but
// not "a/#").
func (a *Auth) CanSubscribe(username, clientID, filter string) bool {
	t := a.tables.Load()
	return t.acl == nil || t.acl.allowFilter(username, clientID, filter)
}

func quote(s string) string { return strconv.Quote(s) }

// FileError is a problem in a password or ACL file.
type FileError struct {
	File    string
	Line    int // 1-based; 0 when the problem is the file itself
	Problem string
}

func (e *FileError) Error() string {
	if e.Line == 0 {
		return e.File + ": " + e.Problem
	}
	return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Problem)
}
