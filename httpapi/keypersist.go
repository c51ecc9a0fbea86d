package httpapi

import (
	"bytes"
	"cmp"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"slices"
	"strings"

	"github.com/shardmq/shardmq/internal/atomicfile"
)

// The keys created through the API are saved as one JSON document,
// replaced whole (written beside, synced, renamed) at every change:
//
//	{"version": 1, "keys": [{"name": "ci", "api_key": "9f0c…", "salt": "<32 hex>",
//	  "hash": "<64 hex: SHA-256(salt ‖ secret)>", "role": "viewer", "enable": true,
//	  "expired_at": 0, "created_at": 1694770580, "desc": "CI pipeline"}]}
//
// expired_at and created_at are Unix seconds, expired_at 0 meaning never.
// The secrets themselves are in no file. Keys of the bootstrap file are
// not saved: the bootstrap file is their source.

// managedKeysVersion is the version of the document.
const managedKeysVersion = 1

type managedKeysFile struct {
	Version int          `json:"version"`
	Keys    []managedKey `json:"keys"`
}

type managedKey struct {
	Name      string `json:"name"`
	Key       string `json:"api_key"`
	Salt      string `json:"salt"`
	Hash      string `json:"hash"`
	Role      string `json:"role"`
	Enable    bool   `json:"enable"`
	ExpiredAt int64  `json:"expired_at"`
	CreatedAt int64  `json:"created_at"`
	Desc      string `json:"desc"`
}

// Persist makes the store keep the keys created through the API in the
// file at path: it loads those of an earlier run when the file exists
// (beside the bootstrap file's keys already added), writes the file (so
// that a directory it cannot write to fails now, not at the first POST
// /api_key), and from then on saves every change there before it takes
// effect. Call it once, before serving; without it, keys created through
// the API last until the process exits. The file is created with mode
// 0600. A key in it that clashes with a bootstrap key (same name or key)
// is an error naming both.
func (s *KeyStore) Persist(path string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.path != "" {
		return fmt.Errorf("httpapi: API keys already persist in %s", s.path)
	}
	next := s.keys.Load()
	b, err := os.ReadFile(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
	case err != nil:
		return fmt.Errorf("httpapi: API key file: %w", err)
	default:
		loaded, err := parseManagedKeys(b)
		if err != nil {
			return fmt.Errorf("httpapi: API key file %s: %w", path, err)
		}
		for _, e := range loaded {
			if o, ok := next.byName[e.name]; ok {
				return fmt.Errorf("httpapi: API key file %s: key %q has the name of bootstrap key %q", path, e.name, o.key)
			}
			if o, ok := next.byKey[e.key]; ok {
				return fmt.Errorf("httpapi: API key file %s: key %q has the api_key of bootstrap key %q", path, e.name, o.name)
			}
			next = next.with(e, "")
		}
	}
	if err := saveManagedKeys(path, next); err != nil {
		return err
	}
	s.keys.Store(next)
	s.path = path
	return nil
}

// parseManagedKeys reads the document, checking every entry.
func parseManagedKeys(b []byte) ([]*keyEntry, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	var f managedKeysFile
	if err := dec.Decode(&f); err != nil {
		return nil, err
	}
	if f.Version != managedKeysVersion {
		return nil, fmt.Errorf("version %d, want %d", f.Version, managedKeysVersion)
	}
	seenName, seenKey := map[string]bool{}, map[string]bool{}
	out := make([]*keyEntry, 0, len(f.Keys))
	for i, k := range f.Keys {
		bad := func(what string) error { return fmt.Errorf("key %d (%q): %s", i, k.Name, what) }
		if err := validName(k.Name); err != nil || strings.HasPrefix(k.Name, bootstrapPrefix) {
			return nil, bad("invalid name")
		}
		if !validKey(k.Key) {
			return nil, bad("invalid api_key")
		}
		if seenName[k.Name] || seenKey[k.Key] {
			return nil, bad("given twice")
		}
		seenName[k.Name], seenKey[k.Key] = true, true
		e := &keyEntry{name: k.Name, key: k.Key, enable: k.Enable, expiresAt: k.ExpiredAt, createdAt: k.CreatedAt, desc: k.Desc}
		salt, err1 := hex.DecodeString(k.Salt)
		hash, err2 := hex.DecodeString(k.Hash)
		if err1 != nil || err2 != nil || len(salt) != len(e.salt) || len(hash) != len(e.hash) {
			return nil, bad("invalid salt or hash")
		}
		copy(e.salt[:], salt)
		copy(e.hash[:], hash)
		if e.role, err1 = ParseRole(k.Role); err1 != nil {
			return nil, bad(err1.Error())
		}
		if k.ExpiredAt < 0 || len(k.Desc) > maxDescLen {
			return nil, bad("invalid expired_at or desc")
		}
		out = append(out, e)
	}
	return out, nil
}

// saveManagedKeys replaces the file at path with the managed keys of set:
// written to a temporary file beside it, synced, renamed over it, and the
// directory synced, so that a crash leaves the old or the new document.
func saveManagedKeys(path string, set *keySet) error {
	f := managedKeysFile{Version: managedKeysVersion, Keys: []managedKey{}}
	for _, e := range set.byName {
		if e.bootstrap {
			continue
		}
		f.Keys = append(f.Keys, managedKey{Name: e.name, Key: e.key, Salt: hex.EncodeToString(e.salt[:]),
			Hash: hex.EncodeToString(e.hash[:]), Role: e.role.String(), Enable: e.enable,
			ExpiredAt: e.expiresAt, CreatedAt: e.createdAt, Desc: e.desc})
	}
	slices.SortFunc(f.Keys, func(a, b managedKey) int { return cmp.Compare(a.Name, b.Name) })
	b, err := json.MarshalIndent(f, "", "  ")
	if err != nil {
		return fmt.Errorf("httpapi: API key file: %w", err)
	}
	if err := atomicfile.WriteFile(path, append(b, '\n')); err != nil {
		return fmt.Errorf("httpapi: API key file: %w", err)
	}
	return nil
}
