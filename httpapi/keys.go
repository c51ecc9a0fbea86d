package httpapi

import (
	"bufio"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"unicode/utf8"
)

// Role is what an API key may do.
type Role uint8

// Roles of API keys.
const (
	// RoleAdministrator may call every endpoint.
	RoleAdministrator Role = iota + 1
	// RoleViewer may only read (GET).
	RoleViewer
	// RolePublisher may only call POST /publish and POST /publish/bulk.
	RolePublisher
)

// String returns the role's name as written in a key file.
func (r Role) String() string {
	switch r {
	case RoleAdministrator:
		return "administrator"
	case RoleViewer:
		return "viewer"
	case RolePublisher:
		return "publisher"
	}
	return fmt.Sprintf("Role(%d)", uint8(r))
}

// ParseRole parses a role name as written in a key file.
func ParseRole(s string) (Role, error) {
	switch s {
	case "administrator":
		return RoleAdministrator, nil
	case "viewer":
		return RoleViewer, nil
	case "publisher":
		return RolePublisher, nil
	}
	return 0, fmt.Errorf("unknown role %q (want administrator, viewer or publisher)", s)
}

// Limits on key file entries.
const (
	maxKeyLen    = 128
	maxSecretLen = 256
	saltLen      = 16
)

// keyEntry holds one key's salted secret hash, never the secret itself.
type keyEntry struct {
	salt [saltLen]byte
	hash [sha256.Size]byte
	role Role
}

// KeyStore holds API keys with their secrets as salted SHA-256 hashes.
//
// Concurrency: Add must not run concurrently with anything else; fill the
// store before serving. Check and Len are safe for concurrent use.
type KeyStore struct {
	keys map[string]*keyEntry
	// dummy is hashed for unknown keys so that they take as long as known
	// ones.
	dummy keyEntry
}

// NewKeyStore returns an empty key store.
func NewKeyStore() *KeyStore {
	s := &KeyStore{keys: make(map[string]*keyEntry)}
	if _, err := rand.Read(s.dummy.salt[:]); err != nil {
		panic("httpapi: crypto/rand failed: " + err.Error())
	}
	s.dummy.hash = hashSecret(&s.dummy.salt, "")
	return s
}

// hashSecret returns SHA-256(salt || secret). Secrets longer than
// maxSecretLen never match a stored key, so they are cut to keep the
// buffer on the stack; the cut is harmless as such a secret was never
// accepted by Add.
func hashSecret(salt *[saltLen]byte, secret string) [sha256.Size]byte {
	var buf [saltLen + maxSecretLen + 1]byte
	copy(buf[:], salt[:])
	n := saltLen + copy(buf[saltLen:], secret)
	return sha256.Sum256(buf[:n])
}

