package httpapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/netip"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/julienschmidt/httprouter"
	"github.com/shardmq/shardmq/catalog"
)

// The ban list as EMQX 5 manages it: GET/POST/DELETE /banned and
// DELETE /banned/{as}/{who}, with the same JSON shapes. The broker keeps
// the list (Broker.Bans and friends) and applies a new ban to the clients
// already connected.

// banKinds are the values of "as", in the order GET /banned lists them.
var banKinds = []string{"clientid", "username", "peerhost", "clientid_re", "username_re", "peerhost_net"}

// Limits of a ban's strings (the broker checks them too).
const (
	maxBanWho  = 65535
	maxBanText = 1024
)

// Ban is one entry of the ban list.
type Ban struct {
	// As is what the ban is by: clientid, username, peerhost (an exact
	// address), clientid_re, username_re (regular expressions, RE2
	// syntax, unanchored) or peerhost_net (a CIDR network).
	As string
	// Who is the client id, user name, address, expression or network.
	Who string
	// By says who banned; Reason why.
	By, Reason string
	// At is when the ban began, Unix seconds (0 in AddBan: now).
	At int64
	// Until is when it ends, Unix seconds; 0 means never.
	Until int64
}

// BanExistsError is AddBan's error when an active ban of the same As and
// Who exists; Existing is that ban. It wraps ErrBanExists.
type BanExistsError struct{ Existing Ban }

func (e *BanExistsError) Error() string {
	return fmt.Sprintf("%s %s is already banned", e.Existing.As, quoteShort(e.Existing.Who))
}

// Unwrap makes errors.Is(err, ErrBanExists) hold.
func (e *BanExistsError) Unwrap() error { return ErrBanExists }

// banJSON is a ban in EMQX 5's shape.
type banJSON struct {
	As     string `json:"as"`
	Who    string `json:"who"`
	By     string `json:"by"`
	Reason string `json:"reason"`
	At     string `json:"at"`
	Until  string `json:"until"`
}

func toBanJSON(b Ban) banJSON {
	j := banJSON{As: b.As, Who: b.Who, By: b.By, Reason: b.Reason,
		At: time.Unix(b.At, 0).UTC().Format(keyTimeLayout), Until: "infinity"}
	if b.Until != 0 {
		j.Until = time.Unix(b.Until, 0).UTC().Format(keyTimeLayout)
	}
	return j
}

// banBody is the JSON of POST /banned.
type banBody struct {
	As     *string          `json:"as"`
	Who    *string          `json:"who"`
	By     *string          `json:"by"`
	Reason *string          `json:"reason"`
	At     *json.RawMessage `json:"at"`
	Until  *json.RawMessage `json:"until"`
}

// UnmarshalJSON decodes strictly: exact field names, no unknown field.
func (b *banBody) UnmarshalJSON(data []byte) error {
	type plain banBody
	return strictObject(data, (*plain)(b))
}

// ban validates b into a Ban at Unix second now.
func (b *banBody) ban(now int64) (Ban, error) {
	var out Ban
	if b.As == nil {
		return out, &fieldError{field: "as", msg: "required; one of " + strings.Join(banKinds, ", ")}
	}
	if !slices.Contains(banKinds, *b.As) {
		return out, &fieldError{field: "as", msg: fmt.Sprintf("%s is not one of %s", quoteShort(*b.As), strings.Join(banKinds, ", "))}
	}
	out.As = *b.As
	if b.Who == nil || *b.Who == "" {
		return out, &fieldError{field: "who", msg: "required, not empty"}
	}
	for _, f := range []struct {
		name string
		v    *string
		max  int
		dst  *string
	}{{"who", b.Who, maxBanWho, &out.Who}, {"by", b.By, maxBanText, &out.By}, {"reason", b.Reason, maxBanText, &out.Reason}} {
		if f.v == nil {
			continue
		}
		if len(*f.v) > f.max {
			return out, &fieldError{field: f.name, msg: fmt.Sprintf("longer than %d bytes", f.max)}
		}
		if err := validMQTTString(*f.v); err != nil {
			return out, &fieldError{field: f.name, msg: err.Error()}
		}
		*f.dst = *f.v
	}
	if b.At != nil {
		at, err := parseExpiredAt(*b.At)
		if err != nil || at == 0 {
			return out, &fieldError{field: "at", msg: "want Unix seconds or an RFC 3339 time such as 2030-01-01T00:00:00Z"}
		}
		out.At = at
	}
	if b.Until != nil {
		until, err := parseExpiredAt(*b.Until)
		if err != nil {
			return out, &fieldError{field: "until", msg: err.Error()}
		}
		if until != 0 && until <= now {
			return out, &fieldError{field: "until", msg: "not in the future: a ban that has already ended bans no one"}
		}
		out.Until = until
	}
	return out, nil
}

