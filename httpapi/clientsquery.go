package httpapi

import (
	"net/netip"
	"net/url"
	"sort"
	"strings"

	"github.com/shardmq/shardmq/catalog"
)

// clientsQuery is a parsed GET /clients query.
type clientsQuery struct {
	filter catalog.Filter
	// fields are indexes into clientFields in ascending order; nil means
	// every field.
	fields []int
	// page and limit are the effective values reported in meta.
	page, limit int
}

// parseClientsQuery turns GET /clients query parameters into a catalog
// filter. Every parameter is checked; an unknown one, a bad value, a
// repeated single-valued one, or one given in both spellings is a 400 that
// names it (CLIENTS_API.md decisions 2-4).
func parseClientsQuery(raw string) (clientsQuery, *apiError) {
	var q clientsQuery
	f := &q.filter
	param := func(vals url.Values, key, name string, seed bool) (e *apiError) {
		vs := vals[key]
		switch name {
		case "clientid", "username":
			if len(vs) > maxRepeated {
				return paramError(key, "given %d times, at most %d allowed", len(vs), maxRepeated)
			}
			for _, v := range vs {
				if _, e := parseStringParam(key, v); e != nil {
					return e
				}
			}
			if name == "clientid" {
				f.ClientIDs = vs
			} else {
				f.Usernames = vs
			}
		case "zone", "peersni", "cn", "listener", "like_clientid", "like_username", "cursor", "node":
			var v string
			if v, e = single(vals, key); e == nil {
				v, e = parseStringParam(key, v)
			}
			if e != nil {
				return e
			}
			switch name {
			case "zone":
				f.Zone = v
			case "peersni":
				f.PeerSNI = v
			case "cn":
				f.CN = v
			case "listener":
				f.Listener = v
			case "node":
				f.Node = v
			case "like_clientid":
				f.LikeClientID = v
			case "like_username":
				f.LikeUsername = v
			case "cursor":
				if len(v) > maxCursorLen {
					return paramError(key, "longer than %d bytes", maxCursorLen)
				}
				f.Cursor = v
			}
		case "ip_address":
			var v string
			if v, e = single(vals, key); e != nil {
				return e
			}
			addr, err := netip.ParseAddr(v)
			if err != nil || addr.Zone() != "" {
				return paramError(key, "want an IPv4 or IPv6 address without port or zone")
			}
			f.IPAddress = addr.String()
		case "conn_state":
			var v string
			if v, e = single(vals, key); e != nil {
				return e
			}
			s := catalog.ConnState(v)
			if !s.Valid() {
				return paramError(key, "want connected, idle or disconnected")
			}
			f.ConnState = s
		case "clean_start":
			var v string
			if v, e = single(vals, key); e != nil {
				return e
			}
			switch v {
			case "true":
				f.CleanStart = new(true)
			case "false":
				f.CleanStart = new(false)
			default:
				return paramError(key, "want true or false")
			}
		case "proto_name":
			var v string
			if v, e = single(vals, key); e != nil {
				return e
			}
			switch v {
			// MQIsdp is the protocol name MQTT 3.1 clients send and EMQX reports for them.
			case "MQTT", "MQIsdp", "CoAP", "MQTT-SN":
				f.ProtoName = v
			default:
				return paramError(key, "want MQTT, MQIsdp, CoAP or MQTT-SN")
			}
		case "proto_ver":
			var v string
			if v, e = single(vals, key); e != nil {
				return e
			}
			f.ProtoVer, e = parseIntParam(key, v, 1, 255)
		case "gte_created_at", "lte_created_at", "gte_connected_at", "lte_connected_at":
			var v string
			if v, e = single(vals, key); e != nil {
				return e
			}
			var ms int64
			if ms, e = parseTimeParam(key, v, seed, strings.HasPrefix(name, "lte_")); e != nil {
				return e
			}
			r := &f.CreatedAt
			if strings.HasSuffix(name, "connected_at") {
				r = &f.ConnectedAt
			}
			if strings.HasPrefix(name, "gte_") {
				r.Gte = &ms
			} else {
				r.Lte = &ms
			}
		case "fields":
			var v string
			if v, e = single(vals, key); e != nil {
				return e
			}
			q.fields, f.Fields, e = parseFields(key, v)
		case "order_by":
			var v string
			if v, e = single(vals, key); e != nil {
				return e
			}
			_, inObject := clientFieldIndex[v]
			if c, ok := catalog.ColumnByName(v); !ok || !c.Orderable || !inObject {
				return paramError(key, "cannot order by %s; order_by takes clientid, username, connected_at, created_at or a counter (see docs/api.md)", quoteShort(v))
			}
			f.OrderBy = v
		case "order":
			var v string
			if v, e = single(vals, key); e != nil {
				return e
			}
			switch v {
			case "asc":
			case "desc":
				f.Desc = true
			default:
				return paramError(key, "want asc or desc")
			}
		default:
			e = parseRangeParam(vals, key, f)
		}
		return e
	}
	// username= (empty) selects clients without a user name.
	paging, _, e := walkParams(raw, param, "username")
	if e != nil {
		return q, e
	}
	f.Page, f.Limit = paging.page, paging.limit
	q.page, q.limit = max(paging.page, 1), paging.limit
	if q.limit == 0 {
		q.limit = catalog.DefaultLimit
	}
	sort.Slice(f.Ranges, func(i, j int) bool { return f.Ranges[i].Column < f.Ranges[j].Column })
	return q, nil
}

