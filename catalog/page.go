package catalog

import "time"

// Page is one page of List's result.
type Page struct {
	// Rows are the clients of this page in the filter's order. With a
	// Fields projection only those fields (plus clientid and the order
	// column) are filled in; the others are zero.
	Rows []Row
	// Fields is the projection that was applied, as API names in the
	// order given; nil means every field.
	Fields []string
	// Count is the exact number of clients matching the filter (all
	// pages), as of the same snapshot as Rows.
	Count int64
	// HasNext reports whether a further non-empty page exists.
	HasNext bool
	// Number is this page's 1-based number: Filter.Page, or with a cursor
	// the page the cursor leads to.
	Number int
	// NextCursor continues after the last row of this page with the same
	// filter and order, as page Number+1; empty when HasNext is false. It
	// is opaque and tamper-checked.
	NextCursor string
}

// Stats describes the writer's progress, for metrics and GET /stats.
type Stats struct {
	// Rows is the number of client rows in the catalog.
	Rows int64
	// Staleness is the age of the oldest change handed to the catalog that
	// readers cannot see yet; zero when everything is applied.
	Staleness time.Duration
	// StatsInterval is the effective interval between counter
	// applications: the configured one, or longer when the last
	// application took longer than that (the interval stretches).
	StatsInterval time.Duration
	// LastSnapshot is how long the last counter application took, from
	// its first chunk to its last commit.
	LastSnapshot time.Duration
	// LastSnapshotRows is how many rows the last counter application
	// wrote (rows whose counters did not change are not written).
	LastSnapshotRows int
	// MaxChunkHold is the longest time one write chunk held readers off,
	// since the catalog started.
	MaxChunkHold time.Duration
	// PendingLifecycle and PendingStats are the changes waiting for the
	// writer (coalesced per client).
	PendingLifecycle, PendingStats int
	// SyncTimeouts counts the Lists that answered before the lifecycle
	// changes handed in ahead of them were applied (Config.SyncWait).
	SyncTimeouts uint64
	// Errors counts failed write chunks; LastError is the latest one.
	Errors    uint64
	LastError string
}
