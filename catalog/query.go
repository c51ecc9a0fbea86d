package catalog

import (
	"strings"
	"unicode/utf8"
)

// The query builder. Every value reaches SQL as a bound argument; the only
// identifiers written into SQL text are Column.SQL names taken from
// Columns (the allow-list), and everything else is a fixed literal.

// sqlQuery is a statement under construction.
type sqlQuery struct {
	b    strings.Builder
	args []any
}

// where appends f's conditions (not the cursor's) as "WHERE …", or nothing,
// and reports whether it wrote any. The terms on column p.noIndex (if not
// empty) are written as "+col", which keeps the planner from using an
// index for them; p.ids (if not nil) adds "id IN (…)".
func (q *sqlQuery) where(f *Filter, p plan) bool {
	noIndex := p.noIndex
	n := 0
	and := func() {
		if n == 0 {
			q.b.WriteString(" WHERE ")
		} else {
			q.b.WriteString(" AND ")
		}
		n++
	}
	name := func(col string) {
		if col == noIndex {
			q.b.WriteByte('+')
		}
		q.b.WriteString(col)
	}
	eq := func(col string, v any) {
		and()
		name(col)
		q.b.WriteString(" = ?")
		q.args = append(q.args, v)
	}
	in := func(col string, vs []string) {
		if len(vs) == 1 {
			eq(col, vs[0])
			return
		}
		and()
		name(col)
		q.b.WriteString(" IN (")
		for i, v := range vs {
			if i > 0 {
				q.b.WriteByte(',')
			}
			q.b.WriteByte('?')
			q.args = append(q.args, v)
		}
		q.b.WriteByte(')')
	}
	like := func(col, sub string) {
		and()
		q.likeCond(col, sub)
	}
	rng := func(col string, r Range) {
		if r.Gte != nil {
			and()
			name(col)
			q.b.WriteString(" >= ?")
			q.args = append(q.args, *r.Gte)
		}
		if r.Lte != nil {
			and()
			name(col)
			q.b.WriteString(" <= ?")
			q.args = append(q.args, *r.Lte)
		}
	}
	if p.ids != nil {
		and()
		q.b.WriteString("id IN (")
		for i, id := range p.ids {
			if i > 0 {
				q.b.WriteByte(',')
			}
			q.b.WriteByte('?')
			q.args = append(q.args, id)
		}
		q.b.WriteByte(')')
	}
	if p.minID != "" {
		and()
		q.b.WriteString("clientid >= ?")
		q.args = append(q.args, p.minID)
	}
	if len(f.ClientIDs) > 0 {
		in("clientid", f.ClientIDs)
	} else if f.LikeClientID != "" {
		like("clientid", f.LikeClientID)
	}
	if len(f.Usernames) > 0 {
		in("username", f.Usernames)
	} else if f.LikeUsername != "" {
		like("username", f.LikeUsername)
	}
	if f.Zone != "" {
		eq("zone", f.Zone)
	}
	if f.IPAddress != "" {
		eq("ip_address", f.IPAddress)
	}
	if f.PeerSNI != "" {
		eq("peersni", f.PeerSNI)
	}
	if f.CN != "" {
		eq("cn", f.CN)
	}
	if f.Listener != "" {
		eq("listener", f.Listener)
	}
	if f.ConnState != "" {
		eq("conn_state", string(f.ConnState))
	}
	if f.CleanStart != nil {
		eq("clean_start", *f.CleanStart)
	}
	if f.ProtoName != "" {
		eq("proto_name", f.ProtoName)
	}
	if f.ProtoVer != 0 {
		eq("proto_ver", f.ProtoVer)
	}
	rng("created_at", f.CreatedAt)
	rng("connected_at", f.ConnectedAt)
	for _, r := range f.Ranges {
		c, _ := ColumnByName(r.Column) // Validate checked the allow-list
		rng(c.SQL, r.Range)
	}
	return n > 0
}

// likeCond writes a case-sensitive, byte-exact substring test of col.
//
// For valid UTF-8 without NUL it is LIKE with '%', '_' and '\' escaped
// (ESCAPE '\'), which matches characters exactly as bytes (the connection
// sets case_sensitive_like). SQLite's LIKE reads its operands as
// NUL-terminated UTF-8, so other needles use instr over the bytes instead;
// rows always hold valid UTF-8 without NUL ([MQTT-1.5.4-1], [MQTT-1.5.4-2]).
func (q *sqlQuery) likeCond(col, sub string) {
	if utf8.ValidString(sub) && !strings.ContainsRune(sub, 0) {
		q.b.WriteString(col)
		q.b.WriteString(` LIKE ? ESCAPE '\'`)
		q.args = append(q.args, "%"+escapeLike(sub)+"%")
		return
	}
	q.b.WriteString("instr(CAST(")
	q.b.WriteString(col)
	q.b.WriteString(" AS BLOB), ?) > 0")
	q.args = append(q.args, []byte(sub))
}

