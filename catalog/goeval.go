package catalog

import (
	"bytes"
	"container/heap"
	mbits "math/bits"
	"slices"
)

// The Go-side evaluator. Some conditions are slow in SQLite at 1M rows
// because no index can serve them: like_ substrings (~60 ns per row) and
// ranges or orders on counter columns (a full table scan, ~115 ns per
// row). The writer's mirror already holds every row's counters and tuple,
// and the text indexes hold clientids and usernames, so List evaluates
// those conditions in Go first, at memory speed:
//
//   - when they are all of f's conditions, the number of matches is f's
//     exact count;
//   - when at most maxCandidates rows match, their rowids restrict the SQL
//     ("id IN (…)"), which then only orders and pages them;
//   - when the conditions are all evaluable here and the order is a
//     counter column (any number of matches) or clientid or username (at
//     most maxCandidates matches), the page itself is chosen here (a
//     bounded heap, keyset cursors included), and SQL only fetches its
//     rows.
//
// Everything here runs with c.gate held for reading; the mirror and the
// text indexes change only under the gate held for writing.

// maxCandidates bounds the rowids handed to SQL as "id IN (…)". (A
// variable so that tests can take the paths past it with few rows.)
var maxCandidates = 20000

// goResult is what the Go-side evaluator found.
type goResult struct {
	// exact reports whether the evaluator saw all of f's conditions, so
	// that n is f's count.
	exact bool
	// n is the number of rows passing the conditions evaluated here.
	n int64
	// ids are their rowids in ascending order when n ≤ maxCandidates, a
	// superset of f's matches; nil when n is larger.
	ids []int64
	// ordered reports that page holds the page's rowids in f's order (at
	// most limit+1 of them: the extra one answers hasnext).
	ordered bool
	page    []int64
	// minID, when not empty, is a lower bound of the clientids of the
	// matches (see idKeyBound), from a scan of every row: phase one in
	// clientid order may start there instead of at the first clientid.
	minID string
}

// goEvaluable reports whether f has a condition or an order worth
// evaluating in Go, and no condition that an index serves better.
func goEvaluable(f *Filter) bool {
	if len(f.ClientIDs) > 0 || len(f.Usernames) > 0 || f.IPAddress != "" || f.PeerSNI != "" || f.CN != "" {
		return false
	}
	return usableNeedle(f.LikeClientID) || usableNeedle(f.LikeUsername) ||
		len(f.Ranges) > 0 || f.orderColumn().stat >= 0 || f.CreatedAt.set() || f.ConnectedAt.set()
}

// goEval evaluates what it can of f over the mirror. cur is the decoded
// cursor (or nil) and offset the page's offset. The caller holds c.gate
// for reading and has checked goEvaluable.
//
// With from set, only those rowids are considered: they are the rows
// matching the condition on the indexed column fam (fetched by SQL through
// its index), so that condition counts as evaluated.
func (c *Catalog) goEval(f *Filter, cur *cursor, offset int, from []int64, fam string) goResult {
	lc, lu := f.LikeClientID, f.LikeUsername
	if len(f.ClientIDs) > 0 {
		lc = ""
	}
	if len(f.Usernames) > 0 {
		lu = ""
	}
	r := goResult{exact: (len(f.Usernames) == 0 || fam == "username") &&
		(f.IPAddress == "" || fam == "ip_address") && (f.PeerSNI == "" || fam == "peersni") &&
		(f.CN == "" || fam == "cn") && len(f.ClientIDs) == 0 &&
		(lc == "" || usableNeedle(lc)) && (lu == "" || usableNeedle(lu))}
	var src *textIndex
	var needle string
	switch {
	case from != nil:
	case usableNeedle(lc):
		src, needle, lc = &c.ids, lc, ""
	case usableNeedle(lu):
		src, needle, lu = &c.users, lu, ""
	}
	maxIDs := int64(maxCandidates)
	if from != nil {
		maxIDs = int64(len(from))
	}
	lcb, lub := []byte(lc), []byte(lu)
	checkLC, checkLU := usableNeedle(lc), usableNeedle(lu)
	created, connected := f.CreatedAt, f.ConnectedAt
	checkCreated, checkConnected := created.set(), connected.set()
	tupleCond := f.ConnState != "" || f.Zone != "" || f.Listener != "" || f.ProtoName != "" || f.ProtoVer != 0 || f.CleanStart != nil
	type rng struct {
		stat int
		r    Range
	}
	ranges := make([]rng, 0, len(f.Ranges))
	for _, cr := range f.Ranges {
		col, _ := ColumnByName(cr.Column)
		ranges = append(ranges, rng{col.stat, cr.Range})
	}
	oc := f.orderColumn()
	var top *topN
	if oc.stat >= 0 && r.exact {
		top = newTopN(c, f, cur, offset)
	}

	var tupleOK []bool
	if tupleCond {
		tupleOK = make([]bool, len(c.tupleKeys))
		for id := range c.tupleKeys {
			tupleOK[id] = c.tupleKeys[id].matches(f)
		}
	}
	// columns checks the conditions on slab columns of slot j of sb.
	columns := func(sb *slab, j uint32) bool {
		if (checkCreated && !created.contains(sb.createdAt[j])) ||
			(checkConnected && !connected.contains(sb.connectedAt[j])) {
			return false
		}
		if tupleCond {
			if t := sb.tuple[j]; t == maxTuples-1 {
				r.exact, top = false, nil // the overflow tuple: let SQL decide
			} else if !tupleOK[t] {
				return false
			}
		}
		return true
	}
	minKey := ^uint64(0)
	// rest checks the other conditions of slot j of sb, numbered s, and
	// records a match.
	rest := func(sb *slab, j, s uint32) {
		sl := &sb.slots[j]
		if checkLC && !bytes.Contains(c.ids.value(sl.idEntry), lcb) {
			return
		}
		if checkLU && !bytes.Contains(c.users.value(sl.userEntry), lub) {
			return
		}
		for _, x := range ranges {
			if !x.r.contains(c.w.big.at(&sl.ctr, x.stat)) {
				return
			}
		}
		if top != nil {
			top.offer(s)
		}
		minKey = min(minKey, sb.idKey[j])
		r.n++
		if r.n <= maxIDs {
			r.ids = append(r.ids, int64(s)+1)
		}
	}
	visit := func(s uint32) bool {
		sb, j := c.w.col(s)
		if columns(sb, j) {
			rest(sb, j, s)
		}
		return true
	}
	switch {
	case from != nil:
		for _, id := range from {
			visit(uint32(id - 1))
		}
	case src != nil:
		src.each(needle, visit)
	default:
		// Every live slot, slab by slab: the column conditions read the
		// slab's columns in order, and only their matches touch a slot.
		for k, sb := range c.w.slabs {
			base := uint32(k) << slabBits
			for w, bits := range sb.live {
				for bits != 0 {
					j := uint32(w)<<6 | uint32(mbits.TrailingZeros64(bits))
					bits &= bits - 1
					if columns(sb, j) {
						rest(sb, j, base|j)
					}
				}
			}
		}
	}
	if from == nil && src == nil && r.n > 0 {
		r.minID = idKeyBound(minKey)
	}
	if r.n > maxIDs {
		r.ids = nil
	} else {
		slices.Sort(r.ids)
		if r.ids == nil {
			r.ids = []int64{}
		}
	}
	if top == nil && r.exact && r.ids != nil && (oc.Name == "clientid" || oc.Name == "username") {
		// Few matches in clientid or username order: order them here
		// rather than handing SQL an IN list to sort.
		top = newTopN(c, f, cur, offset)
		for _, id := range r.ids {
			top.offer(uint32(id - 1))
		}
	}
	if top != nil {
		r.ordered = true
		r.page = top.page(offset)
	}
	return r
}

