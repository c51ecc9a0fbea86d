package catalog

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"math"
)

// A cursor token is base64url(payload ‖ MAC), where payload is
//
//	version(1) ‖ filter hash(8) ‖ order column index(1) ‖ desc(1) ‖
//	uvarint page ‖ value kind(1) ‖ value (int64, or uvarint length ‖ bytes) ‖
//	uvarint length ‖ last clientid
//
// and MAC is the first 16 bytes of HMAC-SHA256(key, payload). The filter
// hash binds the token to the conditions and order it was issued for; page
// is the number of the page the token leads to, so that a walk by page
// number that passes the token back is told when the two disagree.

const (
	cursorVersion = 2
	cursorMACLen  = 16
	kindIntValue  = 0
	kindStrValue  = 1
)

// cursor is a decoded keyset position: the order column's value and the
// clientid of the last row of the previous page, and the number of the
// page it leads to.
type cursor struct {
	col    int // index in Columns
	desc   bool
	page   int
	intVal int64
	strVal string
	isStr  bool
	lastID string
}

// value returns the order column's value as a bound argument.
func (c *cursor) value() any {
	if c.isStr {
		return c.strVal
	}
	return c.intVal
}

// cursorAfter returns the cursor positioned after r, the last row of
// page number page-1.
func cursorAfter(f *Filter, r *Row, page int) cursor {
	oc := f.orderColumn()
	cur := cursor{col: columnByName[oc.Name], desc: f.Desc, page: page, lastID: r.ClientID}
	switch p := oc.ptr(r).(type) {
	case *string:
		cur.isStr, cur.strVal = true, *p
	case *int64:
		cur.intVal = *p
	}
	return cur
}

// encodeCursor seals cur for the filter f.
func (c *Catalog) encodeCursor(f *Filter, cur cursor) string {
	p := make([]byte, 0, 64)
	p = append(p, cursorVersion)
	p = append(p, filterHash(f)...)
	p = append(p, byte(cur.col))
	if cur.desc {
		p = append(p, 1)
	} else {
		p = append(p, 0)
	}
	p = binary.AppendUvarint(p, uint64(cur.page))
	if cur.isStr {
		p = append(p, kindStrValue)
		p = binary.AppendUvarint(p, uint64(len(cur.strVal)))
		p = append(p, cur.strVal...)
	} else {
		p = append(p, kindIntValue)
		p = binary.BigEndian.AppendUint64(p, uint64(cur.intVal))
	}
	p = binary.AppendUvarint(p, uint64(len(cur.lastID)))
	p = append(p, cur.lastID...)
	m := hmac.New(sha256.New, c.key)
	m.Write(p)
	p = m.Sum(p)[:len(p)+cursorMACLen]
	return base64.RawURLEncoding.EncodeToString(p)
}

// decodeCursor checks and opens a token issued for f.
func (c *Catalog) decodeCursor(f *Filter, tok string) (*cursor, error) {
	bad := func(reason string) error {
		return fmt.Errorf("%w: %w", ErrInvalidCursor, &FieldError{Field: "cursor", Reason: reason})
	}
	raw, err := base64.RawURLEncoding.DecodeString(tok)
	if err != nil || len(raw) < cursorMACLen+1 {
		return nil, bad("malformed; pass meta.cursor back unchanged")
	}
	p, mac := raw[:len(raw)-cursorMACLen], raw[len(raw)-cursorMACLen:]
	m := hmac.New(sha256.New, c.key)
	m.Write(p)
	if !hmac.Equal(m.Sum(nil)[:cursorMACLen], mac) {
		return nil, bad("not issued by this broker, or issued before it restarted")
	}
	// The MAC is good, so the payload is one we wrote: parse strictly anyway.
	if len(p) < 13 || p[0] != cursorVersion {
		return nil, bad("issued by another version of the broker")
	}
	if string(p[1:9]) != string(filterHash(f)) {
		return nil, bad("issued for another filter or order")
	}
	cur := &cursor{col: int(p[9]), desc: p[10] == 1}
	if cur.col >= len(Columns) || Columns[cur.col].Name != f.orderColumn().Name || cur.desc != f.Desc {
		return nil, bad("issued for another order")
	}
	page, k := binary.Uvarint(p[11:])
	if k <= 0 || page < 2 || page > math.MaxInt32 || len(p) < 11+k+1 {
		return nil, bad("malformed; pass meta.cursor back unchanged")
	}
	cur.page = int(page)
	if f.Page != 0 && f.Page != cur.page {
		return nil, bad(fmt.Sprintf("leads to page %d, not page %d; pass the page number and the cursor of one response", cur.page, f.Page))
	}
	kind, rest := p[11+k], p[11+k+1:]
	switch kind {
	case kindIntValue:
		if len(rest) < 8 {
			return nil, bad("malformed; pass meta.cursor back unchanged")
		}
		cur.intVal = int64(binary.BigEndian.Uint64(rest))
		rest = rest[8:]
	case kindStrValue:
		n, k := binary.Uvarint(rest)
		if k <= 0 || uint64(len(rest)-k) < n {
			return nil, bad("malformed; pass meta.cursor back unchanged")
		}
		cur.isStr, cur.strVal = true, string(rest[k:k+int(n)])
		rest = rest[k+int(n):]
	default:
		return nil, bad("malformed; pass meta.cursor back unchanged")
	}
	n, k := binary.Uvarint(rest)
	if k <= 0 || uint64(len(rest)-k) != n {
		return nil, bad("malformed; pass meta.cursor back unchanged")
	}
	cur.lastID = string(rest[k:])
	return cur, nil
}

// filterHash digests f's conditions and order (not its page, limit, cursor
// or projection) into 8 bytes.
func filterHash(f *Filter) []byte {
	h := sha256.New()
	var buf []byte
	str := func(s string) {
		buf = binary.AppendUvarint(buf[:0], uint64(len(s)))
		h.Write(buf)
		h.Write([]byte(s))
	}
	num := func(v int64) {
		buf = binary.AppendVarint(buf[:0], v)
		h.Write(buf)
	}
	rng := func(r Range) {
		for _, p := range []*int64{r.Gte, r.Lte} {
			if p == nil {
				str("-")
			} else {
				str("+")
				num(*p)
			}
		}
	}
	num(int64(len(f.ClientIDs)))
	for _, s := range f.ClientIDs {
		str(s)
	}
	num(int64(len(f.Usernames)))
	for _, s := range f.Usernames {
		str(s)
	}
	str(f.Zone)
	str(f.IPAddress)
	str(f.PeerSNI)
	str(f.CN)
	str(f.Listener)
	str(string(f.ConnState))
	switch {
	case f.CleanStart == nil:
		str("-")
	case *f.CleanStart:
		str("t")
	default:
		str("f")
	}
	str(f.ProtoName)
	num(f.ProtoVer)
	rng(f.CreatedAt)
	rng(f.ConnectedAt)
	str(f.LikeClientID)
	str(f.LikeUsername)
	num(int64(len(f.Ranges)))
	for _, r := range f.Ranges {
		str(r.Column)
		rng(r.Range)
	}
	if f.Node != "" {
		str("node=" + f.Node)
	}
	str(f.orderColumn().Name)
	if f.Desc {
		str("desc")
	}
	return h.Sum(nil)[:8]
}
