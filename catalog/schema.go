package catalog

import "strings"

// The schema: one rowid table with every column of the client object and
// the secondary indexes chosen by measurement (docs/catalog.md):
//   - (clientid, created_at, connected_at) serves clientid filters, the
//     default order and keyset paging by clientid, and lets a broad time
//     range be checked in clientid order without table lookups (plan.go).
//     It is not UNIQUE: the writer's mirror keeps one row per clientid
//     (idindex.go), and one index instead of a UNIQUE one plus
//     (clientid, created_at) and (clientid, connected_at) saves two of the
//     catalog's nine index entries per client;
//   - (username, clientid) serves username filters already in clientid
//     order, and order_by username;
//   - (created_at, clientid) and (connected_at, clientid) serve the time
//     ranges and order_by / keyset paging on those columns;
//   - (ip_address, clientid), (peersni, clientid) and (cn, clientid) serve
//     the ip_address, peersni and cn filters (a fleet's devices each have
//     their own certificate name, and often a server name per tenant);
//     peersni and cn are partial indexes of the rows that have one (an
//     equality implies IS NOT NULL, so both serve their filter): a plain
//     TCP client, which has neither, costs them nothing.
//
// Low-cardinality columns (conn_state, zone, listener, clean_start,
// proto_name, proto_ver) are not indexed: an index on them misled the planner by 100×
// in the notes' measurements, their pages come from the clientid order
// fast because they are broad, and their exact counts come from counters
// kept outside SQL (counters.go). Counter columns are not indexed so that
// stats updates never touch an index.

// schemaSQL returns the statements that create the table and its indexes.
func schemaSQL() []string {
	var b strings.Builder
	b.WriteString("CREATE TABLE clients (\n  id INTEGER PRIMARY KEY")
	for _, c := range Columns {
		b.WriteString(",\n  ")
		b.WriteString(c.SQL)
		switch c.kind {
		case kindText:
			b.WriteString(" TEXT NOT NULL")
		case kindInt:
			b.WriteString(" INTEGER NOT NULL")
		case kindBool:
			b.WriteString(" BOOLEAN NOT NULL")
		case kindNullText:
			b.WriteString(" TEXT")
		case kindNullInt:
			b.WriteString(" INTEGER")
		}
	}
	b.WriteString("\n)")
	return []string{
		b.String(),
		"CREATE INDEX clients_clientid ON clients(clientid, created_at, connected_at)",
		"CREATE INDEX clients_username ON clients(username, clientid)",
		"CREATE INDEX clients_created_at ON clients(created_at, clientid)",
		"CREATE INDEX clients_connected_at ON clients(connected_at, clientid)",
		"CREATE INDEX clients_ip_address ON clients(ip_address, clientid)",
		"CREATE INDEX clients_peersni ON clients(peersni, clientid) WHERE peersni IS NOT NULL",
		"CREATE INDEX clients_cn ON clients(cn, clientid) WHERE cn IS NOT NULL",
	}
}

// connPragmas are run on every connection (writer and readers).
var connPragmas = []string{
	// LIKE must be case-sensitive: like_clientid is a byte-exact substring.
	"PRAGMA case_sensitive_like = ON",
	// Sorts for unindexed orders stay in memory.
	"PRAGMA temp_store = MEMORY",
	// ANALYZE samples at most this many index entries (~10 ms at 1M rows).
	"PRAGMA analysis_limit = 1000",
}
