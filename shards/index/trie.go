package index

import (
	"hash/maphash"
	"sync"
	"sync/atomic"
)

// SubOptions are the options of one subscription (the SUBSCRIBE options byte of [MQTT-3.8.3.1] plus
// the Subscription Identifier property).
type SubOptions struct {
	// QoS is the maximum QoS granted to the subscription.
	QoS byte
	// NoLocal suppresses messages published by the subscriber itself [MQTT-3.8.3-3].
	NoLocal bool
	// RetainAsPublished keeps the RETAIN flag of forwarded messages [MQTT-3.3.1-12].
	RetainAsPublished bool
	// RetainHandling is 0 (send retained on subscribe), 1 (only if the subscription is new) or 2
	// (never).
	RetainHandling byte
	// ID is the Subscription Identifier (1..268435455); 0 means none.
	ID uint32
}

// Hit is one match of a topic against the index: either one ordinary subscription (Group is nil) or
// one shared-subscription group (Group is non-nil, Sub and Opts are zero) from which the caller
// selects a single member with Index.Pick or Index.Resolve.
type Hit[S comparable] struct {
	// Sub is the subscriber of an ordinary subscription.
	Sub S
	// Opts are the options of that subscription.
	Opts SubOptions
	// Group is the matching shared-subscription group, or nil.
	Group *ShareGroup[S]
}

// SubscribeResult describes what Subscribe did.
type SubscribeResult struct {
	// Existed is true when the subscriber already had this exact filter (its options were
	// replaced), which Retain Handling 1 needs [MQTT-3.3.1-10].
	Existed bool
	// Shared is true for a $share/ or $queue/ filter: the broker must not send retained messages on
	// a shared subscribe [MQTT-4.8.2] (EMQX behaves the same).
	Shared bool
}

// Config configures an Index.
type Config struct {
	// ShareStrategy selects one member of each matching shared group. If zero, ShareRoundRobin is
	// used.
	ShareStrategy ShareStrategy
	// OnFilter, if set, is called when a filter gains its first
	// subscription (on) or loses its last (!on); for a shared filter, when
	// its group gains its first member or loses its last. filter is as
	// given to Subscribe or Unsubscribe. It runs with the index's lock
	// held, so calls come in the order of the changes; it must not block
	// or call the index.
	OnFilter func(filter string, on bool)
}

// Validate reports whether the configuration is usable.
func (c Config) Validate() error {
	if c.ShareStrategy > ShareSticky {
		return ErrUnknownShareStrategy
	}
	return nil
}

// Index maps topic filters to subscribers. It is a trie of topic levels whose nodes keep their
// children and subscribers in lock-free hash tables (see slotTable) so that Match never takes a lock
// and allocates nothing once the caller's result slice is large enough.
//
// Concurrency contract: Match, Pick, Resolve and Len may be called from any goroutine at any time.
// Subscribe and Unsubscribe serialise on one mutex (they are rare next to Match) and are safe to
// call concurrently with each other and with Match; a Match that runs concurrently with a change
// sees the subscription either before or after it.
type Index[S comparable] struct {
	cfg      Config
	seed     maphash.Seed
	root     *node[S]
	tombNode *node[S]
	tombSub  *subEntry[S]
	count    atomic.Int64

	// mu guards the following fields and every mutation of the trie.
	mu     sync.Mutex
	perSub map[S]int
	nodes  int
}

// node is one level of the trie. Its level string never changes; everything else is published
// through atomics by the writer.
type node[S comparable] struct {
	level    string
	parent   *node[S]                           // writer only
	children atomic.Pointer[slotTable[node[S]]] // literal levels; nil when none
	plus     atomic.Pointer[node[S]]            // the '+' child
	hash     atomic.Pointer[node[S]]            // the '#' child
	subs     atomic.Pointer[slotTable[subEntry[S]]]
	groups   atomic.Pointer[[]*ShareGroup[S]] // immutable slice, replaced on change
}

// subEntry is one ordinary subscription; immutable once published.
type subEntry[S comparable] struct {
	sub  S
	opts SubOptions
}

// New returns an empty index.
func New[S comparable](cfg Config) (*Index[S], error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return &Index[S]{
		cfg:      cfg,
		seed:     maphash.MakeSeed(),
		root:     &node[S]{},
		tombNode: &node[S]{},
		tombSub:  &subEntry[S]{},
		perSub:   make(map[S]int),
	}, nil
}

// Len returns the number of subscriptions, shared memberships included.
func (ix *Index[S]) Len() int { return int(ix.count.Load()) }

// SubscriptionsOf returns how many subscriptions sub holds. It takes the writer mutex.
func (ix *Index[S]) SubscriptionsOf(sub S) int {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	return ix.perSub[sub]
}

