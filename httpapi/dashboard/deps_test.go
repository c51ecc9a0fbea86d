package dashboard

import (
	"os/exec"
	"strings"
	"testing"
)

// TestDeps guards the import graph: the dashboard reaches the broker only
// through the API, in the browser.
func TestDeps(t *testing.T) {
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("go tool not in PATH")
	}
	out, err := exec.Command(goBin, "list", "-deps", ".").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	forbidden := map[string]string{
		"github.com/shardmq/shardmq/shards": "the pages call the API; cmd wires the broker",
		"github.com/shardmq/shardmq/netio":  "sockets belong to the broker",
		"github.com/panjf2000/gnet/v2":      "sockets belong to the broker",
	}
	for _, d := range strings.Fields(string(out)) {
		if why, bad := forbidden[d]; bad {
			t.Errorf("httpapi/dashboard imports %s: %s", d, why)
		}
	}
}
