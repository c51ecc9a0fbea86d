// Package retained is the broker's store of retained messages
// [MQTT-3.3.1-5]: one message per topic name, kept in a trie of topic
// levels so that a lookup by a filter visits only the branches the filter
// can reach, bounded by message count, bytes and payload size, with
// message expiry [MQTT-3.3.2-5].
//
// The store holds copies (Message), never the broker's pooled messages,
// and is safe for concurrent use: changes serialise on a write lock,
// lookups share a read lock.
package retained
