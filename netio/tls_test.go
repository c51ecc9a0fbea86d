package netio

import (
	"bytes"
	"context"
	"crypto/tls"
	"io"
	"net"
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