// Subscribers returns how many distinct subscribers hold at least one subscription. It takes the
// writer mutex.
func (ix *Index[S]) Subscribers() int {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	return len(ix.perSub)
}

// Subscribe adds the subscription of sub to filter with opts, or replaces its options when sub
// already holds that exact filter. filter may be a shared filter ($share/{group}/{filter} or
// $queue/{filter}). It fails with ErrBadFilter or ErrShareNoLocal. Safe for concurrent use.
func (ix *Index[S]) Subscribe(sub S, filter string, opts SubOptions) (SubscribeResult, error) {
	group, inner, shared, err := splitShare(filter)
	if err != nil {
		return SubscribeResult{Shared: shared}, err
	}
	if shared && opts.NoLocal {
		return SubscribeResult{Shared: true}, ErrShareNoLocal // [MQTT-3.8.3-4]
	}
	ix.mu.Lock()
	defer ix.mu.Unlock()
	n := ix.makePathLocked(inner)
	var added, first bool
	if shared {
		g := n.group(group)
		first = g == nil || g.Len() == 0
		added = ix.joinGroupLocked(n, group, inner, sub, opts)
	} else {
		t := n.subs.Load()
		if t == nil {
			t = newSlotTable(1, ix.tombSub)
		}
		first = t.live == 0
		e := &subEntry[S]{sub: sub, opts: opts}
		nt, ok := t.put(ix.subHash(e), e, func(p *subEntry[S]) bool { return p.sub == sub }, ix.subHash)
		n.subs.Store(nt)
		added = ok
	}
	if added {
		ix.count.Add(1)
		ix.perSub[sub]++
		if first && ix.cfg.OnFilter != nil {
			ix.cfg.OnFilter(filter, true)
		}
	}
	return SubscribeResult{Existed: !added, Shared: shared}, nil
}

// Unsubscribe removes the subscription of sub to filter (which may be shared) and reports whether it
// existed. It fails only with ErrBadFilter. Safe for concurrent use.
func (ix *Index[S]) Unsubscribe(sub S, filter string) (bool, error) {
	group, inner, shared, err := splitShare(filter)
	if err != nil {
		return false, err
	}
	ix.mu.Lock()
	defer ix.mu.Unlock()
	n := ix.findPathLocked(inner)
	if n == nil {
		return false, nil
	}
	var removed, last bool
	if shared {
		removed = ix.leaveGroupLocked(n, group, sub)
		last = removed && n.group(group) == nil
	} else if t := n.subs.Load(); t != nil {
		e := &subEntry[S]{sub: sub}
		nt, old := t.remove(ix.subHash(e), func(p *subEntry[S]) bool { return p.sub == sub }, ix.subHash)
		if nt.live == 0 {
			nt = nil
		}
		n.subs.Store(nt)
		removed = old != nil
		last = removed && nt == nil
	}
	if !removed {
		return false, nil
	}
	ix.count.Add(-1)
	if c := ix.perSub[sub]; c > 1 {
		ix.perSub[sub] = c - 1
	} else {
		delete(ix.perSub, sub)
	}
	ix.pruneLocked(n)
	if last && ix.cfg.OnFilter != nil {
		ix.cfg.OnFilter(filter, false)
	}
	return true, nil
}

// Match appends to dst one Hit per ordinary subscription whose filter matches topic and one Hit per
// matching shared group, and returns the extended slice. topic must be a valid topic name (no
// wildcards; the codec checks that). Filters that begin with a wildcard do not match topics whose
// first level begins with '$' [MQTT-4.7.2-1]. Match takes no lock and allocates only when dst has
// to grow: callers keep dst between calls (dst[:0]). The hits stay valid after later changes to the
// index. Safe for concurrent use.
func (ix *Index[S]) Match(topic []byte, dst []Hit[S]) []Hit[S] {
	root := ix.root
	level, rest, last := nextLevel(topic)
	if len(topic) == 0 || topic[0] != '$' {
		if h := root.hash.Load(); h != nil {
			dst = h.appendHits(dst)
		}
		if p := root.plus.Load(); p != nil {
			dst = ix.match(p, rest, last, dst)
		}
	}
	if c := ix.child(root, level); c != nil {
		dst = ix.match(c, rest, last, dst)
	}
	return dst
}

// match continues Match at n, which matched the previous level; done means the topic has no more
// levels.
func (ix *Index[S]) match(n *node[S], rest []byte, done bool, dst []Hit[S]) []Hit[S] {
	// '#' matches the parent level too: "a/#" matches "a" [MQTT-4.7.1-2].
	if h := n.hash.Load(); h != nil {
		dst = h.appendHits(dst)
	}
	if done {
		return n.appendHits(dst)
	}
	level, rest, last := nextLevel(rest)
	if p := n.plus.Load(); p != nil {
		dst = ix.match(p, rest, last, dst)
	}
	if c := ix.child(n, level); c != nil {
		dst = ix.match(c, rest, last, dst)
	}
	return dst
}

