package auth

import (
	"bufio"
	"bytes"
	"os"
	"strconv"
	"strings"
	"unicode/utf8"
)

// access is what a rule grants.
type access uint8

const (
	accessRead      access = 1 << iota // receive: subscribe, deliveries
	accessWrite                        // publish
	accessReadWrite = accessRead | accessWrite
)

// rule is one "topic" or "pattern" line.
type rule struct {
	access  access
	levels  []string // the pattern split at '/'
	pattern bool     // "pattern": %c and %u are substituted
	line    int
}

// acl is a parsed ACL file, in mosquitto's form:
//
//	# comment
//	topic read $SYS/#           lines before any "user" apply to anonymous clients
//	user alice                  the "topic" lines that follow apply to user alice
//	topic readwrite sensors/#   access is read, write or readwrite (the default)
//	pattern write devices/%c/#  applies to every client; %c is its client id, %u its user name
type acl struct {
	anonymous []rule
	users     map[string][]rule
	patterns  []rule
}

func loadACLFile(path string) (*acl, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, &FileError{File: path, Problem: err.Error()}
	}
	a, line, problem := parseACL(data)
	if problem != "" {
		return nil, &FileError{File: path, Line: line, Problem: problem}
	}
	return a, nil
}

// parseACL parses an ACL file; on error it returns the line and the problem.
func parseACL(data []byte) (*acl, int, string) {
	a := &acl{users: make(map[string][]rule)}
	var user *string // nil before the first "user" line
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(nil, 1<<20)
	n := 0
	for sc.Scan() {
		n++
		line := strings.TrimSpace(sc.Text())
		if line == "" || line[0] == '#' {
			continue
		}
		if !utf8.ValidString(line) {
			return nil, n, "not UTF-8"
		}
		keyword, rest := cutSpace(line)
		switch keyword {
		case "user":
			if rest == "" {
				return nil, n, `"user" without a user name`
			}
			name := rest
			user = &name
			if _, ok := a.users[name]; !ok {
				a.users[name] = nil // a user section with no rules: the user may do nothing
			}
		case "topic", "pattern":
			r, problem := parseRule(keyword, rest)
			if problem != "" {
				return nil, n, problem
			}
			r.line = n
			switch {
			case keyword == "pattern":
				a.patterns = append(a.patterns, r)
			case user == nil:
				a.anonymous = append(a.anonymous, r)
			default:
				a.users[*user] = append(a.users[*user], r)
			}
		default:
			return nil, n, "unknown keyword " + strconv.Quote(keyword) + `, want "user", "topic" or "pattern"`
		}
	}
	if err := sc.Err(); err != nil {
		return nil, n + 1, err.Error()
	}
	return a, 0, ""
}

func parseRule(keyword, rest string) (rule, string) {
	r := rule{access: accessReadWrite, pattern: keyword == "pattern"}
	word, after := cutSpace(rest)
	switch word {
	case "read":
		r.access, rest = accessRead, after
	case "write":
		r.access, rest = accessWrite, after
	case "readwrite":
		r.access, rest = accessReadWrite, after
	case "deny":
		return r, `access "deny" is not supported; rules only grant (read, write, readwrite)`
	}
	if rest == "" {
		return r, strconv.Quote(keyword) + " without a topic"
	}
	if problem := checkFilter(rest); problem != "" {
		return r, "topic " + strconv.Quote(rest) + ": " + problem
	}
	r.levels = strings.Split(rest, "/")
	return r, ""
}

// cutSpace splits s at its first run of spaces or tabs.
func cutSpace(s string) (word, rest string) {
	i := strings.IndexAny(s, " \t")
	if i < 0 {
		return s, ""
	}
	return s[:i], strings.TrimSpace(s[i:])
}

