package httpapi

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"sync/atomic"
	"time"

	"github.com/julienschmidt/httprouter"
	"github.com/shardmq/shardmq/catalog"
)

// Lister lists clients for GET /clients; *catalog.Catalog implements it.
// List is called concurrently.
type Lister interface {
	List(ctx context.Context, f catalog.Filter) (catalog.Page, error)
}

// API is the REST API's http.Handler. It is safe for concurrent use.
type API struct {
	cfg    Config
	lister Lister
	broker Broker
	keys   *KeyStore
	router *httprouter.Router
	// publishPath and publishBulkPath are the only paths a publisher key
	// may call.
	publishPath, publishBulkPath string

	// idPrefix and idSeq make message ids: 8 random bytes, then a counter.
	idPrefix [8]byte
	idSeq    atomic.Uint64

	// ops are the routes, metrics, readiness and document (metrics.go).
	ops ops
	// corsAny is true when Config.CORSOrigins holds "*".
	corsAny bool
	// dash serves the web dashboard and its sessions; nil without one
	// (session.go).
	dash Dashboard
}

// New returns the API serving lister and broker, authenticating with keys.
func New(cfg Config, lister Lister, broker Broker, keys *KeyStore) (*API, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if lister == nil || broker == nil {
		return nil, fmt.Errorf("%w: lister and broker are required", ErrInvalidConfig)
	}
	if keys == nil || keys.Len() == 0 {
		return nil, ErrNoKeys
	}
	a := &API{cfg: cfg.withDefaults(), lister: lister, broker: broker, keys: keys, ops: ops{requests: newRequestHistogram()}}
	if _, err := rand.Read(a.idPrefix[:]); err != nil {
		return nil, fmt.Errorf("httpapi: message id prefix: %w", err)
	}
	a.corsAny = slices.Contains(a.cfg.CORSOrigins, "*")
	base := a.cfg.Base
	a.publishPath, a.publishBulkPath = base+"/publish", base+"/publish/bulk"

	r := httprouter.New()
	// Strict routing: no redirects (a redirected POST loses its body), JSON
	// errors for unknown paths and methods.
	r.RedirectTrailingSlash = false
	r.RedirectFixedPath = false
	r.HandleMethodNotAllowed = true
	// OPTIONS on a route answers 204 with Allow (and CORS preflight
	// headers when configured): cors.go.
	r.HandleOPTIONS = true
	r.GlobalOPTIONS = http.HandlerFunc(a.options)
	r.NotFound = http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		writeError(w, noEndpoint(req))
	})
	r.MethodNotAllowed = http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		// httprouter has set Allow.
		writeError(w, methodNotAllowed(req, w.Header().Get("Allow")))
	})
	// a.route registers under the base, records the route for the
	// OpenAPI document and times the requests (metrics.go).
	a.route(r, http.MethodGet, "/clients", "", a.listClients)
	a.route(r, http.MethodGet, "/clients/:clientid", "", a.getClient)
	a.route(r, http.MethodDelete, "/clients/:clientid", "", a.kickClient)
	a.route(r, http.MethodGet, "/clients/:clientid/subscriptions", "", a.clientSubscriptions)
	a.route(r, http.MethodPut, "/clients/:clientid/keepalive", "", a.setKeepalive)
	a.route(r, http.MethodGet, "/clients/:clientid/authorization/cache", "", a.getAuthzCache)
	a.route(r, http.MethodDelete, "/clients/:clientid/authorization/cache", "", a.clearAuthzCache)
	a.route(r, http.MethodGet, "/clients/:clientid/mqueue_messages", "", a.clientMessages(false))
	a.route(r, http.MethodGet, "/clients/:clientid/inflight_messages", "", a.clientMessages(true))
	a.route(r, http.MethodPost, "/clients/:clientid/subscribe", "", a.subscribe)
	a.route(r, http.MethodPost, "/clients/:clientid/subscribe/bulk", "", a.subscribeBulk)
	a.route(r, http.MethodPost, "/clients/:clientid/unsubscribe", "", a.unsubscribe)
	a.route(r, http.MethodPost, "/clients/:clientid/unsubscribe/bulk", "", a.unsubscribeBulk)
	// POST /clients/kickout/bulk shares its first segments with the
	// per-client routes, which httprouter v1.3.0 cannot hold beside a
	// wildcard: it is routed here as clientid "kickout".
	a.route(r, http.MethodPost, "/clients/:clientid/bulk", "/clients/kickout/bulk", a.kickoutBulk)
	a.route(r, http.MethodGet, "/subscriptions", "", a.listSubscriptions)
	a.route(r, http.MethodPost, "/publish", "", a.publish)
	a.route(r, http.MethodPost, "/publish/bulk", "", a.publishBulk)
	a.route(r, http.MethodGet, "/stats", "", a.stats)
	a.route(r, http.MethodGet, "/topics", "", a.listTopics)
	a.route(r, http.MethodGet, "/retainer/messages", "", a.listRetained)
	a.route(r, http.MethodGet, "/retainer/message/:topic", "", a.getRetained)
	a.route(r, http.MethodDelete, "/retainer/message/:topic", "", a.deleteRetained)
	a.route(r, http.MethodGet, "/nodes", "", a.nodes)
	a.route(r, http.MethodGet, "/listeners", "", a.listListeners)
	for _, act := range []string{ActionStop, ActionStart, ActionRestart} {
		// EMQX 5.0 takes PUT, EMQX 5.1 and later POST.
		a.route(r, http.MethodPut, "/listeners/:id/"+act, "", a.listenerAction(act))
		a.route(r, http.MethodPost, "/listeners/:id/"+act, "", a.listenerAction(act))
	}
	a.route(r, http.MethodGet, "/nodes/:node", "", a.getNode)
	a.route(r, http.MethodGet, "/monitor_current", "", a.monitorCurrent)
	a.route(r, http.MethodGet, "/sessions_count", "", a.sessionsCount)
	a.route(r, http.MethodGet, "/clients_v2", "", a.listClientsV2)
	a.route(r, http.MethodGet, "/banned", "", a.listBanned)
	a.route(r, http.MethodPost, "/banned", "", a.createBan)
	a.route(r, http.MethodDelete, "/banned", "", a.clearBanned)
	a.route(r, http.MethodDelete, "/banned/:as/:who", "", a.deleteBan)
	a.route(r, http.MethodGet, "/api_key", "", a.listKeys)
	a.route(r, http.MethodPost, "/api_key", "", a.createKey)
	a.route(r, http.MethodGet, "/api_key/:name", "", a.getKey)
	a.route(r, http.MethodPut, "/api_key/:name", "", a.updateKey)
	a.route(r, http.MethodDelete, "/api_key/:name", "", a.deleteKey)
	a.router = r
	a.opsRoutes()
	docs, err := a.buildDocs()
	if err != nil {
		return nil, err
	}
	a.ops.docs = docs
	return a, nil
}

