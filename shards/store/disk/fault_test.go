package disk

import (
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cockroachdb/pebble"

	"github.com/shardmq/shardmq/shards/store"
)

// mustRefuse opens dir and wants an error that wraps want and names file.
func mustRefuse(t *testing.T, dir string, want error, file string) {
	t.Helper()
	db, err := Open(store.Config{Dir: dir, Reserve: 1 << 20})
	if err == nil {
		db.Close()
		t.Fatalf("Open succeeded, want %v", want)
	}
	if want != nil && !errors.Is(err, want) {
		t.Errorf("err %v, want %v", err, want)
	}
	if !strings.Contains(err.Error(), file) {
		t.Errorf("err %q does not name %s", err, file)
	}
	t.Logf("refused: %v", err)
}

// withData returns a directory holding a closed store with one session,
// flushed to a table as well as in the log.
func withData(t *testing.T) string {
	dir := t.TempDir()
	db := open(t, dir)
	commit(t, db, saved(full()), queued("dev-ü/1", 1, msg("t", "x")))
	if err := db.pdb.Flush(); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	return dir
}

func files(t *testing.T, dir, pattern string) []string {
	t.Helper()
	m, err := filepath.Glob(filepath.Join(dir, pattern))
	if err != nil || len(m) == 0 {
		t.Fatalf("no %s in %s (%v)", pattern, dir, err)
	}
	return m
}

// TestOpenLocked refuses a store another Open holds, in this process and
// in another one, naming the LOCK file.
func TestOpenLocked(t *testing.T) {
	dir := t.TempDir()
	t.Run("process=same", func(t *testing.T) {
		db := open(t, dir)
		mustRefuse(t, dir, store.ErrLocked, filepath.Join(dir, "LOCK"))
		db.Close()
	})
	t.Run("process=other", func(t *testing.T) {
		cmd, in, lines := child(t, "hold", dir, store.DurabilitySync)
		if !lines.Scan() || lines.Text() != "open" {
			t.Fatalf("child did not open the store: %q", lines.Text())
		}
		mustRefuse(t, dir, store.ErrLocked, filepath.Join(dir, "LOCK"))
		in.Close()
		if err := cmd.Wait(); err != nil {
			t.Fatalf("child: %v", err)
		}
		open(t, dir) // released with its holder
	})
}

// TestOpenRefuses refuses, naming the file, every store it cannot read,
// and never starts an empty one in its place.
func TestOpenRefuses(t *testing.T) {
	t.Run("fault=version", func(t *testing.T) {
		dir := withData(t)
		rawSet(t, dir, formatKey, binary.AppendUvarint([]byte(formatMagic), FormatVersion+1))
		mustRefuse(t, dir, store.ErrVersion, "format version 2; this build reads version 1")
	})
	t.Run("fault=no-version", func(t *testing.T) {
		dir := t.TempDir()
		rawSet(t, dir, []byte("x"), nil)
		mustRefuse(t, dir, store.ErrCorrupt, "not a shardmq store")
	})
	t.Run("fault=empty-pebble", func(t *testing.T) {
		dir := t.TempDir()
		rawSet(t, dir, nil, nil)
		mustRefuse(t, dir, store.ErrCorrupt, "not a shardmq store")
	})
	t.Run("fault=foreign-dir", func(t *testing.T) {
		dir := t.TempDir()
		os.WriteFile(filepath.Join(dir, "notes.txt"), []byte("hi"), 0o644)
		mustRefuse(t, dir, store.ErrCorrupt, filepath.Join(dir, "CURRENT"))
	})
	t.Run("fault=manifest-pointer-lost", func(t *testing.T) {
		// pebble finds its manifest through CURRENT or, in the newer
		// formats, a marker file: without them it would start empty.
		dir := withData(t)
		os.Remove(filepath.Join(dir, "CURRENT"))
		for _, m := range files(t, dir, "marker.manifest.*") {
			os.Remove(m)
		}
		mustRefuse(t, dir, store.ErrCorrupt, filepath.Join(dir, "CURRENT"))
	})
	t.Run("fault=manifest-corrupt", func(t *testing.T) {
		dir := withData(t)
		// A damaged tail of the manifest is a torn write to pebble, which
		// recovers from the log; a damaged start is not.
		m := files(t, dir, "MANIFEST-*")[0]
		garbleAt(t, m, 0)
		mustRefuse(t, dir, nil, filepath.Base(m))
	})
	t.Run("fault=manifest-unreadable", func(t *testing.T) {
		// Root reads any file whatever its mode, so the file is replaced
		// by a directory, which no one can read as a file.
		dir := withData(t)
		m := files(t, dir, "MANIFEST-*")[0]
		os.Remove(m)
		os.Mkdir(m, 0o755)
		mustRefuse(t, dir, nil, filepath.Base(m))
	})
	t.Run("fault=dir-is-a-file", func(t *testing.T) {
		f := filepath.Join(t.TempDir(), "store")
		os.WriteFile(f, nil, 0o644)
		mustRefuse(t, f, nil, f)
	})
}

