package shards

import (
	"github.com/shardmq/shardmq/mqtt"
	"github.com/shardmq/shardmq/netio"
	"github.com/shardmq/shardmq/shards/store"
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
	// may (it holds the session, or no node does, or it took the session
	// over). It runs on the shard handling an authenticated CONNECT,
	// before the session is looked up or created; a CONNECT for another
	// node's client id is refused with 0x9C Use another server naming the
	// node in Server Reference (MQTT 5; 3.x: server unavailable).
	Owner(clientID string) string
	// Interest tells the other nodes that this node gained its first (on)
	// or lost its last (!on) subscription to filter ($share/GROUP/
	// included), so that they forward matching messages, or stop. Calls
	// for one filter come in the order the index changed.
	Interest(filter string, on bool)
	// Remote reports whether another node wants messages published to
	// topic. It runs on the publishing shard for every message and must
	// neither block nor allocate.
	Remote(topic []byte) bool
	// Forward hands m, published on this node, to the nodes that want its
	// topic. It must not block; m is a copy the cluster may keep.
	Forward(m *store.Message)
}

// atThisNode reports whether this node serves clientID. When the Cluster
// names another node the CONNECT is refused with 0x9C Use another server,
// the node in Server Reference (MQTT 5; 3.x: server unavailable), and the
// client is expected to go there.
func (sh *shard) atThisNode(c *netio.Conn, cs *connState, v mqtt.Version, clientID string) bool {
	if sh.b.alone {
		return true
	}
	node := sh.b.cluster.Owner(clientID)
	if node == "" {
		return true
	}
	ack := &mqtt.Connack{ReasonCode: mqtt.UseAnotherServer}
	if v == mqtt.V5 {
		ack.Properties.Present.Add(mqtt.PropServerReference)
		ack.Properties.ServerReference = []byte(node)
	}
	sh.refuseWith(c, cs, v, ack, mqtt.UseAnotherServer)
	return false
}