// parseRangeParam parses `gte_<column>` / `lte_<column>` on a numeric stats
// column of the catalog (e.g. gte_mqueue_len=1), or reports an unknown
// parameter.
func parseRangeParam(vals map[string][]string, key string, f *catalog.Filter) *apiError {
	col, gte := strings.CutPrefix(key, "gte_")
	if !gte {
		var lte bool
		if col, lte = strings.CutPrefix(key, "lte_"); !lte {
			return unknownParam(key, "see /api-docs or docs/api.md for the parameters of GET /clients")
		}
	}
	c, ok := catalog.ColumnByName(col)
	if !ok || !c.Rangeable {
		return unknownParam(key, "see /api-docs or docs/api.md for the parameters of GET /clients")
	}
	v, e := single(vals, key)
	if e != nil {
		return e
	}
	n, e := parseIntParam(key, v, 0, 1<<62)
	if e != nil {
		return e
	}
	i := -1
	for j := range f.Ranges {
		if f.Ranges[j].Column == col {
			i = j
		}
	}
	if i < 0 {
		f.Ranges = append(f.Ranges, catalog.ColumnRange{Column: col})
		i = len(f.Ranges) - 1
	}
	if gte {
		f.Ranges[i].Gte = &n
	} else {
		f.Ranges[i].Lte = &n
	}
	return nil
}

// parseFields parses `fields=a,b,...` (or `all`) into indexes into
// clientFields and the catalog columns that fill them.
func parseFields(key, v string) ([]int, []string, *apiError) {
	if v == "all" {
		return nil, nil, nil
	}
	idx := make([]int, 0, 8)
	for name := range strings.SplitSeq(v, ",") {
		i, ok := clientFieldIndex[name]
		if !ok {
			return nil, nil, paramError(key, "unknown field %s", quoteShort(name))
		}
		idx = append(idx, i)
	}
	sort.Ints(idx)
	cols := make([]string, 0, len(idx)+1)
	prev := -1
	out := idx[:0]
	for _, i := range idx {
		if i == prev {
			continue
		}
		prev = i
		out = append(out, i)
		cols = append(cols, clientFields[i].name)
	}
	// disconnected_at is shown only when the client is not connected.
	if prev >= 0 && contains(out, fieldDisconnectedAt) && !contains(out, fieldConnected) {
		cols = append(cols, clientFields[fieldConnected].name)
	}
	return out, cols, nil
}

func contains(s []int, v int) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}
