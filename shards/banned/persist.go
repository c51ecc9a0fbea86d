package banned

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"

	"github.com/shardmq/shardmq/internal/atomicfile"
)

// The list is saved as one JSON document, replaced whole (written beside,
// synced, renamed) at every change:
//
//	{"version": 1, "banned": [{"as": "clientid", "who": "dev-7", "by": "mgmt_api",
//	  "reason": "flooding", "at": 1694770580, "until": 0}]}
//
// at and until are Unix seconds, until 0 meaning never.

// fileVersion is the version of the document.
const fileVersion = 1

type fileDoc struct {
	Version int         `json:"version"`
	Banned  []fileEntry `json:"banned"`
}

type fileEntry struct {
	As     string `json:"as"`
	Who    string `json:"who"`
	By     string `json:"by"`
	Reason string `json:"reason"`
	At     int64  `json:"at"`
	Until  int64  `json:"until"`
}

// Persist makes l keep its entries in the file at path: it loads those of
// an earlier run when the file exists (entries past their until are left
// out), writes the file (so that a directory it cannot write to fails
// now, not at the first ban), and from then on saves every change there
// before it takes effect. Call it once, before the list is used. The file
// is created with mode 0600.
func (l *List) Persist(path string) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.path != "" {
		return fmt.Errorf("banned: the list already persists in %s", l.path)
	}
	entries := l.cur.Load().entries
	b, err := os.ReadFile(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
	case err != nil:
		return fmt.Errorf("banned: %w", err)
	default:
		loaded, err := parseFile(b, l.now())
		if err != nil {
			return fmt.Errorf("banned: %s: %w", path, err)
		}
		entries = loaded
	}
	if err := save(path, entries); err != nil {
		return err
	}
	l.path = path
	l.cur.Store(build(entries))
	return nil
}

// parseFile reads the document, leaving out entries ended before now.
func parseFile(b []byte, now int64) ([]*Entry, error) {
	var f fileDoc
	d := json.NewDecoder(bytes.NewReader(b))
	d.DisallowUnknownFields()
	if err := d.Decode(&f); err != nil {
		return nil, fmt.Errorf("not a ban list: %w", err)
	}
	if f.Version != fileVersion {
		return nil, fmt.Errorf("version %d, want %d", f.Version, fileVersion)
	}
	seen := map[[2]string]bool{}
	var out []*Entry
	for i, fe := range f.Banned {
		as, ok := ParseKind(fe.As)
		if !ok {
			return nil, fmt.Errorf("entry %d: unknown kind %q", i, fe.As)
		}
		e := &Entry{As: as, Who: fe.Who, By: fe.By, Reason: fe.Reason, At: fe.At, Until: fe.Until}
		if err := e.Compile(); err != nil {
			return nil, fmt.Errorf("entry %d: %w", i, err)
		}
		if !e.Active(now) {
			continue
		}
		k := [2]string{fe.As, e.Who}
		if seen[k] {
			return nil, fmt.Errorf("entry %d: %s %q is listed twice", i, fe.As, e.Who)
		}
		seen[k] = true
		out = append(out, e)
	}
	return out, nil
}

// save writes entries to path atomically, mode 0600.
func save(path string, entries []*Entry) error {
	f := fileDoc{Version: fileVersion, Banned: make([]fileEntry, 0, len(entries))}
	for _, e := range entries {
		f.Banned = append(f.Banned, fileEntry{As: e.As.String(), Who: e.Who, By: e.By, Reason: e.Reason,
			At: e.At, Until: e.Until})
	}
	b, err := json.MarshalIndent(f, "", "  ")
	if err != nil {
		return fmt.Errorf("banned: %w", err)
	}
	if err := atomicfile.WriteFile(path, append(b, '\n')); err != nil {
		return fmt.Errorf("banned: %w", err)
	}
	return nil
}
