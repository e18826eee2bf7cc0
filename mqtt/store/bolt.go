package store

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	bolt "go.etcd.io/bbolt"
	bolterrors "go.etcd.io/bbolt/errors"
)

// Options tunes the bbolt store. The zero value is ready: every zero field means its default.
type Options struct {
	// File is the database file inside the directory given to Open; "" means "snbridge.db".
	File string
	// LazyDelay bounds how long a CommitLazy batch waits for a Commit to carry it to disk before
	// it is written on its own; 0 means 20 ms.
	LazyDelay time.Duration
	// LockTimeout is how long Open waits for another process to release the file; 0 means 1 s.
	LockTimeout time.Duration
	// Logger receives the errors of lazy batches, which have no caller to return them to; nil
	// discards them.
	Logger *slog.Logger
}

const (
	defaultFile        = "snbridge.db"
	defaultLazyDelay   = 20 * time.Millisecond
	defaultLockTimeout = time.Second
	// formatVersion is the layout of buckets and keys, kept in meta/"format"; record versions
	// are per value (codec.go).
	formatVersion = 1
)

var (
	metaFormatKey   = []byte("format")
	sessionRecord   = []byte{recordVersion}
	bucketNames     = []string{bucketRetained, bucketSessions, bucketSubs, bucketMessages, bucketData, bucketMeta}
	errStoreMissing = errors.New("store: bucket missing (file not written by snbridge?)")
)

// boltStore is the embedded store. One committer goroutine owns every write transaction:
// callers prepare their batch into bytes on their own goroutine, queue it, and the committer
// writes everything queued in one bbolt transaction, i.e. one fsync (group commit). While it
// is on disk, the next group gathers.
type boltStore struct {
	db        *bolt.DB
	path      string
	log       *slog.Logger
	lazyDelay time.Duration

	mu          sync.Mutex
	closed      bool
	pending     []*request
	syncWaiting bool // a Commit is among pending: write without waiting for LazyDelay

	wake chan struct{} // capacity 1: "pending changed"
	quit chan struct{}
	done chan struct{}

	messages atomic.Int64 // retained + queued, kept by the committer

	// requests is per store, not global: a request's channel then never crosses from one store
	// (or testing/synctest bubble) to another.
	requests sync.Pool

	closeOnce sync.Once
	closeErr  error
	life      sync.RWMutex // Load holds it shared, Close exclusively while closing the file
}

// request is one batch, encoded: keys and values back to back in buf, ops indexing into it. The
// bytes stay untouched until the transaction that writes them has committed (bbolt's rule).
type request struct {
	buf  []byte
	ops  []rawOp
	sync bool
	done chan error // capacity 1; Commit waits on it
}

type rawOp struct {
	kind     OpKind
	key, val [2]int // [start, end) in buf
}

func newRequest() any { return &request{done: make(chan error, 1)} }

// Open opens (creating if needed) the store in dir. Another process holding the file makes it
// fail after Options.LockTimeout with an error naming the file.
func Open(dir string, opts Options) (Store, error) {
	if opts.File == "" {
		opts.File = defaultFile
	}
	if opts.LazyDelay <= 0 {
		opts.LazyDelay = defaultLazyDelay
	}
	if opts.LockTimeout <= 0 {
		opts.LockTimeout = defaultLockTimeout
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	path := filepath.Join(dir, opts.File)
	db, err := bolt.Open(path, 0o600, &bolt.Options{
		Timeout: opts.LockTimeout,
		// As etcd does: the hashmap freelist stays fast in a fragmented file (queues churn),
		// and not writing the freelist on every commit saves a page write per fsync, paid back
		// by one scan at Open.
		FreelistType:   bolt.FreelistMapType,
		NoFreelistSync: true,
	})
	if errors.Is(err, bolterrors.ErrTimeout) {
		return nil, fmt.Errorf("store: %s is locked by another process (waited %v)", path, opts.LockTimeout)
	}
	if err != nil {
		return nil, fmt.Errorf("store: open %s: %w", path, err)
	}
	var count int64
	err = db.Update(func(tx *bolt.Tx) error {
		for _, name := range bucketNames {
			if _, err := tx.CreateBucketIfNotExists([]byte(name)); err != nil {
				return fmt.Errorf("bucket %q: %w", name, err)
			}
		}
		meta := tx.Bucket([]byte(bucketMeta))
		switch v := meta.Get(metaFormatKey); {
		case v == nil:
			if err := meta.Put(metaFormatKey, []byte{formatVersion}); err != nil {
				return err
			}
		case len(v) != 1 || v[0] != formatVersion:
			return fmt.Errorf("written in format %v, this build reads format %d", v, formatVersion)
		}
		count = int64(tx.Bucket([]byte(bucketRetained)).Stats().KeyN + tx.Bucket([]byte(bucketMessages)).Stats().KeyN)
		return nil
	})
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("store: %s: %w", path, err)
	}
	s := &boltStore{
		db:        db,
		path:      path,
		log:       opts.Logger,
		lazyDelay: opts.LazyDelay,
		wake:      make(chan struct{}, 1),
		quit:      make(chan struct{}),
		done:      make(chan struct{}),
	}
	s.requests.New = newRequest
	s.messages.Store(count)
	go s.run()
	return s, nil
}

