package natscluster

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/shardmq/shardmq/shards/store"
)

// The cluster's retained messages live in the JetStream key-value bucket
// {name}_retained (history 1, file storage, Config.Replicas copies), keyed
// by the topic with each level as one key token (token), so that a
// filter's '+' and '#' are the key wildcards '*' and '>'. Every node
// watches the whole bucket and hands each change, its own included, to
// Handler.Retained in the bucket's order: the local retained stores follow
// the bucket, and a node that restarts gets every retained message back
// from it at start.

// retainedState is the node's side of the retained bucket.
type retainedState struct {
	kv atomic.Pointer[kvHandle]
	// loaded is closed once the watch handed over every message the
	// bucket held when it started.
	loaded chan struct{}

	// mu guards the following field.
	mu sync.Mutex
	// pending holds the latest change of each topic not yet written (an
	// empty payload clears); writes of one topic coalesce.
	pending map[string]*store.Message
	kick    chan struct{}
}

// kvHandle boxes a key-value bucket for an atomic pointer.
type kvHandle struct{ jetstream.KeyValue }

// retainedKey returns the bucket key of topic.
func retainedKey(topic string) string {
	var b strings.Builder
	for i, level := range strings.Split(topic, "/") {
		if i > 0 {
			b.WriteByte('.')
		}
		b.WriteString(token(level))
	}
	return b.String()
}

// retainedTopic reverses retainedKey.
func retainedTopic(key string) (string, bool) {
	var b strings.Builder
	for i, t := range strings.Split(key, ".") {
		level, ok := untoken(t)
		if !ok {
			return "", false
		}
		if i > 0 {
			b.WriteByte('/')
		}
		b.WriteString(level)
	}
	return b.String(), true
}

// SetRetained makes m the retained message of m.Topic cluster-wide (an
// empty payload clears it). It copies m, returns at once, and writes in
// the background; a later change of the same topic replaces one not yet
// written. Every node, this one included, then gets the change through
// Handler.Retained. Any goroutine.
func (n *Node) SetRetained(m *store.Message) {
	c := *m
	c.Payload = slices.Clone(m.Payload)
	c.Properties = slices.Clone(m.Properties)
	n.retained.mu.Lock()
	if n.retained.pending == nil {
		n.retained.pending = make(map[string]*store.Message)
	}
	n.retained.pending[c.Topic] = &c
	n.retained.mu.Unlock()
	select {
	case n.retained.kick <- struct{}{}:
	default:
	}
}

