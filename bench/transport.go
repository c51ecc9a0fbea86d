package bench

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"
	"github.com/shardmq/shardmq/internal/testpki"
)

// The secure and browser transports: the tls and ws variants of the
// point-to-point and storm scenarios connect over TLS (to a listener with
// the same ECDSA P-256 certificate on every broker that has one) or over
// WebSocket, through the transport the scenario puts in the context that
// every dial gets.

// Transport names of the scenario variants.
const (
	transportTLS = "tls"
	transportWS  = "ws"
)

// transportSpec says how a generator's connections reach the broker; the
// zero value is plain TCP. Storm workers get it in their job.
type transportSpec struct {
	// Kind is "", transportTLS or transportWS.
	Kind string `json:"kind,omitempty"`
	// CAFile is the PEM file of the CA the broker's certificate chains to.
	CAFile string `json:"ca_file,omitempty"`
	// SystemRoots verifies the broker's certificate against the system's
	// roots instead of CAFile (a --target without a CA file).
	SystemRoots bool `json:"system_roots,omitempty"`
	// ServerName is sent (SNI) and verified; empty: "localhost", the name
	// of the harness's own certificate.
	ServerName string `json:"server_name,omitempty"`
	// TLS runs WebSocket over TLS (wss).
	TLS bool `json:"tls,omitempty"`
	// Path is the WebSocket path; empty: /mqtt.
	Path string `json:"path,omitempty"`
}

type transportKey struct{}

// withTransport returns ctx carrying t for the dials made under it.
func withTransport(ctx context.Context, t transportSpec) context.Context {
	if t.Kind == "" {
		return ctx
	}
	return context.WithValue(ctx, transportKey{}, t)
}

// clientTLS caches the client configuration per CA file: X25519 and TLS
// 1.3, as every client of the comparison, no session resumption (each
// storm connection is a full handshake). The server's chain is verified
// against the CA on the first handshake and its leaf pinned after that
// (pinnedLeaf), so the generator's cost per connection is the key exchange
// and the handshake signature, as a device that pins its broker's
// certificate pays: more of the two cores are left to the broker measured.
var clientTLS sync.Map // transportSpec's kind, CA, roots and name → *tls.Config

func tlsConfigFor(t transportSpec) (*tls.Config, error) {
	name := t.ServerName
	if name == "" {
		name = "localhost"
	}
	key := transportSpec{Kind: t.Kind, CAFile: t.CAFile, SystemRoots: t.SystemRoots, ServerName: name}
	if c, ok := clientTLS.Load(key); ok {
		return c.(*tls.Config), nil
	}
	var pool *x509.CertPool // nil: the system's roots
	if !t.SystemRoots {
		pem, err := os.ReadFile(t.CAFile)
		if err != nil {
			return nil, err
		}
		pool = x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("%s: no certificate", t.CAFile)
		}
	}
	pin := &pinnedLeaf{roots: pool, name: name}
	// InsecureSkipVerify only turns off the library's chain check, which
	// VerifyConnection does instead; the handshake signature is checked
	// either way.
	c := &tls.Config{ServerName: name, CurvePreferences: []tls.CurveID{tls.X25519},
		NextProtos: []string{"mqtt"}, SessionTicketsDisabled: true,
		InsecureSkipVerify: true, VerifyConnection: pin.verify}
	if t.Kind == transportWS {
		c.NextProtos = []string{"http/1.1"}
	}
	actual, _ := clientTLS.LoadOrStore(key, c)
	return actual.(*tls.Config), nil
}

// pinnedLeaf verifies a server's chain against roots once and then
// accepts exactly that leaf certificate.
type pinnedLeaf struct {
	roots *x509.CertPool
	name  string
	// leaf is the DER of the verified leaf, nil until the first success.
	leaf atomic.Pointer[[]byte]
}

func (p *pinnedLeaf) verify(cs tls.ConnectionState) error {
	if len(cs.PeerCertificates) == 0 {
		return errors.New("bench: the server sent no certificate")
	}
	leaf := cs.PeerCertificates[0]
	if known := p.leaf.Load(); known != nil && bytes.Equal(*known, leaf.Raw) {
		return nil
	}
	inter := x509.NewCertPool()
	for _, c := range cs.PeerCertificates[1:] {
		inter.AddCert(c)
	}
	if _, err := leaf.Verify(x509.VerifyOptions{Roots: p.roots, Intermediates: inter, DNSName: p.name}); err != nil {
		return err
	}
	raw := leaf.Raw
	p.leaf.Store(&raw)
	return nil
}

