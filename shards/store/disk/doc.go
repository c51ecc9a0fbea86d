// Package disk is the durable store of the broker: persistent sessions,
// their queued and in-flight messages, inbound QoS 2 ids and retained
// messages in a directory of github.com/cockroachdb/pebble (an LSM tree:
// a write-ahead log, memtables, sorted tables).
//
// A Commit is one pebble batch: one append to the write-ahead log, synced
// before Commit returns (DurabilitySync; pebble's commit pipeline shares
// one fsync among the shards that commit at the same time) or every
// FlushInterval (DurabilityBatch). Shards commit concurrently and never
// wait for each other in this package: the only lock they share is a
// read lock that Close takes for writing.
//
// The key layout is in keys.go, the records in records.go, the
// free-space guard in space.go. docs/architecture.md ("Durable store")
// has the measurements that chose pebble over go.etcd.io/bbolt.
package disk
