package auth

import (
	"fmt"
	"net/netip"
	"testing"

	"golang.org/x/crypto/bcrypt"
)

func BenchmarkAuthorize(b *testing.B) {
	cfg := writeFiles(b, testACL, nil)
	a, err := New(cfg)
	if err != nil {
		b.Fatal(err)
	}
	c := &Client{ClientID: "c-alice", Username: "alice", IP: netip.MustParseAddr("127.0.0.1")}
	topic := []byte("users/alice/x")
	for _, cached := range []bool{false, true} {
		b.Run(fmt.Sprintf("cached=%v", cached), func(b *testing.B) {
			b.ReportAllocs()
			var cache *Cache
			if cached {
				cache = &Cache{}
			}
			for b.Loop() {
				if !a.Authorize(c, cache, Publish, topic) {
					b.Fatal("denied")
				}
			}
		})
	}
}

func BenchmarkAuthenticate(b *testing.B) {
	cfg := writeFiles(b, "", map[string]string{"alice": "secret"})
	a, err := New(cfg)
	if err != nil {
		b.Fatal(err)
	}
	b.Run("verified=cached", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if ok, _ := a.Authenticate([]byte("alice"), []byte("secret"), true, false); !ok {
				b.Fatal("refused")
			}
		}
	})
}

// TestAuthorizeCachedAllocs: a decision served from the cache (the steady
// state of a client publishing to its topics) allocates nothing.
func TestAuthorizeCachedAllocs(t *testing.T) {
	cfg := writeFiles(t, testACL, nil)
	a, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	c := &Client{ClientID: "c-alice", Username: "alice", IP: netip.MustParseAddr("127.0.0.1")}
	topic := []byte("users/alice/x")
	var cache Cache
	a.Authorize(c, &cache, Publish, topic)
	if n := testing.AllocsPerRun(100, func() { a.Authorize(c, &cache, Publish, topic) }); n != 0 {
		t.Fatalf("cached Authorize allocates %v times", n)
	}
	if n := testing.AllocsPerRun(100, func() { a.Authorize(c, nil, Subscribe, []byte("public/+/x")) }); n != 0 {
		t.Fatalf("uncached Authorize allocates %v times", n)
	}
}

// BenchmarkAuthenticateFirst measures a user's first CONNECT after a start
// or reload: one bcrypt verification on the caller's goroutine (the event
// loop), at the costs `shardmq passwd -cost` offers.
func BenchmarkAuthenticateFirst(b *testing.B) {
	for _, cost := range []int{4, 6, 10} {
		b.Run(fmt.Sprintf("cost=%d", cost), func(b *testing.B) {
			b.ReportAllocs()
			hash, err := bcrypt.GenerateFromPassword([]byte("secret"), cost)
			if err != nil {
				b.Fatal(err)
			}
			for b.Loop() {
				st := &state{users: map[string][]byte{"alice": hash}}
				if !st.verify([]byte("alice"), []byte("secret")) {
					b.Fatal("refused")
				}
			}
		})
	}
}
