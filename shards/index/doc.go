// Package index is the broker's subscription index: a trie of topic levels
// that maps topic filters, shared ones ($share/{group}/{filter} and EMQX's
// $queue/{filter}) included, to subscribers of any comparable type, finds
// the subscriptions a topic matches without a lock or an allocation, picks
// one member of each matching shared group by a configured strategy, and
// folds the matches of one message into one delivery per subscriber.
//
// The index knows topics and subscription options, not sessions or
// connections: the broker (package shards) is its consumer and chooses
// what a subscriber is. Concurrency contracts are stated on each type:
// Index and ShareGroup are safe for concurrent use (lock-free reads,
// serialised writes); a Folder belongs to one goroutine.
package index