// rawSet opens dir with pebble alone, sets key (if not nil) and closes.
func rawSet(t *testing.T, dir string, key, val []byte) {
	t.Helper()
	pdb, err := pebble.Open(dir, &pebble.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if key != nil {
		pdb.Set(key, val, pebble.Sync)
	}
	if err := pdb.Close(); err != nil {
		t.Fatal(err)
	}
}

// garble overwrites 16 bytes of a file at a third of its length.
func garble(t *testing.T, name string) { garbleAt(t, name, -1) }

// garbleAt overwrites 16 bytes of a file from off (-1: a third in).
func garbleAt(t *testing.T, name string, off int) {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	if off < 0 {
		off = len(b) / 3
	}
	for i := off; i < off+16 && i < len(b); i++ {
		b[i] ^= 0x5a
	}
	if err := os.WriteFile(name, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestLoadCorrupt stops Load with an error naming the damaged table or
// record; it hands over nothing as if the store were empty.
func TestLoadCorrupt(t *testing.T) {
	t.Run("fault=table", func(t *testing.T) {
		dir := withData(t)
		sst := files(t, dir, "*.sst")[0]
		garble(t, sst)
		db, err := Open(store.Config{Dir: dir, Reserve: 1 << 20})
		if err != nil {
			// pebble may read the table at Open already.
			if !errors.Is(err, store.ErrCorrupt) || !strings.Contains(err.Error(), "table "+strings.TrimSuffix(filepath.Base(sst), ".sst")) {
				t.Fatalf("Open: %v does not name %s", err, sst)
			}
			return
		}
		defer db.Close()
		_, err = db.Load(now, store.Loader{})
		if !errors.Is(err, store.ErrCorrupt) || !strings.Contains(err.Error(), "table "+strings.TrimSuffix(filepath.Base(sst), ".sst")) {
			t.Fatalf("Load: %v, want ErrCorrupt naming %s", err, sst)
		}
		t.Logf("refused: %v", err)
	})
	t.Run("fault=record", func(t *testing.T) {
		dir := t.TempDir()
		db := open(t, dir)
		key := appendSessionKey(nil, "c")
		db.pdb.Set(key, []byte{0xff, 1, 2}, pebble.Sync)
		_, err := db.Load(now, store.Loader{})
		if !errors.Is(err, store.ErrCorrupt) || !strings.Contains(err.Error(), `"c\x01c\x01"`) {
			t.Fatalf("Load: %v, want ErrCorrupt naming the key", err)
		}
		t.Logf("refused: %v", err)
	})
	t.Run("fault=key", func(t *testing.T) {
		dir := t.TempDir()
		db := open(t, dir)
		db.pdb.Set([]byte("c\x05ab"), nil, pebble.Sync)
		if _, err := db.Load(now, store.Loader{}); !errors.Is(err, store.ErrCorrupt) {
			t.Fatalf("Load: %v, want ErrCorrupt", err)
		}
	})
}
