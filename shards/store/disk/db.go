package disk

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/cockroachdb/pebble"
	"github.com/cockroachdb/pebble/vfs"

	"github.com/shardmq/shardmq/shards/store"
)

// FormatVersion is the version of the key layout and records this
// package writes and reads. Open refuses a store of another version.
const FormatVersion = 1

// memTableSize is pebble's memtable size. A queue's messages are mostly
// acknowledged within one memtable's life, so a Queued and its Acked
// cancel in memory and never reach a table: 32 MiB instead of pebble's
// 4 MiB cut the store's fsyncs per second in batch durability from
// 110–160 to ~25 on BenchmarkCommit (fewer flushes and compactions), for up to
// two memtables of memory.
const memTableSize = 32 << 20

// formatMagic starts the value of formatKey.
const formatMagic = "shardmq-store"

// DB is a durable store.Store in a directory.
type DB struct {
	cfg   store.Config
	pdb   *pebble.DB
	wopts *pebble.WriteOptions
	space *space
	fs    *countingFS

	// mu guards the following field. Commit holds it for reading (shards
	// never wait for each other on it), Close for writing.
	mu     sync.RWMutex
	closed bool

	closeOnce sync.Once
	closeErr  error
	stop      chan struct{}
	done      chan struct{}

	refs bodyRefs

	// dirty is set by a Commit in batch durability and cleared by the
	// flusher before it syncs.
	dirty   atomic.Bool
	flushes atomic.Uint64 // the flusher's completed syncs
	commits atomic.Uint64
	bytes   atomic.Uint64
	refused atomic.Uint64
}

// Stats are a DB's counters since Open.
type Stats struct {
	// Commits are the Commits that wrote a batch, Bytes their bytes.
	Commits uint64
	Bytes   uint64
	// Syncs are the fsyncs of the store's files (write-ahead log, tables,
	// manifest, directory).
	Syncs uint64
	// SyncTime is the time the fsyncs took, SyncMax the longest one: batch
	// durability's loss window grows by it.
	SyncTime, SyncMax time.Duration
	// Flushes are the syncs of DurabilityBatch's flusher.
	Flushes uint64
	// DiskFull are the Commits refused with store.ErrDiskFull.
	DiskFull uint64
}

var _ store.Store = (*DB)(nil)

// Open opens the store in cfg.Dir, creating it if the directory holds
// nothing. It refuses, with an error naming the file, a directory another
// process holds (store.ErrLocked), one whose files cannot be read or are
// damaged (store.ErrCorrupt), one that holds files but no store, and a
// store of another FormatVersion (store.ErrVersion): it never starts
// empty in place of a store it cannot read.
func Open(cfg store.Config) (*DB, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.WithDefaults()
	dir := cfg.Dir
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("store: open %s: %w", dir, err)
	}
	existed, err := checkDir(dir)
	if err != nil {
		return nil, err
	}
	db := &DB{cfg: cfg, stop: make(chan struct{}), done: make(chan struct{})}
	db.space = newSpace(dir, cfg.Reserve, db.logf)
	db.fs = &countingFS{FS: vfs.OnDiskFull(vfs.Default, db.space.onDiskFull)}
	cache := pebble.NewCache(cfg.CacheSize)
	defer cache.Unref()
	opts := &pebble.Options{
		FS:           db.fs,
		Cache:        cache,
		MemTableSize: memTableSize,
		// The newest table format pebble v1 writes: the one pebble v2
		// still opens.
		FormatMajorVersion: pebble.FormatNewest,
		Logger:             logger{db},
		EventListener: &pebble.EventListener{
			BackgroundError: func(err error) { db.logf("store: %s: background error: %v", dir, err) },
		},
	}
	pdb, err := pebble.Open(dir, opts)
	if err != nil {
		return nil, openError(dir, err)
	}
	db.pdb = pdb
	if err := db.checkFormat(existed); err != nil {
		pdb.Close()
		return nil, err
	}
	if err := db.lastBody(); err != nil {
		pdb.Close()
		return nil, err
	}
	db.wopts = pebble.NoSync
	if cfg.Durability == store.DurabilitySync {
		db.wopts = pebble.Sync
	}
	db.space.tick()
	go db.flusher()
	return db, nil
}

