package netio

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/shardmq/shardmq/mqtt"
	"go.uber.org/goleak"
)

// TestMain checks that no goroutine outlives the servers the tests start
// (gnet's shared worker pool is process-wide and exempt).
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m,
		goleak.IgnoreAnyFunction("github.com/panjf2000/ants/v2.(*poolCommon).purgeStaleWorkers"),
		goleak.IgnoreAnyFunction("github.com/panjf2000/ants/v2.(*poolCommon).ticktock"),
		goleak.IgnoreAnyFunction("github.com/panjf2000/ants/v2.(*goWorker).run.func1"))
}

// echoHandler accepts a connection on its first frame and echoes every
// frame back; a frame of type PINGREQ with flags 1 asks it to migrate to
// another loop first.
type echoHandler struct {
	mu     sync.Mutex
	closed []error
	errs   []error
	opened int
	moved  int
	idle   time.Duration
}

func (h *echoHandler) OnOpen(c *Conn) {
	h.mu.Lock()
	h.opened++
	if c.Migrated() {
		h.moved++
	}
	h.mu.Unlock()
}

func (h *echoHandler) OnFrame(c *Conn, fh mqtt.FixedHeader, frame, body []byte) error {
	if fh.Type == mqtt.TypeDisconnect {
		c.Close(nil)
		return nil
	}
	if fh.Type == mqtt.TypePingreq && fh.Flags == 1 && !c.Migrated() {
		for _, l := range c.Loop().srv.Loops() {
			if l != c.Loop() {
				c.MigrateTo(l)
				return nil
			}
		}
	}
	c.SetIdleTimeout(h.idle)
	c.Write(append([]byte(nil), frame...))
	return nil
}

func (h *echoHandler) OnError(c *Conn, err error) {
	h.mu.Lock()
	h.errs = append(h.errs, err)
	h.mu.Unlock()
}

func (h *echoHandler) OnClose(c *Conn, err error) {
	h.mu.Lock()
	h.closed = append(h.closed, err)
	h.mu.Unlock()
}

func (h *echoHandler) OnTick(*Loop, time.Time) {}
func (h *echoHandler) OnFlush(*Loop)           {}
func (h *echoHandler) OnWritten(*Loop)         {}
func (h *echoHandler) OnShutdown(l *Loop)      {}

func (h *echoHandler) closedErrs() []error {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]error(nil), h.closed...)
}

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func startServer(t *testing.T, cfg Config, h Handler) *Server {
	t.Helper()
	cfg.Listeners = []Listener{{Addr: "127.0.0.1:0"}}
	return startListeners(t, cfg, h)
}

func dial(t *testing.T, s *Server) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", s.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func readN(t *testing.T, c net.Conn, n int) []byte {
	t.Helper()
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	b := make([]byte, n)
	if _, err := io.ReadFull(c, b); err != nil {
		t.Fatalf("read %d bytes: %v", n, err)
	}
	return b
}

// expectEOF waits for the server to close c.
func expectEOF(t *testing.T, c net.Conn) {
	t.Helper()
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	b := make([]byte, 256)
	for {
		_, err := c.Read(b)
		if err == nil {
			continue
		}
		if errors.Is(err, io.EOF) || errors.Is(err, net.ErrClosed) || isReset(err) {
			return
		}
		t.Fatalf("expected close, got %v", err)
	}
}

func isReset(err error) bool {
	var ne *net.OpError
	return errors.As(err, &ne) && !ne.Timeout()
}

func TestFramingAcrossReads(t *testing.T) {
	h := &echoHandler{}
	s := startServer(t, Config{}, h)
	// Three packets: PUBLISH with a 200-byte body (two-byte remaining
	// length), PINGREQ, and a PUBLISH with an empty topic body.
	pub := append([]byte{0x30, 0xc8, 0x01}, bytes.Repeat([]byte{'x'}, 200)...)
	ping := []byte{0xc0, 0x00}
	stream := append(append(append([]byte(nil), pub...), ping...), pub...)
	tests := []struct {
		name  string
		chunk int
	}{
		{"chunk=1", 1},
		{"chunk=2", 2},
		{"chunk=3", 3},
		{"chunk=7", 7},
		{"chunk=whole", len(stream)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := dial(t, s)
			go func() {
				for i := 0; i < len(stream); i += tc.chunk {
					_, _ = c.Write(stream[i:min(i+tc.chunk, len(stream))])
					time.Sleep(time.Millisecond)
				}
			}()
			got := readN(t, c, len(stream))
			if !bytes.Equal(got, stream) {
				t.Fatalf("echo mismatch")
			}
		})
	}
}

