package bench

import (
	"crypto/tls"
	"net"
	"testing"

	"github.com/shardmq/shardmq/internal/testpki"
)

// handshake dials a TLS server with cert over a loopback pipe and returns
// the client's handshake error.
func handshake(t *testing.T, cfg *tls.Config, cert tls.Certificate) error {
	t.Helper()
	cn, sn := net.Pipe()
	defer cn.Close()
	defer sn.Close()
	go func() {
		s := tls.Server(sn, &tls.Config{Certificates: []tls.Certificate{cert}})
		_ = s.Handshake()
	}()
	return tls.Client(cn, cfg).Handshake()
}

// TestPinnedLeaf holds the generator's certificate check: the first
// handshake verifies the chain, a later one with the same leaf passes, a
// leaf of another CA fails before and after pinning, and another leaf of
// the right CA is verified rather than refused.
func TestPinnedLeaf(t *testing.T) {
	good, err := testpki.New(t.TempDir(), "good CA")
	if err != nil {
		t.Fatal(err)
	}
	evil, err := testpki.New(t.TempDir(), "evil CA")
	if err != nil {
		t.Fatal(err)
	}
	issue := func(ca *testpki.CA) tls.Certificate {
		c, err := ca.Issue(testpki.Cert{Name: "server", CN: "localhost", Server: true})
		if err != nil {
			t.Fatal(err)
		}
		return c.TLS
	}
	cfg, err := tlsConfigFor(transportSpec{Kind: transportTLS, CAFile: good.File})
	if err != nil {
		t.Fatal(err)
	}
	bad := issue(evil)
	if err := handshake(t, cfg, bad); err == nil {
		t.Fatal("a certificate of another CA was accepted before any pin")
	}
	first := issue(good)
	for i := 0; i < 2; i++ {
		if err := handshake(t, cfg, first); err != nil {
			t.Fatalf("handshake %d with the CA's certificate: %v", i, err)
		}
	}
	if err := handshake(t, cfg, bad); err == nil {
		t.Fatal("a certificate of another CA was accepted after pinning")
	}
	if err := handshake(t, cfg, issue(good)); err != nil {
		t.Fatalf("a second certificate of the CA: %v", err)
	}
}
