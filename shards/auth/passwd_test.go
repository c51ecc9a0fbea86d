package auth

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/crypto/bcrypt"
)

// testCost keeps bcrypt fast in tests.
const testCost = bcrypt.MinCost

func TestParsePasswords(t *testing.T) {
	h, _ := bcrypt.GenerateFromPassword([]byte("pw"), testCost)
	hash := string(h)
	tests := []struct {
		name    string
		in      string
		users   []string
		wantErr bool
	}{
		{name: "empty", in: ""},
		{name: "comments and blanks", in: "# users\n\n  # x\n"},
		{name: "one user", in: "alice:" + hash + "\n", users: []string{"alice"}},
		{name: "crlf", in: "alice:" + hash + "\r\nbob:" + hash + "\r\n", users: []string{"alice", "bob"}},
		{name: "no final newline", in: "alice:" + hash, users: []string{"alice"}},
		{name: "plain text password", in: "alice:secret\n", wantErr: true},
		{name: "no colon", in: "alice\n", wantErr: true},
		{name: "empty user", in: ":" + hash + "\n", wantErr: true},
		{name: "duplicate", in: "a:" + hash + "\na:" + hash + "\n", wantErr: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			users, err := ParsePasswords(strings.NewReader(tc.in))
			if tc.wantErr {
				if !errors.Is(err, ErrPasswordFile) {
					t.Fatalf("err = %v, want ErrPasswordFile", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(users) != len(tc.users) {
				t.Fatalf("got %d users, want %d", len(users), len(tc.users))
			}
			for _, u := range tc.users {
				if bcrypt.CompareHashAndPassword(users[u], []byte("pw")) != nil {
					t.Errorf("user %q: hash does not verify", u)
				}
			}
		})
	}
}

func TestSetPassword(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "passwd")
	steps := []struct {
		name      string
		user, pw  string
		wantAdded bool
		wantErr   error
	}{
		{name: "create file", user: "alice", pw: "pw-a1!", wantAdded: true},
		{name: "second user", user: "bob", pw: "pw-b1!", wantAdded: true},
		{name: "change first", user: "alice", pw: "pw-a2!", wantAdded: false},
		{name: "colon in name", user: "a:b", pw: "x", wantErr: ErrUsername},
		{name: "newline in name", user: "a\nb", pw: "x", wantErr: ErrUsername},
		{name: "empty password", user: "carol", pw: "", wantErr: ErrEmptyPassword},
	}
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			added, err := SetPassword(path, st.user, []byte(st.pw), testCost)
			if st.wantErr != nil {
				if !errors.Is(err, st.wantErr) {
					t.Fatalf("err = %v, want %v", err, st.wantErr)
				}
				return
			}
			if err != nil || added != st.wantAdded {
				t.Fatalf("added, err = %v, %v; want %v, nil", added, err, st.wantAdded)
			}
		})
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("mode = %v, want 0600", fi.Mode().Perm())
	}
	data, _ := os.ReadFile(path)
	// '-' and '!' are outside bcrypt's base64 alphabet, so a hash cannot contain them by chance.
	if strings.Contains(string(data), "pw-a2!") || strings.Contains(string(data), "pw-b1!") {
		t.Fatalf("plain-text password in file:\n%s", data)
	}
	users, err := ParsePasswords(strings.NewReader(string(data)))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"alice": "pw-a2!", "bob": "pw-b1!"}
	if len(users) != len(want) {
		t.Fatalf("users = %d, want %d", len(users), len(want))
	}
	for u, pw := range want {
		if bcrypt.CompareHashAndPassword(users[u], []byte(pw)) != nil {
			t.Errorf("%s: password %q does not verify", u, pw)
		}
	}
	if lines := strings.Split(strings.TrimSpace(string(data)), "\n"); !strings.HasPrefix(lines[0], "alice:") {
		t.Errorf("order not kept: %q", lines)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Errorf("temporary files left behind: %v", entries)
	}
}

func TestSetPasswordKeepsComments(t *testing.T) {
	path := filepath.Join(t.TempDir(), "passwd")
	if err := os.WriteFile(path, []byte("# managed by ops\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := SetPassword(path, "alice", []byte("pw"), testCost); err != nil {
		t.Fatal(err)
	}
	data, _ := os.ReadFile(path)
	if !strings.HasPrefix(string(data), "# managed by ops\nalice:$2") {
		t.Fatalf("file = %q", data)
	}
	if fi, _ := os.Stat(path); fi.Mode().Perm() != 0o600 {
		t.Errorf("mode = %v, want 0600 after rewrite", fi.Mode().Perm())
	}
}

func TestSetPasswordRefusesMalformedFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "passwd")
	orig := []byte("alice:plaintext\n")
	if err := os.WriteFile(path, orig, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := SetPassword(path, "bob", []byte("pw"), testCost); !errors.Is(err, ErrPasswordFile) {
		t.Fatalf("err = %v, want ErrPasswordFile", err)
	}
	if data, _ := os.ReadFile(path); string(data) != string(orig) {
		t.Fatalf("file changed: %q", data)
	}
}

func FuzzParsePasswords(f *testing.F) {
	h, _ := bcrypt.GenerateFromPassword([]byte("pw"), testCost)
	f.Add("alice:" + string(h) + "\n")
	f.Add("# c\n\nbob:" + string(h) + "\r\nalice:" + string(h))
	f.Add("a:b\n")
	f.Fuzz(func(t *testing.T, in string) {
		users, err := ParsePasswords(strings.NewReader(in))
		if err != nil {
			if !errors.Is(err, ErrPasswordFile) {
				t.Fatalf("error %v is not ErrPasswordFile", err)
			}
			return
		}
		for u, hash := range users {
			if ValidUsername(u) != nil {
				t.Fatalf("accepted user name %q", u)
			}
			if _, err := bcrypt.Cost(hash); err != nil {
				t.Fatalf("accepted hash %q", hash)
			}
		}
	})
}