// Commit returns once b is on disk (fsynced), sharing the transaction with concurrent callers.
// An empty batch is a barrier: it returns once every earlier CommitLazy batch is durable.
func (s *boltStore) Commit(b *Batch) error {
	r, err := s.prepare(b, true)
	if err != nil {
		return err
	}
	if err := s.enqueue(r); err != nil {
		s.releaseRequest(r)
		return err
	}
	err = <-r.done
	s.releaseRequest(r)
	return err
}

// CommitLazy queues b and returns; b may be reused at once. It reaches disk with the next commit
// group, within LazyDelay, or at Close, in the order it was queued.
func (s *boltStore) CommitLazy(b *Batch) error {
	if b.Len() == 0 {
		if s.isClosed() {
			return ErrClosed
		}
		return nil
	}
	r, err := s.prepare(b, false)
	if err != nil {
		return err
	}
	if err := s.enqueue(r); err != nil {
		s.releaseRequest(r)
		return err
	}
	return nil
}

func (s *boltStore) isClosed() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.closed
}

// prepare validates b and encodes it into a pooled request.
func (s *boltStore) prepare(b *Batch, sync bool) (*request, error) {
	if err := validate(b); err != nil {
		return nil, err
	}
	r := s.requests.Get().(*request)
	r.sync = sync
	buf := r.buf[:0]
	ops := r.ops[:0]
	for i := range b.Ops {
		op := &b.Ops[i]
		ro := rawOp{kind: op.Kind}
		start := len(buf)
		switch op.Kind {
		case OpPutRetained, OpDeleteRetained:
			buf = append(buf, op.Key...)
		case OpPutSession:
			buf = append(buf, op.ClientID...)
		case OpDeleteSession:
			buf = append(append(buf, op.ClientID...), 0) // the prefix of its composite keys
		case OpPutSubscription, OpDeleteSubscription, OpPutData, OpDeleteData:
			buf = appendClientKey(buf, op.ClientID, op.Key)
		case OpPutMessage, OpDeleteMessage:
			buf = appendMessageKey(buf, op.ClientID, op.Seq)
		}
		ro.key = [2]int{start, len(buf)}
		start = len(buf)
		switch op.Kind {
		case OpPutRetained:
			buf = appendMessage(buf, &op.Msg, false)
		case OpPutSession:
			buf = append(buf, recordVersion)
		case OpPutSubscription:
			buf = append(buf, recordVersion, op.QoS)
		case OpPutMessage:
			buf = appendMessage(buf, &op.Msg, true)
		case OpPutData:
			buf = append(append(buf, recordVersion), op.Value...)
		}
		ro.val = [2]int{start, len(buf)}
		ops = append(ops, ro)
	}
	r.buf, r.ops = buf, ops
	return r, nil
}

func (s *boltStore) releaseRequest(r *request) {
	if cap(r.buf) > 64<<10 || cap(r.ops) > 1024 {
		return // let an outsized batch's memory go rather than pin it in the pool
	}
	s.requests.Put(r)
}

func (s *boltStore) enqueue(r *request) error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return ErrClosed
	}
	s.pending = append(s.pending, r)
	if r.sync {
		s.syncWaiting = true
	}
	s.mu.Unlock()
	select {
	case s.wake <- struct{}{}:
	default:
	}
	return nil
}

// run is the committer. It writes what is pending as soon as a Commit waits, or LazyDelay after
// the first lazy batch if no Commit comes, and everything at Close.
func (s *boltStore) run() {
	defer close(s.done)
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	armed := false
	var group []*request
	for {
		force := false
		select {
		case <-s.wake:
		case <-timer.C:
			armed, force = false, true
		case <-s.quit:
			timer.Stop()
			// Close set closed before quit: pending is final.
			s.mu.Lock()
			group, s.pending = s.pending, nil
			s.mu.Unlock()
			if len(group) > 0 {
				s.write(group)
			}
			return
		}
		s.mu.Lock()
		n := len(s.pending)
		if n == 0 || !(s.syncWaiting || force) {
			s.mu.Unlock()
			if n > 0 && !armed {
				timer.Reset(s.lazyDelay)
				armed = true
			}
			continue
		}
		group, s.pending = s.pending, group[:0]
		s.syncWaiting = false
		s.mu.Unlock()
		if armed {
			timer.Stop()
			armed = false
		}
		s.write(group)
		clear(group)
	}
}

