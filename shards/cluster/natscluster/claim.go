package natscluster

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
)

// claimWorkers bounds the registry requests Claim has in flight.
const claimWorkers = 32

// ClaimResult is what Claim found for the client ids it was given.
type ClaimResult struct {
	// Owned counts the ids the registry named this node for already;
	// Claimed those it had no entry for, now this node's.
	Owned, Claimed int
	// Stale are the ids the registry gives to another node, or whose
	// entry was deleted (a release): while this node was down, their
	// clients took them elsewhere or ended their sessions, so this node's
	// copies are out of date.
	Stale []string
}

// Claim settles the registry's entries for the client ids whose sessions
// this node recovered from its store at start, so that a connect on
// another node takes a recovered session over from this node instead of
// starting a new one beside it. An id whose entry names this node is
// owned; one with no entry at all (never registered: claimed while the
// node was alone, or a registry that was lost) is claimed with a create,
// which fails if another node claims it meanwhile (then read again); any
// other entry — another node's name or a deletion, both written after
// this node's own claim — makes the id stale. It waits for JetStream
// within ctx (unlike Acquire, which lets a node alone own everything: a
// node just restarted has not heard its peers yet) and on the network:
// call it off the event loops, after Start.
func (n *Node) Claim(ctx context.Context, clientIDs []string) (ClaimResult, error) {
	select {
	case <-n.registry.ready:
	case <-ctx.Done():
		return ClaimResult{}, fmt.Errorf("%w: registry: %w", ErrUnavailable, ctx.Err())
	case <-n.quit:
		return ClaimResult{}, ErrClosed
	}
	kv := n.registry.kv.Load()
	self := []byte(n.cfg.Node)
	var (
		owned, claimed atomic.Int64
		mu             sync.Mutex
		stale          []string
		firstErr       error
		next           atomic.Int64
		wg             sync.WaitGroup
	)
	one := func(id string) error {
		key := token(id)
		for range 8 {
			rctx, cancel := n.requestCtx(ctx)
			e, err := n.leaderGet(rctx, key)
			if err != nil {
				cancel()
				return fmt.Errorf("natscluster: registry: %w", err)
			}
			switch {
			case e.owner == n.cfg.Node:
				cancel()
				owned.Add(1)
				return nil
			case e.owner == "" && e.rev == 0:
				_, err = kv.Create(rctx, key, self)
				cancel()
				if err == nil {
					claimed.Add(1)
					return nil
				}
				if !isWrongRevision(err) {
					return fmt.Errorf("natscluster: registry: %w", err)
				}
				// Another node created it first: read it again.
			default:
				cancel()
				mu.Lock()
				stale = append(stale, id)
				mu.Unlock()
				return nil
			}
		}
		return fmt.Errorf("%w: client id %q is contended", ErrUnavailable, id)
	}
	for range min(claimWorkers, len(clientIDs)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= len(clientIDs) || ctx.Err() != nil {
					return
				}
				if err := one(clientIDs[i]); err != nil {
					mu.Lock()
					if firstErr == nil {
						firstErr = err
					}
					mu.Unlock()
					return
				}
			}
		}()
	}
	wg.Wait()
	res := ClaimResult{Owned: int(owned.Load()), Claimed: int(claimed.Load()), Stale: stale}
	if firstErr == nil {
		firstErr = ctx.Err()
	}
	return res, firstErr
}
