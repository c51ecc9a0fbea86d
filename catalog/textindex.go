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
	off, e := 0, 0
	for off < len(x.buf) {
		i := indexFrom(x.buf, off, n)
		if i < 0 {
			return
		}
		// The entry holding the match: the last one starting at or
		// before it. Matches come in order, so search forward from the
		// previous entry, doubling the step, then bisect.
		p := uint32(i)
		step := 1
		for e+step < len(x.starts) && x.starts[e+step] <= p {
			e += step
			step *= 2
		}
		hi := min(e+step, len(x.starts))
		e += sort.Search(hi-e, func(k int) bool { return x.starts[e+k] > p }) - 1
		if e+1 < len(x.starts) {
			off = int(x.starts[e+1])
		} else {
			off = len(x.buf)
		}
		if s := x.slots[e]; s != deadEntry && !fn(s) {
			return
		}
		e++
	}
}

// indexFrom returns the offset in buf of the first needle at or after
// off, or -1. bytes.Index looks for a short needle's first byte with
// IndexByte and checks the rest, which for needles of frequent bytes
// (digits in device ids) stops every few bytes; on windows of at most 64
// bytes it uses its vectorized brute force instead, about 3× faster on
// such needles. Longer needles keep bytes.Index's own algorithm.
func indexFrom(buf []byte, off int, needle []byte) int {
	const window = 64
	if len(needle) > 8 {
		if i := bytes.Index(buf[off:], needle); i >= 0 {
			return off + i
		}
		return -1
	}
	for off+len(needle) <= len(buf) {
		end := min(off+window, len(buf))
		if i := bytes.Index(buf[off:end], needle); i >= 0 {
			return off + i
		}
		off = end - len(needle) + 1
	}
	return -1
}
