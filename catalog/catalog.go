package catalog

import (
	"context"
	"crypto/rand"
	"database/sql"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jmoiron/sqlx"
	sqlite3 "github.com/mattn/go-sqlite3"
)

// Config configures a Catalog. A zero field means the documented default.
type Config struct {
	// StatsInterval is how often pending counter updates are applied.
	// If zero, 1 s is used. When an application takes longer, the next
	// one starts right after it (the interval stretches; Stats reports it).
	StatsInterval time.Duration
	// ChunkBudget bounds how long one write transaction may hold readers
	// off; the writer commits and lets readers in when it is spent. If
	// zero, 5 ms is used.
	ChunkBudget time.Duration
	// Readers is the number of reader connections. If zero, 4 is used.
	Readers int
	// Node is the node every row of this catalog names; a Filter with
	// another Node matches none of them. SQLite stores it as the empty
	// string, so a row whose Node is empty reads back as Node.
	Node string
	// CursorKey is the HMAC key of cursor tokens. If empty, a random key
	// is drawn (cursors then do not survive a restart).
	CursorKey []byte
	// AnalyzeInterval is the least time between two ANALYZE runs, which
	// run only after the row count changed by more than 10%. If zero,
	// 10 s is used.
	AnalyzeInterval time.Duration
	// SyncWait bounds how long List waits for the lifecycle changes
	// (Upsert, Remove) handed in before it to be applied: read your
	// writes, unless the writer is that far behind (a connect storm
	// beyond its pace), when List answers from what is applied and
	// Stats().Staleness says how old it is. If zero, 1 s is used;
	// negative turns the wait off.
	SyncWait time.Duration
}

// Validate reports a negative or unusable field, wrapping ErrInvalidConfig.
func (c *Config) Validate() error {
	switch {
	case c.StatsInterval < 0:
		return fmt.Errorf("%w: StatsInterval is negative", ErrInvalidConfig)
	case c.ChunkBudget < 0:
		return fmt.Errorf("%w: ChunkBudget is negative", ErrInvalidConfig)
	case c.Readers < 0 || c.Readers > 64:
		return fmt.Errorf("%w: Readers must be 0..64", ErrInvalidConfig)
	case c.AnalyzeInterval < 0:
		return fmt.Errorf("%w: AnalyzeInterval is negative", ErrInvalidConfig)
	}
	return nil
}

func (c Config) withDefaults() Config {
	if c.StatsInterval == 0 {
		c.StatsInterval = time.Second
	}
	if c.ChunkBudget == 0 {
		c.ChunkBudget = 5 * time.Millisecond
	}
	if c.Readers == 0 {
		c.Readers = 4
	}
	if c.AnalyzeInterval == 0 {
		c.AnalyzeInterval = 10 * time.Second
	}
	if c.SyncWait == 0 {
		c.SyncWait = time.Second
	}
	return c
}

// Driver names registered for the writer and the reader connections.
const (
	writerDriver = "shardmq-catalog-writer"
	readerDriver = "shardmq-catalog-reader"
)

func init() {
	hook := func(readOnly bool) func(*sqlite3.SQLiteConn) error {
		return func(conn *sqlite3.SQLiteConn) error {
			for _, p := range connPragmas {
				if _, err := conn.Exec(p, nil); err != nil {
					return err
				}
			}
			if readOnly {
				// Readers never take table locks, so counter updates
				// (shared chunks, see writer.begin) run beside them.
				for _, p := range []string{"PRAGMA query_only = ON", "PRAGMA read_uncommitted = ON"} {
					if _, err := conn.Exec(p, nil); err != nil {
						return err
					}
				}
			}
			return nil
		}
	}
	sql.Register(writerDriver, &sqlite3.SQLiteDriver{ConnectHook: hook(false)})
	sql.Register(readerDriver, &sqlite3.SQLiteDriver{ConnectHook: hook(true)})
}

// dbSeq numbers the in-memory databases so that each Catalog has its own.
var dbSeq atomic.Uint64

// Catalog is the in-memory SQLite catalog of client rows. Its writer
// methods (Upsert, UpdateStats, Remove) and List, Get, Stats and Flush are
// safe for concurrent use by any goroutine; one internal writer goroutine
// applies the changes.
//
// Isolation: readers and the writer share one in-memory database (shared
// cache). Readers hold a gate (sync.RWMutex) shared for one whole List;
// the writer holds it exclusively for each chunk of membership changes
// (rows that appear, disappear or change a filtered column; at most about
// ChunkBudget), so a page and its count always agree on which clients
// exist and match. Counter updates and quiet lifecycle updates run in
// chunks beside the readers, which read uncommitted, and reach the Go
// mirror under the gate in batches. docs/catalog.md has the measurements that chose this over
// a gate for every chunk, uncommitted reads throughout and copy-and-swap.
type Catalog struct {
	cfg Config
	key []byte
	rdb *sqlx.DB // reader pool
	wdb *sql.DB  // writer pool (one connection, pinned in w.conn)

	// gate keeps readers out while a lifecycle chunk is open or the
	// mirror changes; see Catalog. It guards the tuple counters
	// (counters.go), the text indexes and the writer's mirror.
	gate sync.RWMutex
	// tupleIDs, tupleKeys and tupleCounts are guarded by gate.
	tupleIDs    map[tupleKey]uint16
	tupleKeys   []tupleKey
	tupleCounts []int64 // indexed by tuple id; maxTuples long
	// ids and users are the Go-side text indexes for like_ filters
	// (textindex.go), guarded by gate.
	ids, users textIndex

	in inbox // changes handed in, waiting for the writer

	w *writer // owned by the writer goroutine

	// Published by the writer for Stats.
	rows         atomic.Int64
	interval     atomic.Int64 // effective stats interval, ns
	lastSnap     atomic.Int64 // ns
	lastSnapRows atomic.Int64
	maxHold      atomic.Int64 // ns
	lifeFrom     atomic.Int64 // unix ns of the oldest lifecycle change being applied, 0 if none
	statsFrom    atomic.Int64 // unix ns of the oldest counter update being applied, 0 if none
	errs         atomic.Uint64
	lastErr      atomic.Pointer[string]

	// lifeApplied is the number of the last Upsert or Remove call whose
	// change readers see; lifeCh is closed and replaced when it grows
	// (under lifeMu); lifeWaiters counts Lists waiting for it.
	lifeApplied  atomic.Uint64
	lifeWaiters  atomic.Int64
	syncTimeouts atomic.Uint64 // Lists that stopped waiting at SyncWait
	lifeMu       sync.Mutex
	lifeCh       chan struct{}

	flushReq  chan chan struct{}
	quit      chan struct{}
	done      chan struct{}
	closeOnce sync.Once
	closed    atomic.Bool
}

