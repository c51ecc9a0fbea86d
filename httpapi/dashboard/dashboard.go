package dashboard

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/shardmq/shardmq/httpapi"
	"golang.org/x/crypto/bcrypt"
)

// Names the browser sees.
const (
	// CookieName is the session cookie: HttpOnly, SameSite=Strict, Path=/
	// (the API under /api/v5 reads it too), Secure behind TLS.
	CookieName = "shardmq_session"
	// CSRFHeader carries the session's CSRF token on every request that
	// changes state.
	CSRFHeader = "X-CSRF-Token"
)

// Paths under httpapi.DashboardPath.
const (
	loginPath   = httpapi.DashboardPath + "api/login"
	logoutPath  = httpapi.DashboardPath + "api/logout"
	sessionPath = httpapi.DashboardPath + "api/session"
	apiPrefix   = httpapi.DashboardPath + "api/"
	assetPrefix = httpapi.DashboardPath + "assets/"
)

// contentSecurityPolicy allows the dashboard's own scripts, styles and
// requests and nothing else: no inline script or style, no frames, no
// plugins, no other origin.
const contentSecurityPolicy = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; " +
	"connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

// Config configures the dashboard. A zero field means the documented
// default.
type Config struct {
	// Keys are the API keys that may log in (administrator and viewer
	// roles); required.
	Keys *httpapi.KeyStore
	// UsersFile is the users file (username:role:bcrypt lines, see
	// SetUser); "" means API keys only. It is read at every login, so a
	// user added with `shardmq passwd -role` can log in at once.
	UsersFile string
	// APIBase is the API's path prefix the pages call; if empty,
	// httpapi.DefaultBase.
	APIBase string
	// Node is the node name shown in the header; if empty,
	// httpapi.DefaultNode.
	Node string
	// IdleTimeout ends a session unused this long; if zero, 1 h.
	IdleTimeout time.Duration
	// MaxAge ends a session this long after login; if zero, 12 h.
	MaxAge time.Duration
	// MaxSessions bounds the live sessions; past it a login ends the one
	// idle the longest. If zero, 1,000.
	MaxSessions int
	// Logger receives failed logins; if nil, slog.Default().
	Logger *slog.Logger
}

// Dashboard serves the web dashboard's pages and its login, and
// authenticates its sessions for the API: it implements httpapi.Dashboard.
// Safe for concurrent use.
type Dashboard struct {
	cfg      Config
	sessions *sessions
	assets   map[string]*asset
	// verify bounds the bcrypt comparisons running at once (each takes
	// tens of milliseconds of CPU).
	verify chan struct{}
	// dummyHash is compared for unknown users, so that they cost as much
	// as known ones.
	dummyHash []byte
}

// New returns the dashboard. It checks the users file when one is set.
func New(cfg Config) (*Dashboard, error) {
	if cfg.Keys == nil {
		return nil, errors.New("dashboard: Config.Keys is required")
	}
	if cfg.APIBase == "" {
		cfg.APIBase = httpapi.DefaultBase
	}
	if cfg.Node == "" {
		cfg.Node = httpapi.DefaultNode
	}
	if cfg.IdleTimeout == 0 {
		cfg.IdleTimeout = time.Hour
	}
	if cfg.MaxAge == 0 {
		cfg.MaxAge = 12 * time.Hour
	}
	if cfg.MaxSessions == 0 {
		cfg.MaxSessions = 1000
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.IdleTimeout < 0 || cfg.MaxAge < 0 || cfg.MaxSessions < 0 {
		return nil, errors.New("dashboard: IdleTimeout, MaxAge and MaxSessions must not be negative")
	}
	if cfg.UsersFile != "" {
		if _, err := LoadUsers(cfg.UsersFile); err != nil {
			return nil, err
		}
	}
	assets, err := loadAssets()
	if err != nil {
		return nil, err
	}
	dummy, err := bcrypt.GenerateFromPassword([]byte(randomToken()), DefaultCost)
	if err != nil {
		return nil, err
	}
	return &Dashboard{cfg: cfg, sessions: newSessions(cfg.Keys, cfg.IdleTimeout, cfg.MaxAge, cfg.MaxSessions),
		assets: assets, verify: make(chan struct{}, 2), dummyHash: dummy}, nil
}

// ServeHTTP serves every path under httpapi.DashboardPath.
func (d *Dashboard) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Security-Policy", contentSecurityPolicy)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "no-referrer")
	p := r.URL.Path
	switch {
	case p == loginPath:
		d.post(w, r, d.login)
	case p == logoutPath:
		d.post(w, r, d.logout)
	case p == sessionPath:
		if !getOrHead(w, r) {
			return
		}
		d.session(w, r)
	case strings.HasPrefix(p, apiPrefix):
		writeError(w, http.StatusNotFound, "NOT_FOUND", fmt.Sprintf("no dashboard endpoint at %q", p))
	case strings.HasPrefix(p, assetPrefix):
		if !getOrHead(w, r) {
			return
		}
		a, ok := d.assets[strings.TrimPrefix(p, httpapi.DashboardPath)]
		if !ok {
			writeError(w, http.StatusNotFound, "NOT_FOUND", fmt.Sprintf("no dashboard asset at %q", p))
			return
		}
		a.serve(w, r)
	default:
		// Every other path is a page of the single-page application
		// (/dashboard/clients?..., /dashboard/clients/{id}): the same
		// document, which routes on location.
		if !getOrHead(w, r) {
			return
		}
		d.assets["index.html"].serve(w, r)
	}
}

