package natscluster

import (
	"fmt"
	"runtime"
	"testing"
)

// TestTableMemory reports the heap one remote filter costs a node: its
// place in the interest table and in the member's set (go test -run
// TestTableMemory -v). It asserts only that the table holds what was added.
func TestTableMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("allocates 200,000 filters")
	}
	const n = 200_000
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	node := &Node{}
	tb := &node.table
	m := &member{slot: 1, filters: make(map[string]struct{})}
	for i := range n {
		node.applyChangeLocked(m, fmt.Sprintf("dev/%07d/cmd", i), true)
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	t.Logf("%d filters dev/NNNNNNN/cmd: %.0f B per filter", n, float64(after.HeapAlloc-before.HeapAlloc)/n)
	if maskOf(tb, "dev/0000042/cmd") != 1<<1 {
		t.Fatal("lost a filter")
	}
	runtime.KeepAlive(node)
	runtime.KeepAlive(m)
}