// banError maps a Broker error of the ban calls to the response.
func (a *API) banError(r *http.Request, err error) *apiError {
	var ex *BanExistsError
	switch {
	case errors.As(err, &ex):
		// EMQX 5: 400 ALREADY_EXISTS.
		return &apiError{http.StatusBadRequest, codeAlreadyExists, ex.Error() +
			fmt.Sprintf(" (by %s, until %s); delete it to ban anew", quoteShort(ex.Existing.By), toBanJSON(ex.Existing).Until)}
	case errors.Is(err, ErrRejected):
		// The broker's reason names what is wrong with who.
		return badRequest(`field "who": ` + strings.TrimPrefix(rejectedMessage(err), "the broker refused the request: "))
	}
	return a.brokerError(r, err)
}

// banFilter is the one filter GET /banned takes (EMQX: at most one, as
// two of different kinds can only select nothing).
type banFilter struct {
	// name is the parameter, value its value (an address in canonical
	// form for peerhost).
	name, value string
}

// matches reports whether b passes f. Exact filters select the ban of
// that kind; like_ filters are case-sensitive substrings of who, over the
// kind and its rule kind (like_clientid: clientid and clientid_re).
func (f banFilter) matches(b Ban) bool {
	switch f.name {
	case "":
		return true
	case "clientid", "username", "peerhost":
		return b.As == f.name && b.Who == f.value
	case "like_clientid":
		return (b.As == "clientid" || b.As == "clientid_re") && strings.Contains(b.Who, f.value)
	case "like_username":
		return (b.As == "username" || b.As == "username_re") && strings.Contains(b.Who, f.value)
	case "like_peerhost":
		return b.As == "peerhost" && strings.Contains(b.Who, f.value)
	case "like_peerhost_net":
		return b.As == "peerhost_net" && strings.Contains(b.Who, f.value)
	}
	return false
}

// parseBannedQuery parses GET /banned's parameters: page, limit (both
// spellings) and one filter.
func parseBannedQuery(raw string) (page, limit int, f banFilter, e *apiError) {
	page, limit = 1, catalog.DefaultLimit
	param := func(vals url.Values, key, name string, _ bool) *apiError {
		v, e := single(vals, key)
		if e != nil {
			return e
		}
		if _, e := parseStringParam(key, v); e != nil {
			return e
		}
		switch name {
		case "clientid", "username", "like_clientid", "like_username", "like_peerhost", "like_peerhost_net":
		case "peerhost":
			ip, err := netip.ParseAddr(v)
			if err != nil || ip.Zone() != "" {
				return paramError(key, "%s is not an IPv4 or IPv6 address", quoteShort(v))
			}
			v = ip.Unmap().String()
		default:
			return unknownParam(key, "see /api-docs or docs/api.md for the parameters of GET /banned")
		}
		if f.name != "" {
			return badRequest(fmt.Sprintf("parameters %s and %s: give at most one filter (bans of different kinds never both match)",
				quoteShort(f.name), quoteShort(key)))
		}
		f = banFilter{name: name, value: v}
		return nil
	}
	paging, _, e := walkParams(raw, param)
	if e != nil {
		return 0, 0, f, e
	}
	if paging.page > 0 {
		page = paging.page
	}
	if paging.limit > 0 {
		limit = paging.limit
	}
	return page, limit, f, nil
}

