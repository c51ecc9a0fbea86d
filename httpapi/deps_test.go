package httpapi

import (
	"os/exec"
	"strings"
	"testing"
)

// TestDeps guards the import graph of docs/STYLE.md: httpapi talks to the
// broker only through its Broker interface.
func TestDeps(t *testing.T) {
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("go tool not in PATH")
	}
	out, err := exec.Command(goBin, "list", "-deps", ".").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	deps := strings.Fields(string(out))
	forbidden := map[string]string{
		"github.com/shardmq/shardmq/shards": "the broker implements httpapi.Broker; cmd wires it",
		"github.com/shardmq/shardmq/netio":  "sockets belong to the broker",
		"github.com/panjf2000/gnet/v2":      "sockets belong to the broker",
	}
	for _, d := range deps {
		if why, bad := forbidden[d]; bad {
			t.Errorf("httpapi imports %s: %s", d, why)
		}
	}
}
