package topics

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
)

// AllClients is the client id of a predefined entry that every client can use.
const AllClients = "*"

// pahoCommon is how releases of the Paho gateway before its switch to "*" wrote AllClients in
// predefinedTopic.conf; ParsePredefined reads it as AllClients so that such files load as
// they did there.
const pahoCommon = "COMMON"

// PredefinedTable maps predefined topic ids to names, globally and per client (§6.7). A
// per-client entry wins over a global one with the same id or name. Build it with Add or
// ParsePredefined, then share it read-only; the zero value is an empty table.
type PredefinedTable struct {
	global  predefinedSet
	clients map[string]*predefinedSet
}

type predefinedSet struct {
	byID   map[uint16]string
	byName map[string]uint16
}

// Add records that clientID (AllClients for everyone) knows topic name under id. An id or a
// name already given a different meaning for the same client is an error and changes nothing.
func (p *PredefinedTable) Add(clientID, name string, id uint16) error {
	if id == 0x0000 || id == 0xFFFF {
		return fmt.Errorf("topics: predefined id %#04x is reserved", id)
	}
	if err := validName(name); err != nil {
		return err
	}
	if clientID == "" {
		return fmt.Errorf("topics: predefined topic %q has an empty client id (use %q for every client)", name, AllClients)
	}
	set := &p.global
	if clientID != AllClients {
		if p.clients == nil {
			p.clients = make(map[string]*predefinedSet)
		}
		if set = p.clients[clientID]; set == nil {
			set = &predefinedSet{}
			p.clients[clientID] = set
		}
	}
	if old, ok := set.byID[id]; ok && old != name {
		return fmt.Errorf("topics: predefined id %d is already %q for client %q", id, old, clientID)
	}
	if old, ok := set.byName[name]; ok && old != id {
		return fmt.Errorf("topics: predefined topic %q already has id %d for client %q", name, old, clientID)
	}
	if set.byID == nil {
		set.byID = make(map[uint16]string)
		set.byName = make(map[string]uint16)
	}
	set.byID[id] = name
	set.byName[name] = id
	return nil
}

// Name returns the topic name of predefined id for clientID.
func (p *PredefinedTable) Name(clientID string, id uint16) (string, bool) {
	if p == nil {
		return "", false
	}
	if set := p.clients[clientID]; set != nil {
		if n, ok := set.byID[id]; ok {
			return n, true
		}
	}
	n, ok := p.global.byID[id]
	return n, ok
}

// ID returns the predefined id of topic name for clientID.
func (p *PredefinedTable) ID(clientID, name string) (uint16, bool) {
	if p == nil {
		return 0, false
	}
	if set := p.clients[clientID]; set != nil {
		if id, ok := set.byName[name]; ok {
			return id, true
		}
	}
	id, ok := p.global.byName[name]
	return id, ok
}

// Len is the number of entries, global and per client.
func (p *PredefinedTable) Len() int {
	if p == nil {
		return 0
	}
	n := len(p.global.byID)
	for _, s := range p.clients {
		n += len(s.byID)
	}
	return n
}

// used reports whether id is a predefined id clientID can use; normal ids avoid these.
func (p *PredefinedTable) used(clientID string, id uint16) bool {
	if p == nil {
		return false
	}
	if _, ok := p.global.byID[id]; ok {
		return true
	}
	if set := p.clients[clientID]; set != nil {
		_, ok := set.byID[id]
		return ok
	}
	return false
}

// ParseError is a problem in a predefined-topics file, with its line.
type ParseError struct {
	Source string // file name, or "" for a reader
	Line   int
	Msg    string
}

func (e *ParseError) Error() string {
	src := e.Source
	if src == "" {
		src = "predefined topics"
	}
	return fmt.Sprintf("%s:%d: %s", src, e.Line, e.Msg)
}

// ParsePredefined reads the Eclipse Paho gateway's predefinedTopic.conf form: one
// `ClientID, TopicName, TopicID` per line, ClientID `*` (or `COMMON`, as older Paho releases
// wrote it) for every client, `#` starting a comment
// (a predefined name cannot contain `#`), blank lines ignored, ids decimal in 1..65534.
// The first problem is returned as a *ParseError naming its line.
func ParsePredefined(r io.Reader) (*PredefinedTable, error) {
	return parsePredefined(r, "")
}

// LoadPredefined reads a predefined-topics file (see ParsePredefined).
func LoadPredefined(path string) (*PredefinedTable, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return parsePredefined(f, path)
}

func parsePredefined(r io.Reader, source string) (*PredefinedTable, error) {
	p := &PredefinedTable{}
	sc := bufio.NewScanner(r)
	line := 0
	for sc.Scan() {
		line++
		text := sc.Text()
		if i := strings.IndexByte(text, '#'); i >= 0 {
			text = text[:i]
		}
		text = strings.TrimSpace(text)
		if text == "" {
			continue
		}
		fail := func(format string, a ...any) error {
			return &ParseError{Source: source, Line: line, Msg: fmt.Sprintf(format, a...)}
		}
		fields := strings.Split(text, ",")
		if len(fields) != 3 {
			return nil, fail("want 3 comma-separated fields (ClientID, TopicName, TopicID), got %d", len(fields))
		}
		client := strings.TrimSpace(fields[0])
		name := strings.TrimSpace(fields[1])
		idText := strings.TrimSpace(fields[2])
		if client == "" {
			return nil, fail("empty client id (use * for every client)")
		}
		if client == pahoCommon {
			client = AllClients
		}
		if name == "" {
			return nil, fail("empty topic name")
		}
		if HasWildcard(name) {
			return nil, fail("topic name %q contains a wildcard", name)
		}
		id, err := strconv.ParseUint(idText, 10, 16)
		if err != nil || id == 0 || id == 0xFFFF {
			return nil, fail("topic id %q is not a number in 1..65534", idText)
		}
		if err := p.Add(client, name, uint16(id)); err != nil {
			return nil, fail("%s", strings.TrimPrefix(err.Error(), "topics: "))
		}
	}
	if err := sc.Err(); err != nil {
		return nil, &ParseError{Source: source, Line: line + 1, Msg: err.Error()}
	}
	return p, nil
}
