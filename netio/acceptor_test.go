package netio

import (
	"crypto/tls"
	"errors"
	"net"
	"net/netip"
	"runtime"
	"syscall"
	"testing"
	"time"
)

// expectRefused checks that nothing listens on addr: a connect is refused.
func expectRefused(t *testing.T, addr string) {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 2*time.Second)
	if err == nil {
		c.Close()
		t.Fatalf("%s accepted a connection", addr)
	}
	if !errors.Is(err, syscall.ECONNREFUSED) {
		t.Fatalf("%s: %v, want connection refused", addr, err)
	}
}

// dialAddr connects to addr and checks the echo of a PINGREQ.
func dialAddr(t *testing.T, addr string) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	ping(t, c)
	return c
}

// ping sends a PINGREQ on c and reads its echo.
func ping(t *testing.T, c net.Conn) {
	t.Helper()
	if _, err := c.Write([]byte{0xc0, 0x00}); err != nil {
		t.Fatal(err)
	}
	readN(t, c, 2)
}

// TestStopStartListener stops one of two listeners: its port refuses
// connections, its clients are closed with ErrListenerStopped, the other
// listener's client goes on; a start binds the same address again; a
// restart closes the clients and accepts new ones; unknown ids are
// refused; stopping twice and starting twice do nothing.
func TestStopStartListener(t *testing.T) {
	h := &echoHandler{}
	s := startListeners(t, Config{ListenerControl: true, Listeners: []Listener{
		{Addr: freeAddr(t)}, {Name: "other", Addr: freeAddr(t)}}}, h)
	def, other := s.Addrs()[0].String(), s.Addrs()[1].String()
	c1 := dialAddr(t, def)
	c2 := dialAddr(t, other)

	if err := s.StopListener("tcp:default"); err != nil {
		t.Fatal(err)
	}
	expectEOF(t, c1)
	expectRefused(t, def)
	ping(t, c2)
	if on, err := s.ListenerRunning("tcp:default"); on || err != nil {
		t.Fatalf("running %v, %v after stop", on, err)
	}
	if on, _ := s.ListenerRunning("tcp:other"); !on {
		t.Fatal("tcp:other not running")
	}
	waitFor(t, "OnClose of the stopped listener's client", func() bool {
		for _, err := range h.closedErrs() {
			if errors.Is(err, ErrListenerStopped) {
				return true
			}
		}
		return false
	})
	if err := s.StopListener("tcp:default"); err != nil {
		t.Fatalf("second stop: %v", err)
	}
	if s.Addrs()[0].String() != def {
		t.Fatalf("stopped listener's address %v, want %s kept", s.Addrs()[0], def)
	}

	if err := s.StartListener("tcp:default"); err != nil {
		t.Fatal(err)
	}
	if err := s.StartListener("tcp:default"); err != nil {
		t.Fatalf("second start: %v", err)
	}
	c3 := dialAddr(t, def)
	if on, _ := s.ListenerRunning("tcp:default"); !on {
		t.Fatal("tcp:default not running after start")
	}

	if err := s.RestartListener("tcp:default"); err != nil {
		t.Fatal(err)
	}
	expectEOF(t, c3)
	dialAddr(t, def)
	ping(t, c2)

	for _, id := range []string{"tcp:nobody", "ssl:default", "", "default"} {
		if err := s.StopListener(id); !errors.Is(err, ErrUnknownListener) {
			t.Errorf("StopListener(%q): %v, want ErrUnknownListener", id, err)
		}
		if err := s.StartListener(id); !errors.Is(err, ErrUnknownListener) {
			t.Errorf("StartListener(%q): %v, want ErrUnknownListener", id, err)
		}
	}
}

// TestListenerCyclesLeakNothing stops and starts a listener 30 times with
// a client connected each time: afterwards the process holds the
// descriptors and goroutines it held before (the accept goroutines, the
// sockets and the enrolled duplicates are all gone).
func TestListenerCyclesLeakNothing(t *testing.T) {
	h := &echoHandler{}
	s := startListeners(t, Config{ListenerControl: true, Listeners: []Listener{{Addr: freeAddr(t)}, {Name: "other", Addr: freeAddr(t)}}}, h)
	addr := s.Addrs()[0].String()
	keep := dialAddr(t, s.Addrs()[1].String())
	fds, gs := openFDs(t), runtime.NumGoroutine()
	for i := 0; i < 30; i++ {
		c := dialAddr(t, addr)
		if err := s.StopListener("tcp:default"); err != nil {
			t.Fatal(err)
		}
		expectEOF(t, c)
		c.Close()
		if err := s.StartListener("tcp:default"); err != nil {
			t.Fatal(err)
		}
	}
	ping(t, keep)
	waitFor(t, "descriptors and goroutines back to their count", func() bool {
		return openFDs(t) <= fds && runtime.NumGoroutine() <= gs
	})
	if n := s.Connections(); n != 1 {
		t.Fatalf("%d connections open, want 1 (the other listener's)", n)
	}
}

