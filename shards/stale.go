package shards

import (
	"context"
	"errors"
)

// Sessions a restarted cluster node recovered from its store may be stale:
// while the node was down, a client took its id to another node (which
// took it without its state, the node being stopped) or ended its
// session there. The cluster's registry then no longer names this node,
// and its copy must go before it queues messages nobody will collect and
// shows in the cluster-wide listing beside the live one.

// SessionIDs returns the client ids of every session this node holds:
// after Recover and Bind, the recovered ones and those clients created
// since. Safe from any goroutine; it takes each registry stripe's lock in
// turn.
func (h *NodeHandler) SessionIDs() []string { return h.b.registry.IDs() }

// DiscardStale ends this node's session of each client id in ids that
// has no connection, keeping the cluster's owner (the registry names
// another node, or nobody): its subscriptions leave the index, the store
// drops it with its messages, the catalog its row, and its will is
// cancelled (the client lives on elsewhere). A session with a connection
// is left alone: its client connected here since, and this node's
// Acquire made it the owner. It returns how many sessions it ended. It
// waits for the shards: call it off the event loops.
func (h *NodeHandler) DiscardStale(ctx context.Context, ids []string) (int, error) {
	n := 0
	for _, id := range ids {
		err := h.b.onOwnerCounted(ctx, id, false, func(s *session) {
			if s.conn != nil {
				return
			}
			s.dropWill()
			s.endKeepingOwner()
			n++
		})
		if err != nil && !errors.Is(err, ErrClientNotFound) {
			return n, err
		}
	}
	return n, nil
}
