package topics

import (
	"encoding/binary"
	"errors"
	"fmt"
	"sort"
)

// ErrRejected is returned by Downlink for a name the client refused in a REGACK: the gateway
// stops delivering it (§6.10, "equivalent to unsubscribing that topic name").
var ErrRejected = errors.New("topics: the client rejected this topic name")

// indexAbove is the number of entries past which a name index (map) is built; below it a linear
// scan is cheaper in memory and time, and most sensors use a handful of topics.
const indexAbove = 8

// entry flags.
const (
	flagKnown    = 1 << iota // the client knows this id (it registered it, got it in SUBACK, or acked our REGISTER)
	flagRejected             // the client answered our REGISTER with an error: do not deliver (§6.10)
)

type entry struct {
	name  string
	id    uint16
	flags uint8
}

// Registry is one client's table of normal topic ids (§6.5) together with its view of the
// predefined table. The zero value is not ready: call Reset first. Entries are kept sorted by id.
type Registry struct {
	clientID string
	pre      *PredefinedTable
	entries  []entry
	byName   map[string]int // index into entries; built lazily above indexAbove entries
	next     uint16         // where the allocator looks first
	limit    int
}

// Reset empties the registry and binds it to a client and a predefined table (which may be nil).
// limit caps the number of normal ids; limit ≤ 0 means only the id space (65534) limits it.
func (r *Registry) Reset(clientID string, pre *PredefinedTable, limit int) {
	*r = Registry{clientID: clientID, pre: pre, next: 1, limit: limit}
}

// Clear forgets every normal id (a CleanSession connect, §6.3) and keeps the binding.
func (r *Registry) Clear() { r.Reset(r.clientID, r.pre, r.limit) }

// Len is the number of normal ids held.
func (r *Registry) Len() int { return len(r.entries) }

// Register gives name an id as the answer to a client's REGISTER or SUBSCRIBE by name: the
// predefined id when name is predefined for this client (E12; the client may then use it as a
// normal id too), the id it already has, or a new one. The client knows the id afterwards.
func (r *Registry) Register(name string) (uint16, IDType, error) {
	if err := validName(name); err != nil {
		return 0, Normal, err
	}
	if id, ok := r.pre.ID(r.clientID, name); ok {
		if _, err := r.add(name, id, flagKnown); err != nil {
			return 0, Normal, err
		}
		return id, Predefined, nil
	}
	i, err := r.assign(name)
	if err != nil {
		return 0, Normal, err
	}
	r.entries[i].flags = flagKnown // a client REGISTER also lifts an earlier refusal
	return r.entries[i].id, Normal, nil
}

// Lookup resolves a topic a client names in PUBLISH, SUBSCRIBE or UNSUBSCRIBE by (type, id) (E12).
func (r *Registry) Lookup(t IDType, id uint16) (string, error) {
	switch t {
	case Normal:
		if i, ok := r.find(id); ok {
			return r.entries[i].name, nil
		}
		return "", ErrUnknownID
	case Predefined:
		if n, ok := r.pre.Name(r.clientID, id); ok {
			return n, nil
		}
		return "", ErrUnknownID
	case Short:
		n := ShortName(id)
		if err := validName(n); err != nil {
			return "", err
		}
		return n, nil
	}
	return "", ErrReserved
}

// Downlink chooses how to name topic name in a PUBLISH to the client (§6.10): its predefined id,
// else its normal id, else a short name if it has exactly two characters, else a new normal id.
// register is true when the client does not know the normal id yet and a gateway REGISTER must
// go first. ErrRejected: the client refused this name; ErrExhausted: no id left.
func (r *Registry) Downlink(name string) (t IDType, id uint16, register bool, err error) {
	if id, ok := r.pre.ID(r.clientID, name); ok {
		return Predefined, id, false, nil
	}
	if i, ok := r.lookupName(name); ok {
		e := r.entries[i]
		if e.flags&flagRejected != 0 {
			return Normal, e.id, false, ErrRejected
		}
		return Normal, e.id, e.flags&flagKnown == 0, nil
	}
	if id, ok := ShortID(name); ok {
		return Short, id, false, nil
	}
	if err := validName(name); err != nil {
		return Normal, 0, false, err
	}
	i, err := r.assign(name)
	if err != nil {
		return Normal, 0, false, err
	}
	return Normal, r.entries[i].id, true, nil
}

// MarkKnown records that the client acknowledged the gateway's REGISTER of id.
func (r *Registry) MarkKnown(id uint16) {
	if i, ok := r.find(id); ok {
		r.entries[i].flags = flagKnown
	}
}

// Reject records that the client refused id in a REGACK: its name is not delivered any more.
func (r *Registry) Reject(id uint16) {
	if i, ok := r.find(id); ok {
		r.entries[i].flags = flagRejected
	}
}

// Forget records that the client does not know id (it answered a PUBLISH with PUBACK 0x02):
// the id stays assigned and the next delivery REGISTERs it again (§6.10).
func (r *Registry) Forget(id uint16) {
	if i, ok := r.find(id); ok {
		r.entries[i].flags &^= flagKnown
	}
}

// ForgetAll marks every id unknown to the client, as after a reconnect without CleanSession: the
// ids stay valid for the client's PUBLISHes, and downlink deliveries REGISTER them again first.
func (r *Registry) ForgetAll() {
	for i := range r.entries {
		r.entries[i].flags &^= flagKnown
	}
}

