package catalog

import (
	"bytes"
	"context"
	"math/rand/v2"
	"slices"
	"testing"
)

// TestRowKeyMerge splits rows over three catalogs (the nodes of a
// cluster) and checks, for orders on text and integer columns in both
// directions, that merging the catalogs' lists by RowKey gives the order
// one catalog holding every row gives, and that CursorAfterKey continues
// each catalog right after any key, its own rows or another's.
func TestRowKeyMerge(t *testing.T) {
	ctx := context.Background()
	rows := genRows(rand.New(rand.NewPCG(7, 7)), 120)
	whole := newTestCatalog(t, Config{})
	whole.Upsert(rows)
	flush(t, whole)
	names := []string{"n1", "n2", "n3"}
	parts := make([]*Catalog, 3)
	for i := range parts {
		parts[i] = newTestCatalog(t, Config{Node: names[i]})
		var mine []Row
		for j, r := range rows {
			if j%3 == i {
				r.Node = names[i]
				mine = append(mine, r)
			}
		}
		parts[i].Upsert(mine)
		flush(t, parts[i])
	}
	orders := []Filter{{}, {Desc: true}, {OrderBy: "username"}, {OrderBy: "username", Desc: true},
		{OrderBy: "connected_at"}, {OrderBy: "connected_at", Desc: true}}
	for _, o := range orders {
		f := o
		f.Limit = MaxLimit
		want, err := whole.List(ctx, f)
		if err != nil {
			t.Fatal(err)
		}
		type keyed struct {
			key []byte
			id  string
		}
		var merged []keyed
		for _, c := range parts {
			p, err := c.List(ctx, f)
			if err != nil {
				t.Fatal(err)
			}
			for i := range p.Rows {
				merged = append(merged, keyed{f.RowKey(&p.Rows[i]), p.Rows[i].ClientID})
			}
		}
		slices.SortFunc(merged, func(a, b keyed) int { return bytes.Compare(a.key, b.key) })
		for i := range merged {
			if merged[i].id != want.Rows[i].ClientID {
				t.Fatalf("order %q desc %v: merged row %d is %q, one catalog has %q", o.OrderBy, o.Desc, i,
					merged[i].id, want.Rows[i].ClientID)
			}
		}
		// After the key of every 7th row of the merge, each catalog
		// continues with its first row above it.
		for i := 0; i < len(merged); i += 7 {
			for _, c := range parts {
				g := o
				g.Limit = 1
				cur, err := c.CursorAfterKey(&g, merged[i].key, 0)
				if err != nil {
					t.Fatal(err)
				}
				g.Cursor = cur
				p, err := c.List(ctx, g)
				if err != nil {
					t.Fatal(err)
				}
				var next string
				for _, m := range merged[i+1:] {
					if slices.ContainsFunc(rowsOf(t, c), func(id string) bool { return id == m.id }) {
						next = m.id
						break
					}
				}
				got := ""
				if len(p.Rows) > 0 {
					got = p.Rows[0].ClientID
				}
				if got != next {
					t.Fatalf("order %q desc %v: after %q the catalog gives %q, want %q", o.OrderBy, o.Desc, merged[i].id, got, next)
				}
			}
		}
	}
	if _, err := parts[0].CursorAfterKey(&Filter{OrderBy: "connected_at"}, []byte{1, 2}, 0); err == nil {
		t.Fatal("a key too short for its order was taken")
	}
	p, err := parts[1].List(ctx, Filter{Node: "n1"})
	if err != nil || p.Count != 0 || len(p.Rows) != 0 {
		t.Fatalf("node=n1 on n2's catalog: %d rows, count %d, %v", len(p.Rows), p.Count, err)
	}
	p, err = parts[1].List(ctx, Filter{Node: "n2", Limit: MaxLimit})
	if err != nil || p.Count != 40 || len(p.Rows) != 40 {
		t.Fatalf("node=n2 on n2's catalog: %d rows, count %d, %v", len(p.Rows), p.Count, err)
	}
}

// rowsOf returns the client ids c holds.
func rowsOf(t *testing.T, c *Catalog) []string {
	t.Helper()
	p, err := c.List(context.Background(), Filter{Limit: MaxLimit, Fields: []string{"clientid"}})
	if err != nil {
		t.Fatal(err)
	}
	out := make([]string, len(p.Rows))
	for i := range p.Rows {
		out[i] = p.Rows[i].ClientID
	}
	return out
}
