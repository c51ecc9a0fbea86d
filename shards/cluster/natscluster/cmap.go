package natscluster

import (
	"hash/maphash"
	"sync/atomic"
)

// cmap maps the segments below one trie node to their children. Reads are
// lock-free and allocate nothing (the key may be a []byte of the topic);
// writes are serialised by the table's lock and copy one bucket, so a
// level with a million children (device ids) costs one small copy per
// change, not a million.
type cmap struct {
	buckets []atomic.Pointer[[]centry]
	// n is the number of entries; written under the table's lock.
	n int
}

type centry struct {
	key string
	val *tnode
}

// seed is fixed per process: every cmap of the process hashes alike.
var seed = maphash.MakeSeed()

func newCmap(nbuckets int) *cmap {
	return &cmap{buckets: make([]atomic.Pointer[[]centry], nbuckets)}
}

// get returns the child for key, nil when none. Lock-free.
func (m *cmap) get(key []byte) *tnode {
	b := m.buckets[maphash.Bytes(seed, key)&uint64(len(m.buckets)-1)].Load()
	if b == nil {
		return nil
	}
	for i := range *b {
		if (*b)[i].key == string(key) {
			return (*b)[i].val
		}
	}
	return nil
}

// getString is get for a string key.
func (m *cmap) getString(key string) *tnode {
	b := m.buckets[maphash.String(seed, key)&uint64(len(m.buckets)-1)].Load()
	if b == nil {
		return nil
	}
	for i := range *b {
		if (*b)[i].key == key {
			return (*b)[i].val
		}
	}
	return nil
}

// put adds key (absent) and returns the map to use from now on: m, or a
// larger copy once m holds four entries per bucket. Called under the
// table's lock.
func (m *cmap) put(key string, val *tnode) *cmap {
	if m.n >= 4*len(m.buckets) {
		g := newCmap(2 * len(m.buckets))
		for i := range m.buckets {
			if b := m.buckets[i].Load(); b != nil {
				for _, e := range *b {
					g.put(e.key, e.val)
				}
			}
		}
		m = g
	}
	slot := &m.buckets[maphash.String(seed, key)&uint64(len(m.buckets)-1)]
	var nb []centry
	if b := slot.Load(); b != nil {
		nb = make([]centry, len(*b), len(*b)+1)
		copy(nb, *b)
	}
	nb = append(nb, centry{key, val})
	slot.Store(&nb)
	m.n++
	return m
}

// del removes key if present. Called under the table's lock.
func (m *cmap) del(key string) {
	slot := &m.buckets[maphash.String(seed, key)&uint64(len(m.buckets)-1)]
	b := slot.Load()
	if b == nil {
		return
	}
	for i := range *b {
		if (*b)[i].key == key {
			nb := make([]centry, 0, len(*b)-1)
			nb = append(nb, (*b)[:i]...)
			nb = append(nb, (*b)[i+1:]...)
			slot.Store(&nb)
			m.n--
			return
		}
	}
}
