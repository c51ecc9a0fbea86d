package store

import (
	"os/exec"
	"strings"
	"testing"
)

// TestDeps keeps the store seam below the shards: neither this package
// nor its engines import the shards (the shards import them) or anything
// of the broker above them.
func TestDeps(t *testing.T) {
	const module = "github.com/shardmq/shardmq/"
	out, err := exec.Command("go", "list", "-deps", "-f", "{{.ImportPath}}", "./...").Output()
	if err != nil {
		t.Skipf("go list: %v", err)
	}
	allowed := []string{module + "shards/store"}
	for _, dep := range strings.Fields(string(out)) {
		if !strings.HasPrefix(dep, module) {
			continue
		}
		ok := false
		for _, a := range allowed {
			ok = ok || dep == a || strings.HasPrefix(dep, a+"/")
		}
		if !ok {
			t.Errorf("the store imports %s: shards/store and its engines sit below the shards and import nothing of the broker", dep)
		}
	}
}