// New creates an empty catalog and starts its writer goroutine.
func New(cfg Config) (*Catalog, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	key := cfg.CursorKey
	if len(key) == 0 {
		key = make([]byte, 32)
		rand.Read(key)
	}
	dsn := fmt.Sprintf("file:shardmq-catalog-%d?mode=memory&cache=shared", dbSeq.Add(1))
	wdb, err := sql.Open(writerDriver, dsn)
	if err != nil {
		return nil, fmt.Errorf("catalog: open writer: %w", err)
	}
	wdb.SetMaxOpenConns(1)
	ctx := context.Background()
	conn, err := wdb.Conn(ctx)
	if err != nil {
		wdb.Close()
		return nil, fmt.Errorf("catalog: open writer: %w", err)
	}
	for _, s := range schemaSQL() {
		if _, err := conn.ExecContext(ctx, s); err != nil {
			conn.Close()
			wdb.Close()
			return nil, fmt.Errorf("catalog: create schema: %w", err)
		}
	}
	rdb, err := sqlx.Open(readerDriver, dsn)
	if err != nil {
		conn.Close()
		wdb.Close()
		return nil, fmt.Errorf("catalog: open readers: %w", err)
	}
	rdb.SetMaxOpenConns(cfg.Readers)
	rdb.SetMaxIdleConns(cfg.Readers)
	rdb.SetConnMaxIdleTime(0)
	rdb.SetConnMaxLifetime(0)
	c := &Catalog{
		cfg:         cfg,
		key:         key,
		rdb:         rdb,
		wdb:         wdb,
		tupleIDs:    make(map[tupleKey]uint16),
		tupleCounts: make([]int64, maxTuples),
		flushReq:    make(chan chan struct{}),
		lifeCh:      make(chan struct{}),
		quit:        make(chan struct{}),
		done:        make(chan struct{}),
	}
	c.in.init()
	c.interval.Store(int64(cfg.StatsInterval))
	w, err := newWriter(c, conn)
	if err != nil {
		conn.Close()
		wdb.Close()
		rdb.Close()
		return nil, err
	}
	c.w = w
	go c.run()
	return c, nil
}

// Close stops the writer (dropping changes not yet applied) and frees the
// database. It is safe to call twice; later calls return nil.
func (c *Catalog) Close() error {
	var err error
	c.closeOnce.Do(func() {
		c.closed.Store(true)
		close(c.quit)
		<-c.done
		err = c.w.close()
		if e := c.rdb.Close(); err == nil {
			err = e
		}
		if e := c.wdb.Close(); err == nil {
			err = e
		}
	})
	return err
}

// Flush waits until every change handed in before the call, counters
// included (regardless of the stats interval), is visible to readers.
func (c *Catalog) Flush(ctx context.Context) error {
	if c.closed.Load() {
		return ErrClosed
	}
	req := make(chan struct{})
	select {
	case c.flushReq <- req:
	case <-c.done:
		return ErrClosed
	case <-ctx.Done():
		return ctx.Err()
	}
	select {
	case <-req:
		return nil
	case <-c.done:
		return ErrClosed
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Stats reports the writer's progress. It is cheap and safe to call from
// any goroutine.
func (c *Catalog) Stats() Stats {
	now := time.Now()
	s := Stats{
		Rows:             c.rows.Load(),
		StatsInterval:    time.Duration(c.interval.Load()),
		LastSnapshot:     time.Duration(c.lastSnap.Load()),
		LastSnapshotRows: int(c.lastSnapRows.Load()),
		MaxChunkHold:     time.Duration(c.maxHold.Load()),
		Errors:           c.errs.Load(),
		SyncTimeouts:     c.syncTimeouts.Load(),
	}
	if p := c.lastErr.Load(); p != nil {
		s.LastError = *p
	}
	oldest, life, stats := c.in.pending()
	for _, f := range []int64{c.lifeFrom.Load(), c.statsFrom.Load()} {
		if f != 0 && (oldest.IsZero() || f < oldest.UnixNano()) {
			oldest = time.Unix(0, f)
		}
	}
	if !oldest.IsZero() {
		s.Staleness = now.Sub(oldest)
	}
	s.PendingLifecycle, s.PendingStats = life, stats
	return s
}

// fail records a write error for Stats.
func (c *Catalog) fail(err error) {
	c.errs.Add(1)
	msg := err.Error()
	c.lastErr.Store(&msg)
}
