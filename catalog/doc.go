// Package catalog is the in-memory SQLite database of client rows behind
// GET /clients: its schema and indexes, the single writer goroutine that
// applies the shards' snapshot batches, and List, which answers a typed
// Filter with one page, its exact count and paging by offset or by keyset
// cursor.
//
// The catalog knows nothing of MQTT packets or of sessions' internals: the
// shards hand it plain Row values through the writer methods (Upsert,
// UpdateStats, Remove), and the HTTP API reads it through List. It never
// imports those packages; cmd wires them with small adapters.
//
// # Writes
//
// One writer goroutine (writer.go) applies lifecycle changes as they
// arrive and counter updates at the stats interval (apply.go), in chunks
// of at most Config.ChunkBudget so that readers get in between (txn.go),
// writing only the rows and columns that changed, every value a bound
// argument (statements.go). Besides SQLite it keeps a Go mirror of every
// row (mirror.go): its counters, its low-cardinality columns as a tuple
// id, created_at, connected_at, and its clientid and username in text
// indexes. The mirror tells the writer what changed, and it is the second
// query path below. It changes only under the gate, after the SQL that
// wrote the change committed, so both paths see the same clients.
//
// # Two query paths
//
// List answers a filter with SQL, with the Go-side evaluator over the
// mirror (goeval.go), or with both; the rows themselves always come from
// SQL. The filter's shape decides, and the number of matches where a
// bound (maxCandidates, maxFamilyRows) is named:
//
//   - Exact counts of filters made only of equalities on the
//     low-cardinality columns (conn_state, zone, proto_name, proto_ver,
//     clean_start), or of no filter, come from a counter per combination
//     of those columns kept beside the mirror (counters.go), not from
//     COUNT(*).
//   - The Go-side evaluator runs when the filter has no condition an index
//     answers exactly (clientid, username, ip_address values) and has at
//     least one that no index serves or that SQLite's planner misjudges: a
//     like_ substring (without NUL), a range on a counter, an order by a
//     counter, or a created_at or connected_at range. It evaluates every
//     condition it can (like_ through the text indexes, tuple equalities,
//     time and counter ranges) and, when those are all of the filter's,
//     its number of matches is the exact count. With at most
//     maxCandidates matches their rowids restrict the SQL ("id IN (…)");
//     when it saw every condition and the order is a counter (any number
//     of matches) or clientid or username (at most maxCandidates), it
//     picks the page itself with a bounded heap, keyset cursors included.
//     When it scanned every row (no like_) and SQL is left to page in
//     ascending clientid order, it hands SQL a lower bound of the matches'
//     clientids to start from.
//   - A filter on exactly one indexed column (username, ip_address,
//     created_at or connected_at) in clientid order whose other conditions
//     are all evaluable in Go, and that the above left uncounted: SQL
//     counts the matches of that column's condition and, when there are
//     at most maxFamilyRows, fetches their rowids through its index, and
//     the evaluator checks the other conditions on them.
//   - Everything else is SQL: phase one selects the page's rowids in
//     order (LIMIT limit+1 answers hasnext), with the plan for a single
//     indexed column chosen from the exact count in hand (plan.go); phase
//     two reads the projected columns of those rows by rowid. The count is
//     free on a last page, else COUNT(*) under the same read lock.
//
// Why two paths: SQLite serves equalities and ordered ranges on indexed
// columns and deep pages through covering indexes well, but a like_
// substring costs ~60 ns per row and a condition on a counter a full scan
// at ~115 ns per row, because counters are deliberately not indexed (an
// index would make every stats update touch it). The mirror exists anyway
// for the writer, and scanning its columnar slabs runs at memory speed, so
// those conditions are evaluated there; docs/catalog.md has the figures.
//
// Times in a Row are Unix milliseconds (UTC). Nullable fields are pointers.
package catalog
