package index

import (
	"hash/maphash"
	"math/rand/v2"
	"slices"
	"sync/atomic"
)

// ShareStrategy is how one member of a shared-subscription group is chosen for each message
// [MQTT-4.8.2]. The names follow EMQX's broker.shared_subscription_strategy.
type ShareStrategy uint8

// The shared-subscription strategies.
const (
	// ShareRoundRobin takes the members in turn (the default).
	ShareRoundRobin ShareStrategy = iota
	// ShareRandom takes a uniformly random member.
	ShareRandom
	// ShareHashClientID takes the member selected by a hash of the publisher's client id, so the
	// messages of one publisher keep going to one member while the group is unchanged.
	ShareHashClientID
	// ShareSticky keeps sending to one member, chosen at random, until it leaves the group or is
	// unavailable.
	ShareSticky
)

var shareStrategyNames = [...]string{
	ShareRoundRobin:   "round_robin",
	ShareRandom:       "random",
	ShareHashClientID: "hash_clientid",
	ShareSticky:       "sticky",
}

// String returns the configuration name of s, such as "round_robin".
func (s ShareStrategy) String() string {
	if int(s) < len(shareStrategyNames) {
		return shareStrategyNames[s]
	}
	return "unknown"
}

// ParseShareStrategy returns the strategy named name ("round_robin", "random", "hash_clientid" or
// "sticky"; "" means round_robin), or ErrUnknownShareStrategy.
func ParseShareStrategy(name string) (ShareStrategy, error) {
	if name == "" {
		return ShareRoundRobin, nil
	}
	for i, n := range shareStrategyNames {
		if n == name {
			return ShareStrategy(i), nil
		}
	}
	return 0, ErrUnknownShareStrategy
}

// ShareGroup is one shared-subscription group: the subscribers of $share/{name}/{filter}. Match
// returns it as a Hit; Index.Pick chooses the member that receives a message.
//
// Retained messages are never sent on a shared subscribe [MQTT-4.8.2]; Subscribe reports
// SubscribeResult.Shared so the broker can skip them.
type ShareGroup[S comparable] struct {
	name    string
	filter  string
	members atomic.Pointer[[]*shareMember[S]] // immutable slice, replaced on change
	next    atomic.Uint64                     // round-robin cursor
	sticky  atomic.Pointer[shareMember[S]]    // the current sticky member, if any
}

// shareMember is one member of a group; immutable apart from gone.
type shareMember[S comparable] struct {
	sub  S
	opts SubOptions
	gone atomic.Bool // set when the member left the group or its options were replaced
}

// Name returns the group's name ("$queue" for EMQX's $queue/{filter}).
func (g *ShareGroup[S]) Name() string { return g.name }

// Filter returns the group's topic filter, without the $share/{name}/ prefix.
func (g *ShareGroup[S]) Filter() string { return g.filter }

// Len returns the number of members. Lock-free.
func (g *ShareGroup[S]) Len() int {
	if ms := g.members.Load(); ms != nil {
		return len(*ms)
	}
	return 0
}

// Pick chooses the member of g that receives the next message, with the index's strategy.
// publisher is the publishing client's id (used by hash_clientid). available, if not nil, tells
// whether a member can take the message now (online, within its budget); members it rejects are
// skipped. ok is false when no member is available: the broker then queues or drops the message by
// its own policy (for instance by calling Pick again with a nil available to choose a member whose
// offline queue takes it). Pick is lock-free and does not allocate (sticky records a pointer to the
// member it chose). Safe for concurrent use.
func (ix *Index[S]) Pick(g *ShareGroup[S], publisher []byte, available func(S) bool) (sub S, opts SubOptions, ok bool) {
	ms := g.members.Load()
	if ms == nil || len(*ms) == 0 {
		return sub, opts, false
	}
	members := *ms
	n := uint64(len(members))
	var start uint64
	var cur *shareMember[S] // the sticky member seen on entry
	switch ix.cfg.ShareStrategy {
	case ShareRoundRobin:
		start = (g.next.Add(1) - 1) % n
	case ShareRandom:
		start = rand.Uint64N(n)
	case ShareHashClientID:
		start = maphash.Bytes(ix.seed, publisher) % n
	case ShareSticky:
		cur = g.sticky.Load()
		if cur != nil && !cur.gone.Load() && (available == nil || available(cur.sub)) {
			return cur.sub, cur.opts, true
		}
		start = rand.Uint64N(n)
	}
	for k := uint64(0); k < n; k++ {
		m := members[(start+k)%n]
		if available == nil || available(m.sub) {
			if ix.cfg.ShareStrategy == ShareSticky && !g.sticky.CompareAndSwap(cur, m) {
				// Another goroutine chose a new sticky member first: follow it if it can take
				// the message, so that concurrent publishers converge on one member.
				if w := g.sticky.Load(); w != nil && !w.gone.Load() && (available == nil || available(w.sub)) {
					return w.sub, w.opts, true
				}
			}
			return m.sub, m.opts, true
		}
	}
	return sub, opts, false
}

