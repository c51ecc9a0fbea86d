package catalog

// Plan choice. SQLite's planner does not know how many rows a range or an
// equality matches (no STAT4 in this build), nor that clientid order can be
// correlated with created_at or connected_at (sequential device ids are
// created in order). Scanning the clientid order for a selective range
// whose matches sit at the end of that order walked most of the table:
// 31–62 ms at 100k rows against 0.5–1.1 ms through the range's index
// (docs/catalog.md). List computes the exact count first whenever an
// indexed filter column is involved, and with it picks:
//
//   - a selective filter: that column's index (col, clientid), which is
//     covering for phase one, so the top-N sort of its matches costs no
//     table lookups (~45 ns per match);
//   - a broad one: the clientid order, through (clientid, col) when the
//     column has such an index (the range is checked in the index, ~30 ns
//     per row skipped), else with the column's terms written as +col so
//     the planner cannot pick the range index and sort most of the table.

// family is a filter column with an index of its own.
type family struct {
	column string // SQL column
	index  string // (column, clientid) index
	scan   string // index on clientid that holds column, if any
	share  float64
}

// indexedFamily returns the single indexed column f filters on (other
// than clientid), if there is exactly one and the order is clientid.
func indexedFamily(f *Filter) (family, bool) {
	if len(f.ClientIDs) > 0 || f.orderColumn().Name != "clientid" {
		return family{}, false
	}
	var fams []family
	if len(f.Usernames) > 0 {
		fams = append(fams, family{"username", "clients_username", "", 0.9})
	}
	if f.IPAddress != "" {
		fams = append(fams, family{"ip_address", "clients_ip_address", "", 0.9})
	}
	if f.PeerSNI != "" {
		fams = append(fams, family{"peersni", "clients_peersni", "", 0.9})
	}
	if f.CN != "" {
		fams = append(fams, family{"cn", "clients_cn", "", 0.9})
	}
	if f.CreatedAt.set() {
		fams = append(fams, family{"created_at", "clients_created_at", "clients_clientid", 0.4})
	}
	if f.ConnectedAt.set() {
		fams = append(fams, family{"connected_at", "clients_connected_at", "clients_clientid", 0.4})
	}
	if len(fams) != 1 {
		return family{}, false
	}
	return fams[0], true
}

// scanPlan is the plan that reads fam's matches in clientid order.
func scanPlan(fam family) plan {
	if fam.scan != "" {
		return plan{index: fam.scan}
	}
	return plan{noIndex: fam.column}
}

// choosePlan picks phase one's plan for a filter on fam that matches count
// of total rows. Below fam.share of the rows, the column's own index is
// cheaper whatever the correlation; above it, even a fully correlated
// clientid order skips at most 1-share of the rows.
func choosePlan(fam family, count, total int64) plan {
	switch {
	case total == 0 || float64(count) <= fam.share*float64(total):
		return plan{index: fam.index}
	default:
		return scanPlan(fam)
	}
}

// maxFamilyRows bounds the rows of an indexed column's matches that List
// fetches to evaluate the other conditions in Go. (A variable so that
// tests can take the paths past it with few rows.)
var maxFamilyRows int64 = 100_000

// goRest reports whether f has conditions besides its indexed column and
// all of them are evaluable in Go (tuple equalities, like_ without NUL,
// counter ranges).
func goRest(f *Filter) bool {
	rest := f.ConnState != "" || f.Zone != "" || f.Listener != "" || f.ProtoName != "" || f.ProtoVer != 0 ||
		f.CleanStart != nil || len(f.Ranges) > 0 || f.LikeClientID != "" ||
		(f.LikeUsername != "" && len(f.Usernames) == 0)
	ok := (f.LikeClientID == "" || usableNeedle(f.LikeClientID)) &&
		(f.LikeUsername == "" || len(f.Usernames) > 0 || usableNeedle(f.LikeUsername))
	return rest && ok
}

// familyOnly returns f reduced to its condition on fam.
func familyOnly(f *Filter, fam family) Filter {
	switch fam.column {
	case "username":
		return Filter{Usernames: f.Usernames}
	case "ip_address":
		return Filter{IPAddress: f.IPAddress}
	case "peersni":
		return Filter{PeerSNI: f.PeerSNI}
	case "cn":
		return Filter{CN: f.CN}
	case "created_at":
		return Filter{CreatedAt: f.CreatedAt}
	default:
		return Filter{ConnectedAt: f.ConnectedAt}
	}
}
