package natscluster

import (
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// jetStream binds (creating them if needed) the key-value buckets of the
// retained messages and of the session registry, retrying every second
// until JetStream answers: a clustered JetStream needs a quorum of its
// servers, so a node alone waits for its seeds. It then starts the watch
// of the retained messages.
func (n *Node) jetStream() {
	warned := false
	for {
		ret, err := n.bucket("_retained")
		var sess jetstream.KeyValue
		if err == nil {
			sess, err = n.bucket("_sessions")
		}
		if err == nil {
			n.retained.kv.Store(&kvHandle{ret})
			n.registry.kv.Store(&kvHandle{sess})
			close(n.registry.ready)
			if warned {
				n.log.Info("cluster: JetStream available")
			}
			select {
			case n.retained.kick <- struct{}{}:
			default:
			}
			n.watchRetained(ret)
			return
		}
		if !warned && !n.closed.Load() {
			warned = true
			n.log.Warn("cluster: JetStream not available yet (no quorum); retained messages and the session registry wait", "err", err)
		}
		select {
		case <-n.quit:
			return
		case <-time.After(time.Second):
		}
	}
}

// bucket creates or binds the bucket {name}{suffix}.
func (n *Node) bucket(suffix string) (jetstream.KeyValue, error) {
	ctx, cancel := n.untilQuit(2 * time.Second)
	defer cancel()
	return n.js.CreateOrUpdateKeyValue(ctx, jetstream.KeyValueConfig{
		Bucket:   n.cfg.Name + suffix,
		History:  1,
		Storage:  jetstream.FileStorage,
		Replicas: n.cfg.Replicas,
	})
}