// checkDir reports whether dir holds a store (pebble's CURRENT file or
// manifest marker). It refuses a directory that holds other files but
// neither: a store whose pointer to its manifest was lost, or the wrong
// directory; pebble would start an empty store beside them.
func checkDir(dir string) (existed bool, err error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return false, fmt.Errorf("store: open %s: %w", dir, err)
	}
	var other []string
	for _, e := range ents {
		if strings.HasPrefix(e.Name(), "marker.manifest.") {
			return true, nil // pebble's newer formats name the manifest this way
		}
		switch e.Name() {
		case "CURRENT":
			return true, nil
		case "lost+found": // the root of a filesystem
		default:
			other = append(other, e.Name())
		}
	}
	if len(other) == 0 {
		return false, nil
	}
	if len(other) > 3 {
		other = append(other[:3], "...")
	}
	return false, fmt.Errorf("%w: %s (or marker.manifest.*): missing: the directory holds %v but no store",
		store.ErrCorrupt, filepath.Join(dir, "CURRENT"), other)
}

// openError names what made pebble.Open fail.
func openError(dir string, err error) error {
	msg := err.Error()
	switch {
	case errors.Is(err, syscall.EAGAIN) || errors.Is(err, syscall.EWOULDBLOCK) ||
		strings.Contains(msg, "lock held by current process"):
		return fmt.Errorf("%w: %s: %v", store.ErrLocked, filepath.Join(dir, "LOCK"), err)
	case errors.Is(err, pebble.ErrCorruption):
		return fmt.Errorf("%w: %s: %v", store.ErrCorrupt, dir, err)
	case errors.Is(err, syscall.ENOSPC):
		return fmt.Errorf("%w: %s: %v", store.ErrDiskFull, dir, err)
	}
	return fmt.Errorf("store: open %s: %w", dir, err)
}

// checkFormat writes the format version into a new store and checks it
// in an existing one: one that existed before Open must have it, even if
// pebble finds it empty.
func (db *DB) checkFormat(existed bool) error {
	v, closer, err := db.pdb.Get(formatKey)
	if errors.Is(err, pebble.ErrNotFound) {
		it, err := db.pdb.NewIter(nil)
		if err != nil {
			return fmt.Errorf("store: open %s: %w", db.cfg.Dir, err)
		}
		empty := !it.First()
		if err := errors.Join(it.Error(), it.Close()); err != nil {
			return fmt.Errorf("%w: %s: %v", store.ErrCorrupt, db.cfg.Dir, err)
		}
		if !empty || existed {
			return fmt.Errorf("%w: %s: holds a store but no format version: not a shardmq store, or damaged", store.ErrCorrupt, db.cfg.Dir)
		}
		val := binary.AppendUvarint([]byte(formatMagic), FormatVersion)
		if err := db.pdb.Set(formatKey, val, pebble.Sync); err != nil {
			return fmt.Errorf("store: open %s: writing the format version: %w", db.cfg.Dir, err)
		}
		return nil
	}
	if err != nil {
		return fmt.Errorf("%w: %s: reading the format version: %v", store.ErrCorrupt, db.cfg.Dir, err)
	}
	defer closer.Close()
	rest, ok := bytes.CutPrefix(v, []byte(formatMagic))
	ver, n := binary.Uvarint(rest)
	if !ok || n <= 0 || n != len(rest) {
		return fmt.Errorf("%w: %s: the format version record %q is not shardmq's", store.ErrCorrupt, db.cfg.Dir, v)
	}
	if ver != FormatVersion {
		return fmt.Errorf("%w: %s holds format version %d; this build reads version %d", store.ErrVersion,
			db.cfg.Dir, ver, FormatVersion)
	}
	return nil
}

// lastBody sets the next body id above those in the store.
func (db *DB) lastBody() error {
	it, err := db.pdb.NewIter(&pebble.IterOptions{LowerBound: []byte{tagBody}, UpperBound: []byte{tagBody + 1}})
	if err != nil {
		return fmt.Errorf("store: open %s: %w", db.cfg.Dir, err)
	}
	if it.Last() {
		k := it.Key()
		if len(k) != 9 {
			it.Close()
			return fmt.Errorf("%w: %s: record %q: malformed key", store.ErrCorrupt, db.cfg.Dir, k)
		}
		db.refs.next.Store(binary.BigEndian.Uint64(k[1:]))
	}
	if err := errors.Join(it.Error(), it.Close()); err != nil {
		return fmt.Errorf("%w: %s: %v", store.ErrCorrupt, db.cfg.Dir, err)
	}
	return nil
}