// getOrHead answers a 405 for other methods.
func getOrHead(w http.ResponseWriter, r *http.Request) bool {
	if r.Method == http.MethodGet || r.Method == http.MethodHead {
		return true
	}
	w.Header().Set("Allow", "GET, HEAD")
	writeError(w, http.StatusMethodNotAllowed, "METHOD_NOT_ALLOWED", fmt.Sprintf("%s is not allowed on %q; allowed: GET, HEAD", r.Method, r.URL.Path))
	return false
}

// post runs h for a POST with a JSON body (or none) from this origin.
func (d *Dashboard) post(w http.ResponseWriter, r *http.Request, h func(http.ResponseWriter, *http.Request)) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", "POST")
		writeError(w, http.StatusMethodNotAllowed, "METHOD_NOT_ALLOWED", fmt.Sprintf("%s is not allowed on %q; allowed: POST", r.Method, r.URL.Path))
		return
	}
	// A JSON body cannot be sent cross-origin without a preflight, which
	// is never granted here; Origin, when the browser sends it, must be
	// this host.
	if ct := r.Header.Get("Content-Type"); ct != "" {
		if mt, _, err := mime.ParseMediaType(ct); err != nil || mt != "application/json" {
			writeError(w, http.StatusUnsupportedMediaType, "UNSUPPORTED_MEDIA_TYPE", "the body must be application/json")
			return
		}
	}
	if o := r.Header.Get("Origin"); o != "" {
		u, err := url.Parse(o)
		if err != nil || u.Host != r.Host {
			writeError(w, http.StatusForbidden, "BAD_ORIGIN", fmt.Sprintf("origin %q may not log in here", o))
			return
		}
	}
	h(w, r)
}

// sessionJSON is what GET api/session and POST api/login answer.
type sessionJSON struct {
	Authenticated bool   `json:"authenticated"`
	User          string `json:"user,omitempty"`
	Role          string `json:"role,omitempty"`
	CSRFToken     string `json:"csrf_token,omitempty"`
	APIBase       string `json:"api_base"`
	Node          string `json:"node"`
	// Expires is when the session ends at the latest (RFC 3339).
	Expires string `json:"expires_at,omitempty"`
}

func (d *Dashboard) sessionOf(s session) sessionJSON {
	return sessionJSON{Authenticated: true, User: s.user, Role: s.role.String(), CSRFToken: s.csrf,
		APIBase: d.cfg.APIBase, Node: d.cfg.Node, Expires: s.created.Add(d.cfg.MaxAge).UTC().Format(time.RFC3339)}
}

// session answers GET api/session: the session's user, role and CSRF
// token, or authenticated false. It is a 200 either way, so that the login
// page loads without an error in the browser's console. Another origin
// cannot read it (no CORS), and the cookie is SameSite=Strict.
func (d *Dashboard) session(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	if c, err := r.Cookie(CookieName); err == nil {
		if s, ok := d.sessions.get(c.Value, time.Now()); ok {
			writeJSON(w, http.StatusOK, d.sessionOf(s))
			return
		}
	}
	writeJSON(w, http.StatusOK, sessionJSON{APIBase: d.cfg.APIBase, Node: d.cfg.Node})
}

// loginBody is the JSON of POST api/login.
type loginBody struct {
	Username string `json:"username"`
	Password string `json:"password"`
}

// maxLoginBody bounds the login request's body.
const maxLoginBody = 4096

