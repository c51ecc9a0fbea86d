package catalog

import "math"

// packedCounters is the writer's mirror of one row's Counters in half the
// space: nearly every counter of a live client fits in 32 bits, so the
// mirror keeps them as uint32 (128 B instead of 256 B per row) and falls
// back to a full copy, held by pointer, for a row with any counter outside
// [0, MaxUint32]. SQLite keeps the exact values either way.
type packedCounters struct {
	lo  [numStats]uint32
	big *Counters // non-nil when some counter does not fit in lo
}

// set stores c.
func (p *packedCounters) set(c *Counters) {
	for i := range numStats {
		v := ctrAt(c, i)
		if v < 0 || v > math.MaxUint32 {
			cp := *c
			p.big = &cp
			p.lo = [numStats]uint32{}
			return
		}
		p.lo[i] = uint32(v)
	}
	p.big = nil
}

// at returns counter i (statNames order).
func (p *packedCounters) at(i int) int64 {
	if p.big != nil {
		return ctrAt(p.big, i)
	}
	return int64(p.lo[i])
}
