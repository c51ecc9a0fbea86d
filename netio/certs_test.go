package netio

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// testPKI is a CA with certificates it signed, written as PEM files in a
// test's temporary directory; nothing of it outlives the test.
type testPKI struct {
	dir    string
	ca     *x509.Certificate
	caKey  crypto.Signer
	caFile string
	pool   *x509.CertPool
	serial int64
}

// newPKI makes a fresh ECDSA P-256 CA.
func newPKI(t testing.TB) *testPKI {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "shardmq test CA", Organization: []string{"shardmq"}},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tpl, tpl, key.Public(), key)
	if err != nil {
		t.Fatal(err)
	}
	ca, _ := x509.ParseCertificate(der)
	p := &testPKI{dir: t.TempDir(), ca: ca, caKey: key, serial: 1, pool: x509.NewCertPool()}
	p.pool.AddCert(ca)
	p.caFile = p.write(t, "ca.pem", "CERTIFICATE", der)
	return p
}

func (p *testPKI) write(t testing.TB, name, typ string, der []byte) string {
	t.Helper()
	path := filepath.Join(p.dir, name)
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
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
	var key crypto.Signer
	var err error
	if o.rsa {
		key, err = rsa.GenerateKey(rand.Reader, 2048)
	} else {
		key, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	}
	if err != nil {
		t.Fatal(err)
	}
	p.serial++
	if o.notAfter.IsZero() {
		o.notAfter = time.Now().Add(24 * time.Hour)
	}
	subj := pkix.Name{CommonName: o.cn}
	if o.org != "" {
		subj.Organization = []string{o.org}
	}
	tpl := &x509.Certificate{
		SerialNumber: big.NewInt(p.serial),
		Subject:      subj,
		NotBefore:    time.Now().Add(-2 * time.Hour),
		NotAfter:     o.notAfter,
		KeyUsage:     x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}
	if o.server {
		tpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}
		tpl.DNSNames = []string{"localhost", "broker.example"}
		tpl.IPAddresses = []net.IP{net.IPv4(127, 0, 0, 1)}
	}
	parent, parentKey := p.ca, p.caKey
	if o.selfCA {
		other := newPKI(t)
		parent, parentKey = other.ca, other.caKey
	}
	der, err := x509.CreateCertificate(rand.Reader, tpl, parent, key.Public(), parentKey)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certFile = p.write(t, o.name+".pem", "CERTIFICATE", der)
	keyFile = p.write(t, o.name+"-key.pem", "PRIVATE KEY", keyDER)
	cert, err = tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		t.Fatal(err)
	}
	return certFile, keyFile, cert
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