func TestCloseReasons(t *testing.T) {
	// Two servers: a short CONNECT timeout, and a long one so that the idle
	// case cannot be overtaken by it on a loaded machine.
	h := &echoHandler{idle: 300 * time.Millisecond}
	short := startServer(t, Config{MaxPacketSize: 64, ConnectTimeout: 300 * time.Millisecond, TickInterval: 20 * time.Millisecond}, h)
	hl := &echoHandler{idle: 300 * time.Millisecond}
	long := startServer(t, Config{MaxPacketSize: 64, ConnectTimeout: time.Minute, TickInterval: 20 * time.Millisecond}, hl)
	tests := []struct {
		name string
		h    *echoHandler
		s    *Server
		send []byte
		want error
	}{
		{"oversized", h, short, []byte{0x30, 0x7f}, mqtt.ErrPacketTooLarge},
		{"bad_varint", h, short, []byte{0x30, 0xff, 0xff, 0xff, 0xff, 0x01}, mqtt.ErrVarint},
		{"reserved_type", h, short, []byte{0x00, 0x00}, mqtt.ErrPacketType},
		{"connect_timeout", h, short, nil, ErrConnectTimeout},
		{"slowloris", h, short, []byte{0x30}, ErrConnectTimeout},
		{"idle", hl, long, []byte{0xc0, 0x00}, ErrIdleTimeout},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h, s := tc.h, tc.s
			before := len(h.closedErrs())
			c := dial(t, s)
			if tc.send != nil {
				_, _ = c.Write(tc.send)
			}
			expectEOF(t, c)
			waitFor(t, "OnClose", func() bool { return len(h.closedErrs()) > before })
			if got := h.closedErrs()[before]; !errors.Is(got, tc.want) {
				t.Fatalf("close error %v, want %v", got, tc.want)
			}
		})
	}
}

func TestMigration(t *testing.T) {
	h := &echoHandler{}
	s := startServer(t, Config{Loops: 2}, h)
	// Open connections until both loops are known.
	for len(s.Loops()) < 2 {
		c := dial(t, s)
		_, _ = c.Write([]byte{0xc0, 0x00})
		readN(t, c, 2)
	}
	c := dial(t, s)
	// The migrate request and a following packet in one write: both must be
	// echoed, in order, from the new loop.
	stream := []byte{0xc1, 0x00, 0xc0, 0x00, 0x30, 0x03, 0, 1, 'a'}
	_, _ = c.Write(stream)
	got := readN(t, c, len(stream))
	if !bytes.Equal(got, stream) {
		t.Fatalf("got % x want % x", got, stream)
	}
	h.mu.Lock()
	moved := h.moved
	h.mu.Unlock()
	if moved != 1 || s.Migrations() != 1 {
		t.Fatalf("moved = %d (server counted %d), want 1", moved, s.Migrations())
	}
	// Still served after the move.
	_, _ = c.Write([]byte{0xc0, 0x00})
	readN(t, c, 2)
}

func TestMaxConnections(t *testing.T) {
	h := &echoHandler{}
	s := startServer(t, Config{MaxConnections: 2}, h)
	a, b := dial(t, s), dial(t, s)
	for _, c := range []net.Conn{a, b} {
		_, _ = c.Write([]byte{0xc0, 0x00})
		readN(t, c, 2)
	}
	extra := dial(t, s)
	expectEOF(t, extra)
	if n := s.Connections(); n != 2 {
		t.Fatalf("connections = %d, want 2", n)
	}
}

func TestSlowConsumerHardLimit(t *testing.T) {
	h := &bigWriter{}
	s := startServer(t, Config{OutboundSoftLimit: 16 << 10, OutboundHardLimit: 64 << 10}, h)
	c := dial(t, s)
	// Never read: each PINGREQ makes the server queue 8 KiB.
	for i := 0; i < 5000 && !h.isClosed(); i++ {
		if _, err := c.Write([]byte{0xc0, 0x00}); err != nil {
			break
		}
		time.Sleep(time.Millisecond)
	}
	waitFor(t, "slow consumer close", h.isClosed)
	h.mu.Lock()
	defer h.mu.Unlock()
	if !errors.Is(h.err, ErrSlowConsumer) {
		t.Fatalf("close error %v, want ErrSlowConsumer", h.err)
	}
	if !h.sawSoft {
		t.Fatal("OverSoftLimit never reported true before the hard limit")
	}
}

