package netio

import (
	"bytes"
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"os"
	"testing"
	"time"

	"github.com/shardmq/shardmq/mqtt"
)

// startListeners starts a Server on cfg's own listeners.
func startListeners(t testing.TB, cfg Config, h Handler) *Server {
	t.Helper()
	if cfg.Loops == 0 {
		cfg.Loops = 2
	}
	s, err := New(cfg, h)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := s.Shutdown(ctx); err != nil {
			t.Errorf("shutdown: %v", err)
		}
	})
	return s
}

// echoStream is MQTT frames that cross TLS records and reads: a PINGREQ, a
// PUBLISH of 40 KiB (three records) and a small PUBLISH.
func echoStream() []byte {
	big := mqtt.AppendPublish(nil, &mqtt.Publish{Topic: []byte("a/b"), Payload: bytes.Repeat([]byte{'x'}, 40<<10)}, mqtt.V311)
	small := mqtt.AppendPublish(nil, &mqtt.Publish{Topic: []byte("c"), Payload: []byte("hi")}, mqtt.V311)
	return append(append(append([]byte{0xc0, 0x00}, big...), small...), 0xc0, 0x00)
}

// roundTrip writes stream to c in chunks of chunk bytes and reads its
// echo.
func roundTrip(t *testing.T, c net.Conn, stream []byte, chunk int) {
	t.Helper()
	go func() {
		for i := 0; i < len(stream); i += chunk {
			if _, err := c.Write(stream[i:min(i+chunk, len(stream))]); err != nil {
				return
			}
		}
	}()
	_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
	got := make([]byte, len(stream))
	if _, err := io.ReadFull(c, got); err != nil {
		t.Fatalf("echo: %v", err)
	}
	if !bytes.Equal(got, stream) {
		t.Fatal("echo differs from what was sent")
	}
}

// TestTLSEcho serves echo over TLS 1.2 and 1.3 with RSA and ECDSA server
// keys, every TLS 1.2 cipher suite offered and a client certificate,
// with the client's writes split at several sizes; the connection reports
// the SNI, CN and DN.
func TestTLSEcho(t *testing.T) {
	pki := newPKI(t)
	_, _, clientCert := pki.issue(t, certOpts{name: "device", cn: "device-1", org: "Fleet"})
	type tc struct {
		name   string
		rsa    bool
		vers   uint16
		suites []uint16
	}
	var cases []tc
	for _, rsaKey := range []bool{false, true} {
		key := map[bool]string{false: "ecdsa", true: "rsa"}[rsaKey]
		cases = append(cases, tc{name: "key=" + key + "/v=1.3", rsa: rsaKey, vers: tls.VersionTLS13})
		for _, id := range aeadSuites {
			name := tls.CipherSuiteName(id)
			if bytes.Contains([]byte(name), []byte("RSA")) != rsaKey {
				continue
			}
			cases = append(cases, tc{name: "key=" + key + "/v=1.2/" + name, rsa: rsaKey, vers: tls.VersionTLS12, suites: []uint16{id}})
		}
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h := &peerHandler{}
			conf := pki.serverTLS(t, c.rsa)
			conf.VerifyPeer = true
			s := startListeners(t, Config{Listeners: []Listener{{Kind: KindSSL, Addr: "127.0.0.1:0", TLS: conf}}}, h)
			for _, chunk := range []int{1 << 20, 1000, 7} {
				conn, err := tls.Dial("tcp", s.Addr().String(), &tls.Config{
					RootCAs: pki.pool, ServerName: "broker.example", MinVersion: c.vers, MaxVersion: c.vers,
					CipherSuites: c.suites, Certificates: []tls.Certificate{clientCert}, NextProtos: []string{"mqtt"}})
				if err != nil {
					t.Fatal(err)
				}
				if st := conn.ConnectionState(); st.NegotiatedProtocol != "mqtt" {
					t.Errorf("ALPN %q, want mqtt", st.NegotiatedProtocol)
				}
				stream := echoStream()
				if chunk == 7 { // small records are slow: frames of a few bytes
					stream = append(mqtt.AppendPublish([]byte{0xc0, 0x00}, &mqtt.Publish{Topic: []byte("t"), Payload: []byte("split into seven-byte records")}, mqtt.V311), 0xc0, 0x00)
				}
				roundTrip(t, conn, stream, chunk)
				conn.Close()
			}
			peers, _ := h.seen()
			if len(peers) != 3 {
				t.Fatalf("%d connections opened, want 3", len(peers))
			}
			for _, p := range peers {
				if p.Listener.ID() != "ssl:default" || p.SNI != "broker.example" || p.CN != "device-1" || p.DN != "CN=device-1,O=Fleet" {
					t.Fatalf("peer %+v", p)
				}
			}
			if st := s.TransportStats()[0]; st.Handshakes != 3 {
				t.Fatalf("stats %+v", st)
			}
		})
	}
}

