package netio

import (
	"context"
	"io"
	"net"
	"net/netip"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/shardmq/shardmq/mqtt"
	"golang.org/x/sys/unix"
)

// peerHandler echoes like echoHandler and records, per connection, the
// Peer and client address it saw at OnOpen and after a migration.
type peerHandler struct {
	echoHandler
	pmu   sync.Mutex
	peers []Peer
	addrs []netip.AddrPort
}

func (h *peerHandler) OnOpen(c *Conn) {
	h.echoHandler.OnOpen(c)
	h.pmu.Lock()
	h.peers = append(h.peers, c.Peer())
	h.addrs = append(h.addrs, c.ClientAddr())
	h.pmu.Unlock()
}

func (h *peerHandler) seen() ([]Peer, []netip.AddrPort) {
	h.pmu.Lock()
	defer h.pmu.Unlock()
	return append([]Peer(nil), h.peers...), append([]netip.AddrPort(nil), h.addrs...)
}

func TestListenerResolve(t *testing.T) {
	tests := []struct {
		name string
		in   []Listener
		ids  []string
		ok   bool
	}{
		{"defaults", []Listener{{Addr: ":1"}, {Addr: ":2"}, {Addr: ":3"}}, []string{"tcp:default", "tcp:1", "tcp:2"}, true},
		{"named", []Listener{{Name: "devices", Addr: ":1"}, {Addr: ":2"}}, []string{"tcp:devices", "tcp:1"}, true},
		{"kinds_count_apart", []Listener{{Addr: ":1"}, {Kind: "quic", Addr: ":2"}}, []string{"tcp:default", "quic:default"}, true},
		{"ssl_without_tls", []Listener{{Kind: KindSSL, Addr: ":1"}}, nil, false},
		{"tls_on_tcp", []Listener{{Addr: ":1", TLS: &TLSConfig{CertFile: "c", KeyFile: "k"}}}, nil, false},
		{"ws_settings_on_tcp", []Listener{{Addr: ":1", WebSocket: &WebSocketConfig{}}}, nil, false},
		{"verify_without_ca", []Listener{{Kind: KindSSL, Addr: ":1", TLS: &TLSConfig{CertFile: "c", KeyFile: "k", VerifyPeer: true}}}, nil, false},
		{"same_id_twice", []Listener{{Name: "a", Addr: ":1"}, {Name: "a", Addr: ":2"}}, nil, false},
		{"same_addr_twice", []Listener{{Name: "a", Addr: ":1"}, {Name: "b", Addr: ":1"}}, nil, false},
		{"no_addr", []Listener{{Name: "a"}}, nil, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := resolveListeners(tc.in)
			if (err == nil) != tc.ok {
				t.Fatalf("resolveListeners: %v, want ok=%v", err, tc.ok)
			}
			for i, id := range tc.ids {
				if got[i].ID() != id {
					t.Errorf("listener %d: id %q, want %q", i, got[i].ID(), id)
				}
			}
		})
	}
	cfg := Config{Listeners: []Listener{{Kind: "quic", Addr: ":1"}}}
	if err := cfg.Validate(); err == nil {
		t.Fatal("Validate accepted a config with no listener the server binds")
	}
}

// TestListenerOfConn connects through two named listeners and checks that
// each connection reports its own listener and the socket's address.
func TestListenerOfConn(t *testing.T) {
	h := &peerHandler{}
	if _, err := New(Config{Loops: 2, Listeners: []Listener{
		{Name: "default", Addr: "127.0.0.1:0"}, {Name: "devices", Addr: "127.0.0.1:0"}}}, h); err == nil {
		t.Fatal("two listeners on 127.0.0.1:0 were accepted")
	}
	s, err := New(Config{Loops: 2, Listeners: []Listener{
		{Name: "default", Addr: "127.0.0.1:0"}, {Name: "devices", Addr: "[::1]:0"}}}, h)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(); err != nil {
		t.Skipf("no IPv6 loopback: %v", err)
	}
	t.Cleanup(func() { shutdown(t, s) })
	for _, a := range s.Addrs() {
		echoOnce(t, a.String())
	}
	peers, addrs := h.seen()
	if len(peers) != 2 {
		t.Fatalf("%d connections seen, want 2", len(peers))
	}
	got := map[string]bool{}
	for i, p := range peers {
		got[p.Listener.ID()] = true
		if !addrs[i].IsValid() || !addrs[i].Addr().IsLoopback() || p.SNI != "" || p.CN != "" {
			t.Errorf("connection %d: peer %+v, client address %v", i, p, addrs[i])
		}
	}
	if !got["tcp:default"] || !got["tcp:devices"] {
		t.Fatalf("listeners seen %v, want tcp:default and tcp:devices", got)
	}
}

