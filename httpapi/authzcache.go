package httpapi

import (
	"context"
	"net/http"
	"time"

	"github.com/julienschmidt/httprouter"
)

// GET and DELETE /clients/{clientid}/authorization/cache: the decisions
// the ACL made for the client and the session keeps, as EMQX 5 shows
// them.

// AuthzDecision is one cached authorization decision.
type AuthzDecision struct {
	// Action is "publish" or "subscribe".
	Action string
	// Topic is the topic name (publish) or filter (subscribe).
	Topic string
	Allow bool
	// At is when the decision was made.
	At time.Time
}

// authzJSON is a decision in EMQX 5's shape.
type authzJSON struct {
	Access      string `json:"access"`
	Topic       string `json:"topic"`
	Result      string `json:"result"`
	UpdatedTime int64  `json:"updated_time"`
}

// getAuthzCache serves GET /clients/{clientid}/authorization/cache.
func (a *API) getAuthzCache(w http.ResponseWriter, r *http.Request, ps httprouter.Params) *apiError {
	id, e := clientIDParam(ps)
	if e != nil {
		return e
	}
	if e := noQuery(r); e != nil {
		return e
	}
	var ds []AuthzDecision
	if err := a.command(r.Context(), func(ctx context.Context) (err error) {
		ds, err = a.broker.AuthzCache(ctx, id)
		return err
	}); err != nil {
		return a.brokerError(r, err)
	}
	out := make([]authzJSON, len(ds))
	for i, d := range ds {
		out[i] = authzJSON{Access: d.Action, Topic: d.Topic, Result: "deny", UpdatedTime: d.At.UnixMilli()}
		if d.Allow {
			out[i].Result = "allow"
		}
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// clearAuthzCache serves DELETE /clients/{clientid}/authorization/cache.
func (a *API) clearAuthzCache(w http.ResponseWriter, r *http.Request, ps httprouter.Params) *apiError {
	id, e := clientIDParam(ps)
	if e != nil {
		return e
	}
	if e := noQuery(r); e != nil {
		return e
	}
	if err := a.command(r.Context(), func(ctx context.Context) error { return a.broker.ClearAuthzCache(ctx, id) }); err != nil {
		return a.brokerError(r, err)
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
