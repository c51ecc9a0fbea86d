// Package testpki makes throwaway certificate authorities and the
// certificates they sign, as PEM files in a directory, for tests and
// benchmarks of the TLS listeners (no private key is committed). It is
// not for production: its keys live as long as the directory.
package testpki

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
	"time"
)

// CA is a certificate authority whose files are in Dir.
type CA struct {
	// Dir holds the PEM files.
	Dir string
	// File is the CA certificate's PEM file.
	File string
	// Pool holds the CA certificate, for clients that verify the server.
	Pool *x509.CertPool

	cert   *x509.Certificate
	key    crypto.Signer
	serial int64
}

// New makes an ECDSA P-256 CA named name, valid for a day, writing its
// certificate to dir/ca.pem.
func New(dir, name string) (*CA, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	tpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: name, Organization: []string{"shardmq"}},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tpl, tpl, key.Public(), key)
	if err != nil {
		return nil, err
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, err
	}
	ca := &CA{Dir: dir, cert: cert, key: key, serial: 1, Pool: x509.NewCertPool()}
	ca.Pool.AddCert(cert)
	ca.File, err = ca.write("ca.pem", "CERTIFICATE", der)
	return ca, err
}

func (ca *CA) write(name, typ string, der []byte) (string, error) {
	path := filepath.Join(ca.Dir, name)
	return path, os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600)
}

// Cert describes a certificate to issue.
type Cert struct {
	// Name is the files' name: Name.pem and Name-key.pem.
	Name string
	// CN and Org are the subject's common name and organization.
	CN, Org string
	// RSA asks for an RSA 2048 key; the default is ECDSA P-256.
	RSA bool
	// Server makes a server certificate for localhost, broker.example and
	// 127.0.0.1; the default is a client certificate.
	Server bool
	// NotAfter ends its validity. If zero, a day from now.
	NotAfter time.Time
}

// Issued is an issued certificate: its files and its tls.Certificate.
type Issued struct {
	CertFile, KeyFile string
	TLS               tls.Certificate
}

// Issue makes and signs a certificate and writes it and its key.
func (ca *CA) Issue(c Cert) (Issued, error) {
	var key crypto.Signer
	var err error
	if c.RSA {
		key, err = rsa.GenerateKey(rand.Reader, 2048)
	} else {
		key, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	}
	if err != nil {
		return Issued{}, err
	}
	ca.serial++
	if c.NotAfter.IsZero() {
		c.NotAfter = time.Now().Add(24 * time.Hour)
	}
	subj := pkix.Name{CommonName: c.CN}
	if c.Org != "" {
		subj.Organization = []string{c.Org}
	}
	tpl := &x509.Certificate{
		SerialNumber: big.NewInt(ca.serial),
		Subject:      subj,
		NotBefore:    time.Now().Add(-2 * time.Hour),
		NotAfter:     c.NotAfter,
		KeyUsage:     x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}
	if c.Server {
		tpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}
		tpl.DNSNames = []string{"localhost", "broker.example"}
		tpl.IPAddresses = []net.IP{net.IPv4(127, 0, 0, 1)}
	}
	der, err := x509.CreateCertificate(rand.Reader, tpl, ca.cert, key.Public(), ca.key)
	if err != nil {
		return Issued{}, err
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return Issued{}, err
	}
	var out Issued
	if out.CertFile, err = ca.write(c.Name+".pem", "CERTIFICATE", der); err != nil {
		return out, err
	}
	if out.KeyFile, err = ca.write(c.Name+"-key.pem", "PRIVATE KEY", keyDER); err != nil {
		return out, err
	}
	out.TLS, err = tls.LoadX509KeyPair(out.CertFile, out.KeyFile)
	return out, err
}
