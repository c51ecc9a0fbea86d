package shards

import (
	"testing"
	"unsafe"
)

// TestSessionSize keeps a session in the 256-byte allocation size class
// and a connState in the 48-byte one: every connection holds one of each,
// and the next classes up are 288 and 64 bytes. The counters an idle
// session holds are 15 of 32 bits; its will, when it has one, is 24 B.
func TestSessionSize(t *testing.T) {
	tests := []struct {
		name string
		size uintptr
		max  uintptr
	}{
		{name: "session", size: unsafe.Sizeof(session{}), max: 256},
		{name: "sessCounters", size: unsafe.Sizeof(sessCounters{}), max: 15 * 4},
		{name: "willMsg", size: unsafe.Sizeof(willMsg{}), max: 24},
		{name: "sessExtra", size: unsafe.Sizeof(sessExtra{}), max: 144},
		{name: "connState", size: unsafe.Sizeof(connState{}), max: 48},
	}
	for _, tt := range tests {
		t.Run("type="+tt.name, func(t *testing.T) {
			if tt.size > tt.max {
				t.Fatalf("%s is %d B, above %d B", tt.name, tt.size, tt.max)
			}
		})
	}
}