// TestTLSResumption connects twice with a session cache, over TLS 1.2 and
// 1.3: the second handshake resumes, with the client certificate's names,
// and the resumed connection carries data.
func TestTLSResumption(t *testing.T) {
	pki := newPKI(t)
	_, _, clientCert := pki.issue(t, certOpts{name: "device", cn: "device-2", org: "Fleet"})
	for _, vers := range []uint16{tls.VersionTLS12, tls.VersionTLS13} {
		t.Run(tls.VersionName(vers), func(t *testing.T) {
			h := &peerHandler{}
			conf := pki.serverTLS(t, false)
			conf.VerifyPeer = true
			s := startListeners(t, Config{Listeners: []Listener{{Kind: KindSSL, Addr: "127.0.0.1:0", TLS: conf}}}, h)
			cfg := &tls.Config{RootCAs: pki.pool, ServerName: "localhost", MinVersion: vers, MaxVersion: vers,
				Certificates: []tls.Certificate{clientCert}, ClientSessionCache: tls.NewLRUClientSessionCache(4)}
			for i := range 2 {
				conn, err := tls.Dial("tcp", s.Addr().String(), cfg)
				if err != nil {
					t.Fatal(err)
				}
				// TLS 1.3 tickets arrive after the handshake: read the echo.
				roundTrip(t, conn, echoStream(), 1<<20)
				if resumed := conn.ConnectionState().DidResume; resumed != (i == 1) {
					t.Fatalf("connection %d: resumed %v", i, resumed)
				}
				conn.Close()
			}
			if st := s.TransportStats()[0]; st.Handshakes != 2 || st.Resumed != 1 {
				t.Fatalf("stats %+v, want 2 handshakes, 1 resumed", st)
			}
			peers, _ := h.seen()
			if len(peers) != 2 || peers[1].CN != "device-2" || peers[1].DN != "CN=device-2,O=Fleet" {
				t.Fatalf("peers %+v", peers)
			}
		})
	}
}

// openFDs counts the process's open descriptors.
func openFDs(t testing.TB) int {
	t.Helper()
	entries, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Skip("no /proc/self/fd")
	}
	return len(entries)
}

