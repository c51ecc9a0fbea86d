package cluster

import (
	"context"

	"github.com/shardmq/shardmq/shards/store"
)

// Single is the cluster of one node: it owns every session, no other node
// wants any message, and there is nothing to tell.
type Single struct{}

var _ Cluster = Single{}

// Alone reports true: the shards skip every other call on the publish and
// subscribe paths.
func (Single) Alone() bool { return true }

// Interest does nothing: no other node routes to this one.
func (Single) Interest(string, bool) {}

// Remote reports false: no other node wants any topic.
func (Single) Remote([]byte) bool { return false }

// Route resets r: every shared group is served here.
func (Single) Route(_, _ []byte, r *Route) { r.Reset() }

// NewOutbox returns an Outbox that sends nothing.
func (Single) NewOutbox() Outbox { return noOutbox{} }

// Owner returns "": this node owns every session.
func (Single) Owner(context.Context, string) (string, error) { return "", nil }

// Acquire returns nil: no other node holds a session.
func (Single) Acquire(context.Context, string, bool) (*Session, error) { return nil, nil }

// Release does nothing.
func (Single) Release(string) {}

// SetRetained does nothing: the local retained store is the cluster's.
func (Single) SetRetained(*store.Message) {}

// Nodes returns nil: the broker describes its own node.
func (Single) Nodes() []NodeInfo { return nil }

// Call returns ErrAlone.
func (Single) Call(context.Context, string, string, []byte) ([]byte, error) { return nil, ErrAlone }

// List returns ErrAlone: the broker lists its own catalog.
func (Single) List(context.Context, Query) (Page, error) { return Page{}, ErrAlone }

// noOutbox is Single's Outbox.
type noOutbox struct{}

// Add does nothing.
func (noOutbox) Add(*store.Message, *Route) {}

// Flush calls ack at once.
func (noOutbox) Flush(ack func(error)) {
	if ack != nil {
		ack(nil)
	}
}