type bigWriter struct {
	echoHandler
	mu      sync.Mutex
	closed  bool
	err     error
	sawSoft bool
	buf     []byte
}

func (h *bigWriter) OnFrame(c *Conn, fh mqtt.FixedHeader, frame, body []byte) error {
	c.SetIdleTimeout(0)
	if c.OverSoftLimit() {
		h.mu.Lock()
		h.sawSoft = true
		h.mu.Unlock()
	}
	if h.buf == nil {
		h.buf = make([]byte, 8<<10)
	}
	c.Write(h.buf)
	return nil
}

func (h *bigWriter) OnClose(c *Conn, err error) {
	h.mu.Lock()
	h.closed, h.err = true, err
	h.mu.Unlock()
}

func (h *bigWriter) isClosed() bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.closed
}

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
		ok   bool
	}{
		{"defaults", Config{Listeners: []Listener{{Addr: ":1"}}}, true},
		{"no_listener", Config{}, false},
		{"same_listener_twice", Config{Listeners: []Listener{{Addr: ":1"}, {Addr: ":1"}}}, false},
		{"soft_above_hard", Config{Listeners: []Listener{{Addr: ":1"}}, OutboundSoftLimit: 10, OutboundHardLimit: 5}, false},
		{"negative", Config{Listeners: []Listener{{Addr: ":1"}}, Loops: -1}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.cfg.Validate(); (err == nil) != tc.ok {
				t.Fatalf("Validate() = %v, want ok=%v", err, tc.ok)
			}
		})
	}
}

func TestMaxConnectRate(t *testing.T) {
	h := &echoHandler{}
	s := startServer(t, Config{MaxConnectRate: 2}, h)
	accepted := 0
	for i := 0; i < 20; i++ {
		c := dial(t, s)
		_, _ = c.Write([]byte{0xc0, 0x00})
		_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
		b := make([]byte, 2)
		if _, err := io.ReadFull(c, b); err == nil {
			accepted++
		}
	}
	// The bucket holds 2; letting all 20 in would take 9 s of refills.
	if accepted < 2 || accepted >= 20 || s.Rejected() != int64(20-accepted) {
		t.Fatalf("accepted %d, rejected %d of 20 at 2/s", accepted, s.Rejected())
	}
}

func TestTwoListeners(t *testing.T) {
	h := &echoHandler{}
	// Two different addresses: a free port found now, and port 0.
	free, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	second := free.Addr().String()
	free.Close()
	s, err := New(Config{Listeners: []Listener{{Addr: "127.0.0.1:0"}, {Name: "second", Addr: second}}, Loops: 2}, h)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = s.Shutdown(ctx)
	}()
	addrs := s.Addrs()
	if len(addrs) != 2 || addrs[0].String() == addrs[1].String() || addrs[1].String() != second {
		t.Fatalf("addrs %v", addrs)
	}
	for _, a := range addrs {
		c, err := net.Dial("tcp", a.String())
		if err != nil {
			t.Fatal(err)
		}
		_, _ = c.Write([]byte{0xc0, 0x00})
		b := make([]byte, 2)
		_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
		if _, err := io.ReadFull(c, b); err != nil {
			t.Fatalf("%v: %v", a, err)
		}
		c.Close()
	}
}

// TestLoopsKnownAtStart: Start returns with every loop known, before any
// client connected, and the Handler heard of no connection.
func TestLoopsKnownAtStart(t *testing.T) {
	for _, n := range []int{1, 3} {
		h := &echoHandler{}
		s := startServer(t, Config{Loops: n}, h)
		if got := len(s.Loops()); got != n {
			t.Fatalf("Loops: %d known after Start, want %d", got, n)
		}
		seen := map[int]bool{}
		for _, l := range s.Loops() {
			seen[l.Index()] = true
		}
		if len(seen) != n {
			t.Fatalf("loop indices %v, want %d distinct", seen, n)
		}
		h.mu.Lock()
		opened := h.opened
		h.mu.Unlock()
		if opened != 0 || s.Connections() != 0 {
			t.Fatalf("Handler opened %d, Connections %d: want 0", opened, s.Connections())
		}
		c := dial(t, s)
		_, _ = c.Write([]byte{0xc0, 0x00})
		readN(t, c, 2)
	}
}