// TestTLSRefused sends what an ssl listener must refuse: each is closed,
// counted under its reason, never reaches the Handler, and leaves no
// goroutine (TestMain) or descriptor behind.
func TestTLSRefused(t *testing.T) {
	pki := newPKI(t)
	_, _, good := pki.issue(t, certOpts{name: "good", cn: "good"})
	_, _, untrusted := pki.issue(t, certOpts{name: "untrusted", cn: "intruder", selfCA: true})
	_, _, expired := pki.issue(t, certOpts{name: "expired", cn: "old", notAfter: time.Now().Add(-time.Hour)})
	conf := pki.serverTLS(t, false)
	conf.VerifyPeer, conf.FailIfNoPeerCert = true, true
	conf.HandshakeTimeout = 300 * time.Millisecond
	h := &peerHandler{}
	s := startListeners(t, Config{TickInterval: 20 * time.Millisecond,
		Listeners: []Listener{{Kind: KindSSL, Addr: "127.0.0.1:0", TLS: conf}}}, h)
	dialTLS := func(certs ...tls.Certificate) error {
		conn, err := tls.Dial("tcp", s.Addr().String(), &tls.Config{RootCAs: pki.pool, ServerName: "localhost", Certificates: certs})
		if err != nil {
			return err
		}
		defer conn.Close()
		// TLS 1.3 reports a refused client certificate on the first read.
		_ = conn.SetReadDeadline(time.Now().Add(5 * time.Second))
		_, err = conn.Read(make([]byte, 1))
		return err
	}
	raw := func(b []byte) func() error {
		return func() error {
			c, err := net.Dial("tcp", s.Addr().String())
			if err != nil {
				return err
			}
			defer c.Close()
			_, _ = c.Write(b)
			_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
			_, err = io.ReadAll(c)
			return err
		}
	}
	connect := []byte{0x10, 0x0c, 0, 4, 'M', 'Q', 'T', 'T', 4, 2, 0, 60, 0, 0}
	tests := []struct {
		name   string
		try    func() error
		reason string
	}{
		{"plain_connect", raw(connect), "not_tls"},
		{"untrusted_cert", func() error { return dialTLS(untrusted) }, "tls_certificate"},
		{"expired_cert", func() error { return dialTLS(expired) }, "tls_certificate"},
		{"no_cert", func() error { return dialTLS() }, "tls_certificate"},
		{"stalled_handshake", raw([]byte{recordTypeHandshake, 3, 1, 0, 200, 1}), "handshake_timeout"},
		{"bad_hello", raw([]byte{recordTypeHandshake, 3, 1, 0, 4, 1, 0, 0, 0}), "tls_handshake"},
	}
	fds := openFDs(t)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			before := s.TransportStats()[0].Refused[tc.reason]
			_ = tc.try()
			waitFor(t, tc.reason, func() bool { return s.TransportStats()[0].Refused[tc.reason] == before+1 })
		})
	}
	// A bad record after the handshake closes an open connection.
	t.Run("bad_record", func(t *testing.T) {
		conn, err := tls.Dial("tcp", s.Addr().String(), &tls.Config{RootCAs: pki.pool, ServerName: "localhost", Certificates: []tls.Certificate{good}})
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		roundTrip(t, conn, []byte{0xc0, 0x00}, 2)
		nc := conn.NetConn()
		_, _ = nc.Write([]byte{recordTypeApplicationData, 3, 3, 0, 20, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20})
		waitFor(t, "tls_record", func() bool { return s.TransportStats()[0].Refused["tls_record"] == 1 })
	})
	waitFor(t, "connections closed", func() bool { return s.Connections() == 0 })
	if peers, _ := h.seen(); len(peers) != 1 {
		t.Fatalf("the Handler saw %d connections, want only the good one", len(peers))
	}
	waitFor(t, "descriptors released", func() bool { return openFDs(t) <= fds })
}

