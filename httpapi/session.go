package httpapi

import (
	"errors"
	"net/http"
	"strings"
)

// The web dashboard (httpapi/dashboard) is served by the API listener and
// calls the API with a session cookie instead of an API key. This file is
// the API's side of it: where the dashboard's pages are served and how a
// session authenticates an API request. The dashboard implements
// [Dashboard]; httpapi never imports it.

// DashboardPath is where the dashboard is served; "/" and "/dashboard"
// redirect there.
const DashboardPath = "/dashboard/"

// Dashboard serves the web dashboard and authenticates its sessions.
type Dashboard interface {
	// ServeHTTP serves every path under DashboardPath (pages, assets,
	// login and logout). It runs before the API key check.
	http.Handler
	// Session returns the role of the dashboard session r carries, and
	// the user it belongs to. found is false when r carries neither the
	// session cookie nor the CSRF header: r is then authenticated by its
	// API key as usual. A found session that may not make r is an error:
	// ErrSessionEnded (401) or ErrCSRF (403). A request that changes
	// state (any method but GET, HEAD and OPTIONS) must carry the
	// session's CSRF token.
	Session(r *http.Request) (role Role, user string, found bool, err error)
}

// Errors a Dashboard's Session returns.
var (
	// ErrSessionEnded means the session cookie names no live session
	// (expired, logged out, or its API key disabled): 401 TOKEN_TIME_OUT.
	ErrSessionEnded = errors.New("the dashboard session has ended or expired; log in again")
	// ErrCSRF means a state-changing request of a session lacks its CSRF
	// token or carries another one: 403 BAD_CSRF_TOKEN.
	ErrCSRF = errors.New("missing or wrong X-CSRF-Token header: a dashboard session's requests that change state must carry the token of their session")
)

// Codes of session failures. TOKEN_TIME_OUT is EMQX 5 dashboard's code for
// an expired login.
const (
	codeSessionEnded = "TOKEN_TIME_OUT"
	codeBadCSRF      = "BAD_CSRF_TOKEN"
)

// SetDashboard serves d under DashboardPath, redirects "/" there, and
// lets d's sessions call the API. Call it before serving requests.
func (a *API) SetDashboard(d Dashboard) { a.dash = d }

// serveDashboard serves the dashboard's paths and the redirect of "/",
// and reports whether r was one of them.
func (a *API) serveDashboard(w http.ResponseWriter, r *http.Request) bool {
	if a.dash == nil {
		return false
	}
	p := r.URL.Path
	switch {
	case strings.HasPrefix(p, DashboardPath):
		// The dashboard is for its own origin only: no CORS answer, so
		// another origin never reads its session (and CSRF token).
		h := w.Header()
		h.Del("Access-Control-Allow-Origin")
		h.Del("Vary")
		a.dash.ServeHTTP(w, r)
		return true
	case p == "/" || p == strings.TrimSuffix(DashboardPath, "/"):
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", opsAllow)
			writeError(w, methodNotAllowed(r, opsAllow))
			return true
		}
		http.Redirect(w, r, DashboardPath, http.StatusFound)
		return true
	}
	return false
}

// sessionAuth authenticates r by its dashboard session when it carries one
// and no API key. handled reports that it did: role is then valid when ok,
// and the error response has been written when not.
func (a *API) sessionAuth(w http.ResponseWriter, r *http.Request) (role Role, ok, handled bool) {
	if a.dash == nil || r.Header.Get("Authorization") != "" {
		return 0, false, false
	}
	role, _, found, err := a.dash.Session(r)
	if !found {
		return 0, false, false
	}
	switch {
	case err == nil:
		return role, true, true
	case errors.Is(err, ErrCSRF):
		writeError(w, &apiError{http.StatusForbidden, codeBadCSRF, ErrCSRF.Error()})
	default:
		// No WWW-Authenticate: a browser would answer it with its own
		// login prompt over the dashboard.
		writeError(w, &apiError{http.StatusUnauthorized, codeSessionEnded, ErrSessionEnded.Error()})
	}
	return 0, false, true
}
