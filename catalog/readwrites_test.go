package catalog

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
	"time"
)

// TestListReadsYourWrites checks that List sees every Upsert and Remove
// made before it, with no Flush between, while another goroutine keeps
// the writer busy with lifecycle batches and counter updates.
func TestListReadsYourWrites(t *testing.T) {
	c := newTestCatalog(t, Config{SyncWait: time.Minute}) // a List that did not wait would fail below
	rng := rand.New(rand.NewPCG(1, 2))
	background := genRows(rng, 2000)
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 0; ctx.Err() == nil; i++ {
			k := i * 10 % len(background)
			c.Upsert(background[k : k+10])
			time.Sleep(time.Millisecond) // bounded: 10 rows a millisecond
			if i%100 == 0 {
				ups := make([]StatsUpdate, 0, 100)
				for _, r := range background[:100] {
					ups = append(ups, StatsUpdate{ClientID: r.ClientID, Counters: Counters{RecvOct: int64(i)}})
				}
				c.UpdateStats(ups)
			}
		}
	}()
	defer func() { cancel(); wg.Wait() }()
	for i := range 300 {
		id := fmt.Sprintf("ryw-%04d", i)
		r := genRows(rng, 1)[0]
		r.ClientID, r.Connected, r.ConnState = id, true, Connected
		c.Upsert([]Row{r})
		p, err := c.List(ctx, Filter{ClientIDs: []string{id}})
		if err != nil || p.Count != 1 {
			t.Fatalf("%s after Upsert: %+v %v", id, p, err)
		}
		c.Remove([]string{id})
		p, err = c.List(ctx, Filter{ClientIDs: []string{id}})
		if err != nil || p.Count != 0 {
			t.Fatalf("%s after Remove: %+v %v", id, p, err)
		}
	}
}

// TestListSyncWait checks that List stops waiting for a backlog after
// Config.SyncWait and counts it: 20,000 new rows cannot be applied within
// a millisecond.
func TestListSyncWait(t *testing.T) {
	c := newTestCatalog(t, Config{SyncWait: time.Millisecond})
	rows := genRows(rand.New(rand.NewPCG(3, 4)), 20000)
	c.Upsert(rows)
	p, err := c.List(context.Background(), Filter{Limit: 1})
	if err != nil {
		t.Fatal(err)
	}
	if p.Count == int64(len(rows)) || c.Stats().SyncTimeouts != 1 {
		t.Fatalf("List waited for the whole backlog: count %d, sync timeouts %d", p.Count, c.Stats().SyncTimeouts)
	}
	flush(t, c)
	if p, err := c.List(context.Background(), Filter{Limit: 1}); err != nil || p.Count != int64(len(rows)) {
		t.Fatalf("after Flush: %d %v", p.Count, err)
	}
}