// TestEnroll hands the server one end of a socket pair, as a transport
// running in goroutines (a gateway) does, and checks that the connection is served like
// a TCP one, reports the transport's Peer (also after a migration to the
// other loop), and that Enroll refuses an unknown listener.
func TestEnroll(t *testing.T) {
	h := &peerHandler{}
	s, err := New(Config{Loops: 2, Listeners: []Listener{
		{Addr: "127.0.0.1:0"}, {Kind: "quic", Name: "secure", Addr: "127.0.0.1:8883"}}}, h)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { shutdown(t, s) })

	// A TCP connection first, so that both loops are in use: the enrolled
	// connection goes to the other (least loaded) one and can migrate.
	held, err := net.Dial("tcp", s.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer held.Close()
	waitFor(t, "the TCP connection", func() bool { p, _ := h.seen(); return len(p) == 1 })

	client := netip.MustParseAddrPort("192.0.2.7:40001")
	ours, theirs := socketPair(t)
	defer theirs.Close()
	p := Peer{Listener: &Listener{Kind: "quic", Name: "secure", Addr: "ignored"}, Addr: client,
		SNI: "broker.example", CN: "device-1", DN: "CN=device-1,O=Fleet"}
	if err := s.Enroll(ours, p); err != nil {
		t.Fatal(err)
	}
	// A PINGREQ with flags 1 makes echoHandler migrate first.
	for _, frame := range [][]byte{{0xc1, 0x00}, {0xc0, 0x00}} {
		if _, err := theirs.Write(frame); err != nil {
			t.Fatal(err)
		}
		b := make([]byte, 2)
		_ = theirs.SetReadDeadline(time.Now().Add(5 * time.Second))
		if _, err := io.ReadFull(theirs, b); err != nil || b[0]&0xf0 != 0xc0 {
			t.Fatalf("echo of %x: % x, %v", frame, b, err)
		}
	}
	peers, addrs := h.seen()
	peers, addrs = peers[1:], addrs[1:] // the held TCP connection
	h.mu.Lock()
	moved := h.moved
	h.mu.Unlock()
	if len(peers) != 2 || moved != 1 {
		t.Fatalf("opens %d (moved %d), want the enrolled one and its migration", len(peers), moved)
	}
	for i, got := range peers {
		if got.Listener.ID() != "quic:secure" || got.Listener.Addr != "127.0.0.1:8883" ||
			got.SNI != p.SNI || got.CN != p.CN || got.DN != p.DN || addrs[i] != client {
			t.Fatalf("open %d: peer %+v at %v, want %+v at %v", i, got, addrs[i], p, client)
		}
	}
	if s.Connections() != 2 {
		t.Fatalf("%d connections, want 2", s.Connections())
	}

	spare, other := socketPair(t)
	defer other.Close()
	if err := s.Enroll(spare, Peer{Listener: &Listener{Kind: "ws", Name: "default"}}); err == nil {
		t.Fatal("Enroll accepted a listener the server does not have")
	}
	_ = other.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := other.Read(make([]byte, 1)); err != io.EOF {
		t.Fatalf("refused connection's pair read %v, want EOF (closed)", err)
	}
}

// socketPair returns the two ends of a connected stream socket pair.
func socketPair(t testing.TB) (net.Conn, net.Conn) {
	t.Helper()
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	conns := make([]net.Conn, 2)
	for i, fd := range fds {
		f := os.NewFile(uintptr(fd), "pair")
		c, err := net.FileConn(f)
		_ = f.Close()
		if err != nil {
			t.Fatal(err)
		}
		conns[i] = c
	}
	return conns[0], conns[1]
}

// echoOnce sends a PINGREQ to addr and waits for its echo.
func echoOnce(t *testing.T, addr string) {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_, _ = c.Write([]byte{byte(mqtt.TypePingreq) << 4, 0x00})
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.ReadFull(c, make([]byte, 2)); err != nil {
		t.Fatalf("%s: %v", addr, err)
	}
}

func shutdown(t *testing.T, s *Server) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := s.Shutdown(ctx); err != nil {
		t.Errorf("shutdown: %v", err)
	}
}