// checkFilter checks a topic filter's syntax: '#' only as the whole last level, '+' only as a
// whole level [MQTT-4.7.1-2], [MQTT-4.7.1-3]; no NUL [MQTT-1.5.3-2].
func checkFilter(f string) string {
	if strings.IndexByte(f, 0) >= 0 {
		return "contains NUL"
	}
	levels := strings.Split(f, "/")
	for i, l := range levels {
		switch {
		case l == "#" && i != len(levels)-1:
			return "'#' is not the last level"
		case l != "#" && strings.Contains(l, "#"):
			return "'#' does not fill its level"
		case l != "+" && strings.Contains(l, "+"):
			return "'+' does not fill its level"
		}
	}
	return ""
}

// rules calls yield with the rules that apply to the client, until it returns true.
func (a *acl) any(username string, yield func(*rule) bool) bool {
	list := a.anonymous
	if username != "" {
		list = a.users[username]
	}
	for i := range list {
		if yield(&list[i]) {
			return true
		}
	}
	for i := range a.patterns {
		if yield(&a.patterns[i]) {
			return true
		}
	}
	return false
}

func (a *acl) allowTopic(username, clientID, topic string, want access) bool {
	return a.any(username, func(r *rule) bool {
		return r.access&want != 0 && r.covers(topic, username, clientID)
	})
}

func (a *acl) allowFilter(username, clientID, filter string) bool {
	return a.any(username, func(r *rule) bool {
		return r.access&accessRead != 0 && r.covers(filter, username, clientID)
	})
}

// covers reports whether every topic that filter matches is matched by the rule's pattern. A
// topic name is a filter that matches itself, so this is also "pattern matches topic". Topics
// beginning with '$' are matched only by patterns whose first level is literal [MQTT-4.7.2-1].
// It allocates nothing.
func (r *rule) covers(filter, username, clientID string) bool {
	if r.pattern && (badSubstitute(username) && r.uses("%u") || badSubstitute(clientID) && r.uses("%c")) {
		return false
	}
	if strings.HasPrefix(filter, "$") && (r.levels[0] == "+" || r.levels[0] == "#") {
		return false
	}
	rest, more := filter, true
	for _, p := range r.levels {
		if p == "#" {
			return true // the rest, and the parent level: "a/#" matches "a" [MQTT-4.7.1-2]
		}
		if !more {
			return false // the filter has fewer levels
		}
		var level string
		level, rest, more = strings.Cut(rest, "/")
		switch {
		case level == "#":
			return false // the filter reaches deeper than this level of the pattern
		case p == "+":
			// any single level, '+' included
		case level == "+":
			return false
		case !levelEqual(p, level, r.pattern, username, clientID):
			return false
		}
	}
	return !more // the filter must not have more levels
}

func (r *rule) uses(token string) bool {
	for _, l := range r.levels {
		if strings.Contains(l, token) {
			return true
		}
	}
	return false
}

// badSubstitute: an empty value, or one with a wildcard or a level separator, must not widen or
// bend a pattern (a client id "+" would turn "devices/%c" into "devices/+").
func badSubstitute(v string) bool { return v == "" || strings.ContainsAny(v, "+#/") }

// levelEqual compares a pattern level with a topic level, substituting %c and %u in the
// pattern level when subst is set, without building the substituted string.
func levelEqual(p, level string, subst bool, username, clientID string) bool {
	if !subst || !strings.Contains(p, "%") {
		return p == level
	}
	for len(p) > 0 {
		i := strings.IndexByte(p, '%')
		if i < 0 || i == len(p)-1 {
			return p == level
		}
		if !strings.HasPrefix(level, p[:i]) {
			return false
		}
		level = level[i:]
		var v string
		switch p[i+1] {
		case 'c':
			v = clientID
		case 'u':
			v = username
		default:
			if !strings.HasPrefix(level, p[i:i+2]) {
				return false
			}
			level, p = level[2:], p[i+2:]
			continue
		}
		if !strings.HasPrefix(level, v) {
			return false
		}
		level, p = level[len(v):], p[i+2:]
	}
	return level == ""
}
