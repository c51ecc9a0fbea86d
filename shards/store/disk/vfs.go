package disk

import (
	"sync/atomic"
	"time"

	"github.com/cockroachdb/pebble/vfs"
)

// countingFS counts the fsyncs of the files pebble writes and their time
// (Stats.Syncs, SyncTime, SyncMax).
type countingFS struct {
	vfs.FS
	syncs     atomic.Uint64
	syncNanos atomic.Int64
	syncMax   atomic.Int64 // the longest one, in nanoseconds
}

// timed runs one fsync and counts it.
func (fs *countingFS) timed(sync func() error) error {
	t0 := time.Now()
	err := sync()
	d := int64(time.Since(t0))
	fs.syncs.Add(1)
	fs.syncNanos.Add(d)
	for m := fs.syncMax.Load(); d > m && !fs.syncMax.CompareAndSwap(m, d); m = fs.syncMax.Load() {
	}
	return err
}

func (fs *countingFS) wrap(f vfs.File, err error) (vfs.File, error) {
	if err != nil {
		return f, err
	}
	return &countingFile{File: f, fs: fs}, nil
}

func (fs *countingFS) Create(name string) (vfs.File, error) { return fs.wrap(fs.FS.Create(name)) }

func (fs *countingFS) ReuseForWrite(oldname, newname string) (vfs.File, error) {
	return fs.wrap(fs.FS.ReuseForWrite(oldname, newname))
}

func (fs *countingFS) OpenReadWrite(name string, opts ...vfs.OpenOption) (vfs.File, error) {
	return fs.wrap(fs.FS.OpenReadWrite(name, opts...))
}

func (fs *countingFS) OpenDir(name string) (vfs.File, error) { return fs.wrap(fs.FS.OpenDir(name)) }

type countingFile struct {
	vfs.File
	fs *countingFS
}

func (f *countingFile) Sync() error { return f.fs.timed(f.File.Sync) }

func (f *countingFile) SyncData() error { return f.fs.timed(f.File.SyncData) }
