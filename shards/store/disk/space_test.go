package disk

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"syscall"
	"testing"
	"time"

	"github.com/shardmq/shardmq/shards/store"
)

// tmpfs mounts a filesystem of size bytes on a new directory for the test
// and unmounts it at the end. It skips the test where mounting is not
// allowed (not root, or no CAP_SYS_ADMIN).
func tmpfs(t *testing.T, size int) string {
	t.Helper()
	dir := t.TempDir()
	out, err := exec.Command("mount", "-t", "tmpfs", "-o", fmt.Sprintf("size=%d", size), "tmpfs", dir).CombinedOutput()
	if err != nil {
		t.Skipf("a full disk needs a small filesystem: mount tmpfs (needs root): %v: %s", err, out)
	}
	t.Cleanup(func() {
		if out, err := exec.Command("umount", dir).CombinedOutput(); err != nil {
			t.Errorf("umount %s: %v: %s", dir, err, out)
		}
	})
	return dir
}

// fill writes a file in dir until the filesystem is full, then gives back
// leave bytes of it.
func fill(t *testing.T, dir string, leave int64) string {
	t.Helper()
	name := filepath.Join(dir, "filler")
	f, err := os.Create(name)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	buf := make([]byte, 64<<10)
	var n int64
	for {
		w, err := f.Write(buf)
		n += int64(w)
		if errors.Is(err, syscall.ENOSPC) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	if err := f.Truncate(max(0, n-leave)); err != nil {
		t.Fatal(err)
	}
	return name
}

// waitFor polls cond until it holds or 10 s pass.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); !cond(); {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func batchFor(id string, seq uint64) *store.Batch {
	return &store.Batch{Ops: []store.Op{queued(id, seq, msg("t", string(make([]byte, 512))))}}
}

// TestDiskFull fills a real (tmpfs) filesystem under the store: Commit
// refuses with ErrDiskFull and ENOSPC, the store and process stay up, and
// Commits succeed again once space returns.
func TestDiskFull(t *testing.T) {
	const reserve = 2 << 20
	t.Run("found=by-look", func(t *testing.T) {
		mnt := tmpfs(t, 32<<20)
		db := open(t, filepath.Join(mnt, "store"), syncMode, func(c *store.Config) {
			c.Reserve, c.FlushInterval = reserve, 10*time.Millisecond
		})
		commit(t, db, saved(session("c")))
		if _, err := os.Stat(filepath.Join(db.cfg.Dir, ballastName)); err != nil {
			t.Fatalf("no ballast: %v", err)
		}
		filler := fill(t, mnt, reserve/2)
		// The Commits before the next look still fit in the reserve.
		var err error
		var seqs []uint64
		seq := uint64(0)
		waitFor(t, "ErrDiskFull", func() bool {
			seq++
			if err = db.Commit(batchFor("c", seq)); err == nil {
				seqs = append(seqs, seq)
			}
			return err != nil
		})
		if !errors.Is(err, store.ErrDiskFull) || !errors.Is(err, syscall.ENOSPC) {
			t.Fatalf("Commit: %v, want ErrDiskFull and ENOSPC", err)
		}
		t.Logf("refused: %v", err)
		if st := load(t, db, now); st.stats.Sessions != 1 {
			t.Fatalf("reads stopped working: %+v", st.stats)
		}
		os.Remove(filler)
		waitFor(t, "Commit after space returned", func() bool { seq++; return db.Commit(batchFor("c", seq)) == nil })
		seqs = append(seqs, seq)
		if db.Stats().DiskFull == 0 {
			t.Error("Stats.DiskFull counted nothing")
		}
		db = reopen(t, db)
		var got []uint64
		for _, d := range load(t, db, now).sessions["c"].Queue {
			got = append(got, d.Seq)
		}
		if !reflect.DeepEqual(got, seqs) {
			t.Fatalf("queue after reopen %v, want the Commits that returned nil: %v", got, seqs)
		}
	})
	t.Run("found=by-write", func(t *testing.T) {
		// The disk fills between two looks: the write that finds it full
		// completes in the ballast's space, later Commits are refused.
		mnt := tmpfs(t, 32<<20)
		db := open(t, filepath.Join(mnt, "store"), syncMode, func(c *store.Config) {
			c.Reserve, c.FlushInterval = reserve, time.Hour
		})
		commit(t, db, saved(session("c")))
		fill(t, mnt, 0)
		var ok []uint64
		var err error
		for seq := uint64(1); seq <= 10000; seq++ {
			if err = db.Commit(batchFor("c", seq)); err != nil {
				break
			}
			ok = append(ok, seq)
		}
		if !errors.Is(err, store.ErrDiskFull) {
			t.Fatalf("Commit on a full disk: %v, want ErrDiskFull", err)
		}
		if _, serr := os.Stat(filepath.Join(db.cfg.Dir, ballastName)); !errors.Is(serr, os.ErrNotExist) {
			t.Fatalf("the ballast is still there (%v): the store found the disk full by looking, not by writing", serr)
		}
		t.Logf("%d Commits after the disk filled, then: %v", len(ok), err)
		if err := db.Close(); err != nil {
			t.Fatal(err)
		}
		db = open(t, db.cfg.Dir, func(c *store.Config) { c.Reserve = reserve })
		if q := load(t, db, now).sessions["c"].Queue; len(q) != len(ok) {
			t.Fatalf("%d messages survive, %d Commits returned nil", len(q), len(ok))
		}
	})
}

// TestSpaceGuard drives the guard with a fake free space: the verdict,
// the budget between looks, and the ballast coming back.
func TestSpaceGuard(t *testing.T) {
	dir := t.TempDir()
	var free int64 = 100 << 20
	looks := 0
	s := newSpace(dir, 10<<20, t.Logf)
	s.statfs = func(string) (int64, error) { looks++; return free, nil }
	s.tick()
	if !s.ballast || s.admit() != nil {
		t.Fatalf("no ballast or refused with room: ballast %v", s.ballast)
	}
	// The tick found 80 MiB above the reserve once the ballast took its
	// share: Commits look again after half of it.
	looks = 0
	s.spent(39 << 20)
	if s.admit(); looks != 0 {
		t.Fatalf("looked before the budget was spent")
	}
	free = 5 << 20
	s.spent(2 << 20)
	if err := s.admit(); !errors.Is(err, store.ErrDiskFull) || looks != 1 {
		t.Fatalf("admit %v after %d looks, want ErrDiskFull after one", err, looks)
	}
	free = 15 << 20 // above the reserve, but the ballast is there already
	s.tick()
	if s.admit() != nil {
		t.Fatal("still refused with room")
	}
	s.onDiskFull() // a write found the disk full
	if s.ballast || s.admit() == nil {
		t.Fatal("the ballast survived a full disk, or Commits go on")
	}
	free = 15 << 20 // room, but not for the ballast and the reserve
	s.tick()
	if s.admit() == nil {
		t.Fatal("Commits accepted without a ballast")
	}
	free = 30 << 20
	s.tick()
	if !s.ballast || s.admit() != nil {
		t.Fatal("the ballast did not come back")
	}
}
