package netio

import (
	"context"
	"crypto/tls"
	"io"
	"net"
	"os"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/panjf2000/gnet/v2"
	"golang.org/x/sys/unix"
)

// The benchmarks that chose how TLS reaches the loops (docs/architecture.md,
// "Transports"): records on the loop with the keys alone kept (the design
// built, design=loop), the same with crypto/tls's connection kept for the
// records (design=tlsconn, a prototype), and a goroutine pair per
// connection running crypto/tls and feeding the loop through a socket pair
// registered with gnet (design=goroutine, a prototype). design=tcp is
// plain TCP, the reference.

// memInUse returns the live heap and the stacks in use after two
// collections (live), and the heap spans in use, fragmentation included,
// with the stacks (spans).
func memInUse() (live, spans uint64) {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc + m.StackInuse, m.HeapInuse + m.StackInuse
}

// goroutineTLS is the goroutine-per-connection prototype: it accepts TLS
// on its own listener, and for each connection enrolls one end of a socket
// pair with the server and copies between the pair and crypto/tls's
// connection in two goroutines (4 KiB buffers each way).
type goroutineTLS struct {
	ln  net.Listener
	srv *Server
	cfg *tls.Config
	wg  sync.WaitGroup
}

func (g *goroutineTLS) serve(t testing.TB) {
	defer g.wg.Done()
	for {
		c, err := g.ln.Accept()
		if err != nil {
			return
		}
		g.wg.Add(1)
		go func() {
			defer g.wg.Done()
			tc := tls.Server(c, g.cfg)
			if err := tc.Handshake(); err != nil {
				c.Close()
				return
			}
			ours, theirs := socketPair(t)
			if err := enroll(g.srv, ours); err != nil {
				c.Close()
				theirs.Close()
				return
			}
			g.wg.Add(1)
			go func() {
				defer g.wg.Done()
				buf := make([]byte, 4<<10)
				_, _ = io.CopyBuffer(tc, theirs, buf)
				tc.Close()
			}()
			buf := make([]byte, 4<<10)
			_, _ = io.CopyBuffer(theirs, tc, buf)
			theirs.Close()
		}()
	}
}

// benchServer starts a server for design d and returns the address to dial
// and whether clients speak TLS.
func benchServer(b *testing.B, d string, pki *testPKI) (string, bool) {
	h := &echoHandler{} // accepts on the first frame, no idle timeout
	tlsConf := pki.serverTLS(b, false)
	switch d {
	case "tcp", "tlsconn":
		return startListeners(b, Config{Loops: 2, Listeners: []Listener{{Addr: "127.0.0.1:0"}}}, h).Addr().String(), false
	case "loop":
		return startListeners(b, Config{Loops: 2, Listeners: []Listener{{Kind: KindSSL, Addr: "127.0.0.1:0", TLS: tlsConf}}}, h).Addr().String(), true
	}
	s := startListeners(b, Config{Loops: 2, Listeners: []Listener{{Addr: "127.0.0.1:0"}, {Kind: "enrolled", Addr: "-"}}}, h)
	cert, err := tls.LoadX509KeyPair(tlsConf.CertFile, tlsConf.KeyFile)
	if err != nil {
		b.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	g := &goroutineTLS{ln: ln, srv: s, cfg: &tls.Config{Certificates: []tls.Certificate{cert}, NextProtos: []string{"mqtt"}}}
	g.wg.Add(1)
	go g.serve(b)
	b.Cleanup(func() { ln.Close(); g.wg.Wait() })
	return ln.Addr().String(), true
}

// benchClient is the client side of the benchmarks: X25519 and a P-256
// server certificate, as the bench harness.
func benchClient(pki *testPKI) *tls.Config {
	return &tls.Config{RootCAs: pki.pool, ServerName: "localhost", CurvePreferences: []tls.CurveID{tls.X25519},
		NextProtos: []string{"mqtt"}}
}

// connectIdle opens one connection, completes its handshake and a PINGREQ
// round trip, and returns the socket alone: the client's crypto/tls state
// is dropped so that only the server's side stays in the process.
func connectIdle(b *testing.B, addr string, secure bool, cfg *tls.Config) net.Conn {
	c, err := net.Dial("tcp", addr)
	if err != nil {
		b.Fatal(err)
	}
	rw := io.ReadWriter(c)
	if secure {
		tc := tls.Client(c, cfg)
		if err := tc.Handshake(); err != nil {
			b.Fatal(err)
		}
		rw = tc
	}
	if _, err := rw.Write([]byte{0xc0, 0x00}); err != nil {
		b.Fatal(err)
	}
	return c
}

// memPipe is one end of an in-memory duplex for the tlsconn prototype.
type memPipe struct {
	mu   *sync.Mutex
	cond *sync.Cond
	in   *[]byte
	out  *[]byte
}

func newMemPipes() (*memPipe, *memPipe) {
	mu := &sync.Mutex{}
	cond := sync.NewCond(mu)
	var a, b []byte
	return &memPipe{mu, cond, &a, &b}, &memPipe{mu, cond, &b, &a}
}

func (p *memPipe) Read(b []byte) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for len(*p.in) == 0 {
		p.cond.Wait()
	}
	n := copy(b, *p.in)
	*p.in = (*p.in)[n:]
	if len(*p.in) == 0 {
		*p.in = nil
	}
	return n, nil
}

