package catalog

import (
	"context"
	"errors"
	"hash/maphash"
	"math/rand/v2"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// checkPage compares one page from List with the brute-force answer.
func checkPage(t *testing.T, f *Filter, got Page, want []Row, offset int) {
	t.Helper()
	limit := f.limit()
	end := min(offset+limit, len(want))
	var page []Row
	if offset < len(want) {
		page = want[offset:end]
	}
	if got.Count != int64(len(want)) {
		t.Fatalf("filter %+v: count %d, want %d", *f, got.Count, len(want))
	}
	if wantNext := end < len(want); got.HasNext != wantNext {
		t.Fatalf("filter %+v offset %d: hasnext %v, want %v", *f, offset, got.HasNext, wantNext)
	}
	if got.HasNext == (got.NextCursor == "") {
		t.Fatalf("filter %+v: hasnext %v with cursor %q", *f, got.HasNext, got.NextCursor)
	}
	if len(got.Rows) != len(page) {
		t.Fatalf("filter %+v offset %d: %d rows, want %d", *f, offset, len(got.Rows), len(page))
	}
	for i := range page {
		if w := project(f, page[i]); !reflect.DeepEqual(got.Rows[i], w) {
			t.Fatalf("filter %+v offset %d row %d:\n got %+v\nwant %+v", *f, offset, i, got.Rows[i], w)
		}
	}
}

// TestListMatchesBruteForce runs random filters over random rows and
// compares every page (by page number and by cursor), the count and
// hasnext with a brute-force filter in Go.
func TestListMatchesBruteForce(t *testing.T) {
	t.Run("limits=default", func(t *testing.T) { bruteForceSeeds(t, 1, 4) })
	// With the Go-side evaluator's limits lowered to a few rows, the
	// paths that 1M-row catalogs take (too many candidates for an IN
	// list, too many family rows to fetch; SQL pages with a clientid
	// lower bound) run on these small catalogs too.
	t.Run("limits=small", func(t *testing.T) {
		mc, mf := maxCandidates, maxFamilyRows
		t.Cleanup(func() { maxCandidates, maxFamilyRows = mc, mf })
		maxCandidates, maxFamilyRows = 3, 10
		bruteForceSeeds(t, 5, 8)
	})
}

// bruteForceSeeds runs TestListMatchesBruteForce with seeds first..last.
func bruteForceSeeds(t *testing.T, first, last uint64) {
	ctx := context.Background()
	for seed := first; seed <= last; seed++ {
		t.Run("seed="+string(rune('0'+seed)), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(seed, 99))
			c := newTestCatalog(t, Config{})
			rows := genRows(rng, 150+rng.IntN(250))
			c.Upsert(rows)
			flush(t, c)
			for range 150 {
				f := genFilter(rng, rows)
				want := bruteForce(&f, rows)
				// Every page by number, one past the end included.
				pages := (len(want)+f.limit()-1)/f.limit() + 1
				for p := 1; p <= pages; p++ {
					g := f
					g.Page = p
					got, err := c.List(ctx, g)
					if err != nil {
						t.Fatalf("filter %+v: %v", g, err)
					}
					checkPage(t, &g, got, want, (p-1)*f.limit())
					if got.Number != p {
						t.Fatalf("filter %+v: page number %d", g, got.Number)
					}
				}
				// Every page by cursor, and by number with the cursor the
				// previous page gave.
				for _, numbered := range []bool{false, true} {
					g := f
					for off := 0; ; off += f.limit() {
						if numbered {
							g.Page = off/f.limit() + 1
						}
						got, err := c.List(ctx, g)
						if err != nil {
							t.Fatalf("filter %+v: %v", g, err)
						}
						checkPage(t, &g, got, want, off)
						if got.Number != off/f.limit()+1 {
							t.Fatalf("filter %+v: page number %d at offset %d", g, got.Number, off)
						}
						if !got.HasNext {
							break
						}
						g.Cursor = got.NextCursor
					}
				}
			}
		})
	}
}

// TestListAfterChanges checks the catalog against brute force after
// removals, re-upserts and counter updates.
func TestListAfterChanges(t *testing.T) {
	t.Run("hash=default", listAfterChanges)
	// With clientid hashes that mostly collide, the writer's index keeps
	// most clientids by name (idIndex.collide): every lookup, removal and
	// re-insert must still find the right slot.
	t.Run("hash=colliding", func(t *testing.T) {
		h := idHash
		t.Cleanup(func() { idHash = h })
		idHash = func(_ maphash.Seed, id string) uint64 { return uint64(len(id) % 3) }
		listAfterChanges(t)
	})
}

