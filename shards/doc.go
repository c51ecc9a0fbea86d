// Package shards is the MQTT broker: sessions and their registry, routing,
// wills, QoS 1/2 state, offline queues, session timers, per-client
// statistics, the commands of the management API and the client rows the
// catalog lists.
//
// Every session is owned by one shard, the netio event loop it was created
// on, and only that loop's goroutine touches its state: there is no lock on
// session state. A connection that arrives on another loop for an existing
// session is moved to the session's loop before its CONNECT is answered.
// Deliveries and commands reach a session by running on its loop
// (netio.Loop.Execute), batched per target loop. docs/architecture.md
// explains the layout and the measurement that chose it.
//
// Concepts that need no session live in sub-packages, which never import
// this one: index (the subscription index, shared-subscription strategies
// and the fold of one message's matches into deliveries), retained (the
// retained store) and auth (passwords and ACLs). The shards' timer heaps
// are netio/deadline's, as netio's are.
package shards
