package catalog

import "hash/maphash"

// idIndex maps clientids to slot numbers without holding a pointer per
// entry: a map[string]uint32 of 1M clients is 1M strings the garbage
// collector marks on every cycle, and a string header and its bytes per
// row besides the copy the text index already has. Keys are 64-bit hashes
// of the clientid; an entry is checked against the slot's clientid in the
// text index, and the rare clientid whose hash is already taken by another
// one is kept by name in collide.
type idIndex struct {
	seed    maphash.Seed
	byHash  map[uint64]uint32
	collide map[string]uint32
	n       int
	// idOf returns slot s's clientid (from the text index, no copy).
	idOf func(s uint32) []byte
}

// idHash hashes a clientid for idIndex (a variable so that tests can make
// every clientid collide).
var idHash = func(seed maphash.Seed, id string) uint64 { return maphash.String(seed, id) }

func newIDIndex(idOf func(uint32) []byte) idIndex {
	return idIndex{seed: maphash.MakeSeed(), byHash: make(map[uint64]uint32),
		collide: make(map[string]uint32), idOf: idOf}
}

// get returns id's slot.
func (x *idIndex) get(id string) (uint32, bool) {
	if s, ok := x.byHash[idHash(x.seed, id)]; ok && string(x.idOf(s)) == id {
		return s, true
	}
	if len(x.collide) == 0 {
		return 0, false
	}
	s, ok := x.collide[id]
	return s, ok
}

// put records id (not in the index) at slot s; idOf(s) must already
// return id.
func (x *idIndex) put(id string, s uint32) {
	h := idHash(x.seed, id)
	if _, taken := x.byHash[h]; taken {
		x.collide[id] = s
	} else {
		x.byHash[h] = s
	}
	x.n++
}

// del removes id, which is at slot s.
func (x *idIndex) del(id string, s uint32) {
	h := idHash(x.seed, id)
	if t, ok := x.byHash[h]; ok && t == s {
		delete(x.byHash, h)
	} else {
		delete(x.collide, id)
	}
	x.n--
}

// len returns the number of clientids.
func (x *idIndex) len() int { return x.n }
