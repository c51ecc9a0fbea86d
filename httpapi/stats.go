package httpapi

import (
	"context"
	"net/http"
	"strconv"

	"github.com/julienschmidt/httprouter"
)

// appendStats appends s as EMQX 5's stats object ("connections.count",
// ...), with the node name unless aggregated.
func appendStats(b []byte, s Stats, node string) []byte {
	b = append(b, '{')
	if node != "" {
		b = append(b, `"node":`...)
		b = appendJSONString(b, node)
		b = append(b, ',')
	}
	for i, kv := range []struct {
		name string
		v    int64
	}{
		{"connections.count", s.Connections},
		{"connections.max", s.ConnectionsMax},
		{"live_connections.count", s.LiveConnections},
		{"live_connections.max", s.LiveConnectionsMax},
		{"sessions.count", s.Sessions},
		{"sessions.max", s.SessionsMax},
		{"subscriptions.count", s.Subscriptions},
		{"subscriptions.max", s.SubscriptionsMax},
		{"subscriptions.shared.count", s.SubscriptionsShared},
		{"subscriptions.shared.max", s.SubscriptionsSharedMax},
		{"topics.count", s.Topics},
		{"topics.max", s.TopicsMax},
		{"retained.count", s.Retained},
		{"retained.max", s.RetainedMax},
	} {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, '"')
		b = append(b, kv.name...)
		b = append(b, '"', ':')
		b = strconv.AppendInt(b, kv.v, 10)
	}
	return append(b, '}')
}

// stats serves GET /stats: a JSON array with one object per running node,
// or with aggregate=true one object without the node name summing them, as
// EMQX 5 does.
func (a *API) stats(w http.ResponseWriter, r *http.Request, _ httprouter.Params) *apiError {
	vals, keys, e := parseQuery(r.URL.RawQuery)
	if e != nil {
		return e
	}
	aggregate := false
	for _, k := range keys {
		if k != "aggregate" {
			return unknownParam(k, "this endpoint takes only aggregate")
		}
		v, e := single(vals, k)
		if e != nil {
			return e
		}
		switch v {
		case "true":
			aggregate = true
		case "false":
		default:
			return paramError(k, "want true or false")
		}
	}
	var ns []NodeStats
	err := a.command(r.Context(), func(ctx context.Context) (err error) {
		ns, err = a.nodeStats(ctx)
		return err
	})
	if err != nil {
		return a.brokerError(r, err)
	}
	b := make([]byte, 0, 512*len(ns))
	if aggregate {
		b = appendStats(b, sumStats(ns), "")
	} else {
		b = append(b, '[')
		for i, n := range ns {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendStats(b, n.Stats, n.Node)
		}
		b = append(b, ']')
	}
	writeBody(w, http.StatusOK, b)
	return nil
}
