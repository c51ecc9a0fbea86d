package netio

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"time"
)

// TLSConfig is the certificate configuration of an ssl or wss listener
// (EMQX's ssl_options). The files are read by New and again by
// Server.ReloadTLS.
type TLSConfig struct {
	// CertFile is the server's PEM certificate chain, leaf first; its key
	// may be RSA or ECDSA.
	CertFile string
	// KeyFile is the PEM private key of CertFile (PKCS #1, PKCS #8 or
	// SEC 1).
	KeyFile string
	// CACertFile holds the PEM certificates of the authorities that client
	// certificates must chain to; needed with VerifyPeer.
	CACertFile string
	// VerifyPeer asks clients for a certificate and refuses one that does
	// not verify against CACertFile (EMQX's verify_peer; false is
	// verify_none: no certificate is asked for).
	VerifyPeer bool
	// FailIfNoPeerCert refuses clients that send no certificate; it needs
	// VerifyPeer.
	FailIfNoPeerCert bool
	// HandshakeTimeout bounds the TLS handshake (and, on wss, the
	// WebSocket upgrade after it). If zero, 15 s is used (EMQX's default).
	HandshakeTimeout time.Duration
}

func (t *TLSConfig) validate() error {
	switch {
	case t.CertFile == "" || t.KeyFile == "":
		return errors.New("TLS needs a certificate file and a key file")
	case t.VerifyPeer && t.CACertFile == "":
		return errors.New("verify_peer needs a CA certificate file")
	case t.FailIfNoPeerCert && !t.VerifyPeer:
		return errors.New("fail_if_no_peer_cert needs verify_peer")
	case t.HandshakeTimeout < 0:
		return errors.New("negative handshake timeout")
	}
	return nil
}

func (t *TLSConfig) handshakeTimeout() time.Duration {
	if t.HandshakeTimeout == 0 {
		return 15 * time.Second
	}
	return t.HandshakeTimeout
}

// aeadSuites are the TLS 1.2 cipher suites offered: ECDHE with an AEAD,
// the ones the record layer (records.go) implements, as Mozilla's
// intermediate configuration. TLS 1.3's three suites are all AEADs.
var aeadSuites = []uint16{
	tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
	tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
	tls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
	tls.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
	tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
	tls.TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
}

// tlsListener is the TLS state of an ssl or wss listener: the
// configuration built from its files, replaced whole by a reload, and the
// base configuration whose session ticket keys outlive reloads (so
// sessions resume across them).
type tlsListener struct {
	conf *TLSConfig
	alpn []string
	base *tls.Config
	cur  atomic.Pointer[tls.Config]

	// peersMu guards the following field.
	peersMu sync.Mutex
	// peers are the Peers of connections that told nothing but a server
	// name (SNI), by name: a fleet asks for a few names, and every idle
	// connection would otherwise hold its own Peer. At most
	// maxSharedPeers; names beyond get a Peer each.
	peers map[string]*Peer
}

// maxSharedPeers bounds a listener's shared Peers: a client chooses its
// SNI, so the table must not grow with what clients send.
const maxSharedPeers = 1024

// sharedPeer returns the Peer of a connection of listener l that told its
// server name sni and nothing else. The Peer is shared: nobody may modify
// it. Safe from any goroutine.
func (t *tlsListener) sharedPeer(l *Listener, sni string) *Peer {
	t.peersMu.Lock()
	defer t.peersMu.Unlock()
	if p, ok := t.peers[sni]; ok {
		return p
	}
	p := &Peer{Listener: l, SNI: sni}
	if len(t.peers) < maxSharedPeers {
		if t.peers == nil {
			t.peers = make(map[string]*Peer)
		}
		t.peers[sni] = p
	}
	return p
}

// newTLSListener reads l's certificate files.
func newTLSListener(l *Listener) (*tlsListener, error) {
	t := &tlsListener{conf: l.TLS, alpn: []string{"mqtt"}}
	if l.Kind == KindWSS {
		t.alpn = []string{"http/1.1"} // browsers offer h2 and http/1.1
	}
	t.base = &tls.Config{GetConfigForClient: t.configForClient}
	if err := t.load(); err != nil {
		return nil, fmt.Errorf("%w: listener %s: %w", ErrInvalidConfig, l.ID(), err)
	}
	return t, nil
}

// load reads the certificate files and makes them the ones new handshakes
// use; connections already established keep their keys.
func (t *tlsListener) load() error {
	cert, err := tls.LoadX509KeyPair(t.conf.CertFile, t.conf.KeyFile)
	if err != nil {
		return err
	}
	cfg := &tls.Config{
		Certificates: []tls.Certificate{cert},
		MinVersion:   tls.VersionTLS12,
		CipherSuites: aeadSuites,
		NextProtos:   t.alpn,
	}
	if t.conf.CACertFile != "" {
		pem, err := os.ReadFile(t.conf.CACertFile)
		if err != nil {
			return err
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return fmt.Errorf("%s: no PEM certificate", t.conf.CACertFile)
		}
		cfg.ClientCAs = pool
	}
	switch {
	case t.conf.VerifyPeer && t.conf.FailIfNoPeerCert:
		cfg.ClientAuth = tls.RequireAndVerifyClientCert
	case t.conf.VerifyPeer:
		cfg.ClientAuth = tls.VerifyClientCertIfGiven
	}
	t.cur.Store(cfg)
	return nil
}

// configForClient gives each handshake its own copy of the current
// configuration, whose key log hands the handshake its traffic secrets
// (handshake.go).
func (t *tlsListener) configForClient(chi *tls.ClientHelloInfo) (*tls.Config, error) {
	hs, ok := chi.Conn.(*handshake)
	if !ok {
		return nil, errors.New("netio: handshake on a foreign connection")
	}
	cfg := t.cur.Load().Clone()
	cfg.KeyLogWriter = (*keyLog)(hs)
	cfg.UnwrapSession = hs.unwrapSession
	return cfg, nil
}

// ReloadTLS reads the certificate files of every ssl and wss listener
// again (on SIGHUP): new handshakes use the new certificates, connected
// clients keep theirs. If a listener's files fail to load, it keeps the
// ones it had and the error names it; the others are reloaded. Safe from
// any goroutine.
func (s *Server) ReloadTLS() error {
	var errs []error
	for i := range s.lst {
		if t := s.lst[i].tls; t != nil {
			if err := t.load(); err != nil {
				errs = append(errs, fmt.Errorf("netio: listener %s: %w", s.cfg.Listeners[i].ID(), err))
			}
		}
	}
	return errors.Join(errs...)
}
