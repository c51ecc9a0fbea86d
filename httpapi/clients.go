package httpapi

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"

	"github.com/julienschmidt/httprouter"
	"github.com/shardmq/shardmq/catalog"
)

// noQuery rejects query parameters on endpoints that take none.
func noQuery(r *http.Request) *apiError {
	if r.URL.RawQuery == "" {
		return nil
	}
	_, keys, e := parseQuery(r.URL.RawQuery)
	if e != nil {
		return e
	}
	if len(keys) > 0 {
		return unknownParam(keys[0], "this endpoint takes no query parameters")
	}
	return nil
}

// listClients serves GET /clients from the catalog.
func (a *API) listClients(w http.ResponseWriter, r *http.Request, ps httprouter.Params) *apiError {
	q, e := parseClientsQuery(r.URL.RawQuery)
	if e != nil {
		return e
	}
	ctx, cancel := context.WithTimeout(r.Context(), a.cfg.ListTimeout)
	defer cancel()
	page, err := a.lister.List(ctx, q.filter)
	if err != nil {
		return a.listError(r, err)
	}
	b := make([]byte, 0, 128+len(page.Rows)*1400)
	b = append(b, `{"meta":{"page":`...)
	// With a cursor, the page it leads to.
	b = strconv.AppendInt(b, int64(cmp.Or(page.Number, q.page)), 10)
	b = append(b, `,"limit":`...)
	b = strconv.AppendInt(b, int64(q.limit), 10)
	b = append(b, `,"hasnext":`...)
	b = strconv.AppendBool(b, page.HasNext)
	b = append(b, `,"count":`...)
	b = strconv.AppendInt(b, int64(page.Count), 10)
	if page.HasNext && page.NextCursor != "" {
		b = append(b, `,"cursor":`...)
		b = appendJSONString(b, page.NextCursor)
	}
	b = append(b, `},"data":[`...)
	for i := range page.Rows {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendClient(b, &page.Rows[i], q.fields)
	}
	b = append(b, "]}"...)
	writeBody(w, http.StatusOK, b)
	return nil
}

// listError maps a catalog error: its validation errors name the parameter
// (400); anything else is logged and hidden (500), a deadline is a 503.
func (a *API) listError(r *http.Request, err error) *apiError {
	var fe *catalog.FieldError
	switch {
	case errors.As(err, &fe):
		return paramError(fe.Field, "%s", fe.Reason)
	case errors.Is(err, catalog.ErrInvalidCursor):
		return paramError("cursor", "not a cursor this broker issued for this filter and order")
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, context.Canceled):
		return &apiError{http.StatusServiceUnavailable, codeUnavailable, "the client catalog did not answer in time"}
	}
	a.cfg.Logger.Error("httpapi: catalog error", "err", err)
	return errInternal
}

// getClient serves GET /clients/{clientid}, read live from the broker.
func (a *API) getClient(w http.ResponseWriter, r *http.Request, ps httprouter.Params) *apiError {
	id, e := clientIDParam(ps)
	if e != nil {
		return e
	}
	if e := noQuery(r); e != nil {
		return e
	}
	var row catalog.Row
	err := a.command(r.Context(), func(ctx context.Context) (err error) {
		row, err = a.broker.Client(ctx, id)
		return err
	})
	if err != nil {
		return a.brokerError(r, err)
	}
	writeBody(w, http.StatusOK, appendClient(make([]byte, 0, 1400), &row, nil))
	return nil
}

