package catalog

import "strconv"

// Paging limits of CLIENTS_API.md (`_limit` is 1..10000, default 100).
const (
	// DefaultLimit is the page size used when Filter.Limit is zero.
	DefaultLimit = 100
	// MaxLimit is the largest accepted Filter.Limit.
	MaxLimit = 10000
	// MaxValues is the most values Filter.ClientIDs or Filter.Usernames
	// may hold (SQLite binds at most 32766 arguments per statement).
	MaxValues = 1000
)

// Range bounds an integer column; a nil bound is open. Both bounds are
// inclusive (gte / lte). Times are Unix milliseconds.
type Range struct {
	// Gte, when set, keeps values ≥ *Gte.
	Gte *int64
	// Lte, when set, keeps values ≤ *Lte.
	Lte *int64
}

// set reports whether either bound is set.
func (r Range) set() bool { return r.Gte != nil || r.Lte != nil }

// contains reports whether v is within the range.
func (r Range) contains(v int64) bool {
	return (r.Gte == nil || v >= *r.Gte) && (r.Lte == nil || v <= *r.Lte)
}

// ColumnRange bounds one allow-listed numeric column (Column.Rangeable),
// e.g. {Column: "mqueue_len", Range: Range{Gte: &one}}.
type ColumnRange struct {
	// Column is the API name of a Rangeable column.
	Column string
	Range
}

// Filter is a typed GET /clients query. The zero Filter lists every client,
// page 1, DefaultLimit rows, ordered by clientid ascending, every field.
//
// Conditions are ANDed across fields; the values of a repeated field
// (ClientIDs, Usernames) are ORed. Empty strings and nil pointers mean "no
// condition".
type Filter struct {
	// ClientIDs keeps clients whose id equals any of these.
	ClientIDs []string
	// Usernames keeps clients whose username equals any of these.
	Usernames []string
	// Zone keeps clients of this zone.
	Zone string
	// IPAddress keeps clients connected from this address, in the
	// canonical text form the rows use (net/netip's String).
	IPAddress string
	// PeerSNI keeps clients whose TLS server name (SNI) is this.
	PeerSNI string
	// CN keeps clients whose TLS certificate's subject common name is this.
	CN string
	// Listener keeps clients of this listener ("ssl:default").
	Listener string
	// ConnState keeps clients in this state.
	ConnState ConnState
	// CleanStart keeps clients whose clean_start equals *CleanStart.
	CleanStart *bool
	// ProtoName keeps clients of this protocol ("MQTT", "MQIsdp" for MQTT 3.1, "CoAP",
	// "MQTT-SN").
	ProtoName string
	// ProtoVer keeps clients of this protocol version; zero means any.
	ProtoVer int64
	// CreatedAt bounds created_at (Unix milliseconds).
	CreatedAt Range
	// ConnectedAt bounds connected_at (Unix milliseconds).
	ConnectedAt Range
	// LikeClientID keeps ids containing this substring, byte for byte
	// (case-sensitive; % and _ are literal). Ignored when ClientIDs is set.
	LikeClientID string
	// LikeUsername keeps usernames containing this substring, byte for
	// byte. Ignored when Usernames is set.
	LikeUsername string
	// Ranges bound Rangeable numeric columns, all ANDed.
	Ranges []ColumnRange
	// Node keeps the clients of this node (every row of a catalog names
	// its node, Config.Node: the filter keeps all of them or none).
	Node string

	// OrderBy is the API name of an Orderable column; empty means
	// "clientid". Ties are broken by clientid in the same direction.
	OrderBy string
	// Desc orders descending.
	Desc bool
	// Page is the 1-based page number; zero means 1, or with Cursor the
	// page the cursor leads to. With Cursor it must be zero or that page:
	// the cursor, not the number, says where the page starts.
	Page int
	// Limit is the page size, 1..MaxLimit; zero means DefaultLimit.
	Limit int
	// Cursor is a Page.NextCursor returned for the same filter and order;
	// it continues right after the last row of that page, whatever rows
	// came or went before it (keyset paging).
	Cursor string
	// Fields projects the rows onto these API names (Columns); empty means
	// every field. clientid is always filled in.
	Fields []string
}

// Validate checks every field and returns a *FieldError (wrapping
// ErrInvalidFilter) naming the first offending one in the API's spelling.
func (f *Filter) Validate() error {
	bad := func(field, reason string) error { return &FieldError{Field: field, Reason: reason} }
	if len(f.ClientIDs) > MaxValues {
		return bad("clientid", "more than "+strconv.Itoa(MaxValues)+" values")
	}
	if len(f.Usernames) > MaxValues {
		return bad("username", "more than "+strconv.Itoa(MaxValues)+" values")
	}
	if f.ConnState != "" && !f.ConnState.Valid() {
		return bad("conn_state", "must be connected, idle or disconnected")
	}
	switch f.ProtoName {
	case "", "MQTT", "MQIsdp", "CoAP", "MQTT-SN":
	default:
		return bad("proto_name", "must be MQTT, MQIsdp, CoAP or MQTT-SN")
	}
	if f.ProtoVer < 0 {
		return bad("proto_ver", "must not be negative")
	}
	seen := make(map[string]bool, len(f.Ranges))
	for _, r := range f.Ranges {
		c, ok := ColumnByName(r.Column)
		if !ok || !c.Rangeable {
			return bad(r.Column, "not a numeric column that can be ranged")
		}
		if seen[r.Column] {
			return bad(r.Column, "given twice")
		}
		seen[r.Column] = true
	}
	if f.OrderBy != "" {
		c, ok := ColumnByName(f.OrderBy)
		if !ok || !c.Orderable {
			return bad("order_by", "cannot order by "+strconv.Quote(f.OrderBy))
		}
	}
	if f.Page < 0 {
		return bad("page", "must be ≥ 1")
	}
	if f.Limit < 0 || f.Limit > MaxLimit {
		return bad("limit", "must be 1.."+strconv.Itoa(MaxLimit))
	}
	for _, name := range f.Fields {
		if _, ok := ColumnByName(name); !ok {
			return bad("fields", "unknown field "+strconv.Quote(name))
		}
	}
	return nil
}

// limit returns the effective page size.
func (f *Filter) limit() int {
	if f.Limit == 0 {
		return DefaultLimit
	}
	return f.Limit
}

// page returns the effective page number.
func (f *Filter) page() int {
	if f.Page == 0 {
		return 1
	}
	return f.Page
}

// orderColumn returns the effective order column.
func (f *Filter) orderColumn() Column {
	if f.OrderBy == "" {
		c, _ := ColumnByName("clientid")
		return c
	}
	c, _ := ColumnByName(f.OrderBy)
	return c
}