// Durable reports true.
func (db *DB) Durable() bool { return true }

// Full reports whether Commits are being refused with store.ErrDiskFull
// (the free space is below the reserve); it turns false once space
// returns. Safe from any goroutine.
func (db *DB) Full() bool { return db.space.full.Load() }

// Commit writes b as one atomic pebble batch (see store.Store for the
// contract). It may be called from several goroutines at once.
func (db *DB) Commit(b *store.Batch) error {
	db.mu.RLock()
	defer db.mu.RUnlock()
	if db.closed {
		return store.ErrClosed
	}
	if len(b.Ops) == 0 {
		return nil
	}
	if err := db.space.admit(); err != nil {
		db.refused.Add(1)
		return err
	}
	pb := db.pdb.NewBatch()
	defer pb.Close()
	sc := scratchPool.Get().(*scratch)
	defer scratchPool.Put(sc)
	sc.bb.reset()
	sc.shared = sc.bb.count(b)
	sc.track = sc.shared || db.refs.live.Load() > 0
	for i := range b.Ops {
		if err := sc.apply(&db.refs, pb, &b.Ops[i]); err != nil {
			return fmt.Errorf("op %d of shard %d: %w", i, b.Shard, err)
		}
	}
	n := pb.Len()
	wopts := db.wopts
	if b.Sync {
		wopts = pebble.Sync
	}
	if err := pb.Commit(wopts); err != nil {
		if errors.Is(err, syscall.ENOSPC) {
			return fmt.Errorf("%w: %s: %v", store.ErrDiskFull, db.cfg.Dir, err)
		}
		return fmt.Errorf("store: commit in %s: %w", db.cfg.Dir, err)
	}
	db.space.spent(n)
	if sc.track {
		sc.dead = sc.bb.apply(&db.refs, sc.dead[:0])
		sc.key = db.deleteBodies(sc.dead, sc.key)
	}
	if wopts != pebble.Sync {
		db.dirty.Store(true)
	}
	db.commits.Add(1)
	db.bytes.Add(uint64(n))
	return nil
}

// scratch holds the buffers one Commit encodes keys and values in, and
// its shared-body bookkeeping.
type scratch struct {
	key, end, val []byte
	bb            bodyBatch
	shared        bool // a Message is queued twice: bodies are written
	track         bool // bodies are written or referenced: bb is kept
	dead          []uint64
}

var scratchPool = sync.Pool{New: func() any { return &scratch{} }}

// apply adds op to pb.
func (sc *scratch) apply(refs *bodyRefs, pb *pebble.Batch, op *store.Op) error {
	id := op.ClientID
	switch op.Kind {
	case store.SessionSaved:
		if op.Session == nil {
			return fmt.Errorf("%w: %s without Session", store.ErrInvalidOp, op.Kind)
		}
		if id == "" {
			id = op.Session.ClientID
		}
		sc.key = appendSessionKey(sc.key[:0], id)
		sc.val = appendSession(sc.val[:0], op.Session)
		return pb.Set(sc.key, sc.val, nil)
	case store.SessionDiscarded:
		if sc.track {
			sc.bb.discard(refs, id)
		}
		sc.key = appendClient(sc.key[:0], id)
		sc.end = append(append(sc.end[:0], sc.key...), subEnd)
		return pb.DeleteRange(sc.key, sc.end, nil)
	case store.Queued:
		if op.Message == nil {
			return fmt.Errorf("%w: %s without Message", store.ErrInvalidOp, op.Kind)
		}
		var bodyID uint64
		if sc.shared {
			bd, key, val, err := sc.bb.bodyFor(refs, pb, op, sc.key, sc.val)
			if sc.key, sc.val = key, val; err != nil {
				return err
			}
			if bd != nil {
				bodyID = bd.id
				sc.bb.add(refs, id, op.Seq, bd)
			}
		}
		if bodyID == 0 && sc.track {
			sc.bb.remove(refs, id, op.Seq) // it replaces a delivery naming a body
		}
		sc.key = appendMessageKey(sc.key[:0], id, op.Seq, seqBody)
		sc.val = appendDelivery(sc.val[:0], op, bodyID)
		return pb.Set(sc.key, sc.val, nil)
	case store.Sent, store.Released:
		sc.key = appendMessageKey(sc.key[:0], id, op.Seq, seqFlight)
		sc.val = appendFlight(sc.val[:0], op.PacketID, op.Kind == store.Released)
		return pb.Set(sc.key, sc.val, nil)
	case store.Acked:
		if sc.track {
			sc.bb.remove(refs, id, op.Seq)
		}
		sc.key = appendMessageKey(sc.key[:0], id, op.Seq, seqBody)
		if err := pb.Delete(sc.key, nil); err != nil {
			return err
		}
		sc.key[len(sc.key)-1] = seqFlight
		return pb.Delete(sc.key, nil)
	case store.AwaitRel:
		sc.key = appendAwaitRelKey(sc.key[:0], id, op.PacketID)
		return pb.Set(sc.key, nil, nil)
	case store.RelDone:
		sc.key = appendAwaitRelKey(sc.key[:0], id, op.PacketID)
		return pb.Delete(sc.key, nil)
	case store.RetainedSet:
		if op.Message == nil {
			return fmt.Errorf("%w: %s without Message", store.ErrInvalidOp, op.Kind)
		}
		sc.key = appendRetainedKey(sc.key[:0], op.Message.Topic)
		sc.val = appendMessage(sc.val[:0], op.Message)
		return pb.Set(sc.key, sc.val, nil)
	case store.RetainedCleared:
		sc.key = appendRetainedKey(sc.key[:0], op.Topic)
		return pb.Delete(sc.key, nil)
	}
	return fmt.Errorf("%w: kind %d", store.ErrInvalidOp, op.Kind)
}

