package bench

import (
	"bytes"
	"io"
	"net"
	"testing"
	"time"
)

func TestRelayPairsAndForwards(t *testing.T) {
	r, err := NewRelay("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	dial := func(key string) net.Conn {
		t.Helper()
		nc, err := net.Dial("tcp", r.Addr())
		if err != nil {
			t.Fatal(err)
		}
		if err := dialRelay(nc, key); err != nil {
			t.Fatal(err)
		}
		return nc
	}
	a1, b1 := dial("one"), dial("two")
	a2, b2 := dial("one"), dial("two")
	defer func() {
		for _, c := range []net.Conn{a1, a2, b1, b2} {
			c.Close()
		}
	}()
	tests := []struct {
		name     string
		src, dst net.Conn
		msg      string
	}{
		{"one forward", a1, a2, "hello"},
		{"one backward", a2, a1, "world"},
		{"two forward", b1, b2, "other pair"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := tc.src.Write([]byte(tc.msg)); err != nil {
				t.Fatal(err)
			}
			_ = tc.dst.SetReadDeadline(time.Now().Add(5 * time.Second))
			got := make([]byte, len(tc.msg))
			if _, err := io.ReadFull(tc.dst, got); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, []byte(tc.msg)) {
				t.Fatalf("got %q, want %q", got, tc.msg)
			}
		})
	}
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	if err := r.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	// Closing the relay closes the paired connections.
	_ = a1.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := a1.Read(make([]byte, 1)); err == nil {
		t.Fatal("read after relay Close succeeded")
	}
}
