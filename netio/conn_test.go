package netio

import "testing"

// TestResetOut holds the write list's reuse policy (resetOut): a list of
// up to outKeep entries goes back to the loop (the connection holds none),
// a longer one is kept after a batch that used at least a quarter of it and
// dropped after one that used less, and the written slices are never kept
// alive by it.
func TestResetOut(t *testing.T) {
	tests := []struct {
		name     string
		capacity int
		used     int
		where    string // "loop", "conn" or "dropped"
	}{
		{name: "small/full", capacity: outKeep, used: outKeep, where: "loop"},
		{name: "small/one", capacity: outKeep, used: 1, where: "loop"},
		{name: "large/quarter", capacity: 1024, used: 256, where: "conn"},
		{name: "large/under-quarter", capacity: 1024, used: 255, where: "dropped"},
		{name: "large/empty", capacity: 1024, used: 0, where: "dropped"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			l := &Loop{}
			c := &Conn{loop: l, out: make([][]byte, tc.used, tc.capacity), outN: 3 * tc.used}
			for i := range c.out {
				c.out[i] = []byte("abc")
			}
			backing := c.out[:tc.used:tc.capacity]
			c.resetOut()
			if len(c.out) != 0 || c.outN != 0 {
				t.Fatalf("after reset: %d writes, %d bytes pending", len(c.out), c.outN)
			}
			where := "dropped"
			switch {
			case cap(c.out) == tc.capacity:
				where = "conn"
			case len(l.spareOut) == 1 && cap(l.spareOut[0]) == tc.capacity:
				where = "loop"
			}
			if where != tc.where || (where == "loop" && c.out != nil) {
				t.Fatalf("cap %d after a batch of %d: the list went to the %s (conn holds %d), want %s", tc.capacity, tc.used, where, cap(c.out), tc.where)
			}
			for i, b := range backing {
				if b != nil {
					t.Fatalf("write %d still referenced after reset", i)
				}
			}
		})
	}
}

// TestWriteTakesSpareList checks that a connection's first write of a
// batch takes a list its loop keeps (no allocation), and that the list
// returns to the loop after the batch.
func TestWriteTakesSpareList(t *testing.T) {
	l := &Loop{}
	a, b := &Conn{loop: l}, &Conn{loop: l}
	msg := []byte("abc")
	a.Write(msg)
	a.resetOut()
	if a.out != nil || len(l.spareOut) != 1 {
		t.Fatalf("after a's batch: a holds %d, the loop %d lists", cap(a.out), len(l.spareOut))
	}
	allocs := testing.AllocsPerRun(100, func() {
		b.Write(msg)
		b.Write(msg)
		for _, c := range l.writers {
			c.queued = false
		}
		l.writers = l.writers[:0]
		b.resetOut()
	})
	if allocs != 0 {
		t.Fatalf("a batch of writes allocated %v times", allocs)
	}
	if b.out != nil || len(l.spareOut) != 1 {
		t.Fatalf("after b's batch: b holds %d, the loop %d lists", cap(b.out), len(l.spareOut))
	}
}
