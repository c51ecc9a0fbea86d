package netio

import (
	"testing"
	"unsafe"
)

// TestConnSize keeps a Conn in the 192-byte allocation size class: every
// connection holds one, and the next classes up are 208, 224 and 240 bytes.
func TestConnSize(t *testing.T) {
	tests := []struct {
		name string
		size uintptr
		max  uintptr
	}{
		{name: "Conn", size: unsafe.Sizeof(Conn{}), max: 192},
	}
	for _, tt := range tests {
		t.Run("type="+tt.name, func(t *testing.T) {
			if tt.size > tt.max {
				t.Fatalf("%s is %d B, above %d B", tt.name, tt.size, tt.max)
			}
		})
	}
}
