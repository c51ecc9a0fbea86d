package auth

import (
	"fmt"
	"net/netip"
	"testing"
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
