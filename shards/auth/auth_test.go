package auth

import (
	"errors"
	"net/netip"
	"os"
	"path/filepath"
	"sync"
	"testing"
)

// writeFiles writes an ACL file and a password file with the given users
// (name → password) into a temporary directory.
func writeFiles(t testing.TB, acl string, users map[string]string) Config {
	t.Helper()
	dir := t.TempDir()
	cfg := Config{PasswordFile: filepath.Join(dir, "passwd"), ACLFile: filepath.Join(dir, "acl")}
	if err := os.WriteFile(cfg.ACLFile, []byte(acl), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(cfg.PasswordFile, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	for u, pw := range users {
		if _, err := SetPassword(cfg.PasswordFile, u, []byte(pw), testCost); err != nil {
			t.Fatal(err)
		}
	}
	return cfg
}

func TestAuthenticate(t *testing.T) {
	cfg := writeFiles(t, "", map[string]string{"alice": "secret"})
	a, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	noFile, err := New(Config{})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name      string
		a         *Auth
		user, pw  string
		hasUser   bool
		anonymous bool
		wantAuthn bool
		wantErr   error
	}{
		{name: "right password", a: a, user: "alice", pw: "secret", hasUser: true, wantAuthn: true},
		{name: "right password again (cached)", a: a, user: "alice", pw: "secret", hasUser: true, wantAuthn: true},
		{name: "wrong password after cache", a: a, user: "alice", pw: "Secret", hasUser: true, wantErr: ErrBadCredentials},
		{name: "empty password", a: a, user: "alice", hasUser: true, wantErr: ErrBadCredentials},
		{name: "unknown user", a: a, user: "mallory", pw: "secret", hasUser: true, anonymous: true, wantErr: ErrBadCredentials},
		{name: "anonymous allowed", a: a, anonymous: true},
		{name: "anonymous refused", a: a, wantErr: ErrNotAuthorized},
		{name: "no file: user is anonymous", a: noFile, user: "alice", pw: "x", hasUser: true, anonymous: true},
		{name: "no file: anonymous refused", a: noFile, user: "alice", pw: "x", hasUser: true, wantErr: ErrNotAuthorized},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			authn, err := tc.a.Authenticate([]byte(tc.user), []byte(tc.pw), tc.hasUser, tc.anonymous)
			if !errors.Is(err, tc.wantErr) || authn != tc.wantAuthn {
				t.Fatalf("Authenticate = %v, %v; want %v, %v", authn, err, tc.wantAuthn, tc.wantErr)
			}
		})
	}
	want := Stats{Authenticated: 2, AuthnFailed: 3, Anonymous: 1, AnonymousRefused: 1}
	if got := a.Stats(); got != want {
		t.Errorf("Stats = %+v, want %+v", got, want)
	}
}

const testACL = `# first match wins
deny  user mallory all #
allow user alice publish users/%u/#
allow clientid dev-1 subscribe devices/%c/#
deny  all subscribe eq #
allow ipaddr 10.0.0.0/8 subscribe lan/#
allow ipaddr 192.168.1.7 publish lan/host
allow all subscribe $SYS/brokers
allow all all public/#
deny  all publish public/secret
`

func TestAuthorize(t *testing.T) {
	alice := &Client{ClientID: "c-alice", Username: "alice", IP: netip.MustParseAddr("127.0.0.1")}
	mallory := &Client{ClientID: "c-m", Username: "mallory", IP: netip.MustParseAddr("10.1.1.1")}
	dev := &Client{ClientID: "dev-1", IP: netip.MustParseAddr("::ffff:10.2.3.4")}
	host := &Client{ClientID: "h", IP: netip.MustParseAddr("192.168.1.7")}
	anon := &Client{ClientID: "anon", IP: netip.MustParseAddr("203.0.113.9")}
	tests := []struct {
		name  string
		c     *Client
		act   Action
		topic string
		want  bool
	}{
		{name: "placeholder user publish", c: alice, act: Publish, topic: "users/alice/x", want: true},
		{name: "placeholder other user", c: alice, act: Publish, topic: "users/bob/x", want: false},
		{name: "action mismatch falls to no-match", c: alice, act: Subscribe, topic: "users/alice/x", want: false},
		{name: "first match denies before allow", c: mallory, act: Subscribe, topic: "public/a", want: false},
		{name: "clientid placeholder subscribe", c: dev, act: Subscribe, topic: "devices/dev-1/+", want: true},
		{name: "clientid placeholder other", c: dev, act: Subscribe, topic: "devices/dev-2/+", want: false},
		{name: "eq denies literal #", c: dev, act: Subscribe, topic: "#", want: false},
		{name: "eq does not catch other filters", c: dev, act: Subscribe, topic: "public/#", want: true},
		{name: "cidr mapped v4", c: dev, act: Subscribe, topic: "lan/x", want: true},
		{name: "cidr outside", c: anon, act: Subscribe, topic: "lan/x", want: false},
		{name: "single ip", c: host, act: Publish, topic: "lan/host", want: true},
		{name: "single ip other host", c: dev, act: Publish, topic: "lan/host", want: false},
		{name: "subscribe wider than rule", c: anon, act: Subscribe, topic: "public", want: true},
		{name: "subscribe wildcard covered", c: anon, act: Subscribe, topic: "public/+/x", want: true},
		{name: "subscribe not covered", c: anon, act: Subscribe, topic: "+/x", want: false},
		{name: "shared subscription stripped", c: anon, act: Subscribe, topic: "$share/g/public/x", want: true},
		{name: "shared subscription denied", c: anon, act: Subscribe, topic: "$share/g/private/x", want: false},
		{name: "earlier allow beats later deny", c: anon, act: Publish, topic: "public/secret", want: true},
		{name: "dollar topic", c: anon, act: Subscribe, topic: "$SYS/brokers", want: true},
		{name: "no match denies", c: anon, act: Publish, topic: "other", want: false},
	}
	for _, cached := range []bool{false, true} {
		cfg := writeFiles(t, testACL, nil)
		a, err := New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		caches := map[*Client]*Cache{}
		for _, tc := range tests {
			name := tc.name
			if cached {
				name += "/cached"
			}
			t.Run(name, func(t *testing.T) {
				var cache *Cache
				if cached {
					if caches[tc.c] == nil {
						caches[tc.c] = &Cache{}
					}
					cache = caches[tc.c]
				}
				for range 2 { // the second call is answered by the cache
					if got := a.Authorize(tc.c, cache, tc.act, []byte(tc.topic)); got != tc.want {
						t.Fatalf("Authorize(%s, %s) = %v, want %v", tc.act, tc.topic, got, tc.want)
					}
				}
			})
		}
	}
}

