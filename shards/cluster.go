package shards

import (
	"context"

	"github.com/shardmq/shardmq/shards/cluster"
)

// Cluster is the seam through which the shards see the other nodes of a
// cluster. The shards are its consumer; cluster.Single (the default, a
// node alone) and the NATS cluster of shards/cluster implement it.
//
// When Alone reports true (read once, by New) the shards call nothing
// else: the publish and subscribe paths pay one predictable branch.
type Cluster interface {
	// Alone reports whether this node is the whole cluster.
	Alone() bool
	// Owner returns the node that must serve clientID, "" when this node
	// may. A CONNECT for another node's client id is refused with 0x9C Use
	// another server naming the node in Server Reference (MQTT 5; 3.x:
	// server unavailable).
	Owner(ctx context.Context, clientID string) (string, error)
	// Interest tells the other nodes that this node gained its first (on)
	// or lost its last (!on) subscription to filter; calls for one filter
	// come in the order the index changed.
	Interest(filter string, on bool)
	// Route fills r with where a message on topic goes beyond this node.
	Route(topic, publisher []byte, r *cluster.Route)
	// NewOutbox returns the Outbox of one shard.
	NewOutbox() cluster.Outbox
}