// Name returns the name of normal id (used by the session for REGISTER of an assigned id).
func (r *Registry) Name(id uint16) (string, bool) {
	if i, ok := r.find(id); ok {
		return r.entries[i].name, true
	}
	return "", false
}

func (r *Registry) find(id uint16) (int, bool) {
	i := sort.Search(len(r.entries), func(i int) bool { return r.entries[i].id >= id })
	return i, i < len(r.entries) && r.entries[i].id == id
}

func (r *Registry) lookupName(name string) (int, bool) {
	if r.byName != nil {
		i, ok := r.byName[name]
		return i, ok
	}
	for i := range r.entries {
		if r.entries[i].name == name {
			return i, true
		}
	}
	return 0, false
}

// assign returns the index of name's entry, allocating an id when it has none.
func (r *Registry) assign(name string) (int, error) {
	if i, ok := r.lookupName(name); ok {
		return i, nil
	}
	if r.limit > 0 && len(r.entries) >= r.limit {
		return 0, ErrExhausted
	}
	id := r.next
	for tries := 0; ; tries++ {
		if tries >= 0xFFFE {
			return 0, ErrExhausted
		}
		if id == 0 || id == 0xFFFF {
			id = 1
		}
		if _, taken := r.find(id); !taken && !r.pre.used(r.clientID, id) {
			break
		}
		id++
	}
	r.next = id + 1
	return r.add(name, id, 0)
}

// add inserts (name, id) keeping entries sorted by id; an existing identical entry is returned.
func (r *Registry) add(name string, id uint16, flags uint8) (int, error) {
	i, ok := r.find(id)
	if ok {
		if r.entries[i].name != name {
			return 0, fmt.Errorf("topics: id %d already names %q", id, r.entries[i].name)
		}
		r.entries[i].flags |= flags
		return i, nil
	}
	if r.limit > 0 && len(r.entries) >= r.limit {
		return 0, ErrExhausted
	}
	r.entries = append(r.entries, entry{})
	copy(r.entries[i+1:], r.entries[i:])
	r.entries[i] = entry{name: name, id: id, flags: flags}
	r.reindex(i)
	return i, nil
}

// reindex keeps the name index right after an insertion at i, building it when it is due.
func (r *Registry) reindex(from int) {
	if r.byName == nil {
		if len(r.entries) <= indexAbove {
			return
		}
		r.byName = make(map[string]int, len(r.entries))
		from = 0
	}
	for j := from; j < len(r.entries); j++ {
		r.byName[r.entries[j].name] = j
	}
}

// encodingVersion is the first octet of the serialised form.
const encodingVersion = 1

// AppendBinary appends the registry's serialised form: version (1), next id (2), count (uvarint),
// then per entry id (2), flags (1), name length (uvarint), name. Big-endian like the wire.
func (r *Registry) AppendBinary(b []byte) ([]byte, error) {
	b = append(b, encodingVersion)
	b = binary.BigEndian.AppendUint16(b, r.next)
	b = binary.AppendUvarint(b, uint64(len(r.entries)))
	for _, e := range r.entries {
		b = binary.BigEndian.AppendUint16(b, e.id)
		b = append(b, e.flags)
		b = binary.AppendUvarint(b, uint64(len(e.name)))
		b = append(b, e.name...)
	}
	return b, nil
}

// MarshalBinary returns the serialised form (see AppendBinary).
func (r *Registry) MarshalBinary() ([]byte, error) { return r.AppendBinary(nil) }

// UnmarshalBinary replaces the entries with a serialised form, keeping the client binding given
// to Reset. Malformed input returns ErrBadEncoded (wrapped) and leaves the registry unchanged.
func (r *Registry) UnmarshalBinary(b []byte) error {
	bad := func(what string) error { return fmt.Errorf("%w: %s", ErrBadEncoded, what) }
	if len(b) < 3 || b[0] != encodingVersion {
		return bad("unknown version or too short")
	}
	next := binary.BigEndian.Uint16(b[1:])
	b = b[3:]
	count, n := binary.Uvarint(b)
	if n <= 0 || count > uint64(len(b)-n)/4 { // every entry takes at least 4 octets
		return bad("entry count")
	}
	b = b[n:]
	entries := make([]entry, 0, count)
	for k := uint64(0); k < count; k++ {
		if len(b) < 4 {
			return bad("truncated entry")
		}
		id, flags := binary.BigEndian.Uint16(b), b[2]
		l, n := binary.Uvarint(b[3:])
		if n <= 0 || l > uint64(len(b)-3-n) {
			return bad("name length")
		}
		name := string(b[3+n : 3+n+int(l)])
		b = b[3+n+int(l):]
		if id == 0 || id == 0xFFFF || (len(entries) > 0 && entries[len(entries)-1].id >= id) {
			return bad("ids out of order or reserved")
		}
		if validName(name) != nil || flags&^(flagKnown|flagRejected) != 0 {
			return bad("entry " + fmt.Sprint(id))
		}
		entries = append(entries, entry{name: name, id: id, flags: flags})
	}
	if len(b) != 0 {
		return bad("trailing octets")
	}
	r.entries, r.byName, r.next = entries, nil, next
	r.reindex(0)
	return nil
}
