package main

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/shardmq/shardmq/catalog"
	"github.com/shardmq/shardmq/shards"
	"github.com/shardmq/shardmq/shards/store"
	"github.com/shardmq/shardmq/shards/store/disk"
)

// openStore opens the durable store in o's data directory when a zone of
// cfg keeps anything (durability batch or sync), with the smallest flush
// interval of the batch zones; nil when every zone is memory. A store it
// cannot read, or one another broker holds, is an error naming the file:
// the broker never starts empty in its place.
func openStore(o *Options, cfg *shards.Config) (*disk.DB, error) {
	if !keepsAnything(cfg) {
		return nil, nil
	}
	d := store.DurabilityBatch
	flush := cfg.StoreFlushInterval()
	if flush == 0 {
		// Only sync zones: every Commit they make syncs; the flusher
		// still watches the free space.
		flush = o.FlushInterval
	}
	db, err := disk.Open(store.Config{Dir: o.storeDir(), Durability: d, FlushInterval: flush,
		Logf: func(format string, args ...any) { slog.Warn(fmt.Sprintf(format, args...)) }})
	if err != nil {
		return nil, fmt.Errorf("refusing to start: %w", err)
	}
	return db, nil
}

// keepsAnything reports whether a listener's zone of cfg has durability
// batch or sync.
func keepsAnything(cfg *shards.Config) bool {
	zoneOf := func(name string) store.Durability {
		if z, ok := cfg.Zones[name]; ok && z.Durability != "" {
			return z.Durability
		}
		return cfg.Durability
	}
	ls := cfg.Listeners
	if len(ls) == 0 {
		return zoneOf(shards.DefaultZone) != store.DurabilityMemory
	}
	for _, l := range ls {
		zone := l.Zone
		if zone == "" {
			zone = shards.DefaultZone
		}
		if zoneOf(zone) != store.DurabilityMemory {
			return true
		}
	}
	return false
}

// recoverStore rebuilds b from db before the listeners open, waits for
// the recovered client rows to reach the catalog, and logs what it found
// and how long it took.
func recoverStore(b *shards.Broker, db *disk.DB, cat *catalog.Catalog, dir string, loops int) error {
	start := time.Now()
	r, err := b.Recover(db, loops)
	if err != nil {
		return fmt.Errorf("refusing to start: recovering %s: %w", dir, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := cat.Flush(ctx); err != nil {
		return fmt.Errorf("recovery: catalog: %w", err)
	}
	slog.Info("shardmq: recovered from "+dir, "sessions", r.Sessions, "subscriptions", r.Subscriptions,
		"messages", r.Messages, "inflight", r.InFlight, "awaiting_rel", r.AwaitRel, "retained", r.Retained,
		"expired_sessions", r.ExpiredSessions, "expired_messages", r.ExpiredMessages+r.ExpiredSessionMessages,
		"expired_retained", r.ExpiredRetained, "wills_due", r.Wills, "orphans", r.Orphans,
		"load", r.Took.Round(time.Millisecond), "took", time.Since(start).Round(time.Millisecond))
	return nil
}
