// Package catalog is the in-memory SQLite database of client rows behind
// GET /clients: its schema and indexes, the single writer goroutine that
// applies the shards' snapshot batches, and the query builder that turns a
// typed Filter into SQL with bound arguments only, exact counts and paging by
// offset or by keyset cursor.
//
// The catalog knows nothing of MQTT packets or of sessions' internals: the
// shards hand it plain Row values through the writer methods (Upsert,
// UpdateStats, Remove), and the HTTP API reads it through List. It never
// imports those packages; cmd wires them with small adapters.
//
// Times in a Row are Unix milliseconds (UTC). Nullable fields are pointers.
package catalog