// overTransport runs the transport of ctx, if any, over nc, a TCP
// connection to addr, within timeout.
func overTransport(ctx context.Context, nc net.Conn, addr string, timeout time.Duration) (net.Conn, error) {
	t, ok := ctx.Value(transportKey{}).(transportSpec)
	if !ok {
		return nc, nil
	}
	if t.Kind == transportTLS || t.TLS {
		cfg, err := tlsConfigFor(t)
		if err != nil {
			return nil, err
		}
		tc := tls.Client(nc, cfg)
		hctx, cancel := context.WithTimeout(ctx, timeout)
		defer cancel()
		if err := tc.HandshakeContext(hctx); err != nil {
			return nil, err
		}
		nc = tc
	}
	switch t.Kind {
	case transportTLS:
		return nc, nil
	case transportWS:
		path := t.Path
		if path == "" {
			path = "/mqtt"
		}
		// The connection is already TLS for wss; the dialer only speaks
		// HTTP over it.
		d := websocket.Dialer{NetDial: func(string, string) (net.Conn, error) { return nc, nil },
			Subprotocols: []string{"mqtt"}, HandshakeTimeout: timeout, ReadBufferSize: 16 << 10, WriteBufferSize: 16 << 10}
		ws, resp, err := d.DialContext(ctx, "ws://"+addr+path, http.Header{})
		if err != nil {
			return nil, err
		}
		_ = resp.Body.Close()
		return &wsNetConn{Conn: ws}, nil
	}
	return nil, fmt.Errorf("bench: unknown transport %q", t.Kind)
}

// wsNetConn is a WebSocket connection as a byte stream: each Write is one
// binary message, Read reads the messages' payloads in order.
type wsNetConn struct {
	*websocket.Conn
	r io.Reader
}

func (c *wsNetConn) Read(p []byte) (int, error) {
	for {
		if c.r == nil {
			_, r, err := c.NextReader()
			if err != nil {
				return 0, err
			}
			c.r = r
		}
		n, err := c.r.Read(p)
		if err == io.EOF {
			c.r = nil
			if n > 0 {
				return n, nil
			}
			continue
		}
		return n, err
	}
}

func (c *wsNetConn) Write(p []byte) (int, error) {
	if err := c.WriteMessage(websocket.BinaryMessage, p); err != nil {
		return 0, err
	}
	return len(p), nil
}

func (c *wsNetConn) SetDeadline(t time.Time) error {
	_ = c.SetReadDeadline(t)
	return c.SetWriteDeadline(t)
}

// PeerTLS is the certificate the brokers' TLS listeners share.
type PeerTLS struct {
	CAFile, CertFile, KeyFile string
}

// makePeerTLS writes a CA and a server certificate for localhost (ECDSA
// P-256) into dir.
func makePeerTLS(dir string) (*PeerTLS, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	ca, err := testpki.New(dir, "shardmq-bench CA")
	if err != nil {
		return nil, err
	}
	c, err := ca.Issue(testpki.Cert{Name: "server", CN: "localhost", Server: true})
	if err != nil {
		return nil, err
	}
	// mosquitto started as root reads them as the user mosquitto: a
	// throwaway benchmark key may be world-readable.
	for _, f := range []string{ca.File, c.CertFile, c.KeyFile} {
		if err := os.Chmod(f, 0o644); err != nil {
			return nil, err
		}
	}
	return &PeerTLS{CAFile: ca.File, CertFile: c.CertFile, KeyFile: c.KeyFile}, nil
}

// secureScenarios maps the tls and ws variants to their base scenario and
// transport.
var secureScenarios = map[string]struct{ base, kind string }{
	ScenarioP2P0TLS:  {ScenarioP2P0, transportTLS},
	ScenarioStormTLS: {ScenarioStorm, transportTLS},
	ScenarioP2P0WS:   {ScenarioP2P0, transportWS},
}

// usesTLS reports whether any of scenarios needs the brokers' TLS
// listeners.
func usesTLS(scenarios []string) bool {
	for _, s := range scenarios {
		if v, ok := secureScenarios[s]; ok && v.kind == transportTLS {
			return true
		}
	}
	return false
}

// runSecure runs a tls or ws variant: the base scenario against the
// instance's listener of that transport.
func runSecure(ctx context.Context, cfg Config, in *Instance, scenario string) Result {
	v := secureScenarios[scenario]
	addr := in.TLSAddr
	if v.kind == transportWS {
		addr = in.WSAddr
	}
	if addr == "" {
		return Result{Scenario: scenario, Skipped: "broker has no " + v.kind + " listener here"}
	}
	sec := *in
	sec.Addr = addr
	if in.transport.Kind != v.kind {
		// A target speaking this transport keeps its own (CA, name, path).
		sec.transport = transportSpec{Kind: v.kind, CAFile: in.caFile}
	}
	if v.base == ScenarioStorm && cfg.IdleHold < tlsIdleHold {
		// Idle TLS connections drop their ciphers after 0.5–1 s (shardmq)
		// and a broker may return memory later still; every broker gets
		// the same hold.
		cfg.IdleHold = tlsIdleHold
	}
	r := RunScenario(withTransport(ctx, sec.transport), cfg, &sec, v.base)
	r.Scenario = scenario
	return r
}

// tlsIdleHold is the idle hold of the TLS storm.
const tlsIdleHold = 12 * time.Second

// certDir is where a run keeps the brokers' shared certificate.
func certDir(outDir string) string { return filepath.Join(outDir, "certs") }
