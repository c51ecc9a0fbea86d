package catalog

import (
	"bytes"
	"sort"
	"strings"
)

// textIndex is a Go-side copy of one text column (clientid or username)
// for like_ filters. SQLite's LIKE costs ~60 ns per row however short the
// needle (a 1M-row count is ~60 ms, docs/catalog.md), while bytes.Index
// over all values laid end to end runs at memory speed. Matching here is
// exactly strings.Contains on each value, for any needle without NUL (the
// separator); needles with NUL go to SQL.
//
// Entries are appended; a removed or changed value leaves a dead entry
// until compact rebuilds the buffer. A textIndex is guarded by Catalog.gate:
// the writer changes it only while holding the gate, readers read it while
// holding the gate for reading.
type textIndex struct {
	buf    []byte   // value ‖ 0 ‖ value ‖ 0 ‖ …
	starts []uint32 // entry → offset of its value in buf
	slots  []uint32 // entry → slot number, or deadEntry
	dead   int      // dead entries
	// deadBytes is the bytes of buf the dead entries hold (value and separator).
	deadBytes int
}

// deadEntry marks a removed entry in textIndex.slots.
const deadEntry = ^uint32(0)

// add appends s for slot and returns its entry number.
func (x *textIndex) add(s string, slot uint32) uint32 {
	e := uint32(len(x.starts))
	x.starts = append(x.starts, uint32(len(x.buf)))
	x.buf = append(x.buf, s...)
	x.buf = append(x.buf, 0)
	x.slots = append(x.slots, slot)
	return e
}

// value returns entry e's text (without copying).
func (x *textIndex) value(e uint32) []byte {
	end := len(x.buf)
	if int(e)+1 < len(x.starts) {
		end = int(x.starts[e+1])
	}
	return x.buf[x.starts[e] : end-1]
}

// kill marks entry e dead.
func (x *textIndex) kill(e uint32) {
	if x.slots[e] != deadEntry {
		x.slots[e] = deadEntry
		x.dead++
		x.deadBytes += len(x.value(e)) + 1
	}
}

// needsCompact reports whether dead entries take more than half the index.
func (x *textIndex) needsCompact() bool {
	return x.dead > 1024 && x.dead > len(x.slots)/2
}

// compact drops the dead entries; moved(slot, entry) is told each live
// entry's new number.
func (x *textIndex) compact(moved func(slot, entry uint32)) {
	live := len(x.slots) - x.dead
	buf := make([]byte, 0, len(x.buf)-x.deadBytes)
	starts := make([]uint32, 0, live)
	slots := make([]uint32, 0, live)
	for e, s := range x.slots {
		if s == deadEntry {
			continue
		}
		moved(s, uint32(len(starts)))
		starts = append(starts, uint32(len(buf)))
		buf = append(buf, x.value(uint32(e))...)
		buf = append(buf, 0)
		slots = append(slots, s)
	}
	x.buf, x.starts, x.slots, x.dead, x.deadBytes = buf, starts, slots, 0, 0
}

// usable reports whether needle can be matched here.
func usableNeedle(needle string) bool {
	return needle != "" && !strings.ContainsRune(needle, 0)
}

// each calls fn with the slot of every live entry containing needle, in
// entry order, until fn returns false.
func (x *textIndex) each(needle string, fn func(slot uint32) bool) {
	n := []byte(needle)
	off := 0
	for off < len(x.buf) {
		i := bytes.Index(x.buf[off:], n)
		if i < 0 {
			return
		}
		p := uint32(off + i)
		e := sort.Search(len(x.starts), func(k int) bool { return x.starts[k] > p }) - 1
		if e+1 < len(x.starts) {
			off = int(x.starts[e+1])
		} else {
			off = len(x.buf)
		}
		if s := x.slots[e]; s != deadEntry && !fn(s) {
			return
		}
	}
}
