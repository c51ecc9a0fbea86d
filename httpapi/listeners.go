package httpapi

import (
	"context"
	"net/http"

	"github.com/julienschmidt/httprouter"
	"github.com/shardmq/shardmq/catalog"
)

// GET /listeners, EMQX 5's list of the MQTT listeners with their state and
// connections.

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
		out = append(out, listenerJSON{ID: l.ID, Type: l.Kind, Name: l.Name, Enable: true, Running: l.Running,
			Bind: l.Bind, Zone: l.Zone, ProxyProtocol: l.ProxyProtocol, MaxConnections: max,
			CurrentConnections: page.Count, Status: st, NodeStatus: []nodeStatus{{Node: a.cfg.Node, Status: st}}})
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}
