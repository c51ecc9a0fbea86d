package natscluster

import (
	"bytes"
	"hash/maphash"
	"math/bits"
	"math/rand/v2"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/shardmq/shardmq/shards/cluster"
)

// table is the cluster's interest as one node sees it: for every topic
// filter that some node subscribes to, the set of those nodes as a mask of
// slots (bit i for slot i; slot 0 is this node), and for every shared
// group the nodes that hold a member. Lookups (match) are lock-free and
// allocate nothing; changes are serialised by mu and publish each node of
// the trie through atomic pointers, so a reader sees every node either
// before or after a change.
type table struct {
	strategy cluster.ShareStrategy

	// mu serialises writers (the *Locked methods); readers take no lock.
	// It is held for one change at a time, so a shard that adds a filter
	// never waits for a whole snapshot of another node to be applied.
	mu   sync.Mutex
	root tnode
}

// add records that slot subscribes to filter.
func (t *table) add(filter string, slot int) {
	t.mu.Lock()
	t.addLocked(filter, slot)
	t.mu.Unlock()
}

// remove records that slot no longer subscribes to filter.
func (t *table) remove(filter string, slot int) {
	t.mu.Lock()
	t.removeLocked(filter, slot)
	t.mu.Unlock()
}

// tnode is one level of the trie.
type tnode struct {
	// parent, seg and kind locate the node for pruning; set at creation.
	parent *tnode
	seg    string
	kind   uint8

	children atomic.Pointer[cmap]  // exact segments
	plus     atomic.Pointer[tnode] // '+'
	hash     atomic.Pointer[tnode] // '#': filters ending in /# (or "#") end at this child
	// mask has a bit per node with an ordinary subscription ending here.
	mask atomic.Uint64
	// groups are the shared groups whose filter ends here; the slice is
	// replaced, never changed.
	groups atomic.Pointer[[]*group]
}

// The ways a tnode hangs below its parent.
const (
	kindExact uint8 = iota
	kindPlus
	kindHash
)

// group is one shared group: the nodes with a member, and the strategy's
// state for choosing among them.
type group struct {
	cluster.Group
	mask   atomic.Uint64
	next   atomic.Uint64 // round-robin cursor
	sticky atomic.Int32  // slot+1 of the sticky node, 0 when none
}

// parseFilter splits a filter as subscribed into its shared group name
// ("" when not shared) and the topic filter.
func parseFilter(filter string) (name, f string) {
	if rest, ok := strings.CutPrefix(filter, "$share/"); ok {
		if name, f, ok = strings.Cut(rest, "/"); ok {
			return name, f
		}
		return "", filter
	}
	if rest, ok := strings.CutPrefix(filter, "$queue/"); ok {
		return "$queue", rest
	}
	return "", filter
}

// addLocked is add with mu held.
func (t *table) addLocked(filter string, slot int) {
	name, f := parseFilter(filter)
	n := t.walkLocked(f, true)
	bit := uint64(1) << slot
	if name == "" {
		n.mask.Or(bit)
		return
	}
	var gs []*group
	if p := n.groups.Load(); p != nil {
		gs = *p
	}
	for _, g := range gs {
		if g.Name == name {
			g.mask.Or(bit)
			return
		}
	}
	g := &group{Group: cluster.Group{Name: name, Filter: f}}
	g.mask.Store(bit)
	ngs := make([]*group, len(gs), len(gs)+1)
	copy(ngs, gs)
	ngs = append(ngs, g)
	n.groups.Store(&ngs)
}

// removeLocked is remove with mu held; it prunes the nodes left empty.
func (t *table) removeLocked(filter string, slot int) {
	name, f := parseFilter(filter)
	n := t.walkLocked(f, false)
	if n == nil {
		return
	}
	bit := uint64(1) << slot
	if name == "" {
		n.mask.And(^bit)
	} else if p := n.groups.Load(); p != nil {
		gs := *p
		for i, g := range gs {
			if g.Name != name {
				continue
			}
			if g.mask.And(^bit) == bit { // the last node left the group
				ngs := make([]*group, 0, len(gs)-1)
				ngs = append(ngs, gs[:i]...)
				ngs = append(ngs, gs[i+1:]...)
				n.groups.Store(&ngs)
			}
			break
		}
	}
	t.pruneLocked(n)
}

// walkLocked returns the node where filter f ends, creating the path when
// create is set (else nil when absent).
func (t *table) walkLocked(f string, create bool) *tnode {
	n := &t.root
	for seg := range strings.SplitSeq(f, "/") {
		var next *tnode
		switch seg {
		case "+":
			next = n.plus.Load()
			if next == nil && create {
				next = &tnode{parent: n, kind: kindPlus}
				n.plus.Store(next)
			}
		case "#":
			next = n.hash.Load()
			if next == nil && create {
				next = &tnode{parent: n, kind: kindHash}
				n.hash.Store(next)
			}
		default:
			m := n.children.Load()
			if m != nil {
				next = m.getString(seg)
			}
			if next == nil && create {
				next = &tnode{parent: n, seg: seg, kind: kindExact}
				if m == nil {
					m = newCmap(1)
				}
				if nm := m.put(seg, next); nm != m || n.children.Load() == nil {
					n.children.Store(nm)
				}
			}
		}
		if next == nil {
			return nil
		}
		n = next
	}
	return n
}

