package deadline

import (
	"os/exec"
	"strings"
	"testing"
)

// TestDeps keeps the package a leaf: netio and shards both use it, and
// netio must never depend on shards, so it imports nothing of this module.
func TestDeps(t *testing.T) {
	const module, self = "github.com/shardmq/shardmq", "github.com/shardmq/shardmq/netio/deadline"
	out, err := exec.Command("go", "list", "-deps", "-f", "{{.ImportPath}}", self).Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	deps := strings.Fields(string(out))
	if len(deps) == 0 || deps[len(deps)-1] != self {
		t.Fatalf("go list -deps returned %q, expected the package last", deps)
	}
	for _, d := range deps[:len(deps)-1] {
		if strings.HasPrefix(d, module+"/") {
			t.Errorf("deadline imports %s: it must stay a leaf", d)
		}
	}
}
