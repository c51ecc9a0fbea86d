package catalog

import (
	"encoding/binary"
	"hash/maphash"
	"strings"
)

// The Go mirror: what the writer keeps in Go of every row, in slabs of
// slots numbered by rowid-1, beside the clientid index (idindex.go), the
// packed counters (packed.go) and the text indexes (textindex.go). The
// writer uses it to write only what changed; List's Go-side evaluator
// (goeval.go) reads it under the gate. It changes only through effects,
// applied once the chunk that wrote them to SQL has committed (txn.go).

// slot mirrors, in Go, what the writer needs of one row: its text-index
// entries, the hash of its network identity (ip_address, peersni, cn; so
// that a lifecycle update sets only the indexed columns that changed, see
// lifeUpdateSQL) and its last written
// counters (so that only changed columns are written). A row's rowid is
// its slot number plus one, so the mirror needs no rowid and stats are
// written by rowid. The row's tuple and times live in its slab's columns.
type slot struct {
	idEntry   uint32 // entry in Catalog.ids
	userEntry uint32 // entry in Catalog.users
	ipHash    uint64
	ctr       packedCounters
}

// slabSize is the number of slots of a slab.
const slabSize = 1 << slabBits

// slab holds slabSize slots and, apart from them, the columns a full scan
// of the mirror reads: whether each slot holds a row, its tuple (for the
// counters outside SQL and tuple conditions), created_at, connected_at and
// the clientid's first 8 bytes (idKey; see idPrefixKey).
// A scan reading one field per 176-byte slot was bound by memory latency
// (~11 ns per row at 1M rows, docs/catalog.md); these columns are read
// sequentially.
type slab struct {
	slots       [slabSize]slot
	live        [slabSize / 64]uint64
	tuple       [slabSize]uint16
	createdAt   [slabSize]int64
	connectedAt [slabSize]int64
	idKey       [slabSize]uint64
}

// idPrefixKey returns the first 8 bytes of id as a big-endian number,
// padded with zeros: ordering by it orders clientids by their first 8
// bytes, so the smallest key among some rows bounds their clientids from
// below (see idKeyBound).
func idPrefixKey(id string) uint64 {
	var b [8]byte
	copy(b[:], id)
	return binary.BigEndian.Uint64(b[:])
}

// idKeyBound returns the string that every clientid whose idPrefixKey is
// at least k is greater than or equal to: k's bytes without the padding.
// Clientids never contain NUL (they are MQTT UTF-8 strings).
func idKeyBound(k uint64) string {
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], k)
	return strings.TrimRight(string(b[:]), "\x00")
}

// slabBits sizes the slabs of slots: 1024 slots (~180 KiB) per slab, so the
// mirror grows without doubling a huge slice, and a catalog of 10,000 rows
// leaves at most 1,023 slots unused (4096-slot slabs: Go heap 384 → 347 B
// per row at 10,000 rows, BenchmarkMemory -catalog.rows=10000).
const slabBits = 10

// effect is a change to the Go mirror, applied only once the chunk that
// wrote it to SQL has committed, so mirror and database never diverge.
type effect struct {
	op    uint8 // effInsert, effUpdate, effDelete, effStats
	id    string
	rowid int64
	row   *Row
	ctr   *Counters
}

const (
	effInsert = iota
	effUpdate
	effDelete
	effStats
)

// setIndexed records r's indexed columns for slot i.
func (w *writer) setIndexed(i uint32, r *Row) {
	sb, j := w.col(i)
	sb.createdAt[j], sb.connectedAt[j] = r.CreatedAt, r.ConnectedAt
	sb.slots[j].ipHash = w.peerHash(r)
}

// peerHash hashes r's network identity: ip_address, peersni and cn.
func (w *writer) peerHash(r *Row) uint64 {
	var h maphash.Hash
	h.SetSeed(w.ipSeed)
	h.WriteString(r.IPAddress)
	for _, s := range [...]*string{r.PeerSNI, r.CN} {
		if s == nil {
			h.WriteByte(0)
		} else {
			h.WriteByte(1)
			h.WriteString(*s)
		}
	}
	return h.Sum64()
}

