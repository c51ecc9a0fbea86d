package catalog

import (
	"os/exec"
	"strings"
	"testing"
)

// TestDeps guards the import graph of DESIGN.md: the catalog knows nothing
// of the broker, the network or the HTTP API.
func TestDeps(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", ".").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	forbidden := map[string]string{
		"github.com/shardmq/shardmq/shards":  "the shards hand rows through an interface they define",
		"github.com/shardmq/shardmq/httpapi": "the API calls the catalog, not the reverse",
		"github.com/shardmq/shardmq/netio":   "the catalog never sees connections",
		"github.com/shardmq/shardmq/mqtt":    "the catalog never sees MQTT packets",
		"github.com/panjf2000/gnet/v2":       "no event loops in the catalog",
		"net/http":                           "no HTTP in the catalog",
	}
	for _, dep := range strings.Fields(string(out)) {
		if why, bad := forbidden[dep]; bad {
			t.Errorf("catalog imports %s: %s", dep, why)
		}
	}
}
