package bench

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/shardmq/shardmq/mqtt"
)

// Aedes starts aedes 1.2.0 on Node.js from bench/peers/aedes: main.js, its
// package.json and package-lock.json, and the node_modules that
// bench/peers/deps.sh installs with npm ci.
type Aedes struct {
	// Node is the node binary. If empty, "node" is looked up in PATH.
	Node string
	// Dir is bench/peers/aedes with its node_modules installed.
	Dir string
}

// Name returns "aedes".
func (Aedes) Name() string { return BrokerAedes }

// Start starts the aedes peer on a free port.
func (a Aedes) Start(ctx context.Context, dir string) (*Instance, error) {
	node, err := findBinary(a.Node, "node")
	if err != nil {
		return nil, fmt.Errorf("%w: aedes: node: %v", ErrNotBuilt, err)
	}
	addr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	// The heap may grow past Node's default limit with a million sessions.
	return startProcess(ctx, dir, "aedes.log", addr, node, "--max-old-space-size=16384",
		filepath.Join(a.Dir, "main.js"), "--addr", addr)
}

// unsupported reports the protocol version aedes refuses: it speaks MQTT
// 3.1 and 3.1.1, not 5.0.
func (Aedes) unsupported(cfg Config, _ string) string {
	if cfg.Version == mqtt.V5 {
		return "aedes has no MQTT 5"
	}
	return ""
}

// FindAedes returns the aedes peer of the repository at repo, or
// ErrNotBuilt when node or its node_modules are missing.
func FindAedes(repo, node string) (Aedes, error) {
	a := Aedes{Node: node, Dir: filepath.Join(repo, "bench", "peers", "aedes")}
	if _, err := findBinary(node, "node"); err != nil {
		return a, fmt.Errorf("%w: aedes: no node (run bench/peers/deps.sh): %v", ErrNotBuilt, err)
	}
	if _, err := os.Stat(filepath.Join(a.Dir, "node_modules", "aedes", "package.json")); err != nil {
		return a, fmt.Errorf("%w: aedes: not installed (run bench/peers/deps.sh)", ErrNotBuilt)
	}
	return a, nil
}