// WaitRetained returns once this node has handed Handler.Retained every
// retained message the cluster held when the node started, or with ctx's
// error.
func (n *Node) WaitRetained(ctx context.Context) error {
	select {
	case <-n.retained.loaded:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// writeRetained writes the pending changes to the bucket, published
// asynchronously and waited for together; failed ones stay pending (unless
// replaced) and are tried again a second later.
func (n *Node) writeRetained() {
	retry := time.NewTicker(time.Second)
	defer retry.Stop()
	for {
		select {
		case <-n.quit:
			return
		case <-n.retained.kick:
		case <-retry.C:
		}
		kv := n.retained.kv.Load()
		if kv == nil {
			continue
		}
		n.retained.mu.Lock()
		batch := n.retained.pending
		n.retained.pending = nil
		n.retained.mu.Unlock()
		if len(batch) == 0 {
			continue
		}
		failed := n.putRetained(kv, batch)
		if len(failed) > 0 {
			n.retained.mu.Lock()
			for topic, m := range failed {
				if _, newer := n.retained.pending[topic]; !newer {
					if n.retained.pending == nil {
						n.retained.pending = make(map[string]*store.Message)
					}
					n.retained.pending[topic] = m
				}
			}
			n.retained.mu.Unlock()
		}
	}
}

// putRetained writes batch and returns the changes that failed.
func (n *Node) putRetained(kv *kvHandle, batch map[string]*store.Message) map[string]*store.Message {
	type sent struct {
		m *store.Message
		f jetstream.PubAckFuture
	}
	futures := make([]sent, 0, len(batch))
	failed := make(map[string]*store.Message)
	subject := "$KV." + n.cfg.Name + "_retained."
	for topic, m := range batch {
		msg := nats.NewMsg(subject + retainedKey(topic))
		if len(m.Payload) == 0 {
			msg.Header.Set("KV-Operation", "DEL")
		} else {
			msg.Data = appendMessage(nil, m, nil)
		}
		f, err := n.js.PublishMsgAsync(msg)
		if err != nil {
			n.log.Debug("cluster: retained write failed", "topic", topic, "err", err)
			failed[topic] = m
			continue
		}
		futures = append(futures, sent{m, f})
	}
	timeout := time.After(n.cfg.RequestTimeout)
	for _, s := range futures {
		select {
		case <-s.f.Ok():
		case err := <-s.f.Err():
			n.log.Debug("cluster: retained write failed", "topic", s.m.Topic, "err", err)
			failed[s.m.Topic] = s.m
		case <-timeout:
			n.log.Debug("cluster: retained write timed out", "topic", s.m.Topic)
			failed[s.m.Topic] = s.m
		case <-n.quit:
			return nil
		}
	}
	return failed
}

// watchRetained hands every change of the bucket to Handler.Retained until
// the node shuts down. A watch that cannot start (JetStream busy or
// electing a leader) or that ends is started again a second later; its
// initial values set every local retained message again.
func (n *Node) watchRetained(kv jetstream.KeyValue) {
	loaded := false
	for {
		err := n.watchRetainedOnce(kv, &loaded)
		if n.closed.Load() {
			return
		}
		n.log.Warn("cluster: watching the retained messages stopped; starting it again", "err", err)
		select {
		case <-n.quit:
			return
		case <-time.After(time.Second):
		}
	}
}

// errWatchEnded is returned when the watch's updates end without a
// shutdown.
var errWatchEnded = errors.New("natscluster: the retained messages' watch ended")

// watchRetainedOnce runs one watch of the bucket; *loaded records that
// the initial load was complete once (retained.loaded is closed then).
func (n *Node) watchRetainedOnce(kv jetstream.KeyValue, loaded *bool) error {
	ctx, cancel := n.untilQuit(0)
	defer cancel()
	// The watch's consumer may read a replica that is still catching up
	// (this node's own, after a restart): the initial load is complete
	// only once it reached the last revision the stream's leader had.
	last, err := n.lastRevision(ctx, kv)
	if err != nil {
		return err
	}
	w, err := kv.WatchAll(ctx)
	if err != nil {
		return err
	}
	defer func() { _ = w.Stop() }()
	initial := true
	var seen uint64
	for {
		select {
		case <-n.quit:
			return nil
		case e, ok := <-w.Updates():
			if !ok {
				return errWatchEnded
			}
			if e == nil {
				initial = false
			} else {
				seen = max(seen, e.Revision())
				n.applyRetained(e)
			}
			if !*loaded && !initial && seen >= last {
				*loaded = true
				close(n.retained.loaded)
			}
		}
	}
}

// lastRevision returns the last revision of the bucket as its stream's
// leader has it.
func (n *Node) lastRevision(ctx context.Context, kv jetstream.KeyValue) (uint64, error) {
	st, err := kv.Status(ctx)
	if err != nil {
		return 0, err
	}
	si, ok := st.(interface{ StreamInfo() *jetstream.StreamInfo })
	if !ok {
		return 0, errMalformed
	}
	return si.StreamInfo().State.LastSeq, nil
}

func (n *Node) applyRetained(e jetstream.KeyValueEntry) {
	topic, ok := retainedTopic(e.Key())
	if !ok {
		return
	}
	if e.Operation() != jetstream.KeyValuePut {
		n.h.Retained(&store.Message{Topic: topic})
		return
	}
	var m store.Message
	r := newReader(e.Value())
	r.readMessage(&m, nil)
	if !r.done() {
		n.log.Warn("cluster: malformed retained message", "topic", topic)
		return
	}
	m.Topic = topic
	n.h.Retained(&m)
}