func (p *memPipe) Write(b []byte) (int, error) {
	p.mu.Lock()
	*p.out = append(*p.out, b...)
	p.cond.Broadcast()
	p.mu.Unlock()
	return len(b), nil
}

func (p *memPipe) Close() error                     { return nil }
func (p *memPipe) LocalAddr() net.Addr              { return &net.TCPAddr{} }
func (p *memPipe) RemoteAddr() net.Addr             { return &net.TCPAddr{} }
func (p *memPipe) SetDeadline(time.Time) error      { return nil }
func (p *memPipe) SetReadDeadline(time.Time) error  { return nil }
func (p *memPipe) SetWriteDeadline(time.Time) error { return nil }

// tlsConnState makes a server crypto/tls connection that completed a
// handshake and carried one record, as the tlsconn design keeps per
// connection.
func tlsConnState(b *testing.B, server *tls.Config, client *tls.Config) *tls.Conn {
	sp, cp := newMemPipes()
	s, c := tls.Server(sp, server), tls.Client(cp, client)
	done := make(chan error, 1)
	go func() {
		err := c.Handshake()
		if err == nil {
			_, err = c.Write([]byte{0xc0, 0x00})
		}
		done <- err
	}()
	if err := s.Handshake(); err != nil {
		b.Fatal(err)
	}
	if _, err := s.Read(make([]byte, 2)); err != nil {
		b.Fatal(err)
	}
	if err := <-done; err != nil {
		b.Fatal(err)
	}
	return s
}

// BenchmarkTLSIdleMemory opens b.N connections, each with a handshake
// and one PINGREQ, waits until idle TLS connections dropped their ciphers,
// and reports the heap and stacks in use per connection (client sockets
// included, the same in every design). Run it with -benchtime=2000x.
func BenchmarkTLSIdleMemory(b *testing.B) {
	pki := newPKI(b)
	for _, d := range []string{"tcp", "loop", "tlsconn", "goroutine"} {
		b.Run("design="+d, func(b *testing.B) {
			b.ReportAllocs()
			addr, secure := benchServer(b, d, pki)
			cfg := benchClient(pki)
			var serverCfg *tls.Config
			if d == "tlsconn" {
				conf := pki.serverTLS(b, false)
				cert, _ := tls.LoadX509KeyPair(conf.CertFile, conf.KeyFile)
				serverCfg = &tls.Config{Certificates: []tls.Certificate{cert}}
			}
			conns := make([]net.Conn, 0, b.N)
			kept := make([]*tls.Conn, 0, b.N)
			live0, spans0 := memInUse()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				conns = append(conns, connectIdle(b, addr, secure, cfg))
				if d == "tlsconn" {
					kept = append(kept, tlsConnState(b, serverCfg, cfg))
				}
			}
			b.StopTimer()
			if d == "loop" {
				time.Sleep(2*cipherIdle + time.Second) // two sweeps
			}
			live, spans := memInUse()
			b.ReportMetric(float64(live-live0)/float64(b.N), "live-B/conn")
			b.ReportMetric(float64(spans-spans0)/float64(b.N), "span-B/conn")
			runtime.KeepAlive(kept)
			for _, c := range conns {
				c.Close()
			}
		})
	}
}

// BenchmarkTLSHandshake runs full handshakes (no resumption) from 8
// concurrent clients and reports handshakes per second.
func BenchmarkTLSHandshake(b *testing.B) {
	pki := newPKI(b)
	for _, d := range []string{"loop", "goroutine"} {
		b.Run("design="+d+"/clients=8", func(b *testing.B) {
			b.ReportAllocs()
			addr, _ := benchServer(b, d, pki)
			cfg := benchClient(pki)
			var wg sync.WaitGroup
			next := make(chan struct{}, b.N)
			for i := 0; i < b.N; i++ {
				next <- struct{}{}
			}
			close(next)
			start := time.Now()
			b.ResetTimer()
			for w := 0; w < 8; w++ {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for range next {
						c := connectIdle(b, addr, true, cfg)
						c.Close()
					}
				}()
			}
			wg.Wait()
			b.StopTimer()
			b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "handshakes/s")
		})
	}
}

// enroll puts nc, one end of a socket pair, on a loop of s as the
// goroutine design's transport would: the Server has no such entry point,
// since its transports run on the loops. gnet's round-robin balancer is
// not safe from other goroutines than its acceptor, so benchmarks only.
func enroll(s *Server, nc net.Conn) error {
	ch, err := s.eng.Register(gnet.NewNetConnContext(context.Background(), nc))
	if err != nil {
		nc.Close()
		return err
	}
	return (<-ch).Err
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
