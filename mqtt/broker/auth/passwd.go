package auth

import (
	"bufio"
	"bytes"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"unicode/utf8"

	"golang.org/x/crypto/bcrypt"
)

// LoadPasswordFile reads a password file: one "user:hash" line per user, the hash a bcrypt hash
// ($2a$, $2b$ or $2y$); blank lines and lines starting with '#' are ignored.
func LoadPasswordFile(path string) (map[string][]byte, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, &FileError{File: path, Problem: err.Error()}
	}
	users := make(map[string][]byte)
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(nil, 1<<20)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimRight(sc.Text(), " \t\r")
		if line == "" || line[0] == '#' {
			continue
		}
		user, hash, ok := strings.Cut(line, ":")
		if !ok {
			return nil, &FileError{File: path, Line: n, Problem: `want "user:bcrypt-hash", found no ':'`}
		}
		if err := checkUsername(user); err != nil {
			return nil, &FileError{File: path, Line: n, Problem: err.Error()}
		}
		if _, dup := users[user]; dup {
			return nil, &FileError{File: path, Line: n, Problem: "user " + quote(user) + " appears twice"}
		}
		if _, err := bcrypt.Cost([]byte(hash)); err != nil || !isBcrypt(hash) {
			return nil, &FileError{File: path, Line: n, Problem: "user " + quote(user) + ": the password is not a bcrypt hash ($2a$, $2b$ or $2y$)"}
		}
		users[user] = []byte(hash)
	}
	if err := sc.Err(); err != nil {
		return nil, &FileError{File: path, Problem: err.Error()}
	}
	return users, nil
}

func isBcrypt(hash string) bool {
	for _, p := range []string{"$2a$", "$2b$", "$2y$"} {
		if strings.HasPrefix(hash, p) {
			return true
		}
	}
	return false
}

func checkUsername(user string) error {
	switch {
	case user == "":
		return errors.New("empty user name")
	case !utf8.ValidString(user):
		return errors.New("user name is not UTF-8")
	case strings.ContainsAny(user, ":\n\r\x00"):
		return errors.New("user name " + quote(user) + " contains ':', a line break or NUL")
	}
	return nil
}

// SetPassword adds user to the password file at path, or changes the user's password, hashing
// it with bcrypt at cost (0: bcrypt.DefaultCost). The other lines, comments included, are kept.
// The file is replaced atomically (a new file renamed over the old), keeping its permissions;
// a new file is created with mode 0600. This is `snbridge passwd FILE USER`.
func SetPassword(path, user, password string, cost int) error {
	if err := checkUsername(user); err != nil {
		return err
	}
	if cost == 0 {
		cost = bcrypt.DefaultCost
	}
	hash, err := bcrypt.GenerateFromPassword([]byte(password), cost)
	if err != nil {
		return err
	}
	old, err := os.ReadFile(path)
	mode := fs.FileMode(0o600)
	switch {
	case err == nil:
		if st, err := os.Stat(path); err == nil {
			mode = st.Mode().Perm()
		}
	case errors.Is(err, fs.ErrNotExist):
	default:
		return err
	}
	newLine := user + ":" + string(hash)
	var out []string
	replaced := false
	for _, line := range strings.SplitAfter(string(old), "\n") {
		if line == "" {
			continue
		}
		if u, _, ok := strings.Cut(line, ":"); ok && u == user && line[0] != '#' {
			if !replaced {
				out = append(out, newLine+"\n")
			}
			replaced = true
			continue
		}
		if !strings.HasSuffix(line, "\n") {
			line += "\n"
		}
		out = append(out, line)
	}
	if !replaced {
		out = append(out, newLine+"\n")
	}
	return writeFileAtomic(path, []byte(strings.Join(out, "")), mode)
}

// writeFileAtomic writes data to a temporary file beside path, syncs it and renames it over path,
// so a reader sees the old file or the new one, never a part.
func writeFileAtomic(path string, data []byte, mode fs.FileMode) error {
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	f, err := os.CreateTemp(dir, "."+base+".tmp*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	defer os.Remove(tmp) // after a successful rename there is nothing left to remove
	if err := f.Chmod(mode); err != nil {
		f.Close()
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		return err
	}
	if d, err := os.Open(dir); err == nil { // make the rename durable
		_ = d.Sync()
		d.Close()
	}
	return nil
}