// Resolve replaces, in place, every group Hit of hits by the member Pick chooses and returns the
// shortened hits together with unserved extended by the groups that had no available member. Hits
// of ordinary subscriptions are kept as they are. Neither slice grows beyond what the caller passes
// in except unserved, so reusing both keeps Resolve allocation-free. Safe for concurrent use.
func (ix *Index[S]) Resolve(hits []Hit[S], publisher []byte, available func(S) bool, unserved []*ShareGroup[S]) ([]Hit[S], []*ShareGroup[S]) {
	out := hits[:0]
	for _, h := range hits {
		if h.Group != nil {
			sub, opts, ok := ix.Pick(h.Group, publisher, available)
			if !ok {
				unserved = append(unserved, h.Group)
				continue
			}
			h = Hit[S]{Sub: sub, Opts: opts}
		}
		out = append(out, h)
	}
	return out, unserved
}

// joinGroupLocked adds sub with opts to the group named name at n (creating the group), or replaces
// its options, and reports whether sub was added.
func (ix *Index[S]) joinGroupLocked(n *node[S], name, filter string, sub S, opts SubOptions) bool {
	g := n.group(name)
	if g == nil {
		g = &ShareGroup[S]{name: name, filter: filter}
		var gs []*ShareGroup[S]
		if old := n.groups.Load(); old != nil {
			gs = slices.Clone(*old)
		}
		gs = append(gs, g)
		n.groups.Store(&gs)
	}
	var members []*shareMember[S]
	if ms := g.members.Load(); ms != nil {
		members = *ms
	}
	m := &shareMember[S]{sub: sub, opts: opts}
	for i, old := range members {
		if old.sub == sub {
			next := slices.Clone(members)
			next[i] = m
			g.members.Store(&next)
			g.sticky.CompareAndSwap(old, m)
			old.gone.Store(true)
			return false
		}
	}
	next := make([]*shareMember[S], len(members), len(members)+1)
	copy(next, members)
	next = append(next, m)
	g.members.Store(&next)
	return true
}

// leaveGroupLocked removes sub from the group named name at n, dropping the group when it becomes
// empty, and reports whether sub was a member.
func (ix *Index[S]) leaveGroupLocked(n *node[S], name string, sub S) bool {
	g := n.group(name)
	if g == nil {
		return false
	}
	members := *g.members.Load()
	i := slices.IndexFunc(members, func(m *shareMember[S]) bool { return m.sub == sub })
	if i < 0 {
		return false
	}
	members[i].gone.Store(true)
	if len(members) > 1 {
		next := slices.Delete(slices.Clone(members), i, i+1)
		g.members.Store(&next)
		return true
	}
	g.members.Store(nil)
	gs := slices.DeleteFunc(slices.Clone(*n.groups.Load()), func(x *ShareGroup[S]) bool { return x == g })
	if len(gs) == 0 {
		n.groups.Store(nil)
	} else {
		n.groups.Store(&gs)
	}
	return true
}

// group returns the group named name at n, or nil.
func (n *node[S]) group(name string) *ShareGroup[S] {
	if gs := n.groups.Load(); gs != nil {
		for _, g := range *gs {
			if g.name == name {
				return g
			}
		}
	}
	return nil
}
