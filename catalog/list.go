package catalog

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
)

// List returns one page of the clients matching f, its exact count and
// whether a further page exists. Page and count agree on which clients
// exist and match: lifecycle changes are never half visible to one List.
// Counter values may be newer than the last complete stats application
// (they are written beside readers; see Catalog). It validates f first
// (errors wrap ErrInvalidFilter or ErrInvalidCursor and carry a
// *FieldError). Safe for concurrent use. It first waits until every
// Upsert and Remove made before the call is applied (read your writes:
// the shards hand a change in before the CONNACK or the API's answer goes
// out), then at most for one lifecycle chunk (about Config.ChunkBudget)
// or one hand-over of counters to the Go mirror.
func (c *Catalog) List(ctx context.Context, f Filter) (Page, error) {
	if err := f.Validate(); err != nil {
		return Page{}, err
	}
	if c.closed.Load() {
		return Page{}, ErrClosed
	}
	if f.Node != "" && f.Node != c.cfg.Node {
		return Page{Fields: f.Fields, Number: f.page()}, nil // every row is Config.Node's
	}
	// Read your writes: a connect, disconnect or kick handed in before
	// this call is in the page (shards hand theirs in before the CONNACK
	// or the command's answer goes out).
	if err := c.syncLife(ctx); err != nil {
		return Page{}, err
	}
	var cur *cursor
	if f.Cursor != "" {
		var err error
		if cur, err = c.decodeCursor(&f, f.Cursor); err != nil {
			return Page{}, err
		}
	}
	limit := f.limit()
	offset := 0
	p := Page{Fields: f.Fields, Number: f.page()}
	if cur == nil {
		offset = (f.page() - 1) * limit
	} else {
		p.Number = cur.page
	}

	c.gate.RLock()
	defer c.gate.RUnlock()
	counted := false
	if tupleCountable(&f) {
		p.Count, counted = c.countTuples(&f)
	}
	var pl plan
	var gr goResult
	if goEvaluable(&f) {
		gr = c.goEval(&f, cur, offset, nil, "")
		if gr.exact {
			p.Count, counted = gr.n, true
		}
		if gr.ids != nil && len(gr.ids) == 0 {
			p.Count = 0 // the candidates are a superset of the matches
			return p, nil
		}
		pl.ids = gr.ids
	}
	if fam, ok := indexedFamily(&f); ok && pl.ids == nil && !counted && goRest(&f) {
		// An indexed column and conditions the Go side evaluates: fetch
		// the column's matches through its index when they are few
		// enough, and evaluate the rest on them in Go (a table lookup per
		// row costs ~1 µs in SQL).
		only := familyOnly(&f, fam)
		var n int64
		if err := c.count(ctx, &only, plan{}, &n); err != nil {
			return Page{}, err
		}
		if n <= maxFamilyRows {
			var from []int64
			q, args := familySQL(&only, fam)
			if err := c.rdb.SelectContext(ctx, &from, q, args...); err != nil {
				return Page{}, fmt.Errorf("catalog: list: %w", err)
			}
			if from == nil {
				from = []int64{}
			}
			gr = c.goEval(&f, cur, offset, from, fam.column)
			if gr.exact {
				p.Count, counted = gr.n, true
			}
			if gr.ids != nil && len(gr.ids) == 0 {
				p.Count = 0
				return p, nil
			}
			pl.ids = gr.ids
		}
	}
	if fam, ok := indexedFamily(&f); ok && pl.ids == nil {
		if !counted {
			if err := c.count(ctx, &f, pl, &p.Count); err != nil {
				return Page{}, err
			}
			counted = true
		}
		// With a lower bound of the matches' clientids (below), the
		// clientid order from there skips everything before the first
		// match, which for a range correlated with clientid (the common
		// case: ids handed out in order) is most of what a scan reads.
		if gr.minID != "" && !f.Desc {
			pl = scanPlan(fam)
		} else {
			pl = choosePlan(fam, p.Count, c.rows.Load())
		}
	}
	if gr.minID != "" && !gr.ordered && f.orderColumn().Name == "clientid" && !f.Desc {
		// The Go-side scan saw every match and bounded their clientids
		// from below.
		pl.minID = gr.minID
	}

	// Phase one: the page's rowids in order, from the Go-side evaluator or
	// from indexes where possible.
	var ids []int64
	if gr.ordered {
		ids = gr.page
	} else {
		q, args := idsSQL(&f, cur, offset, pl)
		if err := c.rdb.SelectContext(ctx, &ids, q, args...); err != nil {
			return Page{}, fmt.Errorf("catalog: list: %w", err)
		}
	}
	if len(ids) > limit {
		p.HasNext = true
		ids = ids[:limit]
	}
	if !counted {
		if cur == nil && !p.HasNext && (len(ids) > 0 || offset == 0) {
			// This is the last page, so everything before it was full.
			p.Count = int64(offset + len(ids))
		} else if err := c.count(ctx, &f, pl, &p.Count); err != nil {
			return Page{}, err
		}
	}
	if len(ids) == 0 {
		return p, nil
	}

	// Phase two: the rows themselves, by rowid, put back in order.
	args := make([]any, len(ids))
	pos := make(map[int64]int, len(ids))
	for i, id := range ids {
		args[i] = id
		pos[id] = i
	}
	var rows []struct {
		ID int64 `db:"id"`
		Row
	}
	if err := c.rdb.SelectContext(ctx, &rows, rowsSQL(&f, len(ids)), args...); err != nil {
		return Page{}, fmt.Errorf("catalog: list rows: %w", err)
	}
	if len(rows) != len(ids) {
		return Page{}, fmt.Errorf("catalog: list rows: %d of %d rows found", len(rows), len(ids))
	}
	p.Rows = make([]Row, len(rows))
	node := len(f.Fields) == 0 || slices.Contains(f.Fields, "node")
	for i := range rows {
		if node {
			c.nodeOf(&rows[i].Row)
		}
		p.Rows[pos[rows[i].ID]] = rows[i].Row
	}
	if p.HasNext {
		p.NextCursor = c.encodeCursor(&f, cursorAfter(&f, &p.Rows[limit-1], p.Number+1))
	}
	return p, nil
}

// count runs the exact count of f's matches in SQL.
func (c *Catalog) count(ctx context.Context, f *Filter, pl plan, n *int64) error {
	q, args := countSQL(f, pl)
	if err := c.rdb.GetContext(ctx, n, q, args...); err != nil {
		return fmt.Errorf("catalog: count: %w", err)
	}
	return nil
}

// Get returns the catalog's row of one client, as of the last applied
// snapshot, or ErrNotFound. (The API reads single clients live from their
// shard; Get serves tools and tests.) Safe for concurrent use.
func (c *Catalog) Get(ctx context.Context, clientID string) (Row, error) {
	if c.closed.Load() {
		return Row{}, ErrClosed
	}
	c.gate.RLock()
	defer c.gate.RUnlock()
	var r Row
	err := c.rdb.GetContext(ctx, &r, "SELECT "+allColumns+" FROM clients WHERE clientid = ?", clientID)
	if errors.Is(err, sql.ErrNoRows) {
		return Row{}, ErrNotFound
	}
	if err != nil {
		return Row{}, fmt.Errorf("catalog: get: %w", err)
	}
	c.nodeOf(&r)
	return r, nil
}

// nodeOf puts back the node name of a row read from SQLite, which stores
// the empty string for Config.Node (storedValue).
func (c *Catalog) nodeOf(r *Row) {
	if r.Node == "" {
		r.Node = c.cfg.Node
	}
}