// listBanned serves GET /banned: the bans in force by kind, then who,
// paged, {"data", "meta"} as EMQX 5.
func (a *API) listBanned(w http.ResponseWriter, r *http.Request, _ httprouter.Params) *apiError {
	page, limit, f, e := parseBannedQuery(r.URL.RawQuery)
	if e != nil {
		return e
	}
	var bans []Ban
	if err := a.command(r.Context(), func(ctx context.Context) error {
		var err error
		bans, err = a.broker.Bans(ctx)
		return err
	}); err != nil {
		return a.banError(r, err)
	}
	var hits []Ban
	for _, b := range bans {
		if f.matches(b) {
			hits = append(hits, b)
		}
	}
	data := []banJSON{}
	from := min((page-1)*limit, len(hits))
	to := min(from+limit, len(hits))
	for _, b := range hits[from:to] {
		data = append(data, toBanJSON(b))
	}
	writeJSON(w, http.StatusOK, struct {
		Data []banJSON `json:"data"`
		Meta pageMeta  `json:"meta"`
	}{data, pageMeta{Page: page, Limit: limit, HasNext: to < len(hits), Count: len(hits)}})
	return nil
}

// createBan serves POST /banned: the ban, in force (and applied to the
// clients connected that it bans) when the 200 comes back.
func (a *API) createBan(w http.ResponseWriter, r *http.Request, _ httprouter.Params) *apiError {
	if e := noQuery(r); e != nil {
		return e
	}
	body, e := readBody(w, r, a.cfg.MaxBodyBytes)
	if e != nil {
		return e
	}
	var bb banBody
	if e := decodeJSON(body, &bb); e != nil {
		return e
	}
	ban, err := bb.ban(time.Now().Unix())
	if err != nil {
		return badRequest(err.Error())
	}
	var kept Ban
	if err := a.command(r.Context(), func(ctx context.Context) error {
		var err error
		kept, err = a.broker.AddBan(ctx, ban)
		return err
	}); err != nil {
		return a.banError(r, err)
	}
	writeJSON(w, http.StatusOK, toBanJSON(kept))
	return nil
}

// clearBanned serves DELETE /banned: every ban lifted.
func (a *API) clearBanned(w http.ResponseWriter, r *http.Request, _ httprouter.Params) *apiError {
	if e := noQuery(r); e != nil {
		return e
	}
	if err := a.command(r.Context(), a.broker.ClearBans); err != nil {
		return a.banError(r, err)
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// deleteBan serves DELETE /banned/{as}/{who}; who is percent-encoded when
// it holds / (a network: /banned/peerhost_net/10.0.0.0%2F8).
func (a *API) deleteBan(w http.ResponseWriter, r *http.Request, ps httprouter.Params) *apiError {
	as := ps.ByName("as")
	if !slices.Contains(banKinds, as) {
		return badRequest(fmt.Sprintf("%s in the path is not one of %s", quoteShort(as), strings.Join(banKinds, ", ")))
	}
	raw := ps.ByName("who")
	who, err := url.PathUnescape(raw)
	if err != nil {
		return badRequest(fmt.Sprintf("who %s in the path: %v", quoteShort(raw), err))
	}
	if err := validMQTTString(who); err != nil {
		return badRequest(fmt.Sprintf("who %s in the path: %v", quoteShort(who), err))
	}
	if e := noQuery(r); e != nil {
		return e
	}
	if err := a.command(r.Context(), func(ctx context.Context) error { return a.broker.DeleteBan(ctx, as, who) }); err != nil {
		if errors.Is(err, ErrBanNotFound) {
			// EMQX 5: 404 NOT_FOUND.
			return &apiError{http.StatusNotFound, codeNotFound, fmt.Sprintf("%s %s is not banned", as, quoteShort(who))}
		}
		return a.banError(r, err)
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// The ban body decodes itself strictly.
var _ json.Unmarshaler = (*banBody)(nil)
