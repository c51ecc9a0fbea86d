package natscluster

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/shardmq/shardmq/shards/cluster"
)

// The session registry is the JetStream key-value bucket {name}_sessions:
// key token(client id), value the owning node's name. A node claims a
// client id with a compare-and-set on the entry's revision, so of two
// nodes racing for one client id exactly one wins and the other asks the
// winner. The entries are read with a direct get at each CONNECT, which
// any replica answers: a read may miss a claim made milliseconds before,
// but the compare-and-set is decided by the stream's leader, so a stale
// read costs one more round, never two owners. Nothing of the registry is
// cached, so a node holds none of the other nodes' sessions in memory.

// releaseQueue bounds the releases waiting to be written.
const releaseQueue = 1 << 16

// registryState is the node's side of the registry.
type registryState struct {
	kv      atomic.Pointer[kvHandle]
	ready   chan struct{} // closed once kv is set
	release chan string
}

// Owner returns the node that owns clientID's session ("" when none): a
// read of the registry from any replica, so it may miss a claim made
// milliseconds before. It waits on the network: call it off the event
// loops.
func (n *Node) Owner(ctx context.Context, clientID string) (string, error) {
	kv, err := n.registryKV(ctx)
	if err != nil || kv == nil {
		return "", err
	}
	e, err := kv.Get(ctx, token(clientID))
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return "", nil
	}
	if err != nil {
		return "", err
	}
	return string(e.Value()), nil
}

// registryKV returns the registry, waiting for JetStream within ctx. It
// returns nil and no error when JetStream is not up and no other node
// runs: this node is alone, so it owns every session.
func (n *Node) registryKV(ctx context.Context) (*kvHandle, error) {
	if kv := n.registry.kv.Load(); kv != nil {
		return kv, nil
	}
	if len(n.running()) == 0 {
		return nil, nil
	}
	select {
	case <-n.registry.ready:
		return n.registry.kv.Load(), nil
	case <-ctx.Done():
		return nil, fmt.Errorf("%w: %w", ErrUnavailable, ctx.Err())
	case <-n.quit:
		return nil, ErrClosed
	}
}

// Acquire makes this node the owner of clientID's session, before the
// CONNECT is answered. When another running node owns it, that node ends
// it (Handler.Takeover, which sends DISCONNECT 0x8E) and returns its state,
// which Acquire returns for this node to adopt (nil when there is none, or
// with discard: clean start). A session owned by a stopped node is taken
// without its state (it died with the node). It waits on the network: call
// it off the event loops. When JetStream is not up and no other node runs,
// the node is alone and Acquire returns nil at once without recording the
// claim.
func (n *Node) Acquire(ctx context.Context, clientID string, discard bool) (*cluster.Session, error) {
	ctx, cancel := n.requestCtx(ctx)
	defer cancel()
	kv, err := n.registryKV(ctx)
	if err != nil || kv == nil {
		return nil, err
	}
	key := token(clientID)
	self := []byte(n.cfg.Node)
	var adopted *cluster.Session
	for attempt := range 8 {
		if attempt > 0 { // a replica behind the leader answered the read
			select {
			case <-time.After(time.Duration(attempt) * 5 * time.Millisecond):
			case <-ctx.Done():
				return nil, fmt.Errorf("%w: %w", ErrUnavailable, ctx.Err())
			}
		}
		e, err := kv.Get(ctx, key)
		if errors.Is(err, jetstream.ErrKeyNotFound) {
			if _, err = kv.Create(ctx, key, self); err == nil {
				return adopted, nil
			}
			if errors.Is(err, jetstream.ErrKeyExists) {
				continue // another node claimed it first: ask it
			}
		}
		if err != nil {
			return nil, fmt.Errorf("natscluster: registry: %w", err)
		}
		owner := string(e.Value())
		if owner != n.cfg.Node {
			if _, up := n.runningMember(owner); up {
				s, err := n.takeover(ctx, owner, clientID, discard)
				if err != nil {
					return nil, err
				}
				if s != nil {
					adopted = s
				}
			}
		}
		if _, err = kv.Update(ctx, key, self, e.Revision()); err == nil {
			return adopted, nil
		}
		if !isWrongRevision(err) {
			return nil, fmt.Errorf("natscluster: registry: %w", err)
		}
		// The entry changed since the read (a release, another claim):
		// read it again.
	}
	return nil, fmt.Errorf("%w: client id %q is contended", ErrUnavailable, clientID)
}

