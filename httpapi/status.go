package httpapi

import (
	"net/http"
	"strconv"
)

// SetReady makes GET /status report 503 while ready returns false: before
// the MQTT listeners and the catalog are up, and while the broker stops.
// ready is called concurrently. Call it before serving requests.
func (a *API) SetReady(ready func() bool) { a.ops.ready = ready }

// serveStatus serves GET /status as EMQX does, in plain text: 200 with
// "Node NAME is started\nshardmq is running" when ready, 503 with
// "Node NAME is not started\nshardmq is not running" otherwise. It needs
// no API key (load balancers and orchestrators probe it).
func (a *API) serveStatus(w http.ResponseWriter, _ *http.Request) {
	ready := a.ops.ready == nil || a.ops.ready()
	body, status := "Node "+a.cfg.Node+" is started\nshardmq is running", http.StatusOK
	if !ready {
		body, status = "Node "+a.cfg.Node+" is not started\nshardmq is not running", http.StatusServiceUnavailable
	}
	h := w.Header()
	h.Set("Content-Type", "text/plain; charset=utf-8")
	h.Set("Content-Length", strconv.Itoa(len(body)))
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	w.Write([]byte(body))
}
