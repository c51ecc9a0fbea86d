package httpapi

import (
	"fmt"
	"math/rand/v2"
	"net/url"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/shardmq/shardmq/catalog"
)

// churnRows returns n stable clients s0000.. and n churners s0000x.., each
// churner sorting right after its stable client, so that any shift of the
// rows moves stable clients across page boundaries.
func churnRows(n int) (stable, churners []catalog.Row) {
	for i := 0; i < n; i++ {
		r := testRows(1)[0]
		r.ClientID = fmt.Sprintf("s%04d", i)
		r.CreatedAt = baseTime + int64(i)*1000
		stable = append(stable, r)
		r.ClientID += "x"
		r.CreatedAt += 500
		churners = append(churners, r)
	}
	return stable, churners
}

// walkPages walks GET /clients?query page by page as a client following
// CLIENTS_API.md decision 14 does: _page=1, 2, 3, … each with the
// meta.cursor of the page before. Between pages it calls between. It
// returns how often each client id was listed, and checks that meta.page
// is the page asked for.
func walkPages(t *testing.T, env *testEnv, query string, withCursor bool, between func(page int)) map[string]int {
	t.Helper()
	seen := map[string]int{}
	cursor := ""
	for page := 1; ; page++ {
		q := query + "&_page=" + strconv.Itoa(page)
		if withCursor && cursor != "" {
			q += "&cursor=" + url.QueryEscape(cursor)
		}
		p := env.list(t, q)
		if p.Meta.Page != page {
			t.Fatalf("asked for page %d, meta.page %d", page, p.Meta.Page)
		}
		for _, id := range p.ids() {
			seen[id]++
		}
		if !p.Meta.HasNext {
			return seen
		}
		if page > 10000 {
			t.Fatal("no last page")
		}
		cursor = p.Meta.Cursor
		if between != nil {
			between(page)
		}
	}
}

// stableProblems returns how many stable clients a walk skipped and
// repeated.
func stableProblems(stable []catalog.Row, seen map[string]int) (skipped, repeated int) {
	for _, r := range stable {
		switch n := seen[r.ClientID]; {
		case n == 0:
			skipped++
		case n > 1:
			repeated++
		}
	}
	return skipped, repeated
}

// TestPageWalkUnderChurn checks decision 14 of CLIENTS_API.md: a walk by
// _page that passes back each page's meta.cursor lists every client that
// stayed exactly once while others come and go. First with churn placed
// between pages, where the same walk without the cursor (plain offsets)
// does skip and repeat, which shows the check can fail; then with a
// goroutine changing the catalog throughout.
func TestPageWalkUnderChurn(t *testing.T) {
	stable, churners := churnRows(200)
	env := newTestEnv(t, Config{}, append(stable[:len(stable):len(stable)], churners...))
	present := make([]bool, len(churners))
	for i := range present {
		present[i] = true
	}
	// shift removes three churners listed on the page just read (they
	// sort before the next page's first row) and brings back three
	// beyond it, as clients leaving and connecting would.
	shift := func(limit int) func(page int) {
		return func(page int) {
			var gone, back []string
			var backRows []catalog.Row
			for i := range churners {
				pos := 2*i + 1 // the churner's position when all are present
				if pos < page*limit && present[i] && len(gone) < 3 {
					gone = append(gone, churners[i].ClientID)
					present[i] = false
				}
				if pos > (page+2)*limit && !present[i] && len(back) < 3 {
					back = append(back, churners[i].ClientID)
					backRows = append(backRows, churners[i])
					present[i] = true
				}
			}
			env.cat.Remove(gone)
			env.cat.Upsert(backRows)
			env.flush(t)
		}
	}
	reset := func() {
		env.cat.Upsert(churners)
		env.flush(t)
		for i := range present {
			present[i] = true
		}
	}

	t.Run("plain _page skips and repeats", func(t *testing.T) {
		reset()
		seen := walkPages(t, env, "_limit=10", false, shift(10))
		if skipped, repeated := stableProblems(stable, seen); skipped == 0 {
			t.Fatalf("offset paging under churn skipped %d and repeated %d stable clients; the churn does not move rows", skipped, repeated)
		}
	})
	t.Run("_page with the cursor is exact", func(t *testing.T) {
		reset()
		seen := walkPages(t, env, "_limit=10", true, shift(10))
		if skipped, repeated := stableProblems(stable, seen); skipped+repeated != 0 {
			t.Fatalf("skipped %d and repeated %d of %d stable clients", skipped, repeated, len(stable))
		}
	})

	for _, order := range []string{"", "&order_by=created_at&order=desc", "&order_by=recv_oct"} {
		t.Run("concurrent churn"+order, func(t *testing.T) {
			reset()
			stop := make(chan struct{})
			var wg sync.WaitGroup
			wg.Add(1)
			changes := 0
			go func() {
				defer wg.Done()
				rng := rand.New(rand.NewPCG(1, 2))
				tick := time.NewTicker(200 * time.Microsecond)
				defer tick.Stop()
				for {
					select {
					case <-stop:
						return
					case <-tick.C:
					}
					for range 5 {
						r := churners[rng.IntN(len(churners))]
						if rng.IntN(2) == 0 {
							env.cat.Remove([]string{r.ClientID})
						} else {
							r.RecvOct = rng.Int64N(1000)
							env.cat.Upsert([]catalog.Row{r})
						}
						changes++
					}
				}
			}()
			seen := walkPages(t, env, "_limit=7"+order, true, nil)
			close(stop)
			wg.Wait()
			if skipped, repeated := stableProblems(stable, seen); skipped+repeated != 0 {
				t.Fatalf("skipped %d and repeated %d of %d stable clients (%d changes during the walk)", skipped, repeated, len(stable), changes)
			}
			if changes == 0 {
				t.Fatal("nothing churned during the walk")
			}
		})
	}

	t.Run("a cursor beside another page number", func(t *testing.T) {
		p := env.list(t, "_limit=10")
		r := env.do(t, "GET", "/clients?_limit=10&_page=3&cursor="+url.QueryEscape(p.Meta.Cursor), adminUser, nil)
		msg := r.wantError(t, 400, codeBadRequest)
		if msg != `parameter "cursor": leads to page 2, not page 3; pass the page number and the cursor of one response` {
			t.Fatal(msg)
		}
		// Without a page number, the cursor says which page it is.
		if p2 := env.list(t, "_limit=10&cursor="+url.QueryEscape(p.Meta.Cursor)); p2.Meta.Page != 2 {
			t.Fatalf("cursor alone: meta.page %d", p2.Meta.Page)
		}
	})
}
