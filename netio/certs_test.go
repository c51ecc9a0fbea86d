package netio

import (
	"crypto/tls"
	"crypto/x509"
	"net"
	"testing"
	"time"

	"github.com/shardmq/shardmq/internal/testpki"
)

// testPKI is a CA for a test (internal/testpki), its files in the test's
// temporary directory.
type testPKI struct {
	ca     *testpki.CA
	caFile string
	pool   *x509.CertPool
}

// newPKI makes a fresh ECDSA P-256 CA.
func newPKI(t testing.TB) *testPKI {
	t.Helper()
	ca, err := testpki.New(t.TempDir(), "shardmq test CA")
	if err != nil {
		t.Fatal(err)
	}
	return &testPKI{ca: ca, caFile: ca.File, pool: ca.Pool}
}

// certOpts describes a certificate to issue.
type certOpts struct {
	name     string // file name prefix
	cn       string
	org      string
	rsa      bool
	server   bool
	notAfter time.Time
	selfCA   bool // signed by a CA the listener does not trust
}

// issue makes a certificate and key, writes them as name.pem and
// name-key.pem, and returns the file names and the tls.Certificate.
func (p *testPKI) issue(t testing.TB, o certOpts) (certFile, keyFile string, cert tls.Certificate) {
	t.Helper()
	ca := p.ca
	if o.selfCA {
		ca = newPKI(t).ca
	}
	c, err := ca.Issue(testpki.Cert{Name: o.name, CN: o.cn, Org: o.org, RSA: o.rsa, Server: o.server, NotAfter: o.notAfter})
	if err != nil {
		t.Fatal(err)
	}
	return c.CertFile, c.KeyFile, c.TLS
}

// serverTLS issues a server certificate and returns the listener's
// TLSConfig for it.
func (p *testPKI) serverTLS(t testing.TB, rsa bool) *TLSConfig {
	certFile, keyFile, _ := p.issue(t, certOpts{name: "server", cn: "localhost", server: true, rsa: rsa})
	return &TLSConfig{CertFile: certFile, KeyFile: keyFile, CACertFile: p.caFile}
}

// freeAddr returns 127.0.0.1 with a port that was free a moment ago, for
// servers with several listeners (two cannot both be 127.0.0.1:0).
func freeAddr(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}
