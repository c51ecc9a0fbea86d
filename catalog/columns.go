package catalog

import "unsafe"

// kind is the SQL storage class of a column.
type kind uint8

const (
	kindText kind = iota
	kindInt
	kindBool
	kindNullText
	kindNullInt
)

// Column describes one field of the client object: its API name (as in
// CLIENTS_API.md and the fields projection), its SQL column name, and what
// the query builder may do with it. Columns is the only source of column
// names that ever reach SQL text.
type Column struct {
	// Name is the API name, e.g. "recv_msg.qos0".
	Name string
	// SQL is the column name in the clients table, e.g. "recv_msg_qos0".
	SQL string
	// Orderable reports whether Filter.OrderBy may name this column.
	Orderable bool
	// Rangeable reports whether Filter.Ranges may name this column.
	Rangeable bool
	kind      kind
	// stat is the index in statColumns, or -1.
	stat int
	// ptr returns a pointer to the field in r (for scanning and reading).
	ptr func(r *Row) any
}

// ctrAt returns counter i (statNames order) of c.
//
// It indexes Counters as the array [numStats]int64, which is safe: the
// conversion follows rule (1) of unsafe.Pointer (the array is no larger
// than Counters and shares its layout: numStats int64 fields, declared in
// column order, each 8-byte aligned, so no padding), the index is
// bounds-checked against numStats like any array index, and Counters
// holds no pointers. TestCountersLayout checks the size and that index i
// is the field a test's list of field pointers (statFields) puts at i,
// whose db tag names column i.
//
// It is not replaced by a safe equivalent (a list of field pointers taken
// once per row, or a copy into an array) because that costs: the writer runs it
// for every counter of every row it writes or hands to the mirror, the
// latter under the gate, and bigCounters.set took 44 ns instead of 31 ns
// on warm rows and 367 ns instead of 242 ns on random rows of a 200k-row
// mirror, as applyDeferredLocked meets them (medians of 12 and 15 runs).
func ctrAt(c *Counters, i int) int64 {
	return (*[numStats]int64)(unsafe.Pointer(c))[i]
}

// ctrPtr returns a pointer to counter i of c (see ctrAt).
func ctrPtr(c *Counters, i int) *int64 {
	return &(*[numStats]int64)(unsafe.Pointer(c))[i]
}

// numStats is the number of fields in Counters.
const numStats = 32

// statNames are the API names of the Counters fields, in column order.
var statNames = [numStats]string{
	"subscriptions_cnt", "subscriptions_max", "inflight_cnt", "inflight_max",
	"mqueue_len", "mqueue_max", "mqueue_dropped", "awaiting_rel_cnt", "awaiting_rel_max",
	"recv_oct", "recv_cnt", "recv_pkt", "recv_msg", "recv_msg.qos0", "recv_msg.qos1",
	"recv_msg.qos2", "recv_msg.dropped", "recv_msg.dropped.await_pubrel_timeout",
	"send_oct", "send_cnt", "send_pkt", "send_msg", "send_msg.qos0", "send_msg.qos1",
	"send_msg.qos2", "send_msg.dropped", "send_msg.dropped.expired",
	"send_msg.dropped.queue_full", "send_msg.dropped.too_large",
	"mailbox_len", "heap_size", "reductions",
}

// Columns lists every field of the client object in the API's order.
var Columns = buildColumns()

// columnByName maps API names to their index in Columns.
var columnByName = func() map[string]int {
	m := make(map[string]int, len(Columns))
	for i, c := range Columns {
		m[c.Name] = i
	}
	return m
}()

func buildColumns() []Column {
	cols := []Column{
		{Name: "node", kind: kindText, ptr: func(r *Row) any { return &r.Node }},
		{Name: "clientid", kind: kindText, Orderable: true, ptr: func(r *Row) any { return &r.ClientID }},
		{Name: "username", kind: kindText, Orderable: true, ptr: func(r *Row) any { return &r.Username }},
		{Name: "proto_name", kind: kindText, ptr: func(r *Row) any { return &r.ProtoName }},
		{Name: "proto_ver", kind: kindInt, ptr: func(r *Row) any { return &r.ProtoVer }},
		{Name: "ip_address", kind: kindText, ptr: func(r *Row) any { return &r.IPAddress }},
		{Name: "port", kind: kindInt, ptr: func(r *Row) any { return &r.Port }},
		{Name: "listener", kind: kindText, ptr: func(r *Row) any { return &r.Listener }},
		{Name: "is_bridge", kind: kindBool, ptr: func(r *Row) any { return &r.IsBridge }},
		{Name: "is_persistent", kind: kindBool, ptr: func(r *Row) any { return &r.IsPersistent }},
		{Name: "enable_authn", kind: kindBool, ptr: func(r *Row) any { return &r.EnableAuthn }},
		{Name: "peersni", kind: kindNullText, ptr: func(r *Row) any { return &r.PeerSNI }},
		{Name: "cn", kind: kindNullText, ptr: func(r *Row) any { return &r.CN }},
		{Name: "dn", kind: kindNullText, ptr: func(r *Row) any { return &r.DN }},
		{Name: "tenant_id_from", kind: kindNullText, ptr: func(r *Row) any { return &r.TenantIDFrom }},
		{Name: "zone", kind: kindText, ptr: func(r *Row) any { return &r.Zone }},
		{Name: "connected", kind: kindBool, ptr: func(r *Row) any { return &r.Connected }},
		{Name: "conn_state", kind: kindText, ptr: func(r *Row) any { return (*string)(&r.ConnState) }},
		{Name: "connected_at", kind: kindInt, Orderable: true, ptr: func(r *Row) any { return &r.ConnectedAt }},
		{Name: "disconnected_at", kind: kindNullInt, ptr: func(r *Row) any { return &r.DisconnectedAt }},
		{Name: "created_at", kind: kindInt, Orderable: true, ptr: func(r *Row) any { return &r.CreatedAt }},
		{Name: "keepalive", kind: kindInt, ptr: func(r *Row) any { return &r.Keepalive }},
		{Name: "clean_start", kind: kindBool, ptr: func(r *Row) any { return &r.CleanStart }},
		{Name: "expiry_interval", kind: kindInt, ptr: func(r *Row) any { return &r.ExpiryInterval }},
	}
	for i := range cols {
		cols[i].stat = -1
	}
	for i, name := range statNames {
		i := i
		cols = append(cols, Column{
			Name: name, kind: kindInt, Orderable: true, Rangeable: true, stat: i,
			ptr: func(r *Row) any { return ctrPtr(&r.Counters, i) },
		})
	}
	for i := range cols {
		sql := []byte(cols[i].Name)
		for j, b := range sql {
			if b == '.' {
				sql[j] = '_'
			}
		}
		cols[i].SQL = string(sql)
	}
	return cols
}

// ColumnByName returns the column with the given API name.
func ColumnByName(name string) (Column, bool) {
	i, ok := columnByName[name]
	if !ok {
		return Column{}, false
	}
	return Columns[i], true
}
