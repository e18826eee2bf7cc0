package topic

import (
	"strings"
	"sync"
)

// Subscriber is one match of Tree.Match: a subscriber and the QoS granted to it.
type Subscriber[K comparable] struct {
	Key K
	QoS byte
}

// Tree is a subscription trie: topic filters with '+' and '#', each held by subscribers of key
// type K with a granted QoS. It is safe for concurrent use; Match takes only a read lock, so
// publishers never wait for each other.
type Tree[K comparable] struct {
	mu    sync.RWMutex
	root  node[K]
	keys  map[K]*keyRec // subscriptions per subscriber, to skip de-duplication when impossible
	count int
}

type keyRec struct{ n int }

type entry[K comparable] struct {
	key K
	qos byte
	rec *keyRec
}

type node[K comparable] struct {
	children map[string]*node[K]
	plus     *node[K] // the '+' level
	hash     *node[K] // the '#' level
	subs     []entry[K]
	index    map[K]int // position in subs; built only for crowded filters
}

const indexAt = 16

func (n *node[K]) find(key K) int {
	if n.index != nil {
		if i, ok := n.index[key]; ok {
			return i
		}
		return -1
	}
	for i := range n.subs {
		if n.subs[i].key == key {
			return i
		}
	}
	return -1
}

func (n *node[K]) empty() bool {
	return len(n.subs) == 0 && len(n.children) == 0 && n.plus == nil && n.hash == nil
}

// NewTree returns an empty Tree.
func NewTree[K comparable]() *Tree[K] {
	return &Tree[K]{keys: make(map[K]*keyRec)}
}

// Subscribe adds or replaces key's subscription to filter with the granted qos; it reports
// whether the subscription is new (false: an existing one was replaced [MQTT-3.8.4-3]). The
// filter must be valid (ValidateFilter).
func (t *Tree[K]) Subscribe(filter string, key K, qos byte) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	n := &t.root
	for rest, more := filter, true; more; {
		var level string
		level, rest, more = cut(rest)
		switch level {
		case "+":
			if n.plus == nil {
				n.plus = &node[K]{}
			}
			n = n.plus
		case "#":
			if n.hash == nil {
				n.hash = &node[K]{}
			}
			n = n.hash
		default:
			c := n.children[level]
			if c == nil {
				if n.children == nil {
					n.children = make(map[string]*node[K])
				}
				c = &node[K]{}
				n.children[level] = c
			}
			n = c
		}
	}
	if i := n.find(key); i >= 0 {
		n.subs[i].qos = qos
		return false
	}
	rec := t.keys[key]
	if rec == nil {
		rec = &keyRec{}
		t.keys[key] = rec
	}
	rec.n++
	n.subs = append(n.subs, entry[K]{key: key, qos: qos, rec: rec})
	if n.index != nil {
		n.index[key] = len(n.subs) - 1
	} else if len(n.subs) > indexAt {
		n.index = make(map[K]int, len(n.subs))
		for i, e := range n.subs {
			n.index[e.key] = i
		}
	}
	t.count++
	return true
}

// Unsubscribe removes key's subscription to filter and reports whether there was one.
func (t *Tree[K]) Unsubscribe(filter string, key K) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.remove(&t.root, filter, key)
}

// remove descends the filter's levels and prunes nodes left empty on the way back. A filter
// ending in '/' has a final empty level, which cut yields as "" with more false.
func (t *Tree[K]) remove(n *node[K], filter string, key K) bool {
	level, rest, more := cut(filter)
	var c *node[K]
	switch level {
	case "+":
		c = n.plus
	case "#":
		c = n.hash
	default:
		c = n.children[level]
	}
	if c == nil {
		return false
	}
	var removed bool
	if more {
		removed = t.remove(c, rest, key)
	} else {
		removed = t.removeHere(c, key)
	}
	if removed && c.empty() {
		switch level {
		case "+":
			n.plus = nil
		case "#":
			n.hash = nil
		default:
			delete(n.children, level)
		}
	}
	return removed
}

