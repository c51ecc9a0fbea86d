package banned

import (
	"cmp"
	"net/netip"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// List is a ban list. Banned and Entries are safe from any goroutine and
// take no lock; Add, Delete, Clear and Persist are serialised among
// themselves.
type List struct {
	// now returns the current Unix second (time.Now, or a test's clock).
	now func() int64

	// cur is the list in force, never changed once stored.
	cur atomic.Pointer[table]

	// mu guards the following fields (and serialises the writers).
	mu   sync.Mutex
	path string
}

// table is one version of the list, with the indexes Banned reads.
type table struct {
	// entries are sorted by kind, then who.
	entries  []*Entry
	clientid map[string]*Entry
	username map[string]*Entry
	peerhost map[netip.Addr]*Entry
	// clientRe and userRe are the expressions.
	clientRe, userRe reIndex
	// nets maps each prefix length in use to the networks of that length
	// (keyed by their masked prefix); netBits lists the lengths.
	nets    map[int]map[netip.Prefix]*Entry
	netBits []int
}

// New returns an empty list, kept in memory until Persist.
func New() *List {
	l := &List{now: func() int64 { return time.Now().Unix() }}
	l.cur.Store(build(nil))
	return l
}

// build indexes entries (already compiled, distinct by kind and who).
func build(entries []*Entry) *table {
	t := &table{entries: entries}
	slices.SortFunc(t.entries, func(a, b *Entry) int {
		return cmp.Or(cmp.Compare(a.As, b.As), cmp.Compare(a.Who, b.Who))
	})
	for _, e := range entries {
		switch e.As {
		case ClientID:
			if t.clientid == nil {
				t.clientid = map[string]*Entry{}
			}
			t.clientid[e.Who] = e
		case Username:
			if t.username == nil {
				t.username = map[string]*Entry{}
			}
			t.username[e.Who] = e
		case Peerhost:
			if t.peerhost == nil {
				t.peerhost = map[netip.Addr]*Entry{}
			}
			t.peerhost[e.addr] = e
		case ClientIDRe:
			t.clientRe.add(e)
		case UsernameRe:
			t.userRe.add(e)
		case PeerhostNet:
			if t.nets == nil {
				t.nets = map[int]map[netip.Prefix]*Entry{}
			}
			bits := e.net.Bits()
			if e.net.Addr().Is6() {
				bits += 1000 // IPv6 lengths apart from IPv4 ones
			}
			m := t.nets[bits]
			if m == nil {
				m = map[netip.Prefix]*Entry{}
				t.nets[bits] = m
				t.netBits = append(t.netBits, bits)
			}
			m[e.net] = e
		}
	}
	return t
}

// Len returns the number of entries, expired ones not yet dropped
// included.
func (l *List) Len() int { return len(l.cur.Load().entries) }

// Entries returns the entries in force, sorted by kind, then who.
func (l *List) Entries() []Entry {
	now := l.now()
	t := l.cur.Load()
	out := make([]Entry, 0, len(t.entries))
	for _, e := range t.entries {
		if e.Active(now) {
			out = append(out, *e)
		}
	}
	return out
}

// Lookup returns the entry in force of kind as for who (in any form Add
// takes), and whether there is one.
func (l *List) Lookup(as Kind, who string) (Entry, bool) {
	probe := Entry{As: as, Who: who}
	if probe.Compile() != nil {
		return Entry{}, false
	}
	e := l.cur.Load().find(as, probe.Who)
	if e == nil || !e.Active(l.now()) {
		return Entry{}, false
	}
	return *e, true
}

// find returns the entry of kind as and canonical who, or nil.
func (t *table) find(as Kind, who string) *Entry {
	i, _ := slices.BinarySearchFunc(t.entries, as, func(e *Entry, k Kind) int { return cmp.Compare(e.As, k) })
	for ; i < len(t.entries) && t.entries[i].As == as; i++ {
		if t.entries[i].Who == who {
			return t.entries[i]
		}
	}
	return nil
}

// Banned reports whether an entry in force bans a client with this client
// id, user name ("" for none) and address. Safe from any goroutine; it
// neither locks nor allocates.
func (l *List) Banned(clientid, username string, addr netip.Addr) bool {
	t := l.cur.Load()
	if len(t.entries) == 0 {
		return false
	}
	e := t.match(clientid, username, addr)
	return e != nil && e.Active(l.now())
}

// match returns the first entry that matches, or nil. Expired entries
// match too (Banned checks until once, on a hit): one expired entry
// hiding an active one for the same client is rare enough to go to the
// slow path.
func (t *table) match(clientid, username string, addr netip.Addr) *Entry {
	if e := t.clientid[clientid]; e != nil {
		return e
	}
	if username != "" {
		if e := t.username[username]; e != nil {
			return e
		}
	}
	addr = addr.Unmap()
	if addr.IsValid() {
		if e := t.peerhost[addr]; e != nil {
			return e
		}
		for _, bits := range t.netBits {
			b := bits
			if addr.Is6() {
				if b < 1000 {
					continue
				}
				b -= 1000
			} else if b >= 1000 {
				continue
			}
			p, err := addr.Prefix(b)
			if err != nil {
				continue
			}
			if e := t.nets[bits][p]; e != nil {
				return e
			}
		}
	}
	if e := t.clientRe.match(clientid); e != nil {
		return e
	}
	if username != "" {
		return t.userRe.match(username)
	}
	return nil
}

// reIndex holds expressions: those anchored at the start under each byte
// a match can begin with, the others in a list.
type reIndex struct {
	byFirst *[256][]*Entry
	rest    []*Entry
}

func (x *reIndex) add(e *Entry) {
	if e.first == nil {
		x.rest = append(x.rest, e)
		return
	}
	if x.byFirst == nil {
		x.byFirst = new([256][]*Entry)
	}
	for b := 0; b < 256; b++ {
		if e.first.has(byte(b)) {
			x.byFirst[b] = append(x.byFirst[b], e)
		}
	}
}

// match returns an expression that matches s, or nil.
func (x *reIndex) match(s string) *Entry {
	if x.byFirst != nil && s != "" {
		for _, e := range x.byFirst[s[0]] {
			if e.matchRe(s) {
				return e
			}
		}
	}
	for _, e := range x.rest {
		if e.matchRe(s) {
			return e
		}
	}
	return nil
}

// Add puts e on the list and returns it as kept (who in canonical form,
// At set to now when zero, By "mgmt_api" when empty). An active entry of
// the same kind and who is an *ExistsError (EMQX does not extend a ban by
// overwriting it: delete it first); an expired one is replaced. e must
// pass Compile, and its Until, when set, be after now.
func (l *List) Add(e Entry) (Entry, error) {
	if err := e.Compile(); err != nil {
		return Entry{}, err
	}
	now := l.now()
	if e.At == 0 {
		e.At = now
	}
	if e.By == "" {
		e.By = "mgmt_api"
	}
	if e.Until != 0 && e.Until <= now {
		return Entry{}, invalid("until is not in the future: a ban that has already ended bans no one")
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	t := l.cur.Load()
	if old := t.find(e.As, e.Who); old != nil && old.Active(now) {
		return Entry{}, &ExistsError{Entry: *old}
	}
	next := make([]*Entry, 0, len(t.entries)+1)
	for _, o := range t.entries {
		if o.Active(now) && (o.As != e.As || o.Who != e.Who) {
			next = append(next, o)
		}
	}
	kept := e
	next = append(next, &kept)
	if err := l.commitLocked(next); err != nil {
		return Entry{}, err
	}
	return e, nil
}

// Delete removes the entry of kind as for who (in any form Add takes). An
// unknown or expired one is ErrNotFound.
func (l *List) Delete(as Kind, who string) error {
	probe := Entry{As: as, Who: who}
	if err := probe.Compile(); err != nil {
		return ErrNotFound
	}
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	t := l.cur.Load()
	old := t.find(as, probe.Who)
	if old == nil || !old.Active(now) {
		return ErrNotFound
	}
	next := make([]*Entry, 0, len(t.entries))
	for _, o := range t.entries {
		if o != old && o.Active(now) {
			next = append(next, o)
		}
	}
	return l.commitLocked(next)
}

// Clear removes every entry.
func (l *List) Clear() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.commitLocked(nil)
}

// commitLocked saves entries when the list persists, then puts them in
// force.
func (l *List) commitLocked(entries []*Entry) error {
	if l.path != "" {
		if err := save(l.path, entries); err != nil {
			return err
		}
	}
	l.cur.Store(build(entries))
	return nil
}
