package shards

import (
	"strconv"
	"sync"
	"testing"
)

func TestRegistry(t *testing.T) {
	a, b := &session{id: "a"}, &session{id: "a"}
	tests := []struct {
		name string
		run  func(r *registry) (*session, bool)
		want *session
		ok   bool
		len  int
	}{
		{name: "empty", run: func(r *registry) (*session, bool) { return r.Load("a") }},
		{name: "store", run: func(r *registry) (*session, bool) {
			if _, loaded := r.LoadOrStore("a", a); loaded {
				t.Fatal("loaded from an empty registry")
			}
			return r.Load("a")
		}, want: a, ok: true, len: 1},
		{name: "loadOrStoreKeeps", run: func(r *registry) (*session, bool) {
			r.LoadOrStore("a", a)
			return r.LoadOrStore("a", b)
		}, want: a, ok: true, len: 1},
		{name: "storeReplaces", run: func(r *registry) (*session, bool) {
			r.LoadOrStore("a", a)
			r.Store("a", b)
			return r.Load("a")
		}, want: b, ok: true, len: 1},
		{name: "deleteOther", run: func(r *registry) (*session, bool) {
			r.Store("a", b)
			r.CompareAndDelete("a", a)
			return r.Load("a")
		}, want: b, ok: true, len: 1},
		{name: "deleteSame", run: func(r *registry) (*session, bool) {
			r.Store("a", a)
			r.CompareAndDelete("a", a)
			return r.Load("a")
		}},
	}
	for _, tt := range tests {
		t.Run("case="+tt.name, func(t *testing.T) {
			var r registry
			got, ok := tt.run(&r)
			if got != tt.want || ok != tt.ok || r.Len() != tt.len {
				t.Fatalf("got %p %v len %d, want %p %v len %d", got, ok, r.Len(), tt.want, tt.ok, tt.len)
			}
		})
	}
}

// TestRegistryConcurrent stores from several goroutines at once (run with
// -race) and checks every entry is found.
func TestRegistryConcurrent(t *testing.T) {
	const workers, per = 4, 500
	var r registry
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range per {
				id := strconv.Itoa(w) + "/" + strconv.Itoa(i)
				r.LoadOrStore(id, &session{id: id})
				r.Load(strconv.Itoa((w+1)%workers) + "/" + strconv.Itoa(i))
			}
		}()
	}
	wg.Wait()
	if n := r.Len(); n != workers*per {
		t.Fatalf("Len = %d, want %d", n, workers*per)
	}
	for w := range workers {
		for i := range per {
			id := strconv.Itoa(w) + "/" + strconv.Itoa(i)
			if s, ok := r.Load(id); !ok || s.id != id {
				t.Fatalf("Load(%q) = %v, %v", id, s, ok)
			}
		}
	}
}