// TestRestartTLSListener stops an ssl listener, whose client is closed,
// renews its certificate files and starts it: a new handshake succeeds
// and shows the renewed certificate.
func TestRestartTLSListener(t *testing.T) {
	pki := newPKI(t)
	conf := pki.serverTLS(t, false)
	s := startListeners(t, Config{ListenerControl: true, Listeners: []Listener{{Kind: KindSSL, Addr: "127.0.0.1:0", TLS: conf}}}, &echoHandler{})
	addr := s.Addr().String()
	dialTLS := func() *tls.Conn {
		c, err := tls.Dial("tcp", addr, &tls.Config{RootCAs: pki.pool, ServerName: "localhost"})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		ping(t, c)
		return c
	}
	c := dialTLS()
	if err := s.StopListener("ssl:default"); err != nil {
		t.Fatal(err)
	}
	expectEOF(t, c)
	expectRefused(t, addr)
	certFile, keyFile, _ := pki.issue(t, certOpts{name: "server", cn: "renewed", server: true})
	if certFile != conf.CertFile || keyFile != conf.KeyFile {
		t.Fatalf("renewed files %s %s, want %s %s", certFile, keyFile, conf.CertFile, conf.KeyFile)
	}
	if err := s.StartListener("ssl:default"); err != nil {
		t.Fatal(err)
	}
	if cn := dialTLS().ConnectionState().PeerCertificates[0].Subject.CommonName; cn != "renewed" {
		t.Fatalf("certificate CN %q after start, want the renewed one", cn)
	}
	if st := s.TransportStats()[0]; st.Handshakes != 2 {
		t.Fatalf("%d handshakes, want 2", st.Handshakes)
	}
}

// TestUDPListenerNotStoppable checks that a gateway's udp listener is
// refused by name.
func TestUDPListenerNotStoppable(t *testing.T) {
	s := startListeners(t, Config{ListenerControl: true, Listeners: []Listener{{Addr: "127.0.0.1:0"},
		{Kind: KindUDP, Name: "sn", Addr: "127.0.0.1:0", Gateway: nopGateway{}}}}, &echoHandler{})
	for _, f := range []func(string) error{s.StopListener, s.StartListener, s.RestartListener} {
		if err := f("udp:sn"); !errors.Is(err, ErrNotStoppable) {
			t.Fatalf("%v, want ErrNotStoppable", err)
		}
	}
	if on, err := s.ListenerRunning("udp:sn"); !on || err != nil {
		t.Fatalf("udp:sn running %v, %v", on, err)
	}
}

// nopGateway drops every datagram.
type nopGateway struct{}

func (nopGateway) Bind(*Endpoint)                    {}
func (nopGateway) OnDatagram(netip.AddrPort, []byte) {}
func (nopGateway) Flush()                            {}

// TestListenerStartsStopped configures a listener Stopped: Start leaves
// its port closed, StartListener opens it on its configured address.
func TestListenerStartsStopped(t *testing.T) {
	addr := freeAddr(t)
	s := startListeners(t, Config{ListenerControl: true, Listeners: []Listener{{Addr: freeAddr(t)}, {Name: "later", Addr: addr, Stopped: true}}}, &echoHandler{})
	expectRefused(t, addr)
	if on, _ := s.ListenerRunning("tcp:later"); on {
		t.Fatal("a listener configured stopped runs")
	}
	if err := s.StartListener("tcp:later"); err != nil {
		t.Fatal(err)
	}
	dialAddr(t, addr)
	if s.Addrs()[1].String() != addr {
		t.Fatalf("address %v, want %s", s.Addrs()[1], addr)
	}
}

// TestNoListenerControl checks a Server without ListenerControl: gnet
// accepts on the listeners, which run, and the listener methods refuse.
func TestNoListenerControl(t *testing.T) {
	s := startListeners(t, Config{Listeners: []Listener{{Addr: "127.0.0.1:0"}}}, &echoHandler{})
	dialAddr(t, s.Addr().String())
	for _, f := range []func(string) error{s.StopListener, s.StartListener, s.RestartListener} {
		if err := f("tcp:default"); !errors.Is(err, ErrNoListenerControl) {
			t.Fatalf("%v, want ErrNoListenerControl", err)
		}
	}
	if err := s.StopListener("tcp:nobody"); !errors.Is(err, ErrUnknownListener) {
		t.Fatalf("unknown id: %v", err)
	}
	if on, err := s.ListenerRunning("tcp:default"); !on || err != nil {
		t.Fatalf("running %v, %v", on, err)
	}
	if _, err := New(Config{Listeners: []Listener{{Addr: "127.0.0.1:0", Stopped: true}}}, &echoHandler{}); !errors.Is(err, ErrInvalidConfig) {
		t.Fatalf("a listener configured stopped without ListenerControl: %v", err)
	}
}