func (t *Tree[K]) removeHere(n *node[K], key K) bool {
	i := n.find(key)
	if i < 0 {
		return false
	}
	e := n.subs[i]
	last := len(n.subs) - 1
	n.subs[i] = n.subs[last]
	var zero entry[K]
	n.subs[last] = zero
	n.subs = n.subs[:last]
	if n.index != nil {
		delete(n.index, key)
		if i < last {
			n.index[n.subs[i].key] = i
		}
		if len(n.subs) == 0 {
			n.index = nil
		}
	}
	e.rec.n--
	if e.rec.n == 0 {
		delete(t.keys, key)
	}
	t.count--
	return true
}

// Len is the number of subscriptions (filter, subscriber pairs).
func (t *Tree[K]) Len() int {
	t.mu.RLock()
	defer t.mu.RUnlock()
	return t.count
}

// Match appends to dst each subscriber with a filter matching the topic name, once, with the
// highest QoS among its matching filters, and returns the extended slice. Filters starting with
// a wildcard do not match names starting with '$' [MQTT-4.7.2-1]. It allocates nothing when dst
// has room, unless a subscriber with overlapping filters among more than 64 matches needs
// de-duplication.
func (t *Tree[K]) Match(name string, dst []Subscriber[K]) []Subscriber[K] {
	start := len(dst)
	t.mu.RLock()
	dup := false
	if strings.HasPrefix(name, "$") {
		if c := t.root.children[firstLevel(name)]; c != nil {
			dst, dup = c.match(restAfterFirst(name), hasSlash(name), dst, dup)
		}
	} else {
		dst, dup = t.root.match(name, true, dst, dup)
	}
	t.mu.RUnlock()
	if dup {
		dst = dedup(dst, start)
	}
	return dst
}

func firstLevel(name string) string { l, _, _ := cut(name); return l }
func restAfterFirst(name string) string {
	_, r, _ := cut(name)
	return r
}
func hasSlash(name string) bool { return strings.IndexByte(name, '/') >= 0 }

// match collects the subscribers of n's subtree matching name, whose levels are still to be
// consumed when more is true; with more false the name ended at n.
func (n *node[K]) match(name string, more bool, dst []Subscriber[K], dup bool) ([]Subscriber[K], bool) {
	if n.hash != nil {
		// '#' matches the parent level too: "sport/#" matches "sport" [MQTT-4.7.1-2].
		dst, dup = n.hash.appendSubs(dst, dup)
	}
	if !more {
		return n.appendSubs(dst, dup)
	}
	level, rest, next := cut(name)
	if n.plus != nil {
		dst, dup = n.plus.match(rest, next, dst, dup)
	}
	if c := n.children[level]; c != nil {
		dst, dup = c.match(rest, next, dst, dup)
	}
	return dst, dup
}

func (n *node[K]) appendSubs(dst []Subscriber[K], dup bool) ([]Subscriber[K], bool) {
	for i := range n.subs {
		e := &n.subs[i]
		if e.rec.n > 1 {
			dup = true
		}
		dst = append(dst, Subscriber[K]{Key: e.key, QoS: e.qos})
	}
	return dst, dup
}

// dedup keeps the first occurrence of each key in dst[start:] with the highest QoS seen.
func dedup[K comparable](dst []Subscriber[K], start int) []Subscriber[K] {
	s := dst[start:]
	out := 0
	if len(s) <= 64 {
		for i := range s {
			j := 0
			for ; j < out; j++ {
				if s[j].Key == s[i].Key {
					break
				}
			}
			if j < out {
				s[j].QoS = max(s[j].QoS, s[i].QoS)
				continue
			}
			s[out] = s[i]
			out++
		}
	} else {
		seen := make(map[K]int, len(s))
		for i := range s {
			if j, ok := seen[s[i].Key]; ok {
				s[j].QoS = max(s[j].QoS, s[i].QoS)
				continue
			}
			seen[s[i].Key] = out
			s[out] = s[i]
			out++
		}
	}
	return dst[:start+out]
}
