package catalog

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
)

// List returns one page of the clients matching f, its exact count and
// whether a further page exists, all from one committed state of the
// catalog. It validates f first (errors wrap ErrInvalidFilter or
// ErrInvalidCursor and carry a *FieldError). Safe for concurrent use; it
// waits at most one write chunk (about Config.ChunkBudget) for the writer.
func (c *Catalog) List(ctx context.Context, f Filter) (Page, error) {
	if err := f.Validate(); err != nil {
		return Page{}, err
	}
	if c.closed.Load() {
		return Page{}, ErrClosed
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
	if cur == nil {
		offset = (f.page() - 1) * limit
	}
	q, args := pageSQL(&f, cur, offset)

	c.gate.RLock()
	defer c.gate.RUnlock()
	var rows []Row
	if err := c.rdb.SelectContext(ctx, &rows, q, args...); err != nil {
		return Page{}, fmt.Errorf("catalog: list: %w", err)
	}
	p := Page{Fields: f.Fields}
	if len(rows) > limit {
		p.HasNext = true
		rows = rows[:limit]
		p.NextCursor = c.encodeCursor(&f, cursorAfter(&f, &rows[limit-1]))
	}
	p.Rows = rows
	switch {
	case tupleCountable(&f):
		p.Count = c.countTuples(&f)
	case cur == nil && !p.HasNext && (len(rows) > 0 || offset == 0):
		// This is the last page, so everything before it was full.
		p.Count = int64(offset + len(rows))
	default:
		q, args := countSQL(&f)
		if err := c.rdb.GetContext(ctx, &p.Count, q, args...); err != nil {
			return Page{}, fmt.Errorf("catalog: count: %w", err)
		}
	}
	return p, nil
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
	return r, nil
}
