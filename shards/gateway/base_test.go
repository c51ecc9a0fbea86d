package gateway

import (
	"net/netip"
	"sync/atomic"
	"testing"
	"time"
)

// TestBase: the counters reach Stats by reason, the tick runs until
// Close, and Close may be called twice.
func TestBase(t *testing.T) {
	var b Base
	b.Init([]string{"malformed", "oversized"})
	if b.Addr() != (netip.AddrPort{}) || b.Endpoint() != nil {
		t.Fatalf("before Bind: addr %v endpoint %v", b.Addr(), b.Endpoint())
	}
	b.Received.Add(3)
	b.Sent.Add(2)
	b.Retransmitted.Add(1)
	b.Clients.Add(5)
	b.Drop(1)
	b.Drop(1)
	s := b.Stats()
	if s.Received != 3 || s.Sent != 2 || s.Retransmitted != 1 || s.Clients != 5 ||
		len(s.Dropped) != 2 || s.Dropped[0] != 0 || s.Dropped[1] != 2 {
		t.Fatalf("stats %+v", s)
	}
	if s.Drops("oversized") != 2 || s.Drops("malformed") != 0 || s.Drops("nonesuch") != 0 {
		t.Fatalf("Drops: %d %d %d", s.Drops("oversized"), s.Drops("malformed"), s.Drops("nonesuch"))
	}

	var ticks atomic.Int64
	b.Bind(nil, func(time.Time) { ticks.Add(1) })
	deadline := time.Now().Add(5 * time.Second)
	for ticks.Load() < 2 {
		if time.Now().After(deadline) {
			t.Fatalf("%d ticks in 5 s", ticks.Load())
		}
		time.Sleep(10 * time.Millisecond)
	}
	b.Close()
	n := ticks.Load()
	time.Sleep(2 * TickInterval)
	if got := ticks.Load(); got != n {
		t.Fatalf("%d ticks after Close", got-n)
	}
	b.Close() // a second Close returns at once
}