// handlerFunc is a route handler: it writes the success response itself
// and returns the error response to send otherwise.
type handlerFunc func(w http.ResponseWriter, r *http.Request, ps httprouter.Params) *apiError

func (a *API) handle(h handlerFunc) httprouter.Handle {
	return func(w http.ResponseWriter, r *http.Request, ps httprouter.Params) {
		if e := h(w, r, ps); e != nil {
			writeError(w, e)
		}
	}
}

// ServeHTTP authenticates the request, checks the key's role and routes it.
// A panic in a handler is recovered into a 500 without internals.
func (a *API) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	defer a.recover(w, r)
	a.allowOrigin(w, r)
	// net/http's own limit is twice ours (NewServer), so that a request
	// between the two gets this JSON 431.
	if headerBytes(r) > a.cfg.MaxHeaderBytes {
		w.Header().Set("Connection", "close")
		writeError(w, headersTooLarge(a.cfg.MaxHeaderBytes))
		return
	}
	// The dashboard's pages and login come before the key check.
	if a.serveDashboard(w, r) {
		return
	}
	// /status, /api-docs and /metrics come before the key check, and so
	// does OPTIONS: a browser's CORS preflight carries no credentials
	// (the paths it reveals are in the public /api-docs anyway).
	if a.serveOps(w, r) {
		return
	}
	if r.Method != http.MethodOptions {
		role, ok := a.authenticate(w, r)
		if !ok {
			return
		}
		if !a.allowed(role, r) {
			writeError(w, forbidden(role, r))
			return
		}
	}
	// Route on the escaped path so that a client id holding "/" (sent as
	// %2F) stays one segment; handlers unescape parameters.
	u := *r.URL
	u.Path, u.RawPath = r.URL.EscapedPath(), ""
	r2 := r.WithContext(r.Context())
	r2.URL = &u
	a.router.ServeHTTP(w, r2)
}

// allowed reports whether role may make request r.
func (a *API) allowed(role Role, r *http.Request) bool {
	switch role {
	case RoleAdministrator:
		return true
	case RoleViewer:
		return r.Method == http.MethodGet || r.Method == http.MethodHead
	case RolePublisher:
		return r.Method == http.MethodPost && (r.URL.Path == a.publishPath || r.URL.Path == a.publishBulkPath)
	}
	return false
}

