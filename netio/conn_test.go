package netio

import "testing"

// TestResetOut holds the write list's reuse policy (resetOut): a list of
// up to 64 is always kept, a longer one is kept after a batch that used at
// least a quarter of it and dropped after one that used less, and the
// written slices are never kept alive by it.
func TestResetOut(t *testing.T) {
	tests := []struct {
		name     string
		capacity int
		used     int
		kept     bool
	}{
		{name: "small/full", capacity: 64, used: 64, kept: true},
		{name: "small/one", capacity: 64, used: 1, kept: true},
		{name: "large/quarter", capacity: 1024, used: 256, kept: true},
		{name: "large/under-quarter", capacity: 1024, used: 255, kept: false},
		{name: "large/empty", capacity: 1024, used: 0, kept: false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := &Conn{out: make([][]byte, tc.used, tc.capacity), outN: 3 * tc.used}
			for i := range c.out {
				c.out[i] = []byte("abc")
			}
			backing := c.out[:tc.used:tc.capacity]
			c.resetOut()
			if len(c.out) != 0 || c.outN != 0 {
				t.Fatalf("after reset: %d writes, %d bytes pending", len(c.out), c.outN)
			}
			if kept := cap(c.out) == tc.capacity; kept != tc.kept {
				t.Fatalf("cap %d after a batch of %d in %d: kept %v, want %v", cap(c.out), tc.used, tc.capacity, kept, tc.kept)
			}
			for i, b := range backing {
				if b != nil {
					t.Fatalf("write %d still referenced after reset", i)
				}
			}
		})
	}
}
