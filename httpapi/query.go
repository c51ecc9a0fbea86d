package httpapi

import (
	"fmt"
	"math"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/shardmq/shardmq/catalog"
)

// Limits on query parameters.
const (
	// maxRepeated bounds the values of one repeated parameter (clientid,
	// username).
	maxRepeated = 1000
	// maxPage bounds page numbers.
	maxPage = 1_000_000_000
	// maxCursorLen bounds a cursor token.
	maxCursorLen = 4096
	// maxUnixSeconds is 9999-12-31T23:59:59Z.
	maxUnixSeconds = 253402300799
)

// parseQuery splits a raw query string strictly: a malformed escape, a
// key or value that is not UTF-8, or an empty value (except for the keys
// in emptyOK) is a 400 naming the parameter. Keys are returned sorted so
// that errors are deterministic.
func parseQuery(raw string, emptyOK ...string) (url.Values, []string, *apiError) {
	vals, err := url.ParseQuery(raw)
	if err != nil {
		// err is url's own: `invalid URL escape "%zz"` or `invalid semicolon separator in query`.
		return nil, nil, badRequest("malformed query string: " + err.Error())
	}
	keys := make([]string, 0, len(vals))
	for k, vs := range vals {
		if !utf8.ValidString(k) {
			return nil, nil, badRequest(fmt.Sprintf("parameter name %s is not valid UTF-8", strconv.QuoteToASCII(k)))
		}
		for _, v := range vs {
			if v == "" && !slices.Contains(emptyOK, k) {
				return nil, nil, badRequest(fmt.Sprintf("parameter %s: empty value", quoteShort(k)))
			}
			if !utf8.ValidString(v) {
				return nil, nil, badRequest(fmt.Sprintf("parameter %s: value is not valid UTF-8", quoteShort(k)))
			}
		}
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return vals, keys, nil
}

// quoteShort quotes a parameter name or a value for an error message, cut
// to a readable length.
func quoteShort(k string) string {
	if len(k) > 64 {
		k = k[:64] + "..."
		for !utf8.ValidString(k) {
			k = k[:len(k)-4] + "..."
		}
	}
	return strconv.Quote(k)
}

// unknownParam is the 400 for a parameter the endpoint does not take; hint
// says where to find the ones it does.
func unknownParam(name, hint string) *apiError {
	return badRequest(fmt.Sprintf("unknown parameter %s; %s", quoteShort(name), hint))
}

// paramError is a 400 naming the parameter.
func paramError(name, format string, args ...any) *apiError {
	return badRequest(fmt.Sprintf("parameter %s: %s", quoteShort(name), fmt.Sprintf(format, args...)))
}

// single returns the only value of the parameter name or a 400 when it is
// repeated.
func single(vals url.Values, name string) (string, *apiError) {
	vs := vals[name]
	if len(vs) != 1 {
		return "", paramError(name, "given %d times, at most once allowed", len(vs))
	}
	return vs[0], nil
}

// parseIntParam parses a decimal integer within [lo, hi].
func parseIntParam(name, v string, lo, hi int64) (int64, *apiError) {
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < lo || n > hi {
		if len(v) > 32 {
			v = v[:32] + "..."
		}
		return 0, paramError(name, "want an integer in %d..%d, got %s", lo, hi, strconv.QuoteToASCII(v))
	}
	return n, nil
}

// parseStringParam checks a string parameter value: at most 65,535 bytes
// without U+0000, like every MQTT string (UTF-8 was checked by parseQuery).
func parseStringParam(name, v string) (string, *apiError) {
	if err := validMQTTString(v); err != nil {
		return "", paramError(name, "%v", err)
	}
	return v, nil
}

// parseTimeParam parses a time bound into Unix milliseconds. seconds
// selects the seed's spelling (`_gte_created_at`: Unix seconds), compared
// at the precision of a second: an upper bound of second S includes
// S.999. Otherwise it is EMQX 5's: Unix milliseconds or RFC 3339, exact.
func parseTimeParam(name, v string, seconds, upper bool) (int64, *apiError) {
	if seconds {
		n, e := parseIntParam(name, v, 0, maxUnixSeconds)
		if e != nil {
			return 0, paramError(name, "want Unix seconds in 0..%d", maxUnixSeconds)
		}
		if upper {
			return n*1000 + 999, nil
		}
		return n * 1000, nil
	}
	if v != "" && (v[0] >= '0' && v[0] <= '9' || v[0] == '-') && !strings.ContainsAny(v, "T:") {
		n, e := parseIntParam(name, v, 0, maxUnixSeconds*1000+999)
		if e != nil {
			return 0, paramError(name, "want Unix milliseconds in 0..%d or an RFC 3339 time", int64(maxUnixSeconds*1000+999))
		}
		return n, nil
	}
	t, err := time.Parse(time.RFC3339Nano, v)
	if err != nil || t.Unix() < 0 || t.Unix() > maxUnixSeconds {
		return 0, paramError(name, "want Unix milliseconds or an RFC 3339 time such as 2023-09-15T09:36:20.871+00:00")
	}
	return t.UnixMilli(), nil
}

// pagingParams are the page, limit and cursor of a list query.
type pagingParams struct {
	page, limit int
	// pageGiven is true when a page parameter was present.
	pageGiven bool
}

// aliases maps the `_`-prefixed spellings of the seed (and of EMQX 4, for
// like_* and match_topic) to EMQX 5's.
var aliases = map[string]string{
	"_page":             "page",
	"_limit":            "limit",
	"_gte_created_at":   "gte_created_at",
	"_lte_created_at":   "lte_created_at",
	"_gte_connected_at": "gte_connected_at",
	"_lte_connected_at": "lte_connected_at",
	"_like_clientid":    "like_clientid",
	"_like_username":    "like_username",
	"_match_topic":      "match_topic",
}

// canonicalName returns the EMQX 5 name of a parameter and whether it was
// given in the seed's spelling.
func canonicalName(k string) (name string, seed bool) {
	if c, ok := aliases[k]; ok {
		return c, true
	}
	return k, false
}

// paramSet records which canonical parameters were seen, to reject a
// parameter given in both spellings.
type paramSet map[string]string

// add records key under its canonical name, or returns a 400 when the
// other spelling was already given.
func (s paramSet) add(key, canonical string) *apiError {
	if prev, ok := s[canonical]; ok && prev != key {
		return badRequest(fmt.Sprintf("%q and %q are two spellings of one parameter; give one", prev, key))
	}
	s[canonical] = key
	return nil
}

// walkParams parses raw (emptyOK as parseQuery), rejects a parameter
// given in both spellings, parses page and limit into the returned
// pagingParams, and calls fn for every other parameter with its key as
// given, its EMQX 5 name and whether the key is the seed's spelling. It
// stops at the first error. seen maps each canonical name to the key given.
func walkParams(raw string, fn func(vals url.Values, key, name string, seed bool) *apiError,
	emptyOK ...string) (paging pagingParams, seen paramSet, e *apiError) {
	vals, keys, e := parseQuery(raw, emptyOK...)
	if e != nil {
		return paging, nil, e
	}
	seen = make(paramSet, len(keys))
	for _, key := range keys {
		name, seed := canonicalName(key)
		if e := seen.add(key, name); e != nil {
			return paging, seen, e
		}
		if name == "page" || name == "limit" {
			e = parsePaging(vals, key, name, &paging)
		} else {
			e = fn(vals, key, name, seed)
		}
		if e != nil {
			return paging, seen, e
		}
	}
	return paging, seen, nil
}

// parsePaging parses page and limit (either spelling) from vals.
func parsePaging(vals url.Values, key, name string, p *pagingParams) *apiError {
	v, e := single(vals, key)
	if e != nil {
		return e
	}
	switch name {
	case "page":
		n, e := parseIntParam(key, v, 1, maxPage)
		if e != nil {
			return e
		}
		p.page, p.pageGiven = int(n), true
	case "limit":
		n, e := parseIntParam(key, v, 1, math.MaxInt32)
		if e != nil || n > catalog.MaxLimit {
			return paramError(key, "want an integer in 1..%d", catalog.MaxLimit)
		}
		p.limit = int(n)
	}
	return nil
}
