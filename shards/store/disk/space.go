package disk

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/shardmq/shardmq/shards/store"
)

// ballastName is the file that holds Config.Reserve bytes of the disk for
// the store.
const ballastName = "BALLAST"

// space is the free-space guard. pebble treats a failed write to its log
// as fatal (the process stops), so the store keeps the disk from filling
// under it:
//
//   - Commit is refused with store.ErrDiskFull while less than the reserve
//     is free, or while the ballast is gone. Commits in between look at the
//     free space once they have written half of the headroom above the
//     reserve that the last look found (a statfs, not per Commit).
//   - When a write finds the disk full all the same (another process
//     filled it between two looks), pebble's vfs.OnDiskFull calls
//     onDiskFull, which deletes the ballast and refuses later Commits;
//     pebble then retries the write, which fits in the space the ballast
//     held.
//   - tick (every FlushInterval) looks again and, once twice the reserve
//     is free, writes the ballast back and accepts Commits again.
type space struct {
	dir     string
	reserve int64
	logf    func(string, ...any)
	// statfs returns the bytes free for the store's directory (tests
	// replace it).
	statfs func(dir string) (int64, error)

	full   atomic.Bool
	budget atomic.Int64 // bytes that may be committed before the next look

	// mu guards the following fields and the ballast file.
	mu      sync.Mutex
	ballast bool
	lastErr string // the last statfs error logged
}

func newSpace(dir string, reserve int64, logf func(string, ...any)) *space {
	s := &space{dir: dir, reserve: reserve, logf: logf, statfs: statfs}
	if fi, err := os.Stat(s.path()); err == nil && fi.Size() >= reserve {
		s.ballast = true
	}
	return s
}

func statfs(dir string) (int64, error) {
	var st unix.Statfs_t
	if err := unix.Statfs(dir, &st); err != nil {
		return 0, err
	}
	return int64(st.Bavail) * st.Frsize, nil
}

func (s *space) path() string { return filepath.Join(s.dir, ballastName) }

// admit returns an error wrapping store.ErrDiskFull when a Commit must
// not write. It may be called from any goroutine.
func (s *space) admit() error {
	if !s.full.Load() && s.budget.Load() <= 0 {
		s.look()
	}
	if s.full.Load() {
		return fmt.Errorf("%w: %s: less than the reserve of %d bytes is free (%w)", store.ErrDiskFull,
			s.dir, s.reserve, syscall.ENOSPC)
	}
	return nil
}

// spent counts n bytes written against the budget.
func (s *space) spent(n int) { s.budget.Add(-int64(n)) }

// look checks the free space on the commit path: it may find the disk
// full, never the reverse (tick does that).
func (s *space) look() {
	free, err := s.statfs(s.dir)
	if err != nil {
		s.budget.Store(s.reserve / 2) // look again soon; tick logs the error
		return
	}
	if free < s.reserve {
		s.setFull(true, free)
		return
	}
	s.budget.Store((free - s.reserve) / 2)
}

// tick looks at the free space, writes the ballast back when there is
// room and updates the verdict. It runs on the flusher goroutine (and in
// Open).
func (s *space) tick() {
	free, err := s.statfs(s.dir)
	s.mu.Lock()
	defer s.mu.Unlock()
	if err != nil {
		if msg := err.Error(); msg != s.lastErr {
			s.lastErr = msg
			s.logf("store: %s: reading the free space: %v", s.dir, err)
		}
		return
	}
	s.lastErr = ""
	if !s.ballast && free >= 2*s.reserve {
		if err := s.writeBallastLocked(); err != nil {
			s.logf("store: %s: writing the ballast: %v", s.dir, err)
		} else {
			s.ballast = true
			free -= s.reserve
		}
	}
	full := !s.ballast || free < s.reserve
	if !full {
		s.budget.Store((free - s.reserve) / 2)
	}
	s.setFull(full, free)
}

func (s *space) setFull(full bool, free int64) {
	if s.full.Swap(full) == full {
		return
	}
	if full {
		s.logf("store: %s: disk full: %d bytes free, reserve %d: refusing commits", s.dir, free, s.reserve)
	} else {
		s.logf("store: %s: %d bytes free again: accepting commits", s.dir, free)
	}
}

// onDiskFull is pebble's call when a write of the store found the disk
// full. pebble blocks its other writes meanwhile and retries the write
// once it returns.
func (s *space) onDiskFull() {
	s.full.Store(true)
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ballast {
		err := os.Remove(s.path())
		s.ballast = false
		s.logf("store: %s: disk full: the ballast is gone (%v), refusing commits", s.dir, err)
		return
	}
	s.logf("store: %s: disk full and no ballast left", s.dir)
}

// writeBallastLocked allocates the ballast file: with fallocate where the
// filesystem has it, else by writing zeros.
func (s *space) writeBallastLocked() (err error) {
	tmp := s.path() + ".tmp"
	f, err := os.OpenFile(tmp, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(tmp)
		}
	}()
	if err := unix.Fallocate(int(f.Fd()), 0, 0, s.reserve); err != nil {
		if !errors.Is(err, unix.EOPNOTSUPP) {
			return err
		}
		zero := make([]byte, 1<<20)
		for left := s.reserve; left > 0; left -= int64(len(zero)) {
			if _, err := f.Write(zero[:min(left, int64(len(zero)))]); err != nil {
				return err
			}
		}
	}
	if err := f.Sync(); err != nil {
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(tmp, s.path())
}
