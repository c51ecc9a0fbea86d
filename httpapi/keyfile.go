package httpapi

import (
	"bufio"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

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