// write puts a group in one transaction. If that fails, each batch is retried alone so that a
// failing batch fails alone (validation makes this rare: it is left to I/O errors and a full disk).
func (s *boltStore) write(group []*request) {
	var delta int64
	err := s.db.Update(func(tx *bolt.Tx) error {
		bk, err := openBuckets(tx)
		if err != nil {
			return err
		}
		delta = 0
		for _, r := range group {
			d, err := bk.apply(r)
			if err != nil {
				return err
			}
			delta += d
		}
		return nil
	})
	if err == nil || len(group) == 1 {
		if err == nil {
			s.messages.Add(delta)
		}
		for _, r := range group {
			s.finish(r, err)
		}
		return
	}
	for i := range group {
		s.write(group[i : i+1])
	}
}

func (s *boltStore) finish(r *request, err error) {
	if err != nil {
		err = fmt.Errorf("store: %s: %w", s.path, err)
	}
	if r.sync {
		r.done <- err // the caller releases r
		return
	}
	if err != nil {
		s.log.Error("lazy batch not written", "file", s.path, "ops", len(r.ops), "err", err)
	}
	s.releaseRequest(r)
}

type txBuckets struct {
	retained, sessions, subs, messages, data *bolt.Bucket
}

func openBuckets(tx *bolt.Tx) (txBuckets, error) {
	bk := txBuckets{
		retained: tx.Bucket([]byte(bucketRetained)),
		sessions: tx.Bucket([]byte(bucketSessions)),
		subs:     tx.Bucket([]byte(bucketSubs)),
		messages: tx.Bucket([]byte(bucketMessages)),
		data:     tx.Bucket([]byte(bucketData)),
	}
	if bk.retained == nil || bk.sessions == nil || bk.subs == nil || bk.messages == nil || bk.data == nil {
		return bk, errStoreMissing
	}
	return bk, nil
}

// apply writes one request and returns the change in the number of stored messages.
func (bk *txBuckets) apply(r *request) (delta int64, err error) {
	for i := range r.ops {
		op := &r.ops[i]
		key := r.buf[op.key[0]:op.key[1]]
		val := r.buf[op.val[0]:op.val[1]]
		switch op.kind {
		case OpPutRetained:
			delta += putCounting(bk.retained, key, val)
			err = bk.retained.Put(key, val)
		case OpDeleteRetained:
			if bk.retained.Get(key) != nil {
				delta--
				err = bk.retained.Delete(key)
			}
		case OpPutSession:
			if bk.sessions.Get(key) == nil {
				err = bk.sessions.Put(key, val)
			}
		case OpDeleteSession:
			var n int
			err = bk.sessions.Delete(key[:len(key)-1])
			if err == nil {
				_, err = deletePrefix(bk.subs, key)
			}
			if err == nil {
				n, err = deletePrefix(bk.messages, key)
				delta -= int64(n)
			}
			if err == nil {
				_, err = deletePrefix(bk.data, key)
			}
		case OpPutSubscription:
			if err = bk.ensureSession(key); err == nil {
				err = bk.subs.Put(key, val)
			}
		case OpDeleteSubscription:
			err = bk.subs.Delete(key)
		case OpPutMessage:
			if err = bk.ensureSession(key); err == nil {
				delta += putCounting(bk.messages, key, val)
				err = bk.messages.Put(key, val)
			}
		case OpDeleteMessage:
			if bk.messages.Get(key) != nil {
				delta--
				err = bk.messages.Delete(key)
			}
		case OpPutData:
			if err = bk.ensureSession(key); err == nil {
				err = bk.data.Put(key, val)
			}
		case OpDeleteData:
			err = bk.data.Delete(key)
		}
		if err != nil {
			return 0, fmt.Errorf("%s %s: %w", op.kind, formatKey(bucketOf(op.kind), key), err)
		}
	}
	return delta, nil
}

func bucketOf(k OpKind) string {
	switch k {
	case OpPutRetained, OpDeleteRetained:
		return bucketRetained
	case OpPutSubscription, OpDeleteSubscription:
		return bucketSubs
	case OpPutMessage, OpDeleteMessage:
		return bucketMessages
	case OpPutData, OpDeleteData:
		return bucketData
	}
	return bucketSessions
}

func putCounting(b *bolt.Bucket, key, val []byte) int64 {
	if b.Get(key) == nil {
		return 1
	}
	return 0
}

// ensureSession creates the session record of a composite key's client if absent, so that no
// subscription, message or data is ever stored for a client Load would not visit.
func (bk *txBuckets) ensureSession(key []byte) error {
	client := key[:bytes.IndexByte(key, 0)]
	if bk.sessions.Get(client) != nil {
		return nil
	}
	return bk.sessions.Put(client, sessionRecord)
}