func listAfterChanges(t *testing.T) {
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(7, 7))
	c := newTestCatalog(t, Config{})
	rows := genRows(rng, 300)
	c.Upsert(rows)
	flush(t, c)
	for round := range 5 {
		var removed []string
		kept := rows[:0:0]
		for i := range rows {
			switch rng.IntN(6) {
			case 0:
				removed = append(removed, rows[i].ClientID)
				continue
			case 1:
				// A lifecycle change; sometimes of indexed columns too
				// (the writer sets only those that changed).
				rows[i].ConnState = Disconnected
				rows[i].Zone = "moved"
				switch rng.IntN(5) {
				case 0:
					rows[i].Username = "renamed" + rows[i].Username
				case 1:
					rows[i].IPAddress = "192.0.2.7"
				case 2:
					rows[i].ConnectedAt += 7
				case 3:
					rows[i].CreatedAt -= 3
					rows[i].ConnectedAt += 1
				}
				c.Upsert(rows[i : i+1])
			case 3:
				// A quiet lifecycle change (nothing a filter looks at):
				// written beside the readers.
				rows[i].Keepalive += 5
				rows[i].Port++
				rows[i].SubscriptionsCnt += 2
				rows[i].Listener = "ssl:default"
				c.Upsert(rows[i : i+1])
			case 2:
				for _, p := range statFields(&rows[i].Counters) {
					if rng.IntN(3) == 0 {
						*p += int64(rng.IntN(5))
					}
				}
				c.UpdateStats([]StatsUpdate{{ClientID: rows[i].ClientID, Counters: rows[i].Counters}})
			}
			kept = append(kept, rows[i])
		}
		c.Remove(removed)
		fresh := genRows(rng, 40)
		for i := range fresh {
			fresh[i].ClientID = "r" + string(rune('0'+round)) + fresh[i].ClientID
		}
		c.Upsert(fresh)
		rows = append(kept, fresh...)
		flush(t, c)
		if n := c.Stats().Rows; n != int64(len(rows)) {
			t.Fatalf("round %d: Stats().Rows = %d, want %d", round, n, len(rows))
		}
		for range 40 {
			f := genFilter(rng, rows)
			got, err := c.List(ctx, f)
			if err != nil {
				t.Fatal(err)
			}
			checkPage(t, &f, got, bruteForce(&f, rows), 0)
		}
	}
}

// TestHostileInput stores hostile strings in every text column and looks
// them up by every string filter: matched literally, never an SQL error.
func TestHostileInput(t *testing.T) {
	ctx := context.Background()
	c := newTestCatalog(t, Config{})
	var rows []Row
	for i, s := range hostile {
		rows = append(rows, Row{
			ClientID: s, Username: s, Zone: s, IPAddress: s, Node: s, Listener: s,
			ProtoName: "MQTT", ProtoVer: 5, ConnState: Connected, Connected: true,
			PeerSNI: ptr(s), CN: ptr(s), DN: ptr(s), TenantIDFrom: ptr(s), CreatedAt: int64(i),
		})
	}
	// Neighbours that a wildcard or an unescaped quote would match.
	for _, s := range []string{"abb", "aXb", "a\\b", "ab", "x", "OR", "1=1", "dev-1", "dev1"} {
		rows = append(rows, Row{ClientID: "n-" + s, Username: s, Zone: s, IPAddress: s, ConnState: Connected, ProtoName: "MQTT"})
	}
	c.Upsert(rows)
	flush(t, c)
	for _, s := range hostile {
		got, err := c.Get(ctx, s)
		if err != nil || !reflect.DeepEqual(got, rows[indexOf(rows, s)]) {
			t.Fatalf("Get(%q) = %+v, %v", s, got, err)
		}
	}
	for _, needle := range hostileNeedles {
		filters := map[string]Filter{
			"clientid":      {ClientIDs: []string{needle}},
			"clientids":     {ClientIDs: []string{needle, "'"}},
			"username":      {Usernames: []string{needle}},
			"zone":          {Zone: needle},
			"ip_address":    {IPAddress: needle},
			"like_clientid": {LikeClientID: needle},
			"like_username": {LikeUsername: needle},
			"like_both":     {LikeClientID: needle, LikeUsername: needle, Desc: true, OrderBy: "username"},
		}
		for name, f := range filters {
			f.Limit = MaxLimit
			got, err := c.List(ctx, f)
			if err != nil {
				t.Fatalf("%s %q: %v", name, needle, err)
			}
			checkPage(t, &f, got, bruteForce(&f, rows), 0)
		}
	}
	if _, err := c.Get(ctx, "' OR 1=1 --x"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Get of a near miss: %v, want ErrNotFound", err)
	}
}

