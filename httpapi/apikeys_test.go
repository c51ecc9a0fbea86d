package httpapi

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// keyUser is the "key:secret" of a key POST /api_key returned.
func keyUser(k apiKeyJSON) string { return k.Key + ":" + k.Secret }

// TestAPIKeyLifecycle creates a key through the API, uses it, disables,
// expires, re-enables, promotes and deletes it, all through real HTTP, and
// checks the file it persists in across a restart of the store.
func TestAPIKeyLifecycle(t *testing.T) {
	env := newTestEnv(t, Config{}, testRows(3))
	path := filepath.Join(t.TempDir(), "data", "api_keys.json")
	if err := env.api.keys.Persist(path); err != nil {
		t.Fatal(err)
	}

	// The bootstrap keys are listed as EMQX 5 lists them.
	var list []map[string]any
	env.do(t, "GET", "/api_key", adminUser, nil).decode(t, &list)
	if len(list) != 3 {
		t.Fatalf("%d keys listed", len(list))
	}
	for _, k := range list {
		if _, ok := k["api_secret"]; ok || k["desc"] != bootstrapDesc || k["expired_at"] != "infinity" || k["enable"] != true ||
			!strings.HasPrefix(k["name"].(string), bootstrapPrefix) {
			t.Fatalf("bootstrap key listed as %v", k)
		}
	}

	r := env.do(t, "POST", "/api_key", adminUser, `{"name":"ci-1","desc":"CI pipeline","role":"viewer"}`)
	r.wantStatus(t, http.StatusOK)
	var ci apiKeyJSON
	r.decode(t, &ci)
	if ci.Name != "ci-1" || len(ci.Key) != 16 || len(ci.Secret) < 20 || !ci.Enable || ci.Expired ||
		ci.ExpiredAt != "infinity" || ci.Role != "viewer" || ci.Desc != "CI pipeline" {
		t.Fatalf("created %+v", ci)
	}
	if _, err := time.Parse(time.RFC3339, ci.CreatedAt); err != nil {
		t.Fatalf("created_at %q: %v", ci.CreatedAt, err)
	}
	env.do(t, "GET", "/clients", keyUser(ci), nil).wantStatus(t, http.StatusOK)
	env.do(t, "HEAD", "/clients", keyUser(ci), nil).wantStatus(t, http.StatusOK)
	env.do(t, "DELETE", "/clients/c0001", keyUser(ci), nil).wantError(t, http.StatusForbidden, codeUnauthorizedRole)
	env.do(t, "POST", "/api_key", keyUser(ci), `{"name":"x"}`).wantError(t, http.StatusForbidden, codeUnauthorizedRole)
	env.do(t, "GET", "/api_key", pubUser, nil).wantError(t, http.StatusForbidden, codeUnauthorizedRole)

	// The secret is shown once.
	var got map[string]any
	env.do(t, "GET", "/api_key/ci-1", keyUser(ci), nil).decode(t, &got)
	if _, ok := got["api_secret"]; ok || got["api_key"] != ci.Key {
		t.Fatalf("GET shows %v", got)
	}

	put := func(body string) apiKeyJSON {
		t.Helper()
		r := env.do(t, "PUT", "/api_key/ci-1", adminUser, body)
		r.wantStatus(t, http.StatusOK)
		var k apiKeyJSON
		r.decode(t, &k)
		if k.Secret != "" {
			t.Fatal("PUT shows the secret")
		}
		return k
	}
	if k := put(`{"enable":false}`); k.Enable || k.Role != "viewer" || k.Desc != "CI pipeline" {
		t.Fatalf("disabled: %+v", k)
	}
	msg := env.do(t, "GET", "/clients", keyUser(ci), nil).wantError(t, http.StatusUnauthorized, codeBadKey)
	if msg != fmt.Sprintf("API key %q is disabled", ci.Key) {
		t.Fatalf("disabled key: %s", msg)
	}
	// Someone without the secret learns nothing about the key.
	if msg := env.do(t, "GET", "/clients", ci.Key+":wrong", nil).wantError(t, http.StatusUnauthorized, codeBadKey); msg != "missing or wrong API key or secret" {
		t.Fatalf("wrong secret of a disabled key: %s", msg)
	}

	if k := put(`{"enable":true,"expired_at":"2001-02-03T04:05:06Z"}`); !k.Expired || k.ExpiredAt != "2001-02-03T04:05:06+00:00" {
		t.Fatalf("expired: %+v", k)
	}
	if msg := env.do(t, "GET", "/clients", keyUser(ci), nil).wantError(t, http.StatusUnauthorized, codeBadKey); msg != fmt.Sprintf("API key %q is expired", ci.Key) {
		t.Fatalf("expired key: %s", msg)
	}
	future := time.Now().Add(time.Hour).Unix()
	if k := put(fmt.Sprintf(`{"expired_at":%d,"role":"administrator","desc":""}`, future)); k.Expired || k.Role != "administrator" || k.Desc != "" {
		t.Fatalf("renewed: %+v", k)
	}
	env.do(t, "DELETE", "/clients/c0002", keyUser(ci), nil).wantStatus(t, http.StatusNoContent)
	put(`{"expired_at":"infinity"}`)

	// The file holds the key's hash, not its secret, readable by its
	// owner only; a store that loads it (the next start) knows the key.
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(b), ci.Secret) || !strings.Contains(string(b), ci.Key) {
		t.Fatalf("file: %s", b)
	}
	if fi, _ := os.Stat(path); fi.Mode().Perm() != 0o600 {
		t.Fatalf("file mode %v", fi.Mode().Perm())
	}
	next := NewKeyStore()
	if err := next.Persist(path); err != nil {
		t.Fatal(err)
	}
	if role, ok := next.Check(ci.Key, ci.Secret); !ok || role != RoleAdministrator {
		t.Fatalf("after a restart: %v %v", role, ok)
	}

	// Deleting revokes at once.
	env.do(t, "DELETE", "/api_key/ci-1", adminUser, nil).wantStatus(t, http.StatusNoContent)
	env.do(t, "GET", "/clients", keyUser(ci), nil).wantError(t, http.StatusUnauthorized, codeBadKey)
	if msg := env.do(t, "GET", "/api_key/ci-1", adminUser, nil).wantError(t, http.StatusNotFound, codeNotFound); msg != `no API key named "ci-1"` {
		t.Fatal(msg)
	}
	env.do(t, "DELETE", "/api_key/ci-1", adminUser, nil).wantError(t, http.StatusNotFound, codeNotFound)
	env.do(t, "PUT", "/api_key/ci-1", adminUser, `{}`).wantError(t, http.StatusNotFound, codeNotFound)
	if b, _ := os.ReadFile(path); strings.Contains(string(b), ci.Key) {
		t.Fatalf("deleted key still in the file: %s", b)
	}

	// A bootstrap key can be disabled too (until the next start).
	boot := bootstrapName("viewer")
	env.do(t, "PUT", "/api_key/"+boot, adminUser, `{"enable":false}`).wantStatus(t, http.StatusOK)
	env.do(t, "GET", "/clients", viewerUser, nil).wantError(t, http.StatusUnauthorized, codeBadKey)
	env.do(t, "PUT", "/api_key/"+boot, adminUser, `{"enable":true}`).wantStatus(t, http.StatusOK)
	env.do(t, "GET", "/clients", viewerUser, nil).wantStatus(t, http.StatusOK)
	if b, _ := os.ReadFile(path); strings.Contains(string(b), bootstrapPrefix) {
		t.Fatalf("bootstrap key saved: %s", b)
	}
}

