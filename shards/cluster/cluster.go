// Package cluster holds the broker's view of the other nodes of a
// cluster as the shards use it, and its first implementation: Single, the
// node that is alone.
//
// The shards ask a cluster three things: which node owns a client id's
// session, which other nodes want the messages of a topic, and to carry a
// message there; and they tell it when this node gains its first or loses
// its last subscription to a filter, so that the other nodes know where
// to send. An implementation on NATS (a sub-package) answers the first two
// from state it keeps current in the background, so that the shards never
// wait on the network while they route.
package cluster

import "github.com/shardmq/shardmq/shards/store"

// Single is the cluster of one node: it owns every session, no other node
// wants any message, and there is nothing to tell.
type Single struct{}

// Alone reports true: the shards skip every other call on the publish and
// subscribe paths.
func (Single) Alone() bool { return true }

// Owner returns "": this node owns every session.
func (Single) Owner(string) string { return "" }

// Interest does nothing: no other node routes to this one.
func (Single) Interest(string, bool) {}

// Remote reports false: no other node wants any topic.
func (Single) Remote([]byte) bool { return false }

// Forward does nothing (it is never called while Remote is false).
func (Single) Forward(*store.Message) {}
