package bench

import (
	"context"
	"os"
	"path/filepath"

	"github.com/shardmq/shardmq/mqtt"
)

// NATS starts nats-server v2.15.3 with its MQTT listener, built from the
// small main in bench/peers/nats (its own Go module). JetStream is on, its
// store in a fresh directory of the run: NATS keeps MQTT sessions,
// subscriptions and QoS 1/2 messages in JetStream streams.
type NATS struct {
	// Binary is the built peer (see BuildNATS).
	Binary string
}

// Name returns "nats".
func (NATS) Name() string { return BrokerNATS }

// Start starts the NATS peer on a free port with an empty JetStream store
// in dir.
func (n NATS) Start(ctx context.Context, dir string) (*Instance, error) {
	addr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	store := filepath.Join(dir, "jetstream")
	if err := os.RemoveAll(store); err != nil {
		return nil, err
	}
	return startProcess(ctx, dir, "nats.log", addr, n.Binary, "-addr", addr, "-store", store)
}

// unsupported reports the generator's protocol versions NATS refuses: its
// MQTT listener speaks 3.1.1 only (CONNACK 0x01 to anything else).
func (NATS) unsupported(cfg Config, _ string) string {
	if cfg.Version != mqtt.V311 {
		return "NATS speaks MQTT 3.1.1 only"
	}
	return ""
}

// BuildNATS builds bench/peers/nats of the repository at repo into outDir
// and returns the binary's path.
func BuildNATS(ctx context.Context, repo, outDir string) (string, error) {
	return buildPeer(ctx, repo, outDir, "nats")
}