// TestAPIKeyBadInput checks each refusal of the key endpoints.
func TestAPIKeyBadInput(t *testing.T) {
	env := newTestEnv(t, Config{}, nil)
	env.do(t, "POST", "/api_key", adminUser, `{"name":"taken"}`).wantStatus(t, http.StatusOK)
	for _, tc := range []struct {
		name, method, path, body string
		status                   int
		message                  string
	}{
		{"no name", "POST", "/api_key", `{"desc":"x"}`, 400, `field "name": required`},
		{"name with a space", "POST", "/api_key", `{"name":"a b"}`, 400, `field "name": name "a b" must start with a letter and hold only A-Z a-z 0-9 _ -`},
		{"name starting with a digit", "POST", "/api_key", `{"name":"1a"}`, 400, `field "name": name "1a" must start with a letter and hold only A-Z a-z 0-9 _ -`},
		{"long name", "POST", "/api_key", `{"name":"` + strings.Repeat("a", 257) + `"}`, 400, `field "name": name must be 1 to 256 characters`},
		{"bootstrap prefix", "POST", "/api_key", `{"name":"from_bootstrap_file_x"}`, 400, `field "name": names starting with from_bootstrap_file_ are kept for the bootstrap file's keys`},
		{"taken", "POST", "/api_key", `{"name":"taken"}`, 400, `an API key named "taken" already exists`},
		{"bad role", "POST", "/api_key", `{"name":"r","role":"root"}`, 400, `field "role": "root" is not a role; want administrator, viewer or publisher`},
		{"bad expiry", "POST", "/api_key", `{"name":"e","expired_at":"tomorrow"}`, 400, `field "expired_at": want "infinity", Unix seconds or an RFC 3339 time such as 2030-01-01T00:00:00Z`},
		{"negative expiry", "POST", "/api_key", `{"name":"e","expired_at":-5}`, 400, `field "expired_at": want "infinity", Unix seconds or an RFC 3339 time such as 2030-01-01T00:00:00Z`},
		{"long desc", "POST", "/api_key", `{"name":"d","desc":"` + strings.Repeat("d", 1025) + `"}`, 400, `field "desc": longer than 1024 bytes`},
		{"computed field", "POST", "/api_key", `{"name":"c","expired":false}`, 400, `request body: unknown field "expired"`},
		{"wrong type", "POST", "/api_key", `{"name":"c","enable":"yes"}`, 400, `field "enable": want true or false, got string`},
		{"rename", "PUT", "/api_key/taken", `{"name":"other"}`, 400, `field "name": cannot be changed; the name is in the path`},
		{"bad name in the path", "GET", "/api_key/a%20b", ``, 400, `API key name "a b" must start with a letter and hold only A-Z a-z 0-9 _ -`},
		{"unknown", "GET", "/api_key/nobody", ``, 404, `no API key named "nobody"`},
		{"query", "GET", "/api_key?page=1", ``, 400, `unknown parameter "page"; this endpoint takes no query parameters`},
		{"wrong method", "PATCH", "/api_key/taken", ``, 405, `PATCH is not allowed on "/api/v5/api_key/taken"; allowed: DELETE, GET, HEAD, OPTIONS, PUT`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var body any
			if tc.body != "" {
				body = tc.body
			}
			r := env.do(t, tc.method, tc.path, adminUser, body)
			code := map[int]string{400: codeBadRequest, 404: codeNotFound, 405: codeMethodNotAllowed}[tc.status]
			if msg := r.wantError(t, tc.status, code); msg != tc.message {
				t.Errorf("message\n got %s\nwant %s", msg, tc.message)
			}
		})
	}
	// At most 100 keys through the API (the bootstrap keys do not count).
	for i := 1; i < maxManagedKeys; i++ {
		env.do(t, "POST", "/api_key", adminUser, fmt.Sprintf(`{"name":"k%d"}`, i)).wantStatus(t, http.StatusOK)
	}
	if msg := env.do(t, "POST", "/api_key", adminUser, `{"name":"one-more"}`).wantError(t, http.StatusBadRequest, codeBadRequest); msg != "at most 100 API keys can be created; delete one first" {
		t.Fatal(msg)
	}
}

