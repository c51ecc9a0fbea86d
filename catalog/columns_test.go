package catalog

import (
	"testing"
	"unsafe"
)

// TestCountersLayout guards the assumption of ctrAt and ctrPtr that
// Counters is laid out like [numStats]int64 in statNames order.
func TestCountersLayout(t *testing.T) {
	if unsafe.Sizeof(Counters{}) != numStats*8 {
		t.Fatalf("Counters is %d bytes, want %d", unsafe.Sizeof(Counters{}), numStats*8)
	}
	var c Counters
	for i, p := range statFields(&c) {
		*p = int64(i + 1)
	}
	for i := range numStats {
		if ctrAt(&c, i) != int64(i+1) || ctrPtr(&c, i) != statFields(&c)[i] {
			t.Fatalf("counter %d (%s) is not where statFields puts it", i, statNames[i])
		}
		col, ok := ColumnByName(statNames[i])
		if !ok || col.stat != i || col.SQL == "" {
			t.Fatalf("column of %s: %+v", statNames[i], col)
		}
	}
}
