package auth

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

	"golang.org/x/crypto/bcrypt"
)

// ValidUsername reports whether name can be stored in a password file: not
// empty, no ':' (the separator) and no line break.
func ValidUsername(name string) error {
	if name == "" || strings.ContainsAny(name, ":\r\n") {
		return fmt.Errorf("%w: %q", ErrUsername, name)
	}
	return nil
}

// ParsePasswords reads a password file: one "username:hash" per line, the
// hash a bcrypt hash; blank lines and lines starting with '#' are ignored.
// A line without ':', a hash that is not bcrypt (a plain-text password
// never is) or a user listed twice is an error naming the line.
func ParsePasswords(r io.Reader) (map[string][]byte, error) {
	users := make(map[string][]byte)
	sc := bufio.NewScanner(r)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimRight(sc.Text(), "\r")
		if strings.TrimSpace(line) == "" || strings.HasPrefix(strings.TrimSpace(line), "#") {
			continue
		}
		user, hash, ok := strings.Cut(line, ":")
		if !ok || ValidUsername(user) != nil {
			return nil, fmt.Errorf("%w: line %d: want username:hash", ErrPasswordFile, n)
		}
		if _, err := bcrypt.Cost([]byte(hash)); err != nil {
			return nil, fmt.Errorf("%w: line %d: user %q: hash is not bcrypt", ErrPasswordFile, n, user)
		}
		if _, dup := users[user]; dup {
			return nil, fmt.Errorf("%w: line %d: user %q listed twice", ErrPasswordFile, n, user)
		}
		users[user] = []byte(hash)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrPasswordFile, err)
	}
	return users, nil
}

// SetPassword adds user to the password file at path, or changes the
// password of a user already there, hashing password with bcrypt at cost
// (DefaultCost if zero). The file is created if missing; other lines
// (users and comments) are kept in order. The new file is written beside
// the old one with mode 0600, synced and renamed over it, so a reader sees
// either the old file or the new one. added reports a new user.
func SetPassword(path, user string, password []byte, cost int) (added bool, err error) {
	if err := ValidUsername(user); err != nil {
		return false, err
	}
	if len(password) == 0 {
		return false, ErrEmptyPassword
	}
	if cost == 0 {
		cost = DefaultCost
	}
	old, err := os.ReadFile(path)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return false, err
	}
	if _, err := ParsePasswords(bytes.NewReader(old)); err != nil {
		return false, err // never rewrite a file we cannot read back
	}
	hash, err := bcrypt.GenerateFromPassword(password, cost)
	if err != nil {
		return false, fmt.Errorf("auth: hashing the password: %w", err)
	}
	entry := user + ":" + string(hash)
	out, added := userfile.Set(old, user, entry)
	return added, atomicfile.WriteFile(path, out)
}
