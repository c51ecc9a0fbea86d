package natscluster

import (
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// jetStream binds (creating them if needed) the key-value buckets of the
// retained messages and of the session registry (RegistryBuckets of them), retrying every second
// until JetStream answers: a clustered JetStream needs a quorum of its
// servers, so a node alone waits for its seeds. It then starts the watch
// of the retained messages.
func (n *Node) jetStream() {
	warned := false
	for {
		ret, err := n.bucket(n.cfg.Name + "_retained")
		rbs := make(registryBuckets, n.cfg.RegistryBuckets)
		for i := range rbs {
			if err != nil {
				break
			}
			rbs[i].name = n.cfg.registryBucketName(i)
			rbs[i].kv, err = n.bucket(rbs[i].name)
		}
		if err == nil {
			n.retained.kv.Store(&kvHandle{ret})
			n.registry.kv.Store(&rbs)
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

// bucket creates or binds the bucket name.
func (n *Node) bucket(name string) (jetstream.KeyValue, error) {
	ctx, cancel := n.untilQuit(2 * time.Second)
	defer cancel()
	return n.js.CreateOrUpdateKeyValue(ctx, jetstream.KeyValueConfig{
		Bucket:   name,
		History:  1,
		Storage:  jetstream.FileStorage,
		Replicas: n.cfg.Replicas,
	})
}