// TestAPIKeyRevokedUnderLoad checks revocation while requests run: once
// DELETE has answered, no request begun afterwards succeeds with the key.
func TestAPIKeyRevokedUnderLoad(t *testing.T) {
	env := newTestEnv(t, Config{}, testRows(3))
	var k apiKeyJSON
	env.do(t, "POST", "/api_key", adminUser, `{"name":"busy"}`).decode(t, &k)
	var (
		deleted     atomic.Bool
		warm, done  sync.WaitGroup
		lateSuccess atomic.Int64
	)
	for range 4 {
		warm.Add(1)
		done.Add(1)
		go func() {
			defer done.Done()
			warmed, after := false, 0
			for after < 20 {
				begunAfter := deleted.Load()
				r, err := env.doErr("GET", "/stats", keyUser(k), nil)
				if err != nil {
					t.Error(err)
					break
				}
				switch {
				case begunAfter:
					after++
					if r.status != http.StatusUnauthorized {
						lateSuccess.Add(1)
					}
				case r.status == http.StatusOK && !warmed:
					warmed = true
					warm.Done()
				}
			}
			if !warmed {
				warm.Done()
			}
		}()
	}
	warm.Wait() // every goroutine has succeeded with the key once
	env.do(t, "DELETE", "/api_key/busy", adminUser, nil).wantStatus(t, http.StatusNoContent)
	deleted.Store(true)
	done.Wait()
	if n := lateSuccess.Load(); n > 0 {
		t.Fatalf("%d requests begun after the DELETE answered were not refused", n)
	}
}