// child returns n's child for the literal level, or nil. Lock-free.
func (ix *Index[S]) child(n *node[S], level []byte) *node[S] {
	t := n.children.Load()
	if t == nil {
		return nil
	}
	h, mask := maphash.Bytes(ix.seed, level), t.mask()
	for i, k := h&mask, 0; k < len(t.cells); i, k = (i+1)&mask, k+1 {
		p := t.cells[i].Load()
		if p == nil {
			return nil
		}
		if p != t.tomb && p.level == string(level) {
			return p
		}
	}
	return nil
}

// appendHits appends the subscriptions and shared groups held at n. Lock-free.
func (n *node[S]) appendHits(dst []Hit[S]) []Hit[S] {
	if t := n.subs.Load(); t != nil {
		for i := range t.cells {
			if p := t.cells[i].Load(); p != nil && p != t.tomb {
				dst = append(dst, Hit[S]{Sub: p.sub, Opts: p.opts})
			}
		}
	}
	if gs := n.groups.Load(); gs != nil {
		for _, g := range *gs {
			dst = append(dst, Hit[S]{Group: g})
		}
	}
	return dst
}

func (ix *Index[S]) subHash(e *subEntry[S]) uint64 { return maphash.Comparable(ix.seed, e.sub) }
func (ix *Index[S]) nodeHash(n *node[S]) uint64    { return maphash.String(ix.seed, n.level) }
func (ix *Index[S]) levelEq(level string) func(*node[S]) bool {
	return func(n *node[S]) bool { return n.level == level }
}

// makePathLocked returns the node of filter, creating the missing levels.
func (ix *Index[S]) makePathLocked(filter string) *node[S] {
	n := ix.root
	for rest, done := filter, false; !done; {
		var level string
		level, rest, done = nextLevel(rest)
		n = ix.makeChildLocked(n, level)
	}
	return n
}

// makeChildLocked returns n's child for level, creating and publishing it if missing. The child is
// complete before it is published, so readers never see a half-built node.
func (ix *Index[S]) makeChildLocked(n *node[S], level string) *node[S] {
	var slot *atomic.Pointer[node[S]]
	switch level {
	case "+":
		slot = &n.plus
	case "#":
		slot = &n.hash
	}
	if slot != nil {
		if c := slot.Load(); c != nil {
			return c
		}
		c := &node[S]{level: level, parent: n}
		slot.Store(c)
		ix.nodes++
		return c
	}
	t := n.children.Load()
	h := maphash.String(ix.seed, level)
	if t != nil {
		if c := t.get(h, ix.levelEq(level)); c != nil {
			return c
		}
	} else {
		t = newSlotTable(1, ix.tombNode)
	}
	c := &node[S]{level: level, parent: n}
	t, _ = t.put(h, c, ix.levelEq(level), ix.nodeHash)
	n.children.Store(t)
	ix.nodes++
	return c
}

// findPathLocked returns the node of filter, or nil.
func (ix *Index[S]) findPathLocked(filter string) *node[S] {
	n := ix.root
	for rest, done := filter, false; !done && n != nil; {
		var level string
		level, rest, done = nextLevel(rest)
		switch level {
		case "+":
			n = n.plus.Load()
		case "#":
			n = n.hash.Load()
		default:
			t := n.children.Load()
			if t == nil {
				return nil
			}
			n = t.get(maphash.String(ix.seed, level), ix.levelEq(level))
		}
	}
	return n
}

// pruneLocked detaches n and its ancestors for as long as they hold nothing, so that churn does not
// grow the trie. Readers that already reached a detached node just find it empty.
func (ix *Index[S]) pruneLocked(n *node[S]) {
	for n != ix.root && n.empty() {
		p := n.parent
		switch {
		case p.plus.Load() == n:
			p.plus.Store(nil)
		case p.hash.Load() == n:
			p.hash.Store(nil)
		default:
			t := p.children.Load()
			t, _ = t.remove(maphash.String(ix.seed, n.level), ix.levelEq(n.level), ix.nodeHash)
			if t.live == 0 {
				t = nil
			}
			p.children.Store(t)
		}
		ix.nodes--
		n = p
	}
}

// empty reports whether n holds no subscription, group or child. Writer only.
func (n *node[S]) empty() bool {
	if t := n.subs.Load(); t != nil && t.live > 0 {
		return false
	}
	if gs := n.groups.Load(); gs != nil && len(*gs) > 0 {
		return false
	}
	if t := n.children.Load(); t != nil && t.live > 0 {
		return false
	}
	return n.plus.Load() == nil && n.hash.Load() == nil
}
