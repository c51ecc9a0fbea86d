package catalog

// Plan choice. SQLite's planner does not know how many rows a range or an
// equality matches (no STAT4 in this build), nor that clientid order can be
// correlated with created_at or connected_at (sequential device ids are
// created in order). Scanning the clientid index for a selective range
// whose matches sit at the end of that order walked most of the table:
// 100–140 ms at 100k rows (docs/catalog.md). List computes the exact count
// first whenever an indexed filter column is involved, and with it picks:
//
//   - a selective filter (≤ indexShare of the rows): that column's index
//     (col, clientid), which is covering for phase one, so the top-N sort
//     of its matches costs no table lookups;
//   - a broad one: the clientid order, with the column's terms written as
//     +col so the planner cannot pick the range index and sort most of the
//     table.

// indexShare is the share of rows above which a single indexed filter
// column is scanned in clientid order instead of through its index.
const indexShare = 0.9

// family is a filter column with an index of its own.
type family struct {
	column string // SQL column
	index  string // index name from schemaSQL
}

// indexedFamily returns the single indexed column f filters on (other
// than clientid), if there is exactly one and the order is clientid.
func indexedFamily(f *Filter) (family, bool) {
	if len(f.ClientIDs) > 0 || f.orderColumn().Name != "clientid" {
		return family{}, false
	}
	var fams []family
	if len(f.Usernames) > 0 {
		fams = append(fams, family{"username", "clients_username"})
	}
	if f.IPAddress != "" {
		fams = append(fams, family{"ip_address", "clients_ip_address"})
	}
	if f.CreatedAt.set() {
		fams = append(fams, family{"created_at", "clients_created_at"})
	}
	if f.ConnectedAt.set() {
		fams = append(fams, family{"connected_at", "clients_connected_at"})
	}
	if len(fams) != 1 {
		return family{}, false
	}
	return fams[0], true
}

// choosePlan picks phase one's plan for a filter on fam that matches count
// of total rows.
func choosePlan(fam family, count, total int64) plan {
	if total == 0 || float64(count) <= indexShare*float64(total) {
		return plan{index: fam.index}
	}
	return plan{noIndex: fam.column}
}
