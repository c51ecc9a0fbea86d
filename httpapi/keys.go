package httpapi

import (
	"cmp"
	"crypto/rand"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"
)

// Role is what an API key may do.
type Role uint8

// Roles of API keys.
const (
	// RoleAdministrator may call every endpoint.
	RoleAdministrator Role = iota + 1
	// RoleViewer may only read (GET, HEAD).
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

// Limits on keys.
const (
	maxKeyLen    = 128
	maxSecretLen = 256
	saltLen      = 16
	// maxNameLen bounds a key's name, as EMQX 5 does.
	maxNameLen = 256
	// maxDescLen bounds a key's description.
	maxDescLen = 1024
	// maxManagedKeys bounds the keys created through the API, as EMQX 5
	// does ("Maximum number of ApiKeys reached.").
	maxManagedKeys = 100
	// bootstrapPrefix starts the name of a key from the bootstrap file;
	// the rest is the first 16 hex digits of SHA-512(key), EMQX 5's rule.
	bootstrapPrefix = "from_bootstrap_file_"
	// bootstrapDesc is the description of a key from the bootstrap file,
	// EMQX 5's.
	bootstrapDesc = "Bootstrapped From File"
)

// keyEntry is one API key: its salted secret hash (never the secret) and
// its settings. Entries are immutable once in a keySet: a change makes a
// new entry.
type keyEntry struct {
	name string
	key  string
	salt [saltLen]byte
	hash [sha256.Size]byte
	role Role
	// enable is false for a disabled key, which authenticates nobody.
	enable bool
	// expiresAt is when the key stops authenticating, in Unix seconds; 0
	// means never ("infinity").
	expiresAt int64
	// createdAt is when the key was created (or, from the bootstrap file,
	// loaded), in Unix seconds.
	createdAt int64
	desc      string
	// bootstrap is true for a key of the bootstrap file: it is not saved
	// by Persist, and the file brings it back at the next start.
	bootstrap bool
}

// expired reports whether e has expired at now (Unix seconds).
func (e *keyEntry) expired(now int64) bool {
	return e.expiresAt != 0 && e.expiresAt <= now
}

// keySet is one immutable version of the keys, indexed both ways.
type keySet struct {
	byKey  map[string]*keyEntry
	byName map[string]*keyEntry
}

// with returns a copy of s with e added or replacing the entry of its name,
// and without the entry named drop (when not "").
func (s *keySet) with(e *keyEntry, drop string) *keySet {
	n := &keySet{byKey: make(map[string]*keyEntry, len(s.byKey)+1), byName: make(map[string]*keyEntry, len(s.byName)+1)}
	for name, old := range s.byName {
		if name == drop || (e != nil && name == e.name) {
			continue
		}
		n.byName[name], n.byKey[old.key] = old, old
	}
	if e != nil {
		n.byName[e.name], n.byKey[e.key] = e, e
	}
	return n
}

// KeyStore holds API keys with their secrets as salted SHA-256 hashes:
// the keys of a bootstrap file (Add, ParseKeys) and the keys managed
// through GET/POST /api_key and GET/PUT/DELETE /api_key/{name}, which
// Persist keeps in a file.
//
// Concurrency: every method is safe for concurrent use. Check reads the
// current version of the keys without locking; a change (creating,
// updating or deleting a key) is saved first when the store persists, and
// is in force for every Check that starts after the change returns.
type KeyStore struct {
	// keys is the current version; replaced whole under mu.
	keys atomic.Pointer[keySet]

	// mu serialises changes and their saving; it guards the following
	// fields.
	mu sync.Mutex
	// path is the file of the managed keys; "" keeps them in memory.
	path string

	// dummy is hashed for unknown keys so that they take as long as known
	// ones.
	dummy keyEntry
}

// NewKeyStore returns an empty key store.
func NewKeyStore() *KeyStore {
	s := &KeyStore{}
	s.keys.Store(&keySet{byKey: map[string]*keyEntry{}, byName: map[string]*keyEntry{}})
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

// validName checks an API key's name with EMQX 5's rule:
// ^[A-Za-z][A-Za-z0-9_-]*$, at most 256 bytes.
func validName(name string) error {
	if name == "" || len(name) > maxNameLen {
		return fmt.Errorf("name must be 1 to %d characters", maxNameLen)
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		letter := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
		if !letter && (i == 0 || !(c >= '0' && c <= '9' || c == '_' || c == '-')) {
			return fmt.Errorf("name %s must start with a letter and hold only A-Z a-z 0-9 _ -", quoteShort(name))
		}
	}
	return nil
}

// bootstrapName is the name of the bootstrap file's key key (EMQX 5's rule).
func bootstrapName(key string) string {
	sum := sha512.Sum512([]byte(key))
	return bootstrapPrefix + hex.EncodeToString(sum[:8])
}

// Add stores a key of the bootstrap file: key with the salted hash of
// secret and its role, enabled, never expiring, named after the key as
// EMQX 5 names such keys.
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
	e := &keyEntry{name: bootstrapName(key), key: key, role: role, enable: true, createdAt: time.Now().Unix(),
		desc: bootstrapDesc, bootstrap: true}
	if _, err := rand.Read(e.salt[:]); err != nil {
		return fmt.Errorf("httpapi: salt: %w", err)
	}
	e.hash = hashSecret(&e.salt, secret)
	s.mu.Lock()
	defer s.mu.Unlock()
	cur := s.keys.Load()
	if _, dup := cur.byKey[key]; dup {
		return fmt.Errorf("%w: duplicate key %q", ErrBadKeyFile, key)
	}
	s.keys.Store(cur.with(e, ""))
	return nil
}

// Len returns the number of keys.
func (s *KeyStore) Len() int { return len(s.keys.Load().byKey) }

// Key problems reported by authenticate for a key whose secret is right.
var (
	errKeyDisabled = errors.New("disabled")
	errKeyExpired  = errors.New("expired")
	errBadSecret   = errors.New("missing or wrong API key or secret")
)

// Check returns the role of key when secret is its secret and the key is
// enabled and not expired. The comparison of hashes runs in constant
// time, and an unknown key costs the same hashing as a known one.
func (s *KeyStore) Check(key, secret string) (Role, bool) {
	role, err := s.authenticate(key, secret, time.Now().Unix())
	return role, err == nil
}

// Active returns the role of key when it exists, is enabled and has not
// expired: a dashboard session opened with the key lasts only as long as
// the key does.
func (s *KeyStore) Active(key string) (Role, bool) {
	e, ok := s.keys.Load().byKey[key]
	if !ok || !e.enable || e.expired(time.Now().Unix()) {
		return 0, false
	}
	return e.role, true
}

// authenticate is Check saying why it refuses: errBadSecret, or, only to
// a caller who knows the secret, errKeyDisabled or errKeyExpired.
func (s *KeyStore) authenticate(key, secret string, now int64) (Role, error) {
	e, ok := s.keys.Load().byKey[key]
	if !ok {
		e = &s.dummy
	}
	got := hashSecret(&e.salt, secret)
	match := subtle.ConstantTimeCompare(got[:], e.hash[:]) == 1
	switch {
	case !ok || !match:
		return 0, errBadSecret
	case !e.enable:
		return 0, errKeyDisabled
	case e.expired(now):
		return 0, errKeyExpired
	}
	return e.role, nil
}

// Errors of key management, mapped to responses by the /api_key handlers.
var (
	errKeyNotFound  = errors.New("no such API key")
	errKeyNameTaken = errors.New("name taken")
	errTooManyKeys  = errors.New("too many API keys")
)

// keySpec is what may be set on a key through the API; nil leaves a field
// as it is (or at its default on creation).
type keySpec struct {
	enable    *bool
	expiresAt *int64
	desc      *string
	role      *Role
}

// list returns the keys sorted by name.
func (s *KeyStore) list() []*keyEntry {
	set := s.keys.Load()
	out := make([]*keyEntry, 0, len(set.byName))
	for _, e := range set.byName {
		out = append(out, e)
	}
	slices.SortFunc(out, func(a, b *keyEntry) int { return cmp.Compare(a.name, b.name) })
	return out
}

// get returns the key named name.
func (s *KeyStore) get(name string) (*keyEntry, bool) {
	e, ok := s.keys.Load().byName[name]
	return e, ok
}

// create makes a key named name with a random key and secret and returns
// it with the secret, which is kept nowhere else.
func (s *KeyStore) create(name string, spec keySpec, now int64) (*keyEntry, string, error) {
	e := &keyEntry{name: name, role: RoleAdministrator, enable: true, createdAt: now}
	spec.apply(e)
	secret := rand.Text()
	if _, err := rand.Read(e.salt[:]); err != nil {
		return nil, "", fmt.Errorf("httpapi: salt: %w", err)
	}
	e.hash = hashSecret(&e.salt, secret)
	s.mu.Lock()
	defer s.mu.Unlock()
	cur := s.keys.Load()
	if _, taken := cur.byName[name]; taken {
		return nil, "", errKeyNameTaken
	}
	managed := 0
	for _, o := range cur.byName {
		if !o.bootstrap {
			managed++
		}
	}
	if managed >= maxManagedKeys {
		return nil, "", errTooManyKeys
	}
	for {
		var kb [8]byte
		if _, err := rand.Read(kb[:]); err != nil {
			return nil, "", fmt.Errorf("httpapi: key: %w", err)
		}
		e.key = hex.EncodeToString(kb[:])
		if _, taken := cur.byKey[e.key]; !taken {
			break
		}
	}
	if err := s.commitLocked(cur.with(e, "")); err != nil {
		return nil, "", err
	}
	return e, secret, nil
}

// update applies spec to the key named name.
func (s *KeyStore) update(name string, spec keySpec) (*keyEntry, error) {
	return s.change(name, func(e keyEntry) *keyEntry {
		spec.apply(&e)
		return &e
	})
}

// remove deletes the key named name: from the return on, it authenticates
// nobody.
func (s *KeyStore) remove(name string) (*keyEntry, error) {
	return s.change(name, func(keyEntry) *keyEntry { return nil })
}

// change replaces the key named name with what edit makes of a copy of it
// (nil deletes it), and returns the new entry, or the deleted one.
func (s *KeyStore) change(name string, edit func(keyEntry) *keyEntry) (*keyEntry, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	cur := s.keys.Load()
	old, ok := cur.byName[name]
	if !ok {
		return nil, errKeyNotFound
	}
	e := edit(*old)
	if err := s.commitLocked(cur.with(e, name)); err != nil {
		return nil, err
	}
	if e == nil {
		return old, nil
	}
	return e, nil
}

// commitLocked saves next when the store persists, then makes it the
// current version. s.mu is held.
func (s *KeyStore) commitLocked(next *keySet) error {
	if s.path != "" {
		if err := saveManagedKeys(s.path, next); err != nil {
			return err
		}
	}
	s.keys.Store(next)
	return nil
}

func (spec keySpec) apply(e *keyEntry) {
	if spec.enable != nil {
		e.enable = *spec.enable
	}
	if spec.expiresAt != nil {
		e.expiresAt = *spec.expiresAt
	}
	if spec.desc != nil {
		e.desc = *spec.desc
	}
	if spec.role != nil {
		e.role = *spec.role
	}
}