// authenticate checks the request's API key and secret (basic auth), or
// its dashboard session when it carries one and no key, and returns the
// role; when they are missing or wrong it writes the 401 (or a session's
// 403 for a missing CSRF token) and returns false.
func (a *API) authenticate(w http.ResponseWriter, r *http.Request) (Role, bool) {
	if role, ok, handled := a.sessionAuth(w, r); handled {
		return role, ok
	}
	key, secret, ok := r.BasicAuth()
	err := errBadSecret
	if ok {
		var role Role
		if role, err = a.keys.authenticate(key, secret, time.Now().Unix()); err == nil {
			return role, true
		}
	}
	msg := err.Error()
	if err != errBadSecret {
		// Only a caller who knows the secret learns the key's state.
		msg = fmt.Sprintf("API key %s is %v", quoteShort(key), err)
	}
	w.Header().Set("WWW-Authenticate", `Basic realm="shardmq", charset="UTF-8"`)
	writeError(w, &apiError{http.StatusUnauthorized, codeBadKey, msg})
	return 0, false
}

// recover turns a handler panic into a logged 500 whose body holds no
// internals. http.ErrAbortHandler is passed on, as net/http expects.
func (a *API) recover(w http.ResponseWriter, r *http.Request) {
	v := recover()
	if v == nil {
		return
	}
	if v == http.ErrAbortHandler {
		panic(v)
	}
	a.cfg.Logger.Error("httpapi: handler panic", "method", r.Method, "path", r.URL.Path, "panic", fmt.Sprint(v))
	writeError(w, errInternal)
}

// clientIDParam returns the unescaped, validated client id of the route.
func clientIDParam(ps httprouter.Params) (string, *apiError) {
	raw := ps.ByName("clientid")
	id, err := url.PathUnescape(raw)
	if err != nil {
		return "", badRequest(fmt.Sprintf("client id %s in the path: %v", quoteShort(raw), err))
	}
	if err := validMQTTString(id); err != nil {
		return "", badRequest(fmt.Sprintf("client id %s in the path: %v", quoteShort(id), err))
	}
	return id, nil
}

// command runs fn with the command timeout. It returns when fn does or when
// the timeout passes, whichever comes first, so a broker that ignores its
// context cannot hang the request; fn's results may be read only when it
// returned (err is then fn's error, never ErrTimeout from the wait).
func (a *API) command(ctx context.Context, fn func(ctx context.Context) error) error {
	ctx, cancel := context.WithTimeout(ctx, a.cfg.CommandTimeout)
	defer cancel()
	done := make(chan error, 1)
	go func() {
		// A panic here would kill the process (it is not the request's
		// goroutine, so net/http cannot catch it): report it as an error.
		defer func() {
			if v := recover(); v != nil {
				done <- fmt.Errorf("%w: %v", errBrokerPanic, v)
			}
		}()
		done <- fn(ctx)
	}()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
		// Give fn a moment to report its own outcome first.
		select {
		case err := <-done:
			return err
		case <-time.After(10 * time.Millisecond):
			return ErrTimeout
		}
	}
}

// brokerError maps a Broker error to the response.
func (a *API) brokerError(r *http.Request, err error) *apiError {
	switch {
	case errors.Is(err, ErrClientNotFound):
		return errNotFoundClient
	case errors.Is(err, ErrTimeout), errors.Is(err, context.DeadlineExceeded), errors.Is(err, context.Canceled):
		return errUnavailable
	case errors.Is(err, ErrRejected):
		return badRequest(rejectedMessage(err))
	}
	a.cfg.Logger.Error("httpapi: broker error", "method", r.Method, "path", r.URL.Path, "err", err)
	return errInternal
}

// newMessageID returns a unique message id of 32 hex digits.
func (a *API) newMessageID() string {
	var b [16]byte
	copy(b[:8], a.idPrefix[:])
	n := a.idSeq.Add(1)
	for i := 0; i < 8; i++ {
		b[15-i] = byte(n >> (8 * i))
	}
	return hex.EncodeToString(b[:])
}

// headerBytes is the size of r's request line and headers as sent, give or
// take repeated or folded header lines.
func headerBytes(r *http.Request) int {
	n := len(r.Method) + 1 + len(r.RequestURI) + 1 + len(r.Proto) + 2
	n += len("Host: ") + len(r.Host) + 2
	for k, vs := range r.Header {
		for _, v := range vs {
			n += len(k) + 2 + len(v) + 2
		}
	}
	return n + 2
}

// NewServer returns an *http.Server for the API on addr with the configured
// timeouts. Its MaxHeaderBytes is twice Config.MaxHeaderBytes: the API
// answers requests between the two with a JSON 431 itself, and net/http
// stops reading larger ones with a 431 that WrapListener makes JSON.
// Serve it with srv.Serve(a.WrapListener(ln)).
func (a *API) NewServer(addr string) *http.Server {
	return &http.Server{
		Addr:              addr,
		Handler:           a,
		ReadHeaderTimeout: a.cfg.ReadHeaderTimeout,
		ReadTimeout:       a.cfg.ReadTimeout,
		WriteTimeout:      a.cfg.WriteTimeout,
		IdleTimeout:       a.cfg.IdleTimeout,
		MaxHeaderBytes:    2 * a.cfg.MaxHeaderBytes,
	}
}
