package shards

import "sync"

// registryStripes is the number of independently locked maps in a
// registry; loops creating sessions at the same time rarely share one.
const registryStripes = 64

// registry maps client id → *session for every shard. Only the owning
// shard stores or deletes an entry (LoadOrStore decides between two loops
// racing to create the same session); any goroutine may look one up. It
// replaces a sync.Map, which boxed each key and kept a node per entry
// (~100 B per session); a plain map entry here is the id's header and a
// pointer, the id's bytes shared with the session.
type registry struct {
	stripes [registryStripes]registryStripe
}

// registryStripe is one locked part of a registry.
type registryStripe struct {
	mu sync.RWMutex
	m  map[string]*session
}

// stripe returns the part of r that holds id (FNV-1a of id).
func (r *registry) stripe(id string) *registryStripe {
	return &r.stripes[stripeHash(id)%registryStripes]
}

// stripeHash returns the FNV-1a hash of id.
func stripeHash(id string) uint32 {
	h := uint32(2166136261)
	for i := 0; i < len(id); i++ {
		h ^= uint32(id[i])
		h *= 16777619
	}
	return h
}

// Load returns the session of id.
func (r *registry) Load(id string) (*session, bool) {
	st := r.stripe(id)
	st.mu.RLock()
	s, ok := st.m[id]
	st.mu.RUnlock()
	return s, ok
}

// LoadOrStore returns the session of id if there is one (loaded true);
// otherwise it stores s and returns it.
func (r *registry) LoadOrStore(id string, s *session) (*session, bool) {
	st := r.stripe(id)
	st.mu.Lock()
	defer st.mu.Unlock()
	if cur, ok := st.m[id]; ok {
		return cur, true
	}
	if st.m == nil {
		st.m = make(map[string]*session)
	}
	st.m[id] = s
	return s, false
}

// Store sets the session of id to s.
func (r *registry) Store(id string, s *session) {
	st := r.stripe(id)
	st.mu.Lock()
	if st.m == nil {
		st.m = make(map[string]*session)
	}
	st.m[id] = s
	st.mu.Unlock()
}

// CompareAndDelete deletes id if its session is s.
func (r *registry) CompareAndDelete(id string, s *session) {
	st := r.stripe(id)
	st.mu.Lock()
	if st.m[id] == s {
		delete(st.m, id)
	}
	st.mu.Unlock()
}

// Len returns the number of entries.
func (r *registry) Len() int {
	n := 0
	for i := range r.stripes {
		st := &r.stripes[i]
		st.mu.RLock()
		n += len(st.m)
		st.mu.RUnlock()
	}
	return n
}

// IDs returns the client ids r holds, stripe by stripe (each stripe read
// under its lock: an id stored or deleted meanwhile may or may not be in
// the list).
func (r *registry) IDs() []string {
	ids := make([]string, 0, r.Len())
	for i := range r.stripes {
		st := &r.stripes[i]
		st.mu.RLock()
		for id := range st.m {
			ids = append(ids, id)
		}
		st.mu.RUnlock()
	}
	return ids
}

// reserve sizes r's stripes for n sessions in all; it runs before r holds
// any (Recover).
func (r *registry) reserve(n int) {
	per := n/registryStripes + n/(8*registryStripes) // FNV spreads them within ~1/8
	for i := range r.stripes {
		st := &r.stripes[i]
		st.mu.Lock()
		if len(st.m) == 0 {
			st.m = make(map[string]*session, per)
		}
		st.mu.Unlock()
	}
}
