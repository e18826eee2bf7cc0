package topic

import (
	"strings"
	"sync"
)

// Retained indexes the retained messages by topic name so that a new subscription finds those
// its filter matches [MQTT-3.3.1-6] without scanning every topic. V is the caller's message type.
// It is safe for concurrent use.
type Retained[V any] struct {
	mu   sync.RWMutex
	root rnode[V]
	n    int
}

type rnode[V any] struct {
	children map[string]*rnode[V]
	val      V
	has      bool
}

// NewRetained returns an empty index.
func NewRetained[V any]() *Retained[V] { return &Retained[V]{} }

// Set stores v as the retained message of the topic name, replacing any previous one
// [MQTT-3.3.1-5].
func (r *Retained[V]) Set(name string, v V) {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := &r.root
	for rest, more := name, true; more; {
		var level string
		level, rest, more = cut(rest)
		c := n.children[level]
		if c == nil {
			if n.children == nil {
				n.children = make(map[string]*rnode[V])
			}
			c = &rnode[V]{}
			n.children[level] = c
		}
		n = c
	}
	if !n.has {
		r.n++
	}
	n.val, n.has = v, true
}

// Delete removes the retained message of the topic name (a retained PUBLISH with an empty
// payload [MQTT-3.3.1-10]) and reports whether there was one.
func (r *Retained[V]) Delete(name string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.root.remove(name) {
		return false
	}
	r.n--
	return true
}

func (n *rnode[V]) remove(name string) bool {
	level, rest, more := cut(name)
	c := n.children[level]
	if c == nil {
		return false
	}
	var removed bool
	if more {
		removed = c.remove(rest)
	} else if c.has {
		var zero V
		c.val, c.has, removed = zero, false, true
	}
	if removed && !c.has && len(c.children) == 0 {
		delete(n.children, level)
	}
	return removed
}

// Get returns the retained message of the topic name.
func (r *Retained[V]) Get(name string) (V, bool) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	n := &r.root
	for rest, more := name, true; more; {
		var level string
		level, rest, more = cut(rest)
		if n = n.children[level]; n == nil {
			var zero V
			return zero, false
		}
	}
	return n.val, n.has
}

// Len is the number of retained messages.
func (r *Retained[V]) Len() int {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return r.n
}

// Match appends to dst the retained messages whose topic names match the filter and returns
// the extended slice. A filter starting with a wildcard does not match names starting with '$'
// [MQTT-4.7.2-1]. The filter must be valid.
func (r *Retained[V]) Match(filter string, dst []V) []V {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return r.root.match(filter, true, true, dst)
}

// Range calls fn for every retained message until fn returns false.
func (r *Retained[V]) Range(fn func(V) bool) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	r.root.walk(fn)
}

func (n *rnode[V]) walk(fn func(V) bool) bool {
	if n.has && !fn(n.val) {
		return false
	}
	for _, c := range n.children {
		if !c.walk(fn) {
			return false
		}
	}
	return true
}

func (n *rnode[V]) match(filter string, more, atRoot bool, dst []V) []V {
	if !more {
		if n.has {
			dst = append(dst, n.val)
		}
		return dst
	}
	level, rest, next := cut(filter)
	switch level {
	case "#":
		// '#' matches the parent level and everything below it [MQTT-4.7.1-2].
		if n.has && !atRoot {
			dst = append(dst, n.val)
		}
		for name, c := range n.children {
			if atRoot && strings.HasPrefix(name, "$") {
				continue
			}
			dst = c.all(dst)
		}
	case "+":
		for name, c := range n.children {
			if atRoot && strings.HasPrefix(name, "$") {
				continue
			}
			dst = c.match(rest, next, false, dst)
		}
	default:
		if c := n.children[level]; c != nil {
			dst = c.match(rest, next, false, dst)
		}
	}
	return dst
}

func (n *rnode[V]) all(dst []V) []V {
	if n.has {
		dst = append(dst, n.val)
	}
	for _, c := range n.children {
		dst = c.all(dst)
	}
	return dst
}
