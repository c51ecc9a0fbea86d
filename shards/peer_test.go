package shards

import (
	"fmt"
	"testing"
)

// TestSharedIdentity checks that sessions whose connection told only a
// server name share one identity, that certificate names are never
// shared, and that the shared table stops at maxSharedIdentities.
func TestSharedIdentity(t *testing.T) {
	sh := &shard{}
	a := sh.identity(peerIdentity{sni: "broker.example"})
	if b := sh.identity(peerIdentity{sni: "broker.example"}); a != b {
		t.Fatal("one server name, two identities")
	}
	if b := sh.identity(peerIdentity{sni: "broker.example", tenant: true}); a == b || !b.tenant {
		t.Fatal("the tenant flag was lost in sharing")
	}
	c1 := sh.identity(peerIdentity{sni: "broker.example", cn: "device-1"})
	c2 := sh.identity(peerIdentity{sni: "broker.example", cn: "device-1"})
	if c1 == c2 || c1.cn != "device-1" {
		t.Fatal("certificate names were shared")
	}
	for i := 0; len(sh.identities) < maxSharedIdentities; i++ {
		sh.identity(peerIdentity{sni: fmt.Sprintf("n%d.example", i)})
	}
	if x, y := sh.identity(peerIdentity{sni: "late.example"}), sh.identity(peerIdentity{sni: "late.example"}); x == y || len(sh.identities) != maxSharedIdentities {
		t.Fatalf("past the bound: shared %v, table %d", x == y, len(sh.identities))
	}
}
