package atomicfile

import (
	"os"
	"path/filepath"
	"testing"
)

// TestWriteFile: the file gets the new contents and mode 0600, a missing
// directory is made, and no temporary file is left beside it.
func TestWriteFile(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	path := filepath.Join(dir, "keys.json")
	for _, want := range []string{"first\n", "second\n"} {
		if err := WriteFile(path, []byte(want)); err != nil {
			t.Fatal(err)
		}
		got, err := os.ReadFile(path)
		if err != nil || string(got) != want {
			t.Fatalf("read %q, %v; want %q", got, err, want)
		}
	}
	fi, err := os.Stat(path)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("mode %v, %v; want 0600", fi.Mode(), err)
	}
	ents, _ := os.ReadDir(dir)
	if len(ents) != 1 {
		t.Fatalf("%d entries in the directory, want only the file", len(ents))
	}
	if err := WriteFile(filepath.Join(path, "under-a-file"), []byte("x")); err == nil {
		t.Fatal("writing under a regular file succeeded")
	}
}
