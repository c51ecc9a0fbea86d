package bench

import (
	"os/exec"
	"strings"
	"testing"
)

// TestDeps keeps bench a client of the broker: it talks MQTT and HTTP to
// it and must not link the broker's packages.
func TestDeps(t *testing.T) {
	if !haveGo() {
		t.Skip("go tool not in PATH")
	}
	out, err := exec.Command("go", "list", "-deps", "github.com/shardmq/shardmq/bench").Output()
	if err != nil {
		t.Fatal(err)
	}
	forbidden := map[string]string{
		"github.com/shardmq/shardmq/shards":  "bench is a client; it measures the broker from outside",
		"github.com/shardmq/shardmq/netio":   "bench is a client; it measures the broker from outside",
		"github.com/shardmq/shardmq/catalog": "bench is a client; it measures the broker from outside",
		"github.com/shardmq/shardmq/httpapi": "bench is a client; it measures the broker from outside",
		"github.com/mochi-mqtt/server/v2":    "mochi lives in its own module under bench/peers/mochi",
		"github.com/nats-io/nats-server/v2":  "nats-server lives in its own module under bench/peers/nats",
	}
	deps := strings.Fields(string(out))
	for _, d := range deps {
		if why, bad := forbidden[d]; bad {
			t.Errorf("bench imports %s: %s", d, why)
		}
	}
	if len(deps) < 10 {
		t.Fatalf("go list returned too little: %q", out)
	}
	// Nor may the product's module require the peers' modules (but
	// nats-server/v2, which the cluster engine, shards/cluster/natscluster,
	// embeds; the nats peer stays in its own module all the same).
	mods, err := exec.Command("go", "list", "-m", "all").Output()
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range []string{"github.com/mochi-mqtt/server/v2"} {
		if strings.Contains(string(mods), m+" ") {
			t.Errorf("the product module requires %s; peers live in their own modules", m)
		}
	}
}
