package netio

import (
	"io"
	"testing"
	"time"

	"github.com/shardmq/shardmq/mqtt"
)

// manySlices answers a PINGREQ with n PINGRESPs, each its own slice, in
// one batch.
type manySlices struct {
	echoHandler
	n int
}

func (h *manySlices) OnFrame(c *Conn, fh mqtt.FixedHeader, frame, body []byte) error {
	c.SetIdleTimeout(0)
	resp := []byte{0xD0, 0}
	for range h.n {
		c.Write(resp)
	}
	return nil
}

// TestWritevIovMax: a batch of more slices than one writev takes (IOV_MAX,
// 1024) reaches the client whole and in order, instead of failing with
// EINVAL and closing the connection.
func TestWritevIovMax(t *testing.T) {
	const n = 3000
	h := &manySlices{n: n}
	s := startServer(t, Config{}, h)
	c := dial(t, s)
	if _, err := c.Write([]byte{0xC0, 0}); err != nil {
		t.Fatal(err)
	}
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	got := make([]byte, 2*n)
	if _, err := io.ReadFull(c, got); err != nil {
		t.Fatalf("read: %v (closed with %v)", err, h.closedErrs())
	}
	for i := 0; i < n; i++ {
		if got[2*i] != 0xD0 || got[2*i+1] != 0 {
			t.Fatalf("byte %d: % x", 2*i, got[2*i:2*i+2])
		}
	}
}
