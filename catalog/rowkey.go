package catalog

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// RowKey returns the position of r in f's order as bytes that compare
// (bytes.Compare) in that order: the order column's value, then the client
// id, which makes keys unique. Pages of several catalogs (the nodes of a
// cluster) merge into one list by their keys, and a key taken back with
// CursorAfterKey continues any of them after r.
//
// A value is an int64 with its sign bit flipped, big-endian, or a string
// with each 0x00 byte as 0x00 0xFF and a 0x00 0x01 terminator; a
// descending order complements every byte.
func (f *Filter) RowKey(r *Row) []byte {
	k := make([]byte, 0, 16+len(r.ClientID))
	switch v := f.orderColumn().ptr(r).(type) {
	case *int64:
		k = binary.BigEndian.AppendUint64(k, uint64(*v)^(1<<63))
	case *string:
		k = appendKeyString(k, *v)
	}
	if f.orderColumn().Name != "clientid" {
		k = appendKeyString(k, r.ClientID)
	}
	if f.Desc {
		for i := range k {
			k[i] = ^k[i]
		}
	}
	return k
}

func appendKeyString(k []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if s[i] == 0 {
			k = append(k, 0, 0xFF)
		} else {
			k = append(k, s[i])
		}
	}
	return append(k, 0, 1)
}

// readKeyString reads a string appendKeyString wrote at the start of k and
// returns it with the rest of k.
func readKeyString(k []byte) (string, []byte, bool) {
	var s []byte
	for i := 0; i < len(k); i++ {
		if k[i] != 0 {
			s = append(s, k[i])
			continue
		}
		if i+1 >= len(k) {
			return "", nil, false
		}
		switch k[i+1] {
		case 0xFF:
			s = append(s, 0)
			i++
		case 1:
			return string(s), k[i+2:], true
		default:
			return "", nil, false
		}
	}
	return "", nil, false
}

// errRowKey is the reason of a key RowKey did not make for the filter.
var errRowKey = errors.New("not a row key of this order")

// CursorAfterKey returns a cursor token of this catalog for f that
// continues right after the row whose RowKey (for f's order) is key, as
// page page (at least 2: a cursor never leads to the first page).
func (c *Catalog) CursorAfterKey(f *Filter, key []byte, page int) (string, error) {
	k := append([]byte(nil), key...)
	if f.Desc {
		for i := range k {
			k[i] = ^k[i]
		}
	}
	oc := f.orderColumn()
	cur := cursor{col: columnByName[oc.Name], desc: f.Desc, page: max(page, 2)}
	var ok bool
	switch oc.ptr(&Row{}).(type) {
	case *int64:
		if len(k) < 8 {
			return "", fmt.Errorf("%w: %w", ErrInvalidCursor, errRowKey)
		}
		cur.intVal = int64(binary.BigEndian.Uint64(k) ^ (1 << 63))
		k, ok = k[8:], true
	case *string:
		cur.isStr = true
		cur.strVal, k, ok = readKeyString(k)
	}
	if ok && oc.Name != "clientid" {
		cur.lastID, k, ok = readKeyString(k)
	} else if ok {
		cur.lastID = cur.strVal
	}
	if !ok || len(k) != 0 {
		return "", fmt.Errorf("%w: %w", ErrInvalidCursor, errRowKey)
	}
	return c.encodeCursor(f, cur), nil
}