// slot returns slot number i.
func (w *writer) slot(i uint32) *slot {
	return &w.slabs[i>>slabBits].slots[i&(slabSize-1)]
}

// col returns the slab of slot i and i's index in it.
func (w *writer) col(i uint32) (*slab, uint32) {
	return w.slabs[i>>slabBits], i & (slabSize - 1)
}

// tupleOfSlot returns slot i's tuple id.
func (w *writer) tupleOfSlot(i uint32) uint16 {
	sb, j := w.col(i)
	return sb.tuple[j]
}

// takeSlot returns a free slot number; it is committed by an insert effect
// or given back by abort.
func (w *writer) takeSlot() uint32 {
	if n := len(w.free); n > 0 {
		i := w.free[n-1]
		w.free = w.free[:n-1]
		w.newSlots = append(w.newSlots, i)
		return i
	}
	i := w.nslots
	w.nslots++
	if int(i>>slabBits) == len(w.slabs) {
		w.slabs = append(w.slabs, new(slab))
	}
	w.newSlots = append(w.newSlots, i)
	return i
}

func (w *writer) applyEffect(e *effect) {
	c := w.c
	switch e.op {
	case effInsert:
		i := uint32(e.rowid - 1)
		sb, j := w.col(i)
		s := &sb.slots[j]
		sb.tuple[j] = c.tupleID(tupleOf(e.row))
		sb.live[j>>6] |= 1 << (j & 63)
		w.big.set(&s.ctr, &e.row.Counters)
		w.setIndexed(i, e.row)
		s.idEntry = c.ids.add(e.id, i)
		sb.idKey[j] = idPrefixKey(e.id)
		s.userEntry = c.users.add(e.row.Username, i)
		w.index.put(e.id, i)
		c.tupleCounts[sb.tuple[j]]++
	case effUpdate:
		i, _ := w.index.get(e.id)
		sb, j := w.col(i)
		s := &sb.slots[j]
		c.tupleCounts[sb.tuple[j]]--
		sb.tuple[j] = c.tupleID(tupleOf(e.row))
		w.big.set(&s.ctr, &e.row.Counters)
		w.setIndexed(i, e.row)
		c.tupleCounts[sb.tuple[j]]++
		if string(c.users.value(s.userEntry)) != e.row.Username {
			c.users.kill(s.userEntry)
			s.userEntry = c.users.add(e.row.Username, i)
		}
	case effDelete:
		i, _ := w.index.get(e.id)
		w.index.del(e.id, i)
		sb, j := w.col(i)
		s := &sb.slots[j]
		c.tupleCounts[sb.tuple[j]]--
		w.big.release(&s.ctr)
		c.ids.kill(s.idEntry)
		c.users.kill(s.userEntry)
		*s = slot{}
		sb.live[j>>6] &^= 1 << (j & 63)
		sb.tuple[j], sb.createdAt[j], sb.connectedAt[j], sb.idKey[j] = 0, 0, 0, 0
		w.free = append(w.free, i)
	case effStats:
		// The slot is still this client's: lifecycle chunks apply the
		// deferred counter effects before changing any row.
		w.big.set(&w.slot(uint32(e.rowid-1)).ctr, e.ctr)
	}
}

// changedIndexed returns the mask (bits of indexedCols) of r's indexed
// columns that differ from the row in slot i.
func (w *writer) changedIndexed(i uint32, r *Row) int {
	sb, j := w.col(i)
	sl := &sb.slots[j]
	mask := 0
	if string(w.c.users.value(sl.userEntry)) != r.Username {
		mask |= 1
	}
	if sl.ipHash != w.peerHash(r) {
		mask |= 2
	}
	if sb.createdAt[j] != r.CreatedAt {
		mask |= 4
	}
	if sb.connectedAt[j] != r.ConnectedAt {
		mask |= 8
	}
	return mask
}