func indexOf(rows []Row, id string) int {
	for i := range rows {
		if rows[i].ClientID == id {
			return i
		}
	}
	return -1
}

// TestLikeIsCaseSensitive guards the case_sensitive_like pragma.
func TestLikeIsCaseSensitive(t *testing.T) {
	c := newTestCatalog(t, Config{})
	c.Upsert([]Row{{ClientID: "ABC", ConnState: Connected}, {ClientID: "abc", ConnState: Connected}})
	flush(t, c)
	got, err := c.List(context.Background(), Filter{LikeClientID: "b"})
	if err != nil || got.Count != 1 || got.Rows[0].ClientID != "abc" {
		t.Fatalf("like b: %+v, %v", got, err)
	}
}

// TestCursorPageNumber checks that a cursor knows the page it leads to: a
// different page number beside it is refused, naming both.
func TestCursorPageNumber(t *testing.T) {
	ctx := context.Background()
	c := newTestCatalog(t, Config{})
	c.Upsert(genRows(rand.New(rand.NewPCG(3, 3)), 50))
	flush(t, c)
	p1, err := c.List(ctx, Filter{Limit: 10})
	if err != nil || p1.Number != 1 || p1.NextCursor == "" {
		t.Fatalf("page 1: %+v %v", p1.Number, err)
	}
	p2, err := c.List(ctx, Filter{Limit: 10, Page: 2, Cursor: p1.NextCursor})
	if err != nil || p2.Number != 2 {
		t.Fatalf("page 2: %v %v", p2.Number, err)
	}
	for _, page := range []int{1, 3} {
		_, err := c.List(ctx, Filter{Limit: 10, Page: page, Cursor: p1.NextCursor})
		var fe *FieldError
		if !errors.Is(err, ErrInvalidCursor) || !errors.As(err, &fe) || fe.Field != "cursor" ||
			!strings.Contains(fe.Reason, "leads to page 2, not page "+strconv.Itoa(page)) {
			t.Fatalf("page %d with page 2's cursor: %v", page, err)
		}
	}
}

// TestNodeStoredEmpty checks that SQLite stores the catalog's own node
// name as the empty string and that every read puts it back: List with
// every column, List projected with and without node, and Get. A row of
// another node (only tests write one) keeps its name.
func TestNodeStoredEmpty(t *testing.T) {
	ctx := context.Background()
	c := newTestCatalog(t, Config{Node: "shardmq@10.0.0.1"})
	c.Upsert([]Row{
		{Node: "shardmq@10.0.0.1", ClientID: "a", ConnState: Connected, Connected: true},
		{Node: "other@10.0.0.2", ClientID: "b", ConnState: Connected, Connected: true},
	})
	flush(t, c)
	var stored []string
	if err := c.rdb.SelectContext(ctx, &stored, "SELECT node FROM clients ORDER BY clientid"); err != nil {
		t.Fatal(err)
	}
	if want := []string{"", "other@10.0.0.2"}; !slices.Equal(stored, want) {
		t.Fatalf("node column holds %q, want %q", stored, want)
	}
	tests := []struct {
		name   string
		fields []string
		want   []string // Node of a, b
	}{
		{name: "every column", want: []string{"shardmq@10.0.0.1", "other@10.0.0.2"}},
		{name: "projected with node", fields: []string{"clientid", "node"}, want: []string{"shardmq@10.0.0.1", "other@10.0.0.2"}},
		{name: "projected without node", fields: []string{"clientid"}, want: []string{"", ""}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p, err := c.List(ctx, Filter{Fields: tc.fields})
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, r := range p.Rows {
				got = append(got, r.Node)
			}
			if !slices.Equal(got, tc.want) {
				t.Fatalf("nodes %q, want %q", got, tc.want)
			}
		})
	}
	r, err := c.Get(ctx, "a")
	if err != nil {
		t.Fatal(err)
	}
	if r.Node != "shardmq@10.0.0.1" {
		t.Fatalf("Get: node %q", r.Node)
	}
}