// TestPersistErrors checks that a bad or clashing key file, or one that
// cannot be written, stops Persist with an error naming the problem.
func TestPersistErrors(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	s := NewKeyStore()
	if err := s.Add("boot", "boot-secret", RoleAdministrator); err != nil {
		t.Fatal(err)
	}
	good := managedKey{Name: "a", Key: "0123456789abcdef", Salt: strings.Repeat("00", saltLen), Hash: strings.Repeat("00", 32), Role: "viewer", Enable: true}
	doc := func(keys ...managedKey) string {
		b, _ := json.Marshal(managedKeysFile{Version: 1, Keys: keys})
		return string(b)
	}
	clash := good
	clash.Key = "boot"
	for _, tc := range []struct{ name, content, want string }{
		{"not JSON", "{", "unexpected EOF"},
		{"version", `{"version":2,"keys":[]}`, "version 2"},
		{"unknown field", `{"version":1,"keys":[],"x":1}`, "unknown field"},
		{"bad role", doc(managedKey{Name: "a", Key: "k", Salt: good.Salt, Hash: good.Hash, Role: "root"}), `key 0 ("a")`},
		{"bad salt", doc(managedKey{Name: "a", Key: "k", Salt: "zz", Hash: good.Hash, Role: "viewer"}), "invalid salt or hash"},
		{"twice", doc(good, good), "given twice"},
		{"clash with the bootstrap file", doc(clash), `has the api_key of bootstrap key`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := s.Persist(write(tc.name, tc.content))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Persist: %v, want an error mentioning %q", err, tc.want)
			}
			if s.Len() != 1 {
				t.Fatalf("a failed Persist left %d keys", s.Len())
			}
		})
	}
	ro := filepath.Join(dir, "ro")
	if err := os.Mkdir(ro, 0o500); err != nil {
		t.Fatal(err)
	}
	if os.Getuid() != 0 {
		if err := s.Persist(filepath.Join(ro, "keys.json")); err == nil {
			t.Fatal("Persist into a read-only directory succeeded")
		}
	}
	if err := s.Persist(write("ok", doc(good))); err != nil || s.Len() != 2 {
		t.Fatalf("good file: %v, %d keys", err, s.Len())
	}
	if err := s.Persist(write("again", doc())); err == nil {
		t.Fatal("second Persist succeeded")
	}
}