// isWrongRevision reports a failed compare-and-set.
func isWrongRevision(err error) bool {
	var apiErr *jetstream.APIError
	if errors.As(err, &apiErr) {
		return apiErr.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequence || apiErr.ErrorCode == 10164
	}
	return errors.Is(err, jetstream.ErrKeyExists)
}

// takeoverReq is the body of a takeover request.
type takeoverReq struct {
	ClientID string `json:"clientid"`
	Discard  bool   `json:"discard"`
}

// takeover asks owner to end clientID's session and return its state.
func (n *Node) takeover(ctx context.Context, owner, clientID string, discard bool) (*cluster.Session, error) {
	body, _ := json.Marshal(takeoverReq{clientID, discard})
	reply, err := n.nc.RequestWithContext(ctx, n.subj.of("takeover", owner), body)
	if err != nil {
		if errors.Is(err, nats.ErrNoResponders) {
			return nil, nil // the node is gone: its session with it
		}
		return nil, fmt.Errorf("natscluster: takeover from %s: %w", owner, err)
	}
	if e := reply.Header.Get(errHeader); e != "" {
		return nil, fmt.Errorf("%w %s: %s", ErrRemote, owner, e)
	}
	var s *cluster.Session
	if err := json.Unmarshal(reply.Data, &s); err != nil {
		return nil, fmt.Errorf("natscluster: takeover from %s: %w", owner, err)
	}
	return s, nil
}

// errHeader carries a remote Handler's error in a reply.
const errHeader = "Shardmq-Error"

// onTakeover ends a local session that a client took to another node.
func (n *Node) onTakeover(msg *nats.Msg) {
	var req takeoverReq
	if err := json.Unmarshal(msg.Data, &req); err != nil {
		respondErr(msg, err)
		return
	}
	ctx, cancel := n.requestCtx(context.Background())
	defer cancel()
	s, err := n.h.Takeover(ctx, req.ClientID, req.Discard)
	if err != nil {
		respondErr(msg, err)
		return
	}
	b, err := json.Marshal(s)
	if err != nil {
		respondErr(msg, err)
		return
	}
	_ = msg.Respond(b)
}

func respondErr(msg *nats.Msg, err error) {
	r := nats.NewMsg(msg.Reply)
	r.Header.Set(errHeader, err.Error())
	_ = msg.RespondMsg(r)
}

// Release removes this node's claim on clientID once its session ended
// (not after another node took it over: the claim is that node's then).
// It returns at once; the registry is written in the background, and only
// if the entry still names this node.
func (n *Node) Release(clientID string) {
	select {
	case n.registry.release <- clientID:
	default:
		n.log.Warn("cluster: release queue full; registry entry left behind", "clientid", clientID)
	}
}

// releases writes the queued releases.
func (n *Node) releases() {
	select {
	case <-n.registry.ready:
	case <-n.quit:
		return
	}
	kv := n.registry.kv.Load()
	for {
		select {
		case <-n.quit:
			return
		case id := <-n.registry.release:
			ctx, cancel := n.requestCtx(context.Background())
			key := token(id)
			if e, err := kv.Get(ctx, key); err == nil && string(e.Value()) == n.cfg.Node {
				_ = kv.Delete(ctx, key, jetstream.LastRevision(e.Revision()))
			}
			cancel()
		}
	}
}