// pruneLocked unlinks n and its ancestors while they hold nothing. A
// reader that still holds an unlinked node finds it empty.
func (t *table) pruneLocked(n *tnode) {
	for n != &t.root && n.empty() {
		p := n.parent
		switch n.kind {
		case kindPlus:
			p.plus.Store(nil)
		case kindHash:
			p.hash.Store(nil)
		default:
			if m := p.children.Load(); m != nil {
				m.del(n.seg)
				if m.n == 0 {
					p.children.Store(nil)
				}
			}
		}
		n = p
	}
}

func (n *tnode) empty() bool {
	if n.mask.Load() != 0 || n.plus.Load() != nil || n.hash.Load() != nil || n.children.Load() != nil {
		return false
	}
	gs := n.groups.Load()
	return gs == nil || len(*gs) == 0
}

// matcher accumulates one lookup. route is nil for a lookup that wants
// only the mask of every interested node (groups included).
type matcher struct {
	t         *table
	mask      uint64
	route     *cluster.Route
	publisher []byte
}

// match walks topic (no wildcards) through the trie. Lock-free, no
// allocation.
func (t *table) match(topic []byte, m *matcher) {
	// [MQTT-4.7.2-1]: a filter starting with a wildcard does not match a
	// topic starting with '$'.
	t.matchLevel(&t.root, topic, len(topic) > 0 && topic[0] == '$', m)
}

func (t *table) matchLevel(n *tnode, topic []byte, dollar bool, m *matcher) {
	seg, rest, more := topic, []byte(nil), false
	if i := bytes.IndexByte(topic, '/'); i >= 0 {
		seg, rest, more = topic[:i], topic[i+1:], true
	}
	if !dollar {
		if h := n.hash.Load(); h != nil {
			m.hit(h)
		}
		if p := n.plus.Load(); p != nil {
			m.step(p, rest, more)
		}
	}
	if c := n.children.Load(); c != nil {
		if x := c.get(seg); x != nil {
			m.step(x, rest, more)
		}
	}
}

// step continues below x, the node that matched the current level.
func (m *matcher) step(x *tnode, rest []byte, more bool) {
	if more {
		m.t.matchLevel(x, rest, false, m)
		return
	}
	m.hit(x)
	if h := x.hash.Load(); h != nil { // "a/#" matches "a" [MQTT-4.7.1-2]
		m.hit(h)
	}
}

// hit records node x, where a matching filter ends.
func (m *matcher) hit(x *tnode) {
	m.mask |= x.mask.Load()
	p := x.groups.Load()
	if p == nil {
		return
	}
	for _, g := range *p {
		gm := g.mask.Load()
		if gm == 0 {
			continue
		}
		if m.route == nil {
			m.mask |= gm
			continue
		}
		slot := m.t.pick(g, gm, m.publisher)
		m.mask |= uint64(1) << slot
		m.route.Groups = append(m.route.Groups, cluster.GroupChoice{Group: g.Group, Slot: slot, Local: slot == 0})
	}
}

// pick chooses the node (slot) of group g, whose nodes are gm, that
// serves the next message. Lock-free, no allocation.
func (t *table) pick(g *group, gm uint64, publisher []byte) int {
	n := uint64(bits.OnesCount64(gm))
	var k uint64
	switch t.strategy {
	case cluster.ShareRandom:
		k = rand.Uint64N(n)
	case cluster.ShareHashClientID:
		k = maphash.Bytes(seed, publisher) % n
	case cluster.ShareSticky:
		cur := g.sticky.Load()
		if cur > 0 && gm&(uint64(1)<<(cur-1)) != 0 {
			return int(cur - 1)
		}
		slot := nthBit(gm, rand.Uint64N(n))
		if !g.sticky.CompareAndSwap(cur, int32(slot+1)) {
			// Another publisher chose first: follow it while it holds.
			if w := g.sticky.Load(); w > 0 && gm&(uint64(1)<<(w-1)) != 0 {
				return int(w - 1)
			}
		}
		return slot
	default:
		k = (g.next.Add(1) - 1) % n
	}
	return nthBit(gm, k)
}

// nthBit returns the position of the k-th (from 0) set bit of m.
func nthBit(m uint64, k uint64) int {
	for ; k > 0; k-- {
		m &= m - 1
	}
	return bits.TrailingZeros64(m)
}