// login answers POST api/login: a user of the users file with its
// password, or an API key with its secret. It sets the session cookie.
func (d *Dashboard) login(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxLoginBody))
	if err != nil {
		writeError(w, http.StatusRequestEntityTooLarge, "PAYLOAD_TOO_LARGE", fmt.Sprintf("the login body is larger than %d bytes", maxLoginBody))
		return
	}
	var b loginBody
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&b); err != nil || b.Username == "" || b.Password == "" {
		writeError(w, http.StatusBadRequest, "BAD_REQUEST", `want {"username": "...", "password": "..."}: a dashboard user and password, or an API key and secret`)
		return
	}
	user, apiKey, role, err := d.check(r.Context(), b.Username, b.Password)
	if err != nil {
		if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
			writeError(w, http.StatusServiceUnavailable, "SERVICE_UNAVAILABLE", "too many logins at once; try again")
			return
		}
		d.cfg.Logger.Warn("dashboard: failed login", "user", b.Username, "remote", r.RemoteAddr, "reason", err.Error())
		if errors.Is(err, errPublisher) {
			writeError(w, http.StatusForbidden, "UNAUTHORIZED_ROLE", "the publisher role may not use the dashboard; use an administrator or viewer key")
			return
		}
		writeError(w, http.StatusUnauthorized, "BAD_USERNAME_OR_PWD", "wrong user name or password (or API key or secret)")
		return
	}
	id, s := d.sessions.open(user, apiKey, role, time.Now())
	http.SetCookie(w, &http.Cookie{Name: CookieName, Value: id, Path: "/", HttpOnly: true,
		SameSite: http.SameSiteStrictMode, Secure: r.TLS != nil, MaxAge: int(d.cfg.MaxAge / time.Second)})
	d.cfg.Logger.Info("dashboard: login", "user", user, "role", role.String(), "remote", r.RemoteAddr)
	writeJSON(w, http.StatusOK, d.sessionOf(s))
}

var (
	errWrongPassword = errors.New("wrong user name or password")
	errPublisher     = errors.New("publisher keys may not log in")
)

// check authenticates a login: a user of the users file first, then an
// API key. It returns the session's user name, the API key ("" for a
// user) and the role.
func (d *Dashboard) check(ctx context.Context, name, password string) (who, apiKey string, role Role, err error) {
	users := map[string]user{}
	if d.cfg.UsersFile != "" {
		// A users file broken since the start (a bad edit) locks its
		// users out, not the API keys.
		data, err := os.ReadFile(d.cfg.UsersFile)
		if err == nil {
			users, err = parseUsers(bytes.NewReader(data))
		}
		if err != nil {
			d.cfg.Logger.Error("dashboard: the users file cannot be read; its users cannot log in", "file", d.cfg.UsersFile, "err", err)
			users = map[string]user{}
		}
	}
	u, known := users[name]
	hash := d.dummyHash
	if known {
		hash = u.hash
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	select {
	case d.verify <- struct{}{}:
	case <-ctx.Done():
		return "", "", 0, ctx.Err()
	}
	match := bcrypt.CompareHashAndPassword(hash, []byte(password)) == nil
	<-d.verify
	if known && match {
		return name, "", u.role, nil
	}
	if !known {
		if r, ok := d.cfg.Keys.Check(name, password); ok {
			if r == httpapi.RolePublisher {
				return "", "", 0, errPublisher
			}
			return name, name, r, nil
		}
	}
	return "", "", 0, errWrongPassword
}

// logout answers POST api/logout: the session ends (its CSRF token is
// required, so another site cannot log the user out).
func (d *Dashboard) logout(w http.ResponseWriter, r *http.Request) {
	c, err := r.Cookie(CookieName)
	if err == nil {
		s, ok := d.sessions.get(c.Value, time.Now())
		if ok && !csrfOK(s, r.Header.Get(CSRFHeader)) {
			writeError(w, http.StatusForbidden, "BAD_CSRF_TOKEN", httpapi.ErrCSRF.Error())
			return
		}
		d.sessions.close(c.Value)
	}
	http.SetCookie(w, &http.Cookie{Name: CookieName, Value: "", Path: "/", HttpOnly: true,
		SameSite: http.SameSiteStrictMode, Secure: r.TLS != nil, MaxAge: -1})
	w.WriteHeader(http.StatusNoContent)
}

// Session implements httpapi.Dashboard: the API accepts a request with the
// session cookie as its session's role; a request that changes state must
// carry the session's CSRF token in X-CSRF-Token.
func (d *Dashboard) Session(r *http.Request) (Role, string, bool, error) {
	c, err := r.Cookie(CookieName)
	if err != nil {
		if r.Header.Get(CSRFHeader) != "" {
			// The dashboard's page, whose session is gone.
			return 0, "", true, httpapi.ErrSessionEnded
		}
		return 0, "", false, nil
	}
	s, ok := d.sessions.get(c.Value, time.Now())
	if !ok {
		return 0, "", true, httpapi.ErrSessionEnded
	}
	switch r.Method {
	case http.MethodGet, http.MethodHead, http.MethodOptions:
	default:
		if !csrfOK(s, r.Header.Get(CSRFHeader)) {
			return 0, "", true, httpapi.ErrCSRF
		}
	}
	return s.role, s.user, true, nil
}

// writeJSON writes v as JSON with status.
func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		status, b = http.StatusInternalServerError, []byte(`{"code":"INTERNAL_ERROR","message":"internal error"}`)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	w.Write(b)
}

// writeError writes the API's error shape {"code", "message"}.
func writeError(w http.ResponseWriter, status int, code, msg string) {
	writeJSON(w, status, struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	}{code, msg})
}

// The dashboard plugs into the API.
var _ httpapi.Dashboard = (*Dashboard)(nil)