// deletePrefix removes every key starting with prefix. It seeks afresh after each delete: a
// bbolt cursor's position after Delete is not to be relied on for Next.
func deletePrefix(b *bolt.Bucket, prefix []byte) (n int, err error) {
	c := b.Cursor()
	for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Seek(prefix) {
		if err := c.Delete(); err != nil {
			return n, err
		}
		n++
	}
	return n, nil
}

// Load visits retained messages by topic, then each session (with its subscriptions) followed by
// its messages in Seq order and its data by key. Lazy batches queued before Load are included.
// It runs in one read transaction: visitors must not Commit to this store (a commit that grows
// the file waits for the read to end); gather, then write.
func (s *boltStore) Load(v Visitor) error {
	s.mu.Lock()
	closed, lazy := s.closed, len(s.pending) > 0
	s.mu.Unlock()
	if closed {
		return ErrClosed
	}
	if lazy {
		if err := s.Commit(&Batch{}); err != nil {
			return err
		}
	}
	s.life.RLock()
	defer s.life.RUnlock()
	if s.isClosed() {
		return ErrClosed
	}
	return s.db.View(func(tx *bolt.Tx) error {
		bk, err := openBuckets(tx)
		if err != nil {
			return err
		}
		if v.Retained != nil {
			c := bk.retained.Cursor()
			for k, val := c.First(); k != nil; k, val = c.Next() {
				m, err := decodeMessage(val, string(k))
				if err != nil {
					return corrupt(bucketRetained, k, "%v", err)
				}
				if err := v.Retained(m); err != nil {
					return err
				}
			}
		}
		var prefix []byte
		sc := bk.sessions.Cursor()
		for k, val := sc.First(); k != nil; k, val = sc.Next() {
			if err := checkVersion(val, 0); err != nil {
				return corrupt(bucketSessions, k, "%v", err)
			}
			clientID := string(k)
			prefix = append(append(prefix[:0], k...), 0)
			if v.Session != nil {
				sess, err := loadSession(bk.subs, clientID, prefix)
				if err != nil {
					return err
				}
				if err := v.Session(sess); err != nil {
					return err
				}
			}
			if v.Message != nil {
				c := bk.messages.Cursor()
				for mk, mv := c.Seek(prefix); mk != nil && bytes.HasPrefix(mk, prefix); mk, mv = c.Next() {
					if len(mk) != len(prefix)+8 {
						return corrupt(bucketMessages, mk, "key of %d bytes, want client id + 9", len(mk))
					}
					m, err := decodeMessage(mv, "")
					if err != nil {
						return corrupt(bucketMessages, mk, "%v", err)
					}
					if err := v.Message(clientID, binary.BigEndian.Uint64(mk[len(prefix):]), m); err != nil {
						return err
					}
				}
			}
			if v.Data != nil {
				c := bk.data.Cursor()
				for dk, dv := c.Seek(prefix); dk != nil && bytes.HasPrefix(dk, prefix); dk, dv = c.Next() {
					if err := checkVersion(dv, -1); err != nil {
						return corrupt(bucketData, dk, "%v", err)
					}
					if err := v.Data(clientID, string(dk[len(prefix):]), cloneBytes(dv[1:])); err != nil {
						return err
					}
				}
			}
		}
		return nil
	})
}

func loadSession(subs *bolt.Bucket, clientID string, prefix []byte) (Session, error) {
	sess := Session{ClientID: clientID, Subscriptions: map[string]byte{}}
	c := subs.Cursor()
	for k, v := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, v = c.Next() {
		if err := checkVersion(v, 1); err != nil {
			return sess, corrupt(bucketSubs, k, "%v", err)
		}
		if v[1] > 2 {
			return sess, corrupt(bucketSubs, k, "QoS %d", v[1])
		}
		if len(k) == len(prefix) {
			return sess, corrupt(bucketSubs, k, "empty filter")
		}
		sess.Subscriptions[string(k[len(prefix):])] = v[1]
	}
	return sess, nil
}

// Stats reads a counter kept by the committer and stats the file: cheap at any $SYS interval.
func (s *boltStore) Stats() Stats {
	st := Stats{Messages: s.messages.Load()}
	if fi, err := os.Stat(s.path); err == nil {
		st.Bytes = fi.Size()
	}
	return st
}

// Close writes what is queued, stops the committer and closes the file. Later calls return the
// first call's result; other operations return ErrClosed.
func (s *boltStore) Close() error {
	s.closeOnce.Do(func() {
		s.mu.Lock()
		s.closed = true
		s.mu.Unlock()
		close(s.quit)
		<-s.done
		s.life.Lock()
		s.closeErr = s.db.Close()
		s.life.Unlock()
	})
	return s.closeErr
}
