package netio

import (
	"bytes"
	"errors"
	"testing"
	"time"

	"github.com/shardmq/shardmq/mqtt"
)

// holdHandler echoes frames like echoHandler, but holds the connection at
// its first CONNECT and hands it to the test, which resumes it.
type holdHandler struct {
	echoHandler
	held chan *Conn
}

func (h *holdHandler) OnFrame(c *Conn, fh mqtt.FixedHeader, frame, body []byte) error {
	if fh.Type == mqtt.TypeConnect && c.Data == nil {
		c.Data = true
		c.Hold()
		h.held <- c
		return nil
	}
	return h.echoHandler.OnFrame(c, fh, frame, body)
}

// TestHoldResume: frames after a held one (in the same read and in later
// reads) wait until Resume, then the held frame comes again, followed by
// the rest in order; input held beyond the limit closes the connection.
func TestHoldResume(t *testing.T) {
	connect := []byte{0x10, 0x0c, 0, 4, 'M', 'Q', 'T', 'T', 4, 2, 0, 60, 0, 0}
	ping := []byte{0xc0, 0x00}
	t.Run("resume", func(t *testing.T) {
		h := &holdHandler{held: make(chan *Conn, 1)}
		s := startServer(t, Config{Loops: 1}, h)
		c := dial(t, s)
		// CONNECT and a PINGREQ in one write, a partial PINGREQ after it.
		if _, err := c.Write(append(append(append([]byte(nil), connect...), ping...), 0xc0)); err != nil {
			t.Fatal(err)
		}
		var held *Conn
		select {
		case held = <-h.held:
		case <-time.After(5 * time.Second):
			t.Fatal("CONNECT not seen")
		}
		if _, err := c.Write([]byte{0x00}); err != nil { // completes the partial PINGREQ
			t.Fatal(err)
		}
		_ = c.SetReadDeadline(time.Now().Add(100 * time.Millisecond))
		if n, err := c.Read(make([]byte, 1)); err == nil {
			t.Fatalf("%d bytes echoed while held", n)
		}
		waitFor(t, "later read held", func() bool {
			done := make(chan int, 1)
			if err := held.Loop().Execute(func() { done <- len(held.rareFields().held) }); err != nil {
				t.Fatal(err)
			}
			return <-done == len(connect)+2*len(ping)
		})
		if err := held.Loop().Execute(held.Resume); err != nil {
			t.Fatal(err)
		}
		want := append(append(append([]byte(nil), connect...), ping...), ping...)
		if got := readN(t, c, len(want)); !bytes.Equal(got, want) {
			t.Fatalf("echoed % x, want % x", got, want)
		}
	})
	t.Run("limit", func(t *testing.T) {
		h := &holdHandler{held: make(chan *Conn, 1)}
		s := startServer(t, Config{Loops: 1, MaxPacketSize: 64}, h)
		c := dial(t, s)
		if _, err := c.Write(connect); err != nil {
			t.Fatal(err)
		}
		<-h.held
		if _, err := c.Write(bytes.Repeat(ping, 80)); err != nil { // 160 bytes > 2 × 64
			t.Fatal(err)
		}
		expectEOF(t, c)
		waitFor(t, "close reason", func() bool {
			errs := h.closedErrs()
			return len(errs) == 1 && errors.Is(errs[0], ErrHoldLimit)
		})
	})
}