// validKey reports whether key is a legal API key: 1 to 128 of
// A-Z a-z 0-9 . _ -.
func validKey(key string) bool {
	if key == "" || len(key) > maxKeyLen {
		return false
	}
	for i := 0; i < len(key); i++ {
		c := key[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

// validSecret reports whether secret is legal: 1 to 256 bytes of UTF-8
// without control characters or ':'.
func validSecret(secret string) bool {
	if secret == "" || len(secret) > maxSecretLen || !utf8.ValidString(secret) {
		return false
	}
	for _, r := range secret {
		if r < 0x20 || r == 0x7f || r == ':' {
			return false
		}
	}
	return true
}

// Add stores key with the salted hash of secret and its role.
func (s *KeyStore) Add(key, secret string, role Role) error {
	if !validKey(key) {
		return fmt.Errorf("%w: key must be 1 to %d of A-Z a-z 0-9 . _ -", ErrBadKeyFile, maxKeyLen)
	}
	if !validSecret(secret) {
		return fmt.Errorf("%w: secret of key %q must be 1 to %d bytes of UTF-8 without control characters or ':'", ErrBadKeyFile, key, maxSecretLen)
	}
	if role < RoleAdministrator || role > RolePublisher {
		return fmt.Errorf("%w: key %q: bad role %d", ErrBadKeyFile, key, role)
	}
	if _, dup := s.keys[key]; dup {
		return fmt.Errorf("%w: duplicate key %q", ErrBadKeyFile, key)
	}
	e := &keyEntry{role: role}
	if _, err := rand.Read(e.salt[:]); err != nil {
		return fmt.Errorf("httpapi: salt: %w", err)
	}
	e.hash = hashSecret(&e.salt, secret)
	s.keys[key] = e
	return nil
}

// Len returns the number of keys.
func (s *KeyStore) Len() int { return len(s.keys) }

// Check returns the role of key when secret is its secret. The comparison of
// hashes runs in constant time, and an unknown key costs the same hashing
// as a known one.
func (s *KeyStore) Check(key, secret string) (Role, bool) {
	e, ok := s.keys[key]
	if !ok {
		e = &s.dummy
	}
	got := hashSecret(&e.salt, secret)
	match := subtle.ConstantTimeCompare(got[:], e.hash[:]) == 1
	if !ok || !match {
		return 0, false
	}
	return e.role, true
}

// ParseKeys reads a key file: one `key:secret[:role]` per line, the role
// defaulting to administrator; blank lines and lines starting with '#' are
// skipped. An error names the line number, never the secret.
func ParseKeys(r io.Reader) (*KeyStore, error) {
	s := NewKeyStore()
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 1024), 4096)
	n := 0
	for sc.Scan() {
		n++
		line := strings.TrimSpace(sc.Text())
		if line == "" || line[0] == '#' {
			continue
		}
		parts := strings.Split(line, ":")
		if len(parts) < 2 || len(parts) > 3 {
			return nil, fmt.Errorf("%w: line %d: want key:secret[:role]", ErrBadKeyFile, n)
		}
		role := RoleAdministrator
		if len(parts) == 3 {
			var err error
			if role, err = ParseRole(parts[2]); err != nil {
				return nil, fmt.Errorf("%w: line %d: %v", ErrBadKeyFile, n, err)
			}
		}
		if err := s.Add(parts[0], parts[1], role); err != nil {
			return nil, fmt.Errorf("line %d: %w", n, err)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%w: line %d: %v", ErrBadKeyFile, n+1, err)
	}
	return s, nil
}

// LoadKeyFile reads the key file at path (see ParseKeys).
func LoadKeyFile(path string) (*KeyStore, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("httpapi: API key file: %w", err)
	}
	defer f.Close()
	s, err := ParseKeys(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return s, nil
}

// Credentials are an API key and its secret, as created by CreateKeyFile.
type Credentials struct {
	Key    string
	Secret string
	Role   Role
}

// CurlExample returns a ready command line listing clients through the API
// whose base URL is apiURL (for example "http://127.0.0.1:18083/api/v5").
func (c Credentials) CurlExample(apiURL string) string {
	return fmt.Sprintf("curl -u %s:%s '%s/clients?_page=1&_limit=50'", c.Key, c.Secret, strings.TrimSuffix(apiURL, "/"))
}

// CreateKeyFile creates the key file at path (and its directory) holding one
// administrator key with a random key and secret, readable only by its
// owner. It returns ErrKeyFileExists when path exists.
func CreateKeyFile(path string) (Credentials, error) {
	var kb [8]byte
	if _, err := rand.Read(kb[:]); err != nil {
		return Credentials{}, fmt.Errorf("httpapi: key: %w", err)
	}
	c := Credentials{Key: "key-" + hex.EncodeToString(kb[:]), Secret: rand.Text(), Role: RoleAdministrator}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return Credentials{}, fmt.Errorf("httpapi: API key file: %w", err)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) {
		return Credentials{}, fmt.Errorf("%w: %s", ErrKeyFileExists, path)
	}
	if err != nil {
		return Credentials{}, fmt.Errorf("httpapi: API key file: %w", err)
	}
	_, werr := fmt.Fprintf(f, "# shardmq API keys: key:secret[:role], role administrator, viewer or publisher\n%s:%s:%s\n", c.Key, c.Secret, c.Role)
	cerr := f.Close()
	if werr != nil || cerr != nil {
		os.Remove(path)
		return Credentials{}, fmt.Errorf("httpapi: API key file: %w", errors.Join(werr, cerr))
	}
	return c, nil
}

// LoadOrCreateKeyFile loads the key file at path, creating it first with
// CreateKeyFile when it does not exist. created is non-nil only when the
// file was created, so the caller can print the new credentials once.
func LoadOrCreateKeyFile(path string) (s *KeyStore, created *Credentials, err error) {
	if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
		c, err := CreateKeyFile(path)
		if err != nil {
			return nil, nil, err
		}
		created = &c
	}
	s, err = LoadKeyFile(path)
	if err != nil {
		return nil, nil, err
	}
	return s, created, nil
}
