package httpapi

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	"github.com/julienschmidt/httprouter"
	"github.com/shardmq/shardmq/catalog"
)

// GET /listeners, EMQX 5's list of the MQTT listeners with their state and
// connections, and PUT (EMQX 5.0) or POST (EMQX 5.1 on)
// /listeners/{id}/stop|start|restart.

// The actions of ListenerAction, the last segment of their paths.
const (
	// ActionStop closes the listener's socket and its connections.
	ActionStop = "stop"
	// ActionStart binds the listener again.
	ActionStart = "start"
	// ActionRestart is ActionStop, then ActionStart.
	ActionRestart = "restart"
)

// ListenerInfo describes one MQTT listener.
type ListenerInfo struct {
	// ID is KIND:NAME (tcp:default), the listener of client rows.
	ID, Kind, Name string
	// Bind is the address it listens on.
	Bind string
	// Zone is its clients' zone.
	Zone string
	// ProxyProtocol says whether it takes a PROXY protocol header.
	ProxyProtocol bool
	// MaxConnections bounds its connections; 0 means no limit.
	MaxConnections int
	// Running says whether it accepts connections.
	Running bool
}

// listenerJSON is a listener in EMQX 5's shape.
type listenerJSON struct {
	ID                 string         `json:"id"`
	Type               string         `json:"type"`
	Name               string         `json:"name"`
	Enable             bool           `json:"enable"`
	Running            bool           `json:"running"`
	Bind               string         `json:"bind"`
	Zone               string         `json:"zone"`
	ProxyProtocol      bool           `json:"proxy_protocol"`
	MaxConnections     any            `json:"max_connections"`
	CurrentConnections int64          `json:"current_connections"`
	Status             listenerStatus `json:"status"`
	NodeStatus         []nodeStatus   `json:"node_status"`
}

type listenerStatus struct {
	Running            bool  `json:"running"`
	CurrentConnections int64 `json:"current_connections"`
	MaxConnections     any   `json:"max_connections"`
}

type nodeStatus struct {
	Node   string         `json:"node"`
	Status listenerStatus `json:"status"`
}

// listListeners serves GET /listeners: every MQTT listener, with the
// clients connected through it now (counted by the catalog).
func (a *API) listListeners(w http.ResponseWriter, r *http.Request, _ httprouter.Params) *apiError {
	if e := noQuery(r); e != nil {
		return e
	}
	var ls []ListenerInfo
	if err := a.command(r.Context(), func(ctx context.Context) (err error) {
		ls, err = a.broker.Listeners(ctx)
		return err
	}); err != nil {
		return a.brokerError(r, err)
	}
	out := make([]listenerJSON, 0, len(ls))
	for _, l := range ls {
		ctx, cancel := context.WithTimeout(r.Context(), a.cfg.ListTimeout)
		page, err := a.lister.List(ctx, catalog.Filter{Listener: l.ID, ConnState: catalog.Connected, Limit: 1,
			Fields: []string{"clientid"}})
		cancel()
		if err != nil {
			return a.listError(r, err)
		}
		var max any = "infinity"
		if l.MaxConnections > 0 {
			max = l.MaxConnections
		}
		st := listenerStatus{Running: l.Running, CurrentConnections: page.Count, MaxConnections: max}
		out = append(out, listenerJSON{ID: l.ID, Type: l.Kind, Name: l.Name, Enable: l.Running, Running: l.Running,
			Bind: l.Bind, Zone: l.Zone, ProxyProtocol: l.ProxyProtocol, MaxConnections: max,
			CurrentConnections: page.Count, Status: st, NodeStatus: []nodeStatus{{Node: a.cfg.Node, Status: st}}})
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// listenerAction serves PUT and POST /listeners/{id}/{action}. It answers
// 200 without a body once the broker has done it, as EMQX 5 does.
func (a *API) listenerAction(action string) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request, ps httprouter.Params) *apiError {
		if e := noQuery(r); e != nil {
			return e
		}
		if e := noBody(r); e != nil {
			return e
		}
		raw := ps.ByName("id")
		id, err := url.PathUnescape(raw)
		if err != nil || !validListenerID(id) {
			return &apiError{http.StatusBadRequest, codeBadListenerID,
				fmt.Sprintf("listener id %s: want TYPE:NAME, as tcp:default (GET /listeners lists them)", quoteShort(raw))}
		}
		err = a.command(r.Context(), func(ctx context.Context) error {
			return a.broker.ListenerAction(ctx, id, action)
		})
		if errors.Is(err, ErrListenerNotFound) {
			return &apiError{http.StatusNotFound, codeBadListenerID,
				fmt.Sprintf("no listener %s on this node; GET /listeners lists them", quoteShort(id))}
		}
		if err != nil {
			return a.brokerError(r, err)
		}
		w.WriteHeader(http.StatusOK)
		return nil
	}
}

// validListenerID reports whether id is written TYPE:NAME, each part
// letters, digits, _ and -, at most 64 bytes in all.
func validListenerID(id string) bool {
	if len(id) > 64 {
		return false
	}
	kind, name, ok := strings.Cut(id, ":")
	return ok && listenerWord(kind) && listenerWord(name)
}

// listenerWord reports whether s is a non-empty run of letters, digits, _
// and -.
func listenerWord(s string) bool {
	for _, c := range []byte(s) {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-') {
			return false
		}
	}
	return s != ""
}

// noBody checks that a request that takes no body has none: nothing but
// white space, or an empty JSON object (as some clients send).
func noBody(r *http.Request) *apiError {
	b, err := io.ReadAll(io.LimitReader(r.Body, 256))
	if err != nil {
		return badRequest("reading the body: " + err.Error())
	}
	if t := bytes.TrimSpace(b); len(t) > 0 && string(t) != "{}" {
		return badRequest("this endpoint takes no body (or {})")
	}
	return nil
}
