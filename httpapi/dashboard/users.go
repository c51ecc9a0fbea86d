package dashboard

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strings"

	"github.com/shardmq/shardmq/internal/atomicfile"
	"github.com/shardmq/shardmq/internal/userfile"

	"github.com/shardmq/shardmq/httpapi"
	"golang.org/x/crypto/bcrypt"
)

// The users file holds dashboard users, one "username:role:hash" per line:
// role administrator or viewer, hash a bcrypt hash. Blank lines and lines
// starting with '#' are ignored. The role sits between the name and the
// hash so that `shardmq passwd` without -role (which writes the MQTT
// password file's "username:hash") refuses to rewrite a users file, and
// this parser refuses an MQTT password file: neither can silently drop a
// role.

// ErrUsersFile reports a malformed users file; the error names the line.
var ErrUsersFile = errors.New("dashboard: bad users file")

// DefaultCost is the bcrypt cost SetUser uses when given 0.
const DefaultCost = bcrypt.DefaultCost

// user is one line of the users file.
type user struct {
	role Role
	hash []byte
}

// Role is a dashboard user's role: httpapi.RoleAdministrator or
// httpapi.RoleViewer (a publisher may not use the dashboard).
type Role = httpapi.Role

// ValidUsername reports whether name can be stored in a users file: 1 to
// 128 bytes of UTF-8 without ':' or control characters.
func ValidUsername(name string) error {
	if name == "" || len(name) > 128 || strings.ContainsFunc(name, func(r rune) bool { return r == ':' || r < 0x20 || r == 0x7f }) {
		return fmt.Errorf("dashboard: user name %q: want 1 to 128 bytes without ':' or control characters", name)
	}
	return nil
}

// ParseRole parses a dashboard role: administrator or viewer.
func ParseRole(s string) (Role, error) {
	r, err := httpapi.ParseRole(s)
	if err != nil || r == httpapi.RolePublisher {
		return 0, fmt.Errorf("dashboard: role %q: want administrator or viewer", s)
	}
	return r, nil
}

// parseUsers reads a users file.
func parseUsers(r io.Reader) (map[string]user, error) {
	users := make(map[string]user)
	sc := bufio.NewScanner(r)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimRight(sc.Text(), "\r")
		if t := strings.TrimSpace(line); t == "" || strings.HasPrefix(t, "#") {
			continue
		}
		name, rest, ok1 := strings.Cut(line, ":")
		roleName, hash, ok2 := strings.Cut(rest, ":")
		if !ok1 || !ok2 || ValidUsername(name) != nil {
			return nil, fmt.Errorf("%w: line %d: want username:role:bcrypt-hash", ErrUsersFile, n)
		}
		role, err := ParseRole(roleName)
		if err != nil {
			return nil, fmt.Errorf("%w: line %d: user %q: role %q is not administrator or viewer", ErrUsersFile, n, name, roleName)
		}
		if _, err := bcrypt.Cost([]byte(hash)); err != nil {
			return nil, fmt.Errorf("%w: line %d: user %q: hash is not bcrypt", ErrUsersFile, n, name)
		}
		if _, dup := users[name]; dup {
			return nil, fmt.Errorf("%w: line %d: user %q listed twice", ErrUsersFile, n, name)
		}
		users[name] = user{role: role, hash: []byte(hash)}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrUsersFile, err)
	}
	return users, nil
}

// LoadUsers reads and checks the users file at path; a missing file is an
// error (a typo in the setting must not leave the dashboard without its
// users).
func LoadUsers(path string) (n int, err error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return 0, fmt.Errorf("dashboard users file: %w", err)
	}
	users, err := parseUsers(bytes.NewReader(data))
	return len(users), err
}

// SetUser adds user to the users file at path with role, or changes the
// password and role of a user already there, hashing password with bcrypt
// at cost (DefaultCost if 0). The file is created if missing; other lines
// are kept in order. The new file is written beside the old one with mode
// 0600, synced and renamed over it. added reports a new user.
func SetUser(path, name string, role Role, password []byte, cost int) (added bool, err error) {
	if err := ValidUsername(name); err != nil {
		return false, err
	}
	if role != httpapi.RoleAdministrator && role != httpapi.RoleViewer {
		return false, fmt.Errorf("dashboard: role %v: want administrator or viewer", role)
	}
	if len(password) == 0 {
		return false, errors.New("dashboard: empty password")
	}
	if cost == 0 {
		cost = DefaultCost
	}
	old, err := os.ReadFile(path)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return false, err
	}
	if _, err := parseUsers(bytes.NewReader(old)); err != nil {
		return false, err // never rewrite a file we cannot read back
	}
	hash, err := bcrypt.GenerateFromPassword(password, cost)
	if err != nil {
		return false, fmt.Errorf("dashboard: hashing the password: %w", err)
	}
	entry := name + ":" + role.String() + ":" + string(hash)
	out, added := userfile.Set(old, name, entry)
	return added, atomicfile.WriteFile(path, out)
}
