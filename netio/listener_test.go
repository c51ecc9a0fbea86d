package netio

import (
	"context"
	"io"
	"net"
	"net/netip"
	"sync"
	"testing"
	"time"

	"github.com/shardmq/shardmq/mqtt"
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
