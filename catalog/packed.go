package catalog

import "math"

// packedCounters is the writer's mirror of one row's Counters in half the
// space: nearly every counter of a live client fits in 32 bits, so the
// mirror keeps them as uint32 (128 B instead of 256 B per row) and falls
// back to a full copy in bigCounters for a row with any counter outside
// [0, MaxUint32]. SQLite keeps the exact values either way. It holds no
// pointer, so the slabs of slots are not scanned by the garbage collector.
type packedCounters struct {
	lo  [numStats]uint32
	big uint32 // 1 + the row's index in bigCounters.rows; 0 when lo holds the counters
}

// bigCounters holds the full copies of the rows whose counters do not fit
// in 32 bits. Like the slots, it changes only under the catalog's gate.
type bigCounters struct {
	rows []Counters
	free []uint32
}

// set stores c in p.
func (b *bigCounters) set(p *packedCounters, c *Counters) {
	for i := range numStats {
		v := ctrAt(c, i)
		if v < 0 || v > math.MaxUint32 {
			if p.big == 0 {
				if n := len(b.free); n > 0 {
					p.big = b.free[n-1] + 1
					b.free = b.free[:n-1]
				} else {
					b.rows = append(b.rows, Counters{})
					p.big = uint32(len(b.rows))
				}
			}
			b.rows[p.big-1] = *c
			p.lo = [numStats]uint32{}
			return
		}
		p.lo[i] = uint32(v)
	}
	b.release(p)
}

// release gives p's full copy, if any, back.
func (b *bigCounters) release(p *packedCounters) {
	if p.big != 0 {
		b.free = append(b.free, p.big-1)
		p.big = 0
	}
}

// at returns counter i (statNames order) of p.
func (b *bigCounters) at(p *packedCounters, i int) int64 {
	if p.big != 0 {
		return ctrAt(&b.rows[p.big-1], i)
	}
	return int64(p.lo[i])
}
