package disk

import (
	"sync/atomic"

	"github.com/cockroachdb/pebble/vfs"
)

// countingFS counts the fsyncs of the files pebble writes (Stats.Syncs).
type countingFS struct {
	vfs.FS
	syncs atomic.Uint64
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

func (f *countingFile) Sync() error {
	f.fs.syncs.Add(1)
	return f.File.Sync()
}

func (f *countingFile) SyncData() error {
	f.fs.syncs.Add(1)
	return f.File.SyncData()
}
