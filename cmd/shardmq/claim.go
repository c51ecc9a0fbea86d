package main

import (
	"context"
	"log/slog"
	"time"

	"github.com/shardmq/shardmq/shards"
	"github.com/shardmq/shardmq/shards/cluster/natscluster"
)

// claimTimeout bounds the registry's settling of the recovered sessions
// (a million ids take tens of seconds; a cluster without a JetStream
// quorum never answers).
const claimTimeout = 10 * time.Minute

// startClaim settles, in the background, the cluster registry's entries
// of the sessions this node recovered from its store (natscluster.Claim),
// and ends the recovered copies the registry gives to another node
// (shards.NodeHandler.DiscardStale). It runs after Bind, while clients
// connect: a client whose id this node recovered and that connects here
// meanwhile is acquired as always. It returns the stop function, which
// cancels the claim and waits for it.
func startClaim(node *natscluster.Node, h *shards.NodeHandler) func(context.Context) error {
	ctx, cancel := context.WithTimeout(context.Background(), claimTimeout)
	done := make(chan struct{})
	go func() {
		defer close(done)
		start := time.Now()
		ids := h.SessionIDs()
		if len(ids) == 0 {
			return
		}
		res, err := node.Claim(ctx, ids)
		ended, derr := h.DiscardStale(ctx, res.Stale)
		took := time.Since(start).Round(time.Millisecond)
		if err == nil {
			err = derr
		}
		if err != nil {
			slog.Warn("cluster: the registry's entries of the recovered sessions not all settled",
				"sessions", len(ids), "owned", res.Owned, "claimed", res.Claimed, "stale", len(res.Stale),
				"stale_ended", ended, "took", took.String(), "err", err)
			return
		}
		slog.Info("cluster: recovered sessions registered", "sessions", len(ids), "owned", res.Owned,
			"claimed", res.Claimed, "stale", len(res.Stale), "stale_ended", ended, "took", took.String())
	}()
	return func(context.Context) error {
		cancel()
		<-done
		return nil
	}
}
