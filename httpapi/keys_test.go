package httpapi

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestParseKeys(t *testing.T) {
	tests := []struct {
		name    string
		file    string
		wantErr string // substring; empty means success
		check   map[string]Role
	}{
		{name: "one key default role", file: "k1:s1\n", check: map[string]Role{"k1": RoleAdministrator}},
		{name: "roles comments blanks CRLF", file: "# c\n\nk1:s1:administrator\r\n  k2:s2:viewer  \nk3:s3:publisher\n",
			check: map[string]Role{"k1": RoleAdministrator, "k2": RoleViewer, "k3": RolePublisher}},
		{name: "secret with symbols", file: "k.1_-A:p@ss w0rd!é\n", check: map[string]Role{"k.1_-A": RoleAdministrator}},
		{name: "empty file", file: "", check: map[string]Role{}},
		{name: "no secret", file: "k1\n", wantErr: "line 1"},
		{name: "too many colons", file: "k1:s:viewer:x\n", wantErr: "line 1"},
		{name: "unknown role", file: "\nk1:s:root\n", wantErr: "line 2"},
		{name: "empty key", file: ":s\n", wantErr: "line 1"},
		{name: "empty secret", file: "k:\n", wantErr: "line 1"},
		{name: "bad key chars", file: "k y:s\n", wantErr: "line 1"},
		{name: "control char in secret", file: "k:s\x01x\n", wantErr: "line 1"},
		{name: "invalid utf8 secret", file: "k:s\xffx\n", wantErr: "line 1"},
		{name: "duplicate key", file: "k:a\nk:b\n", wantErr: "line 2"},
		{name: "long key", file: strings.Repeat("k", 129) + ":s\n", wantErr: "line 1"},
		{name: "long line", file: "k:" + strings.Repeat("s", 5000) + "\n", wantErr: "line 1"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, err := ParseKeys(strings.NewReader(tc.file))
			if tc.wantErr != "" {
				if err == nil || !errors.Is(err, ErrBadKeyFile) || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want ErrBadKeyFile mentioning %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if s.Len() != len(tc.check) {
				t.Fatalf("Len = %d, want %d", s.Len(), len(tc.check))
			}
			for k, role := range tc.check {
				secret := strings.Split(strings.Split(tc.file[strings.Index(tc.file, k+":"):], "\n")[0], ":")[1]
				secret = strings.TrimSpace(strings.TrimSuffix(secret, "\r"))
				got, ok := s.Check(k, secret)
				if !ok || got != role {
					t.Errorf("Check(%q) = %v, %v; want %v", k, got, ok, role)
				}
				if _, ok := s.Check(k, secret+"x"); ok {
					t.Errorf("Check(%q) accepted a wrong secret", k)
				}
			}
		})
	}
}

func TestKeyStoreCheck(t *testing.T) {
	s := NewKeyStore()
	if err := s.Add("app", "secret", RoleViewer); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, key, secret string
		ok                bool
	}{
		{"right", "app", "secret", true},
		{"wrong secret", "app", "secreT", false},
		{"prefix of secret", "app", "secre", false},
		{"empty secret", "app", "", false},
		{"unknown key", "other", "secret", false},
		{"unknown key empty secret", "other", "", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			role, ok := s.Check(tc.key, tc.secret)
			if ok != tc.ok || (ok && role != RoleViewer) {
				t.Fatalf("Check = %v, %v; want ok=%v", role, ok, tc.ok)
			}
		})
	}
	// The secret is kept only as a salted hash: two keys with the same
	// secret get different hashes.
	if err := s.Add("app2", "secret", RoleViewer); err != nil {
		t.Fatal(err)
	}
	if s.keys.Load().byKey["app"].hash == s.keys.Load().byKey["app2"].hash {
		t.Fatal("same secret hashed to the same value: salt not applied")
	}
	if strings.Contains(string(s.keys.Load().byKey["app"].hash[:]), "secret") {
		t.Fatal("secret stored in clear")
	}
}

func TestCreateKeyFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sub", "api_keys")
	c, err := CreateKeyFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if c.Role != RoleAdministrator || !validKey(c.Key) || !validSecret(c.Secret) || len(c.Secret) < 20 {
		t.Fatalf("bad credentials %+v", c)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Fatalf("mode %v, want 0600", fi.Mode().Perm())
	}
	s, err := LoadKeyFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if role, ok := s.Check(c.Key, c.Secret); !ok || role != RoleAdministrator {
		t.Fatalf("created key does not authenticate: %v %v", role, ok)
	}
	if _, err := CreateKeyFile(path); !errors.Is(err, ErrKeyFileExists) {
		t.Fatalf("second CreateKeyFile: %v, want ErrKeyFileExists", err)
	}
	c2, err := CreateKeyFile(filepath.Join(t.TempDir(), "k"))
	if err != nil {
		t.Fatal(err)
	}
	if c2.Key == c.Key || c2.Secret == c.Secret {
		t.Fatal("two created key files share a key or secret")
	}
	if got := c.CurlExample("http://127.0.0.1:18083/api/v5/"); got != "curl -u "+c.Key+":"+c.Secret+" 'http://127.0.0.1:18083/api/v5/clients?_page=1&_limit=50'" {
		t.Fatalf("CurlExample = %q", got)
	}
}

func TestLoadOrCreateKeyFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "api_keys")
	s1, created, err := LoadOrCreateKeyFile(path)
	if err != nil || created == nil || s1.Len() != 1 {
		t.Fatalf("first call: %v %v", created, err)
	}
	s2, created2, err := LoadOrCreateKeyFile(path)
	if err != nil || created2 != nil {
		t.Fatalf("second call created again: %v %v", created2, err)
	}
	if _, ok := s2.Check(created.Key, created.Secret); !ok {
		t.Fatal("reloaded store rejects the created key")
	}
	if err := os.WriteFile(path, []byte("bad line\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, _, err := LoadOrCreateKeyFile(path); !errors.Is(err, ErrBadKeyFile) {
		t.Fatalf("bad file: %v", err)
	}
	if _, err := LoadKeyFile(filepath.Join(t.TempDir(), "missing")); err == nil {
		t.Fatal("missing file loaded")
	}
}

func BenchmarkKeyStoreCheck(b *testing.B) {
	s := NewKeyStore()
	if err := s.Add("app", "a-secret-of-usual-length-26", RoleAdministrator); err != nil {
		b.Fatal(err)
	}
	for _, tc := range []struct{ name, key, secret string }{
		{"case=ok", "app", "a-secret-of-usual-length-26"},
		{"case=wrong", "app", "a-secret-of-usual-length-27"},
		{"case=unknown", "nobody", "a-secret-of-usual-length-26"},
	} {
		b.Run(tc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				s.Check(tc.key, tc.secret)
			}
		})
	}
}
