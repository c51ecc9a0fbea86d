package index

import "sync/atomic"

// slotTable is an open-addressing hash set (linear probing) of immutable *T values that readers
// walk without locks while one writer at a time inserts, replaces and deletes in place.
//
// Concurrency contract: the writer (the holder of the Index's mutex) is the only goroutine that
// calls the mutating methods; any goroutine may probe or walk the cells at any time. A cell holds
// nil (never used), tomb (deleted: probing continues past it) or a live value. Values are never
// mutated after they are stored, so a reader sees either the old or the new value of a cell, never
// a torn one. When the table is too full or too sparse the writer builds a new table and publishes
// it through the owner's atomic.Pointer; readers still holding the old table see a consistent
// snapshot of it, because the writer never touches a table again once it has been replaced.
type slotTable[T any] struct {
	cells []atomic.Pointer[T] // a power of two in length
	tomb  *T                  // the tombstone sentinel of the owner; never a live value

	// owned by the writer
	used int32 // live cells plus tombstones
	live int32
}

// maxLoad returns how many cells of a table of size cells may be used: all of a table of one or two
// cells (a probe then visits at most two), three quarters of a larger one.
func maxLoad(size int) int {
	if size <= 2 {
		return size
	}
	return size * 3 / 4
}

// newSlotTable returns an empty table with room for at least n live values. Tables start at one
// cell because most nodes hold a single subscriber or child.
func newSlotTable[T any](n int, tomb *T) *slotTable[T] {
	size := 1
	for maxLoad(size) < n {
		size <<= 1
	}
	return &slotTable[T]{cells: make([]atomic.Pointer[T], size), tomb: tomb}
}

// mask returns the probe mask of t.
func (t *slotTable[T]) mask() uint64 { return uint64(len(t.cells) - 1) }

// slot returns the index of the live value that eq accepts, or -1. Writer only: readers probe the
// cells themselves so that no closure escapes on the lock-free path.
func (t *slotTable[T]) slot(h uint64, eq func(*T) bool) int {
	mask := t.mask()
	for i, n := h&mask, 0; n < len(t.cells); i, n = (i+1)&mask, n+1 {
		p := t.cells[i].Load()
		if p == nil {
			return -1
		}
		if p != t.tomb && eq(p) {
			return int(i)
		}
	}
	return -1
}

// get returns the live value that eq accepts, or nil. Writer only.
func (t *slotTable[T]) get(h uint64, eq func(*T) bool) *T {
	if i := t.slot(h, eq); i >= 0 {
		return t.cells[i].Load()
	}
	return nil
}

// put stores v under hash h, replacing the live value that eq accepts if there is one, and reports
// whether v was added (not a replacement). It returns the table now in use, which is a new one
// (rehashed with hash) when t had to grow; the caller publishes it. Writer only.
func (t *slotTable[T]) put(h uint64, v *T, eq func(*T) bool, hash func(*T) uint64) (*slotTable[T], bool) {
	if i := t.slot(h, eq); i >= 0 {
		t.cells[i].Store(v)
		return t, false
	}
	if int(t.used)+1 > maxLoad(len(t.cells)) {
		t = t.rebuild(int(t.live)+1, hash)
	}
	mask := t.mask()
	for i := h & mask; ; i = (i + 1) & mask {
		p := t.cells[i].Load()
		if p == nil || p == t.tomb {
			if p == nil {
				t.used++
			}
			t.live++
			t.cells[i].Store(v)
			return t, true
		}
	}
}

// remove deletes the live value that eq accepts and returns it (nil if absent) with the table now in
// use, which is a new, smaller one (rehashed with hash) when t became sparse; the caller publishes
// it. Writer only.
func (t *slotTable[T]) remove(h uint64, eq func(*T) bool, hash func(*T) uint64) (*slotTable[T], *T) {
	i := t.slot(h, eq)
	if i < 0 {
		return t, nil
	}
	old := t.cells[i].Load()
	t.cells[i].Store(t.tomb)
	t.live--
	if len(t.cells) > 4 && int(t.live)*8 < len(t.cells) {
		t = t.rebuild(int(t.live), hash)
	}
	return t, old
}

// rebuild returns a fresh table holding t's live values, sized for n of them. Writer only.
func (t *slotTable[T]) rebuild(n int, hash func(*T) uint64) *slotTable[T] {
	nt := newSlotTable(n, t.tomb)
	mask := nt.mask()
	for i := range t.cells {
		p := t.cells[i].Load()
		if p == nil || p == t.tomb {
			continue
		}
		j := hash(p) & mask
		for nt.cells[j].Load() != nil {
			j = (j + 1) & mask
		}
		nt.cells[j].Store(p)
		nt.used++
		nt.live++
	}
	return nt
}
