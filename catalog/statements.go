package catalog

import (
	"context"
	"database/sql"
	"fmt"
	"math/bits"
	"slices"
	"strings"
)

// The writer's SQL statements: the text of each (every identifier from
// Columns), their prepared forms, and the bound arguments they take. All
// of them run on the writer's one connection.

// prepare prepares the statements that are used from the start: insert,
// delete, the lifecycle updates and the update of every counter. The
// updates of fewer counters are prepared on first use (statStmt).
func (w *writer) prepare(ctx context.Context) error {
	names := make([]string, len(Columns))
	marks := make([]string, len(Columns))
	for i, col := range Columns {
		names[i], marks[i] = col.SQL, "?"
	}
	var err error
	prep := func(q string) *sql.Stmt {
		if err != nil {
			return nil
		}
		var s *sql.Stmt
		s, err = w.conn.PrepareContext(ctx, q)
		return s
	}
	w.insert = prep("INSERT INTO clients (id," + strings.Join(names, ",") + ") VALUES (?," + strings.Join(marks, ",") + ")")
	for mask := range w.lifeStmts {
		w.lifeStmts[mask] = prep(lifeUpdateSQL(mask))
	}
	w.del = prep("DELETE FROM clients WHERE id=?")
	w.allStats = prep(statsUpdateSQL(1<<numStats - 1))
	if err != nil {
		return fmt.Errorf("catalog: prepare: %w", err)
	}
	return nil
}

// maxStatStmts bounds the cache of per-changed-column-set statements; past
// it, rows are written with the statement that sets every counter.
const maxStatStmts = 512

// statsUpdateSQL returns the UPDATE that writes the counters in mask.
func statsUpdateSQL(mask uint32) string {
	var b strings.Builder
	b.WriteString("UPDATE clients SET ")
	first := true
	for i := 0; i < numStats; i++ {
		if mask&(1<<i) == 0 {
			continue
		}
		if !first {
			b.WriteByte(',')
		}
		first = false
		b.WriteString(Columns[statColumn0+i].SQL)
		b.WriteString("=?")
	}
	b.WriteString(" WHERE id=?")
	return b.String()
}

// indexedCols are the columns, besides clientid, that secondary indexes
// hold, in groups that change together: the client's network identity
// (address, TLS server name, certificate name) changes at a reconnect. A
// lifecycle update sets a group only when one of its columns changed, so
// that a disconnect (which changes none) touches no index; clientid is
// never set (it names the row). Every index also holds clientid, which is
// why setting it would rewrite all of them.
var indexedCols = [...][]string{{"username"}, {"ip_address", "peersni", "cn"}, {"created_at"}, {"connected_at"}}

// lifeUpdateSQL returns the UPDATE of a whole row but clientid, setting the
// indexed columns whose bit is in mask (bit i: indexedCols[i]).
func lifeUpdateSQL(mask int) string {
	var b strings.Builder
	b.WriteString("UPDATE clients SET ")
	first := true
	for _, c := range Columns {
		if !lifeSets(c.Name, mask) {
			continue
		}
		if !first {
			b.WriteByte(',')
		}
		first = false
		b.WriteString(c.SQL)
		b.WriteString("=?")
	}
	b.WriteString(" WHERE id=?")
	return b.String()
}

// lifeSets reports whether the lifecycle update for mask sets column name.
func lifeSets(name string, mask int) bool {
	if name == "clientid" {
		return false
	}
	for i, group := range indexedCols {
		if slices.Contains(group, name) {
			return mask&(1<<i) != 0
		}
	}
	return true
}

// lifeArgs appends r's values for lifeUpdateSQL(mask), in its order; node
// is the catalog's Config.Node (see storedValue).
func lifeArgs(dst []any, r *Row, mask int, node string) []any {
	for i := range Columns {
		if !lifeSets(Columns[i].Name, mask) {
			continue
		}
		dst = storedValue(dst, r, i, node)
	}
	return dst
}

// statColumn0 is the index in Columns of the first counter.
var statColumn0 = func() int {
	for i, c := range Columns {
		if c.stat == 0 {
			return i
		}
	}
	panic("catalog: no counter columns")
}()

// rowArgs appends r's column values in Columns order; node is the
// catalog's Config.Node (see storedValue).
func rowArgs(dst []any, r *Row, node string) []any {
	for i := range Columns {
		dst = storedValue(dst, r, i, node)
	}
	return dst
}

// nodeColumn is the index in Columns of node.
var nodeColumn = slices.IndexFunc(Columns, func(c Column) bool { return c.Name == "node" })

// storedValue appends the value SQLite stores for column i of r. Every
// row names the catalog's node (Config.Node), so the node column stores
// the empty string for it (a 17-byte name such as "shardmq@127.0.0.1" is
// a tenth of a connected client's row) and readers put it back
// (Catalog.nodeOf).
func storedValue(dst []any, r *Row, i int, node string) []any {
	if i == nodeColumn && r.Node == node {
		return append(dst, "")
	}
	return appendValue(dst, Columns[i].ptr(r))
}

// appendValue appends the value behind a Column.ptr pointer as a bound
// argument (nil pointers become NULL).
func appendValue(dst []any, p any) []any {
	switch p := p.(type) {
	case *string:
		return append(dst, *p)
	case *int64:
		return append(dst, *p)
	case *bool:
		return append(dst, *p)
	case **string:
		if *p == nil {
			return append(dst, nil)
		}
		return append(dst, **p)
	case **int64:
		if *p == nil {
			return append(dst, nil)
		}
		return append(dst, **p)
	}
	panic("catalog: unknown column type")
}

// statStmt returns the statement that writes the counters in mask.
func (w *writer) statStmt(ctx context.Context, mask uint32) (*sql.Stmt, error) {
	if s, ok := w.statStmts[mask]; ok {
		return s, nil
	}
	if len(w.statStmts) >= maxStatStmts || bits.OnesCount32(mask) > numStats/2 {
		return w.allStats, nil
	}
	s, err := w.conn.PrepareContext(ctx, statsUpdateSQL(mask))
	if err != nil {
		return nil, err
	}
	w.statStmts[mask] = s
	return s, nil
}