// TestTLSReload replaces the server certificate while a client is
// connected: the client stays, a new client sees the new certificate.
func TestTLSReload(t *testing.T) {
	pki := newPKI(t)
	conf := pki.serverTLS(t, false)
	s := startListeners(t, Config{Listeners: []Listener{{Kind: KindSSL, Addr: "127.0.0.1:0", TLS: conf}}}, &peerHandler{})
	dial := func() *tls.Conn {
		conn, err := tls.Dial("tcp", s.Addr().String(), &tls.Config{RootCAs: pki.pool, ServerName: "localhost"})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { conn.Close() })
		return conn
	}
	old := dial()
	roundTrip(t, old, []byte{0xc0, 0x00}, 2)
	serial := old.ConnectionState().PeerCertificates[0].SerialNumber
	certFile, keyFile, _ := pki.issue(t, certOpts{name: "server2", cn: "localhost", server: true, rsa: true})
	for _, f := range [][2]string{{certFile, conf.CertFile}, {keyFile, conf.KeyFile}} {
		b, err := os.ReadFile(f[0])
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(f[1], b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.ReloadTLS(); err != nil {
		t.Fatal(err)
	}
	fresh := dial()
	if got := fresh.ConnectionState().PeerCertificates[0].SerialNumber; got.Cmp(serial) == 0 {
		t.Fatal("a new connection got the old certificate")
	}
	roundTrip(t, fresh, []byte{0xc0, 0x00}, 2)
	roundTrip(t, old, []byte{0xc0, 0x00}, 2)
	if err := os.WriteFile(conf.KeyFile, []byte("not a key"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := s.ReloadTLS(); err == nil {
		t.Fatal("a reload of a broken key file succeeded")
	}
	roundTrip(t, dial(), []byte{0xc0, 0x00}, 2) // the last good certificate stays
}

// TestTLSSharedPeer checks that connections which told only a server name
// share one Peer per name (an idle TLS connection holds no copy of its
// own), that a client certificate gets a Peer of its own, and that the
// shared table stops growing at maxSharedPeers.
func TestTLSSharedPeer(t *testing.T) {
	pki := newPKI(t)
	_, _, clientCert := pki.issue(t, certOpts{name: "device", cn: "device-1", org: "Fleet"})
	h := &peerHandler{}
	conf := pki.serverTLS(t, false)
	conf.VerifyPeer = true // a certificate is verified when given, not required
	s := startListeners(t, Config{Listeners: []Listener{{Kind: KindSSL, Addr: "127.0.0.1:0", TLS: conf}}}, h)
	for _, c := range []struct {
		sni  string
		cert bool
	}{{"broker.example", false}, {"broker.example", false}, {"localhost", false}, {"broker.example", true}} {
		conf := &tls.Config{RootCAs: pki.pool, ServerName: c.sni}
		if c.cert {
			conf.Certificates = []tls.Certificate{clientCert}
		}
		conn, err := tls.Dial("tcp", s.Addr().String(), conf)
		if err != nil {
			t.Fatal(err)
		}
		roundTrip(t, conn, []byte{0xc0, 0x00}, 2)
		conn.Close()
	}
	peers, _ := h.seen()
	if len(peers) != 4 {
		t.Fatalf("%d connections opened, want 4", len(peers))
	}
	for i, want := range []string{"broker.example", "broker.example", "localhost", "broker.example"} {
		if peers[i].SNI != want || peers[i].Listener.ID() != "ssl:default" {
			t.Fatalf("connection %d: peer %+v, want SNI %q", i, peers[i], want)
		}
	}
	if peers[3].CN != "device-1" || peers[0].CN != "" {
		t.Fatalf("certificate names %q and %q, want device-1 and none", peers[3].CN, peers[0].CN)
	}
	tl := s.lst[0].tls
	tl.peersMu.Lock()
	shared := len(tl.peers)
	tl.peersMu.Unlock()
	if shared != 2 {
		t.Fatalf("%d shared peers, want 2 (broker.example, localhost)", shared)
	}
	l := &s.cfg.Listeners[0]
	if a, b := tl.sharedPeer(l, "fleet.example"), tl.sharedPeer(l, "fleet.example"); a != b {
		t.Fatal("one server name, two Peers")
	}
	for i := 0; len(tl.peers) < maxSharedPeers; i++ {
		tl.sharedPeer(l, fmt.Sprintf("n%d.example", i))
	}
	if a, b := tl.sharedPeer(l, "late.example"), tl.sharedPeer(l, "late.example"); a == b || len(tl.peers) != maxSharedPeers {
		t.Fatalf("past the bound: shared %v, table %d", a == b, len(tl.peers))
	}
}