// escapeLike escapes LIKE's wildcards and its escape character.
func escapeLike(s string) string {
	if !strings.ContainsAny(s, `%_\`) {
		return s
	}
	var b strings.Builder
	b.Grow(len(s) + 8)
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '%', '_', '\\':
			b.WriteByte('\\')
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// selectList returns the SQL column list for f's projection: every column,
// or the projected ones plus clientid and the order column.
func selectList(f *Filter) string {
	if len(f.Fields) == 0 {
		return allColumns
	}
	oc := f.orderColumn()
	want := map[string]bool{"clientid": true, oc.Name: true}
	for _, n := range f.Fields {
		want[n] = true
	}
	var b strings.Builder
	for _, c := range Columns {
		if want[c.Name] {
			if b.Len() > 0 {
				b.WriteByte(',')
			}
			b.WriteString(c.SQL)
		}
	}
	return b.String()
}

// allColumns is the select list of every column.
var allColumns = func() string {
	names := make([]string, len(Columns))
	for i, c := range Columns {
		names[i] = c.SQL
	}
	return strings.Join(names, ",")
}()

// plan is how the page's ids are looked up: by default the planner
// chooses; List overrides it with the exact count in hand (plan.go).
type plan struct {
	// index, if set, is forced with INDEXED BY (a name from schemaSQL).
	index string
	// noIndex, if set, is a column whose terms must not use an index.
	noIndex string
	// ids, if not nil, restricts the rows to these rowids (the matches
	// of a like_ filter found in the Go-side text index).
	ids []int64
	// minID, if set, is a lower bound of the matches' clientids (from the
	// Go-side evaluator), so a clientid-ordered scan starts there.
	minID string
}

// idsSQL builds phase one of a page: the rowids of the page in order. It reads only what indexes hold when they can serve the
// filter, so skipping OFFSET rows and sorting cost no table lookups.
// f's conditions, the keyset condition of cur (if any), the order with
// its clientid tie-break in the same direction (so one index serves it
// and row values compare it), and LIMIT limit+1 (the extra row answers
// hasnext) OFFSET offset.
func idsSQL(f *Filter, cur *cursor, offset int, p plan) (string, []any) {
	var q sqlQuery
	q.b.WriteString("SELECT id FROM clients")
	if p.index != "" {
		q.b.WriteString(" INDEXED BY ")
		q.b.WriteString(p.index)
	}
	hasWhere := q.where(f, p)
	oc := f.orderColumn()
	cmp, dir := " > ", " ASC"
	if f.Desc {
		cmp, dir = " < ", " DESC"
	}
	if cur != nil {
		if !hasWhere {
			q.b.WriteString(" WHERE ")
		} else {
			q.b.WriteString(" AND ")
		}
		if oc.Name == "clientid" {
			q.b.WriteString("clientid")
			q.b.WriteString(cmp)
			q.b.WriteString("?")
			q.args = append(q.args, cur.lastID)
		} else {
			q.b.WriteString("(")
			q.b.WriteString(oc.SQL)
			q.b.WriteString(", clientid)")
			q.b.WriteString(cmp)
			q.b.WriteString("(?, ?)")
			q.args = append(q.args, cur.value(), cur.lastID)
		}
	}
	q.b.WriteString(" ORDER BY ")
	if oc.Name != "clientid" {
		q.b.WriteString(oc.SQL)
		q.b.WriteString(dir)
		q.b.WriteString(", ")
	}
	q.b.WriteString("clientid")
	q.b.WriteString(dir)
	q.b.WriteString(" LIMIT ? OFFSET ?")
	q.args = append(q.args, f.limit()+1, offset)
	return q.b.String(), q.args
}

// rowsSQL builds phase two of a page: the projected columns of n rows by
// rowid (the caller binds the n rowids and restores phase one's order).
func rowsSQL(f *Filter, n int) string {
	var b strings.Builder
	b.WriteString("SELECT id,")
	b.WriteString(selectList(f))
	b.WriteString(" FROM clients WHERE id IN (")
	for i := 0; i < n; i++ {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteByte('?')
	}
	b.WriteByte(')')
	return b.String()
}

// countSQL builds the exact count of f's matches.
func countSQL(f *Filter, p plan) (string, []any) {
	var q sqlQuery
	q.b.WriteString("SELECT COUNT(*) FROM clients")
	if p.index != "" {
		q.b.WriteString(" INDEXED BY ")
		q.b.WriteString(p.index)
	}
	q.where(f, p)
	return q.b.String(), q.args
}

// familySQL selects the rowids matching f (reduced to one indexed column
// by familyOnly) through that column's index, in index order.
func familySQL(f *Filter, fam family) (string, []any) {
	var q sqlQuery
	q.b.WriteString("SELECT id FROM clients INDEXED BY ")
	q.b.WriteString(fam.index)
	q.where(f, plan{})
	return q.b.String(), q.args
}
