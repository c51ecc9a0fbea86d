package shards

import "iter"

// subSet is a session's subscriptions: filter as subscribed → options.
// Most devices hold one or two, and a Go map holding even one entry costs
// its header and a group of eight slots (~250 B per session, measured with
// a heap profile of 10,000 offline sessions of one subscription each); so
// up to subSmall subscriptions live in a slice in subscription order (one
// subscription: 56 B), and past that in a map. It is one pointer in the
// session, nil while there is no subscription. Owned by the session's
// shard goroutine.
type subSet struct {
	t *subTable
}

// subTable is what a non-empty subSet points to: small or big is used.
type subTable struct {
	small []subEntry            // while at most subSmall entries
	big   map[string]SubOptions // once more; small is nil then
}

// subEntry is one subscription of a subSet's small form.
type subEntry struct {
	filter string
	opts   SubOptions
}

// subSmall is the most subscriptions a subSet keeps in its slice: a linear
// search of eight entries is as fast as a map lookup.
const subSmall = 8

// Len returns the number of subscriptions.
func (ss *subSet) Len() int {
	switch {
	case ss.t == nil:
		return 0
	case ss.t.big != nil:
		return len(ss.t.big)
	default:
		return len(ss.t.small)
	}
}

// Get returns the options of filter and whether it is subscribed.
func (ss *subSet) Get(filter string) (SubOptions, bool) {
	if ss.t == nil {
		return SubOptions{}, false
	}
	if ss.t.big != nil {
		o, ok := ss.t.big[filter]
		return o, ok
	}
	for i := range ss.t.small {
		if ss.t.small[i].filter == filter {
			return ss.t.small[i].opts, true
		}
	}
	return SubOptions{}, false
}

// Set subscribes filter with opts, replacing the options of a filter
// already subscribed.
func (ss *subSet) Set(filter string, opts SubOptions) {
	if ss.t == nil {
		ss.t = &subTable{small: make([]subEntry, 0, 1)}
	}
	t := ss.t
	if t.big != nil {
		t.big[filter] = opts
		return
	}
	for i := range t.small {
		if t.small[i].filter == filter {
			t.small[i].opts = opts
			return
		}
	}
	if len(t.small) < subSmall {
		t.small = append(t.small, subEntry{filter: filter, opts: opts})
		return
	}
	t.big = make(map[string]SubOptions, 2*subSmall)
	for _, e := range t.small {
		t.big[e.filter] = e.opts
	}
	t.big[filter] = opts
	t.small = nil
}

// Delete unsubscribes filter and reports whether it was subscribed. The
// set goes back to nothing when its last subscription goes.
func (ss *subSet) Delete(filter string) bool {
	t := ss.t
	if t == nil {
		return false
	}
	if t.big != nil {
		if _, ok := t.big[filter]; !ok {
			return false
		}
		delete(t.big, filter)
		if len(t.big) == 0 {
			ss.t = nil
		}
		return true
	}
	for i := range t.small {
		if t.small[i].filter == filter {
			n := len(t.small) - 1
			copy(t.small[i:], t.small[i+1:])
			t.small[n] = subEntry{}
			t.small = t.small[:n]
			if n == 0 {
				ss.t = nil
			}
			return true
		}
	}
	return false
}

// Clear drops every subscription.
func (ss *subSet) Clear() { ss.t = nil }

// All yields every subscription: in subscription order while there are at
// most subSmall, in the map's order after. The set must not change during
// the iteration.
func (ss *subSet) All() iter.Seq2[string, SubOptions] {
	return func(yield func(string, SubOptions) bool) {
		t := ss.t
		if t == nil {
			return
		}
		if t.big != nil {
			for f, o := range t.big {
				if !yield(f, o) {
					return
				}
			}
			return
		}
		for _, e := range t.small {
			if !yield(e.filter, e.opts) {
				return
			}
		}
	}
}
