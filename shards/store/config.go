package store

import (
	"fmt"
	"time"
)

// Durability says when a committed Batch is on disk.
type Durability string

// The durabilities, as written in a zone's configuration.
const (
	// DurabilityMemory keeps nothing across a restart (the Memory store).
	DurabilityMemory Durability = "memory"
	// DurabilityBatch syncs what was committed every FlushInterval: a
	// crash of the process or of the machine loses at most the Commits
	// of the last FlushInterval (pebble keeps the log's last partial
	// block in memory until it syncs).
	DurabilityBatch Durability = "batch"
	// DurabilitySync syncs every Commit before it returns (one fsync per
	// loop turn, shared by the shards that commit at the same time).
	DurabilitySync Durability = "sync"
)

// Config is the configuration of a durable store.
type Config struct {
	// Dir is the directory the store keeps its files in; it is created if
	// missing. Required.
	Dir string
	// Durability is DurabilityBatch or DurabilitySync. If empty,
	// DurabilityBatch is used.
	Durability Durability
	// FlushInterval is how often DurabilityBatch syncs what was committed,
	// and how often the free space is checked. If zero, 100 ms is used.
	FlushInterval time.Duration
	// Reserve is the free space, in bytes, below which Commit refuses with
	// ErrDiskFull; the store also keeps a ballast file of this size that
	// it gives up when the disk fills faster than it looks, so that the
	// write in progress still completes. If zero, 64 MiB is used.
	Reserve int64
	// CacheSize is the bytes of the block cache. If zero, 8 MiB is used.
	CacheSize int64
	// Logf, if not nil, receives the store's notices (disk full, space
	// returned, the engine's background errors). It may be called from
	// any goroutine.
	Logf func(format string, args ...any)
}

// The defaults of Config's zero fields.
const (
	DefaultFlushInterval = 100 * time.Millisecond
	DefaultReserve       = 64 << 20
	DefaultCacheSize     = 8 << 20
)

// Validate reports the first invalid field of c, wrapping ErrConfig.
func (c *Config) Validate() error {
	switch {
	case c.Dir == "":
		return fmt.Errorf("%w: Dir is empty", ErrConfig)
	case c.Durability != "" && c.Durability != DurabilityBatch && c.Durability != DurabilitySync:
		return fmt.Errorf("%w: durability %q is not batch or sync (memory needs no store)", ErrConfig, c.Durability)
	case c.FlushInterval < 0:
		return fmt.Errorf("%w: negative FlushInterval %v", ErrConfig, c.FlushInterval)
	case c.Reserve < 0:
		return fmt.Errorf("%w: negative Reserve %d", ErrConfig, c.Reserve)
	case c.CacheSize < 0:
		return fmt.Errorf("%w: negative CacheSize %d", ErrConfig, c.CacheSize)
	}
	return nil
}

// WithDefaults returns c with every zero field set to its default.
func (c Config) WithDefaults() Config {
	if c.Durability == "" {
		c.Durability = DurabilityBatch
	}
	if c.FlushInterval == 0 {
		c.FlushInterval = DefaultFlushInterval
	}
	if c.Reserve == 0 {
		c.Reserve = DefaultReserve
	}
	if c.CacheSize == 0 {
		c.CacheSize = DefaultCacheSize
	}
	return c
}

// HoldFor returns how long a shard may keep the Ops of batch-durability
// sessions before it Commits them, for a store that syncs every flush:
// half of it. A message queued and acknowledged within that time
// never reaches the store (its Ops cancel); SyncEvery leaves the rest of
// flush for the sync, so that what was recorded is on disk within flush.
func HoldFor(flush time.Duration) time.Duration { return flush / 2 }

// SyncEvery returns how often a durable store in DurabilityBatch syncs for
// a FlushInterval of flush: flush less HoldFor(flush).
func SyncEvery(flush time.Duration) time.Duration { return flush - HoldFor(flush) }
