package natscluster

import (
	"context"
	"errors"
	"fmt"

	"github.com/nats-io/nats.go"

	"github.com/shardmq/shardmq/shards/cluster"
)

// kindHeader carries a command's kind.
const kindHeader = "Shardmq-Kind"

// Call runs a command on node: Handler.Call there with kind and body, or
// here when node is this one. A remote Handler's error comes back wrapped
// in ErrRemote with its text. It waits on the network.
func (n *Node) Call(ctx context.Context, node, kind string, body []byte) ([]byte, error) {
	if node == n.cfg.Node {
		return n.h.Call(ctx, kind, body)
	}
	if _, up := n.runningMember(node); !up {
		if n.knows(node) {
			return nil, cluster.ErrNodeStopped
		}
		return nil, cluster.ErrUnknownNode
	}
	ctx, cancel := n.requestCtx(ctx)
	defer cancel()
	msg := nats.NewMsg(n.subj.of("call", node))
	msg.Header.Set(kindHeader, kind)
	msg.Data = body
	reply, err := n.nc.RequestMsgWithContext(ctx, msg)
	if err != nil {
		if errors.Is(err, nats.ErrNoResponders) {
			return nil, cluster.ErrNodeStopped
		}
		return nil, fmt.Errorf("natscluster: call %s on %s: %w", kind, node, err)
	}
	if e := reply.Header.Get(errHeader); e != "" {
		return nil, fmt.Errorf("%w %s: %s", ErrRemote, node, e)
	}
	return reply.Data, nil
}

// knows reports whether node was ever seen.
func (n *Node) knows(node string) bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	_, ok := n.members[node]
	return ok
}

// onCall answers a command routed to this node.
func (n *Node) onCall(msg *nats.Msg) {
	ctx, cancel := n.requestCtx(context.Background())
	defer cancel()
	out, err := n.h.Call(ctx, msg.Header.Get(kindHeader), msg.Data)
	if err != nil {
		respondErr(msg, err)
		return
	}
	_ = msg.Respond(out)
}
