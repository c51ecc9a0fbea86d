package natscluster

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/shardmq/shardmq/shards/cluster"
)

// The session registry is the JetStream key-value bucket {name}_sessions,
// or with Config.RegistryBuckets = B > 1 the buckets {name}_sessions_0 to
// {name}_sessions_{B-1}, a client id in bucket FNV-1a(client id) mod B:
// key token(client id), value the owning node's name. Each bucket is a
// stream with its own raft group and leader, so B buckets spread the
// claims of a connect storm over B leaders instead of one. A node claims a
// client id with a compare-and-set on the entry's revision, so of two
// nodes racing for one client id exactly one wins and the other asks the
// winner. Acquire reads the entry from the stream's leader, which also
// decides the compare-and-set; Owner (for the API) uses a direct get that
// any replica answers, and may miss a claim made milliseconds before.
// Nothing of the registry is cached, so a node holds none of the other
// nodes' sessions in memory.

// releaseQueue bounds the releases waiting to be written.
const releaseQueue = 1 << 16

// registryState is the node's side of the registry.
type registryState struct {
	kv      atomic.Pointer[registryBuckets]
	ready   chan struct{} // closed once kv is set
	release chan string
	// warned is when a failed Acquire was last logged (Unix ns): at most
	// one line a second.
	warned atomic.Int64
}

// registryBucket is one bucket of the registry.
type registryBucket struct {
	kv jetstream.KeyValue
	// name is the bucket's name; its stream is KV_{name}.
	name string
}

// registryBuckets are the registry's buckets, in the order of their
// number.
type registryBuckets []registryBucket

// of returns the bucket of clientID.
func (rb registryBuckets) of(clientID string) *registryBucket {
	if len(rb) == 1 {
		return &rb[0]
	}
	h := fnv.New32a()
	_, _ = h.Write([]byte(clientID))
	return &rb[h.Sum32()%uint32(len(rb))]
}

// registryBucketName returns the name of bucket i of the registry: with
// one bucket {name}_sessions, else {name}_sessions_{i}.
func (c *Config) registryBucketName(i int) string {
	if c.RegistryBuckets == 1 {
		return c.Name + "_sessions"
	}
	return c.Name + "_sessions_" + strconv.Itoa(i)
}

// Owner returns the node that owns clientID's session ("" when none): a
// read of the registry from any replica, so it may miss a claim made
// milliseconds before. It waits on the network: call it off the event
// loops.
func (n *Node) Owner(ctx context.Context, clientID string) (string, error) {
	kv, err := n.registryKV(ctx, clientID)
	if err != nil || kv == nil {
		return "", err
	}
	e, err := kv.kv.Get(ctx, token(clientID))
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return "", nil
	}
	if err != nil {
		return "", err
	}
	return string(e.Value()), nil
}

// registryKV returns the registry's bucket of clientID, waiting for
// JetStream within ctx. It returns nil and no error when JetStream is not
// up and no other node runs: this node is alone, so it owns every session.
func (n *Node) registryKV(ctx context.Context, clientID string) (*registryBucket, error) {
	if rb := n.registry.kv.Load(); rb != nil {
		return rb.of(clientID), nil
	}
	if len(n.running()) == 0 {
		return nil, nil
	}
	select {
	case <-n.registry.ready:
		return n.registry.kv.Load().of(clientID), nil
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
	s, err := n.acquire(ctx, clientID, discard)
	if err != nil {
		now := time.Now().UnixNano()
		if last := n.registry.warned.Load(); now-last > int64(time.Second) && n.registry.warned.CompareAndSwap(last, now) {
			n.log.Warn("cluster: a client id could not be acquired (its CONNECT is refused: server unavailable)",
				"clientid", clientID, "err", err)
		}
	}
	return s, err
}

func (n *Node) acquire(ctx context.Context, clientID string, discard bool) (*cluster.Session, error) {
	ctx, cancel := n.requestCtx(ctx)
	defer cancel()
	rb, err := n.registryKV(ctx, clientID)
	if err != nil || rb == nil {
		return nil, err
	}
	kv := rb.kv
	key := token(clientID)
	self := []byte(n.cfg.Node)
	var adopted *cluster.Session
	for range 8 {
		e, err := n.leaderGet(ctx, rb, key)
		if err != nil {
			return nil, fmt.Errorf("natscluster: registry: %w", err)
		}
		if e.owner == "" {
			if e.rev == 0 {
				_, err = kv.Create(ctx, key, self)
			} else { // a delete marker: claim over it
				_, err = kv.Update(ctx, key, self, e.rev)
			}
			if err == nil {
				return adopted, nil
			}
			if isWrongRevision(err) {
				continue // another node claimed it first: ask it
			}
			return nil, fmt.Errorf("natscluster: registry: %w", err)
		}
		if e.owner != n.cfg.Node {
			// A running owner is asked; so is one not heard from yet (this
			// node just started): if it is gone, nobody answers and its
			// session went with it. One marked stopped is not asked.
			if m, up := n.runningMember(e.owner); up || m == nil {
				s, err := n.takeover(ctx, e.owner, clientID, discard)
				if err != nil {
					return nil, err
				}
				if s != nil {
					adopted = s
				}
			}
		}
		if _, err = kv.Update(ctx, key, self, e.rev); err == nil {
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

// registryEntry is a registry entry as the stream's leader has it: owner
// "" when there is none (rev is then the delete marker's, or 0).
type registryEntry struct {
	owner string
	rev   uint64
}

// leaderGet reads key's entry from the stream's leader (not a direct get,
// which any replica may answer from behind), so that the compare-and-set
// that follows uses the latest revision.
func (n *Node) leaderGet(ctx context.Context, rb *registryBucket, key string) (registryEntry, error) {
	bucket := rb.name
	req, _ := json.Marshal(struct {
		LastBySubject string `json:"last_by_subj"`
	}{"$KV." + bucket + "." + key})
	reply, err := n.nc.RequestWithContext(ctx, "$JS.API.STREAM.MSG.GET.KV_"+bucket, req)
	if err != nil {
		return registryEntry{}, err
	}
	var resp struct {
		Message *struct {
			Seq  uint64 `json:"seq"`
			Data []byte `json:"data"`
			Hdrs []byte `json:"hdrs"`
		} `json:"message"`
		Error *struct {
			Code        int    `json:"code"`
			ErrCode     int    `json:"err_code"`
			Description string `json:"description"`
		} `json:"error"`
	}
	if err := json.Unmarshal(reply.Data, &resp); err != nil {
		return registryEntry{}, err
	}
	if resp.Error != nil {
		if resp.Error.Code == 404 {
			return registryEntry{}, nil
		}
		return registryEntry{}, fmt.Errorf("%s (%d)", resp.Error.Description, resp.Error.ErrCode)
	}
	if resp.Message == nil {
		return registryEntry{}, errMalformed
	}
	if bytes.Contains(resp.Message.Hdrs, []byte("KV-Operation")) { // DEL or PURGE
		return registryEntry{rev: resp.Message.Seq}, nil
	}
	return registryEntry{owner: string(resp.Message.Data), rev: resp.Message.Seq}, nil
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
	rbs := n.registry.kv.Load()
	for {
		select {
		case <-n.quit:
			return
		case id := <-n.registry.release:
			ctx, cancel := n.requestCtx(context.Background())
			key := token(id)
			rb := rbs.of(id)
			if e, err := n.leaderGet(ctx, rb, key); err == nil && e.owner == n.cfg.Node {
				_ = rb.kv.Delete(ctx, key, jetstream.LastRevision(e.rev))
			}
			cancel()
		}
	}
}
