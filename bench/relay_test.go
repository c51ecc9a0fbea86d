package bench

import (
	"bytes"
	"io"
	"net"
	"testing"
	"time"
)

// relayDial connects to r with key and closes the connection when the
// test ends.
func relayDial(t *testing.T, r *Relay, key string) net.Conn {
	t.Helper()
	nc, err := net.Dial("tcp", r.Addr())
	if err != nil {
		t.Fatal(err)
	}
	if err := dialRelay(nc, key); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { nc.Close() })
	return nc
}

func TestRelayPairsAndForwards(t *testing.T) {
	r, err := NewRelay("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	dial := func(key string) net.Conn { return relayDial(t, r, key) }
	a1, b1 := dial("one"), dial("two")
	a2, b2 := dial("one"), dial("two")
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

func TestParseGroupKey(t *testing.T) {
	tests := []struct {
		name       string
		key        string
		ok         bool
		pubs, subs int
		pub        bool
	}{
		{"fan-out publisher", groupKey("flow", 1, 100, true), true, 1, 100, true},
		{"fan-in subscriber", groupKey("flow", 50, 1, false), true, 50, 1, false},
		{"plain pair key", "pair-3", false, 0, 0, false},
		{"many to many", "flow 2 2 p", false, 0, 0, false},
		{"bad role", "flow 1 2 x", false, 0, 0, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, pubs, subs, pub, ok := parseGroupKey(tc.key)
			if ok != tc.ok || pubs != tc.pubs || subs != tc.subs || pub != tc.pub {
				t.Fatalf("parseGroupKey(%q) = %d %d %v %v", tc.key, pubs, subs, pub, ok)
			}
		})
	}
}

// TestRelayGroups checks both group topologies: one publisher's bytes
// reach every subscriber, and many publishers' frames reach one subscriber
// whole, even when a frame arrives in pieces.
func TestRelayGroups(t *testing.T) {
	r, err := NewRelay("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	dial := func(key string) net.Conn { return relayDial(t, r, key) }
	read := func(nc net.Conn, n int) []byte {
		t.Helper()
		_ = nc.SetReadDeadline(time.Now().Add(5 * time.Second))
		b := make([]byte, n)
		if _, err := io.ReadFull(nc, b); err != nil {
			t.Fatal(err)
		}
		return b
	}
	t.Run("fan-out", func(t *testing.T) {
		subs := []net.Conn{dial(groupKey("out", 1, 2, false)), dial(groupKey("out", 1, 2, false))}
		pub := dial(groupKey("out", 1, 2, true))
		if _, err := pub.Write([]byte("bytes")); err != nil {
			t.Fatal(err)
		}
		for i, s := range subs {
			if got := read(s, 5); string(got) != "bytes" {
				t.Fatalf("subscriber %d got %q", i, got)
			}
		}
	})
	t.Run("fan-in", func(t *testing.T) {
		sub := dial(groupKey("in", 2, 1, false))
		p1, p2 := dial(groupKey("in", 2, 1, true)), dial(groupKey("in", 2, 1, true))
		a := []byte{0x30, 3, 0, 1, 'a'} // PUBLISH QoS 0, remaining length 3, topic "a", no payload
		b := []byte{0x30, 3, 0, 1, 'b'} // the same on topic "b"
		// Half of a's frame, all of b's, then the rest of a's: the
		// subscriber must see b's frame, then a's, both whole.
		if _, err := p1.Write(a[:2]); err != nil {
			t.Fatal(err)
		}
		if _, err := p2.Write(b); err != nil {
			t.Fatal(err)
		}
		if got := read(sub, 5); !bytes.Equal(got, b) {
			t.Fatalf("first frame %x, want b's %x", got, b)
		}
		if _, err := p1.Write(a[2:]); err != nil {
			t.Fatal(err)
		}
		if got := read(sub, 5); !bytes.Equal(got, a) {
			t.Fatalf("second frame %x, want a's %x", got, a)
		}
	})
}
