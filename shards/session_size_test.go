package shards

import (
	"testing"
	"unsafe"
)

// TestSessionSize keeps a session in the 480-byte allocation size class:
// every connection holds one, and the next class up is 512 bytes.
func TestSessionSize(t *testing.T) {
	tests := []struct {
		name string
		size uintptr
		max  uintptr
	}{
		{name: "session", size: unsafe.Sizeof(session{}), max: 480},
		{name: "sessCounters", size: unsafe.Sizeof(sessCounters{}), max: 22 * 8},
	}
	for _, tt := range tests {
		t.Run("type="+tt.name, func(t *testing.T) {
			if tt.size > tt.max {
				t.Fatalf("%s is %d B, above %d B", tt.name, tt.size, tt.max)
			}
		})
	}
}
