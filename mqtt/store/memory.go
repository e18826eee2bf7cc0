package store

import (
	"bytes"
	"slices"
	"sync"
)

// NewMemory returns a Store that keeps everything in memory: for tests, and for running with the
// store off (nothing survives the process, but the broker's code path is the same). It validates
// batches and orders Load exactly as the bbolt store does.
func NewMemory() Store { return &memStore{st: newMemState()} }

type memStore struct {
	mu     sync.Mutex
	closed bool
	st     *memState
}

// memState is the data, apart from the handle so that a test can "reopen" it.
type memState struct {
	retained map[string]Message
	sessions map[string]*memSession
}

type memSession struct {
	subs map[string]byte
	msgs map[uint64]Message
	data map[string][]byte
}

func newMemState() *memState {
	return &memState{retained: map[string]Message{}, sessions: map[string]*memSession{}}
}

func (s *memStore) Commit(b *Batch) error     { return s.apply(b) }
func (s *memStore) CommitLazy(b *Batch) error { return s.apply(b) }

func (s *memStore) apply(b *Batch) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return ErrClosed
	}
	if err := validate(b); err != nil {
		return err
	}
	for i := range b.Ops {
		s.st.apply(&b.Ops[i])
	}
	return nil
}

// cloneBytes copies b; empty is nil, as bbolt gives it back.
func cloneBytes(b []byte) []byte {
	if len(b) == 0 {
		return nil
	}
	return bytes.Clone(b)
}

func cloneMessage(m Message) Message {
	m.Payload = cloneBytes(m.Payload)
	return m
}

func (st *memState) session(clientID string) *memSession {
	ss := st.sessions[clientID]
	if ss == nil {
		ss = &memSession{subs: map[string]byte{}, msgs: map[uint64]Message{}, data: map[string][]byte{}}
		st.sessions[clientID] = ss
	}
	return ss
}

func (st *memState) apply(op *Op) {
	switch op.Kind {
	case OpPutRetained:
		m := cloneMessage(op.Msg)
		m.Topic = op.Key
		st.retained[op.Key] = m
	case OpDeleteRetained:
		delete(st.retained, op.Key)
	case OpPutSession:
		st.session(op.ClientID)
	case OpDeleteSession:
		delete(st.sessions, op.ClientID)
	case OpPutSubscription:
		st.session(op.ClientID).subs[op.Key] = op.QoS
	case OpDeleteSubscription:
		if ss := st.sessions[op.ClientID]; ss != nil {
			delete(ss.subs, op.Key)
		}
	case OpPutMessage:
		st.session(op.ClientID).msgs[op.Seq] = cloneMessage(op.Msg)
	case OpDeleteMessage:
		if ss := st.sessions[op.ClientID]; ss != nil {
			delete(ss.msgs, op.Seq)
		}
	case OpPutData:
		st.session(op.ClientID).data[op.Key] = cloneBytes(op.Value)
	case OpDeleteData:
		if ss := st.sessions[op.ClientID]; ss != nil {
			delete(ss.data, op.Key)
		}
	}
}

// Load visits in the order of the bbolt store: retained by topic, sessions by client id, each
// followed by its messages by Seq and its data by key. The lock is held throughout, so visitors
// must not call back into the store.
func (s *memStore) Load(v Visitor) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return ErrClosed
	}
	st := s.st
	if v.Retained != nil {
		for _, topic := range sortedKeys(st.retained) {
			if err := v.Retained(cloneMessage(st.retained[topic])); err != nil {
				return err
			}
		}
	}
	for _, id := range sortedKeys(st.sessions) {
		ss := st.sessions[id]
		if v.Session != nil {
			subs := make(map[string]byte, len(ss.subs))
			for f, q := range ss.subs {
				subs[f] = q
			}
			if err := v.Session(Session{ClientID: id, Subscriptions: subs}); err != nil {
				return err
			}
		}
		if v.Message != nil {
			for _, seq := range sortedKeys(ss.msgs) {
				if err := v.Message(id, seq, cloneMessage(ss.msgs[seq])); err != nil {
					return err
				}
			}
		}
		if v.Data != nil {
			for _, k := range sortedKeys(ss.data) {
				if err := v.Data(id, k, cloneBytes(ss.data[k])); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

func sortedKeys[K string | uint64, V any](m map[K]V) []K {
	keys := make([]K, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// Stats counts messages and the bytes of topics, payloads and data held. It walks the sessions:
// fine at $SYS rates for the sizes a memory store is used with.
func (s *memStore) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	var st Stats
	for t, m := range s.st.retained {
		st.Messages++
		st.Bytes += int64(len(t) + len(m.Payload))
	}
	for _, ss := range s.st.sessions {
		for _, m := range ss.msgs {
			st.Messages++
			st.Bytes += int64(len(m.Topic) + len(m.Payload))
		}
		for k, v := range ss.data {
			st.Bytes += int64(len(k) + len(v))
		}
	}
	return st
}

// Close is idempotent; later operations return ErrClosed.
func (s *memStore) Close() error {
	s.mu.Lock()
	s.closed = true
	s.mu.Unlock()
	return nil
}