func TestNoMatchAllowAndNoACL(t *testing.T) {
	cfg := writeFiles(t, "deny all publish x\n", nil)
	cfg.NoMatch = Allow
	a, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	c := &Client{ClientID: "c"}
	if a.Authorize(c, nil, Publish, []byte("x")) || !a.Authorize(c, nil, Publish, []byte("y")) {
		t.Fatal("deny x, allow the rest by no-match policy")
	}
	open, _ := New(Config{})
	if !open.Authorize(c, nil, Subscribe, []byte("#")) {
		t.Fatal("without an ACL file everything is allowed")
	}
	if got := a.Stats().PublishDenied; got != 1 {
		t.Errorf("PublishDenied = %d, want 1", got)
	}
}

func TestReload(t *testing.T) {
	cfg := writeFiles(t, "allow all publish a\n", map[string]string{"alice": "one"})
	a, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	c := &Client{ClientID: "c"}
	var cache Cache
	if !a.Authorize(c, &cache, Publish, []byte("a")) || cache.Len() != 1 {
		t.Fatal("allowed and cached before reload")
	}
	if ok, _ := a.Authenticate([]byte("alice"), []byte("one"), true, false); !ok {
		t.Fatal("alice/one before reload")
	}
	if err := os.WriteFile(cfg.ACLFile, []byte("deny all publish a\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := SetPassword(cfg.PasswordFile, "alice", []byte("two"), testCost); err != nil {
		t.Fatal(err)
	}
	if !a.Authorize(c, &cache, Publish, []byte("a")) {
		t.Fatal("decision changed before Reload")
	}
	if err := a.Reload(); err != nil {
		t.Fatal(err)
	}
	if a.Authorize(c, &cache, Publish, []byte("a")) {
		t.Fatal("cached allow survived Reload")
	}
	if ok, _ := a.Authenticate([]byte("alice"), []byte("one"), true, false); ok {
		t.Fatal("old password (verified before) still accepted after reload")
	}
	if ok, _ := a.Authenticate([]byte("alice"), []byte("two"), true, false); !ok {
		t.Fatal("new password refused after reload")
	}
	// A broken file keeps the rules in force.
	if err := os.WriteFile(cfg.ACLFile, []byte("allow everyone\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := a.Reload(); !errors.Is(err, ErrACLFile) {
		t.Fatalf("Reload = %v, want ErrACLFile", err)
	}
	if a.Authorize(c, nil, Publish, []byte("a")) {
		t.Fatal("failed reload changed the rules")
	}
	if got := a.Stats().Reloads; got != 1 {
		t.Errorf("Reloads = %d, want 1", got)
	}
}

func TestCacheBounded(t *testing.T) {
	cfg := writeFiles(t, "allow all publish #\n", nil)
	cfg.CacheMax = 4
	a, _ := New(cfg)
	var cache Cache
	c := &Client{ClientID: "c"}
	for i := range 20 {
		a.Authorize(c, &cache, Publish, []byte{'t', byte('a' + i)})
		if cache.Len() > 4 {
			t.Fatalf("cache holds %d > 4 decisions", cache.Len())
		}
	}
}

func TestConcurrentReload(t *testing.T) {
	cfg := writeFiles(t, "allow all publish a\n", nil)
	a, _ := New(cfg)
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var cache Cache
			c := &Client{ClientID: string(rune('a' + g))}
			for range 500 {
				if !a.Authorize(c, &cache, Publish, []byte("a")) {
					t.Error("denied")
					return
				}
			}
		}()
	}
	for range 20 {
		if err := a.Reload(); err != nil {
			t.Fatal(err)
		}
	}
	wg.Wait()
}

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
		ok   bool
	}{
		{name: "zero", ok: true},
		{name: "allow", cfg: Config{NoMatch: Allow}, ok: true},
		{name: "bad policy", cfg: Config{NoMatch: 7}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.cfg.Validate(); (err == nil) != tc.ok {
				t.Fatalf("Validate = %v", err)
			}
		})
	}
	if _, err := New(Config{PasswordFile: "/nonexistent/passwd"}); err == nil {
		t.Fatal("New with a missing password file succeeded")
	}
	for _, s := range []string{"allow", "deny"} {
		if p, err := ParsePermission(s); err != nil || p.String() != s {
			t.Errorf("ParsePermission(%q) = %v, %v", s, p, err)
		}
	}
	if _, err := ParsePermission("maybe"); !errors.Is(err, ErrInvalidConfig) {
		t.Errorf("ParsePermission(maybe) = %v", err)
	}
}