// newTopN returns the heap that picks f's page (from offset, or after
// cur) in f's order, which must be clientid, username or a counter.
func newTopN(c *Catalog, f *Filter, cur *cursor, offset int) *topN {
	oc := f.orderColumn()
	t := &topN{c: c, stat: oc.stat, byUser: oc.Name == "username", desc: f.Desc, k: offset + f.limit() + 1}
	if cur != nil {
		t.after, t.afterVal, t.afterStr, t.afterID = true, cur.intVal, []byte(cur.strVal), []byte(cur.lastID)
	}
	return t
}

// topN keeps the k first rows in the order (key, clientid), both
// ascending or both descending, where the key is a counter (stat ≥ 0), the
// username (byUser) or nothing (clientid order), optionally only rows
// after a cursor. It is a heap whose root is the worst row kept.
type topN struct {
	c        *Catalog
	stat     int
	byUser   bool
	desc     bool
	k        int
	after    bool
	afterVal int64
	afterStr []byte
	afterID  []byte
	slots    []uint32
}

// less reports whether slot a comes before slot b in the order.
func (t *topN) less(a, b uint32) bool {
	sa := t.c.w.slot(a)
	var v int64
	var user []byte
	if t.stat >= 0 {
		v = t.c.w.big.at(&sa.ctr, t.stat)
	} else if t.byUser {
		user = t.c.users.value(sa.userEntry)
	}
	return t.cmp(v, user, t.c.ids.value(sa.idEntry), b) < 0
}

// cmp compares the row (v or user, id) with slot b in the order.
func (t *topN) cmp(v int64, user, id []byte, b uint32) int {
	sb := t.c.w.slot(b)
	d := 0
	switch {
	case t.stat >= 0:
		vb := t.c.w.big.at(&sb.ctr, t.stat)
		if v < vb {
			d = -1
		} else if v > vb {
			d = 1
		}
	case t.byUser:
		d = bytes.Compare(user, t.c.users.value(sb.userEntry))
	}
	if d == 0 {
		d = bytes.Compare(id, t.c.ids.value(sb.idEntry))
	}
	if t.desc {
		d = -d
	}
	return d
}

func (t *topN) Len() int           { return len(t.slots) }
func (t *topN) Less(i, j int) bool { return t.less(t.slots[j], t.slots[i]) } // worst at the root
func (t *topN) Swap(i, j int)      { t.slots[i], t.slots[j] = t.slots[j], t.slots[i] }
func (t *topN) Push(x any)         { t.slots = append(t.slots, x.(uint32)) }
func (t *topN) Pop() any {
	x := t.slots[len(t.slots)-1]
	t.slots = t.slots[:len(t.slots)-1]
	return x
}

// offer considers slot s.
func (t *topN) offer(s uint32) {
	if t.after {
		// Keep only rows strictly after the cursor's (value, clientid).
		if t.cmp(t.afterVal, t.afterStr, t.afterID, s) >= 0 {
			return
		}
	}
	if len(t.slots) < t.k {
		heap.Push(t, s)
		return
	}
	if t.less(s, t.slots[0]) {
		t.slots[0] = s
		heap.Fix(t, 0)
	}
}

// page returns the rowids from offset on, in order.
func (t *topN) page(offset int) []int64 {
	slices.SortFunc(t.slots, func(a, b uint32) int {
		if t.less(a, b) {
			return -1
		}
		if t.less(b, a) {
			return 1
		}
		return 0
	})
	var out []int64
	for i := offset; i < len(t.slots); i++ {
		out = append(out, int64(t.slots[i])+1)
	}
	return out
}