// flusher syncs the log every store.SyncEvery(FlushInterval) when batch
// durability left something unsynced (the shards hold their Ops up to
// store.HoldFor(FlushInterval) before they Commit: both together stay
// within FlushInterval), and watches the free space. It runs until Close.
func (db *DB) flusher() {
	defer close(db.done)
	t := time.NewTicker(store.SyncEvery(db.cfg.FlushInterval))
	defer t.Stop()
	for {
		select {
		case <-db.stop:
			return
		case <-t.C:
		}
		if db.dirty.Swap(false) {
			if err := db.pdb.LogData(nil, pebble.Sync); err != nil {
				db.logf("store: %s: syncing the log: %v", db.cfg.Dir, err)
			} else {
				db.flushes.Add(1)
			}
		}
		db.space.tick()
	}
}

// Close syncs what batch durability has not synced yet and closes the
// store. It waits for Commits in progress; later Commits return
// store.ErrClosed. It is safe to call twice.
func (db *DB) Close() error {
	db.closeOnce.Do(func() {
		db.mu.Lock()
		db.closed = true
		db.mu.Unlock()
		close(db.stop)
		<-db.done
		var errs []error
		if db.dirty.Swap(false) {
			errs = append(errs, db.pdb.LogData(nil, pebble.Sync))
		}
		errs = append(errs, db.pdb.Close())
		if err := errors.Join(errs...); err != nil {
			db.closeErr = fmt.Errorf("store: close %s: %w", db.cfg.Dir, err)
		}
	})
	return db.closeErr
}

// Stats returns the DB's counters. It may be called from any goroutine.
func (db *DB) Stats() Stats {
	return Stats{
		Commits:  db.commits.Load(),
		Bytes:    db.bytes.Load(),
		Syncs:    db.fs.syncs.Load(),
		SyncTime: time.Duration(db.fs.syncNanos.Load()),
		SyncMax:  time.Duration(db.fs.syncMax.Load()),
		Flushes:  db.flushes.Load(),
		DiskFull: db.refused.Load(),
	}
}

func (db *DB) logf(format string, args ...any) {
	if db.cfg.Logf != nil {
		db.cfg.Logf(format, args...)
	}
}

// logger hands pebble's messages to Config.Logf.
type logger struct{ db *DB }

func (l logger) Infof(format string, args ...any)  { l.db.logf("pebble: "+format, args...) }
func (l logger) Errorf(format string, args ...any) { l.db.logf("pebble: "+format, args...) }

// Fatalf is pebble's word that it cannot go on (a failed write to its
// log or manifest leaves its state unknown): the process stops, like
// pebble's own logger does, so that nothing is acknowledged that is not
// written.
func (l logger) Fatalf(format string, args ...any) {
	msg := fmt.Sprintf("pebble: "+format, args...)
	l.db.logf("%s", msg)
	fmt.Fprintln(os.Stderr, "store:", l.db.cfg.Dir+":", msg)
	os.Exit(70)
}