// kickClient serves DELETE /clients/{clientid}: close and discard.
func (a *API) kickClient(w http.ResponseWriter, r *http.Request, ps httprouter.Params) *apiError {
	id, e := clientIDParam(ps)
	if e != nil {
		return e
	}
	if e := noQuery(r); e != nil {
		return e
	}
	if err := a.command(r.Context(), func(ctx context.Context) error { return a.broker.Kick(ctx, id) }); err != nil {
		return a.brokerError(r, err)
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// kickoutBulk serves POST /clients/kickout/bulk: a JSON array of client ids,
// each kicked; ids without a session are skipped, as EMQX does.
func (a *API) kickoutBulk(w http.ResponseWriter, r *http.Request, ps httprouter.Params) *apiError {
	if ps.ByName("clientid") != "kickout" {
		return noEndpoint(r)
	}
	if e := noQuery(r); e != nil {
		return e
	}
	body, e := readBody(w, r, a.cfg.MaxBodyBytes)
	if e != nil {
		return e
	}
	var ids []string
	if e := decodeJSON(body, &ids); e != nil {
		return e
	}
	if e := a.checkBulk(len(ids)); e != nil {
		return e
	}
	for i, id := range ids {
		if id == "" {
			return badRequest(fmt.Sprintf("[%d]: client id must not be empty", i))
		}
		if err := validMQTTString(id); err != nil {
			return badRequest(fmt.Sprintf("[%d]: client id %s: %v", i, quoteShort(id), err))
		}
	}
	err := a.command(r.Context(), func(ctx context.Context) error {
		for _, id := range ids {
			if err := a.broker.Kick(ctx, id); err != nil && !errors.Is(err, ErrClientNotFound) {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return a.brokerError(r, err)
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// checkBulk bounds the size of a bulk request.
func (a *API) checkBulk(n int) *apiError {
	if n == 0 {
		return badRequest(fmt.Sprintf("the array is empty; give 1 to %d items", a.cfg.MaxBulk))
	}
	if n > a.cfg.MaxBulk {
		return badRequest(fmt.Sprintf("the array has %d items; at most %d are allowed in one request", n, a.cfg.MaxBulk))
	}
	return nil
}

// keepaliveBody is the JSON of PUT /clients/{clientid}/keepalive.
type keepaliveBody struct {
	Interval *int64 `json:"interval"`
}

// UnmarshalJSON decodes strictly: exact field names, no unknown field.
func (b *keepaliveBody) UnmarshalJSON(data []byte) error {
	type plain keepaliveBody
	return strictObject(data, (*plain)(b))
}

// setKeepalive serves PUT /clients/{clientid}/keepalive (EMQX 5):
// {"interval": seconds, 0..65535}; the connection's keep alive timer runs
// with it from now on. It answers the client object.
func (a *API) setKeepalive(w http.ResponseWriter, r *http.Request, ps httprouter.Params) *apiError {
	id, e := clientIDParam(ps)
	if e != nil {
		return e
	}
	if e := noQuery(r); e != nil {
		return e
	}
	body, e := readBody(w, r, a.cfg.MaxBodyBytes)
	if e != nil {
		return e
	}
	var b keepaliveBody
	if e := decodeJSON(body, &b); e != nil {
		return e
	}
	if b.Interval == nil {
		return badRequest(`field "interval": required, seconds 0..65535`)
	}
	if *b.Interval < 0 || *b.Interval > 65535 {
		return badRequest(fmt.Sprintf(`field "interval": want seconds in 0..65535, got %d`, *b.Interval))
	}
	var row catalog.Row
	err := a.command(r.Context(), func(ctx context.Context) (err error) {
		row, err = a.broker.SetKeepalive(ctx, id, uint16(*b.Interval))
		return err
	})
	if err != nil {
		return a.brokerError(r, err)
	}
	writeBody(w, http.StatusOK, appendClient(make([]byte, 0, 1400), &row, nil))
	return nil
}

// listClientsV2 serves GET /clients_v2, EMQX 5.7's cursor endpoint: the
// parameters and answer of GET /clients, paged by cursor only (a page
// number is a 400): the first request gives none, the next ones the
// previous answer's meta.cursor, until meta.hasnext is false.
func (a *API) listClientsV2(w http.ResponseWriter, r *http.Request, ps httprouter.Params) *apiError {
	vals, _, e := parseQuery(r.URL.RawQuery, "username")
	if e != nil {
		return e
	}
	for _, k := range []string{"page", "_page"} {
		if _, ok := vals[k]; ok {
			return paramError(k, "GET /clients_v2 pages by cursor only; pass meta.cursor of the previous answer as cursor")
		}
	}
	return a.listClients(w, r, ps)
}
