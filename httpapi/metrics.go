package httpapi

import (
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/julienschmidt/httprouter"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Paths of the operational endpoints. They are served at the root and
// under the base ({base}/status, {base}/api-docs), except /metrics and
// SwaggerPath.
const (
	MetricsPath = "/metrics"
	StatusPath  = "/status"
	DocsPath    = "/api-docs"
	// SwaggerPath serves the OpenAPI document where EMQX 5 serves its own.
	SwaggerPath = "/api-docs/swagger.json"
)

// opsAllow is the Allow header of the operational endpoints.
const opsAllow = "GET, HEAD, OPTIONS"

// route is one registered endpoint: its method and its pattern in OpenAPI
// form ("/api/v5/clients/{clientid}").
type route struct {
	method, pattern string
}

// ops holds the API's operational state: the routes, the request
// histogram, /metrics, readiness and the OpenAPI document.
type ops struct {
	// routes is written by New only.
	routes []route
	// requests is the latency of API requests by method, route and status;
	// made by New before the routes.
	requests *prometheus.HistogramVec
	// metrics serves /metrics; nil until EnableMetrics.
	metrics     http.Handler
	metricsAuth bool
	// ready reports readiness for /status; nil means ready.
	ready func() bool
	// docs is the OpenAPI document, built by New.
	docs []byte
}

// latencyBuckets are the request histogram's buckets, in seconds: API
// calls run from tens of microseconds (a key check and a live lookup) to
// seconds (a deep catalog page).
var latencyBuckets = []float64{0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10}

func newRequestHistogram() *prometheus.HistogramVec {
	return prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "shardmq_api_request_duration_seconds",
		Help:    "Latency of HTTP API requests by method, route pattern and status code.",
		Buckets: latencyBuckets,
	}, []string{"method", "route", "code"})
}

// openAPIPath turns an httprouter path ("/clients/:clientid") into the
// OpenAPI form ("/clients/{clientid}").
func openAPIPath(p string) string {
	segs := strings.Split(p, "/")
	for i, s := range segs {
		if strings.HasPrefix(s, ":") {
			segs[i] = "{" + s[1:] + "}"
		}
	}
	return strings.Join(segs, "/")
}

// route registers h for method and path (under the base) on r, records the
// route for the document and times its requests. pattern, when not empty,
// is the path the document gives instead (a route httprouter holds under
// a wildcard).
func (a *API) route(r *httprouter.Router, method, path, pattern string, h handlerFunc) {
	if pattern == "" {
		pattern = openAPIPath(path)
	}
	full := a.cfg.Base + pattern
	methods := []string{method}
	if method == http.MethodGet {
		// HEAD wherever GET: the same handler, whose body net/http drops,
		// keeping the headers (Content-Length included).
		methods = append(methods, http.MethodHead)
	}
	handle := a.handle(h)
	for _, m := range methods {
		a.ops.routes = append(a.ops.routes, route{method: m, pattern: full})
		obs := a.ops.requests.MustCurryWith(prometheus.Labels{"method": m, "route": full})
		r.Handle(m, a.cfg.Base+path, func(w http.ResponseWriter, req *http.Request, ps httprouter.Params) {
			start := time.Now()
			sw := &statusWriter{ResponseWriter: w, status: http.StatusOK}
			handle(sw, req, ps)
			obs.WithLabelValues(strconv.Itoa(sw.status)).Observe(time.Since(start).Seconds())
		})
	}
}

// statusWriter records the status a handler sends.
type statusWriter struct {
	http.ResponseWriter
	status int
	wrote  bool
}

func (w *statusWriter) WriteHeader(code int) {
	if !w.wrote {
		w.status, w.wrote = code, true
	}
	w.ResponseWriter.WriteHeader(code)
}

// Collector returns the API's request latency histogram, to register
// where the process's metrics are gathered.
func (a *API) Collector() prometheus.Collector { return a.ops.requests }

// EnableMetrics serves g's metrics at /metrics in Prometheus' text format.
// As EMQX's Prometheus endpoint, it needs no API key unless requireKey is
// set; then any key whose role may read (administrator, viewer) opens it.
// Call it before serving requests.
func (a *API) EnableMetrics(g prometheus.Gatherer, requireKey bool) {
	a.ops.metrics = promhttp.HandlerFor(g, promhttp.HandlerOpts{})
	a.ops.metricsAuth = requireKey
}

// opsRoutes records the operational endpoints: they are not in the router
// (they sit outside the base) but are in the document.
func (a *API) opsRoutes() {
	for _, p := range []string{StatusPath, a.cfg.Base + StatusPath, DocsPath, a.cfg.Base + DocsPath, SwaggerPath, MetricsPath,
		ExplorerPath, ExplorerScriptPath} {
		a.ops.routes = append(a.ops.routes, route{method: http.MethodGet, pattern: p}, route{method: http.MethodHead, pattern: p})
	}
}

// serveOps serves the operational endpoints before the API key check, and
// reports whether r was one of them.
func (a *API) serveOps(w http.ResponseWriter, r *http.Request) bool {
	p := r.URL.Path
	base := a.cfg.Base
	var h func(http.ResponseWriter, *http.Request)
	switch {
	case p == StatusPath || p == base+StatusPath:
		h = a.serveStatus
	case p == DocsPath || p == base+DocsPath || p == SwaggerPath:
		h = a.serveDocs
	case p == ExplorerPath || p == ExplorerScriptPath:
		h = a.serveExplorer
	case p == MetricsPath && a.ops.metrics != nil:
		h = a.serveMetrics
	default:
		return false
	}
	switch r.Method {
	case http.MethodGet, http.MethodHead:
	case http.MethodOptions:
		w.Header().Set("Allow", opsAllow)
		a.options(w, r)
		return true
	default:
		w.Header().Set("Allow", opsAllow)
		writeError(w, methodNotAllowed(r, opsAllow))
		return true
	}
	start := time.Now()
	sw := &statusWriter{ResponseWriter: w, status: http.StatusOK}
	h(sw, r)
	a.ops.requests.WithLabelValues(r.Method, p, strconv.Itoa(sw.status)).Observe(time.Since(start).Seconds())
	return true
}

// serveMetrics serves /metrics, with the API key check when asked for.
func (a *API) serveMetrics(w http.ResponseWriter, r *http.Request) {
	if a.ops.metricsAuth {
		role, ok := a.authenticate(w, r)
		if !ok {
			return
		}
		if role != RoleAdministrator && role != RoleViewer {
			writeError(w, &apiError{http.StatusForbidden, codeUnauthorizedRole, "the API key's role " + role.String() + " may not read metrics; use an administrator or viewer key"})
			return
		}
	}
	a.ops.metrics.ServeHTTP(w, r)
}
