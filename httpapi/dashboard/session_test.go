package dashboard_test

import (
	"compress/gzip"
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/shardmq/shardmq/httpapi"
	"github.com/shardmq/shardmq/httpapi/dashboard"
	"github.com/shardmq/shardmq/shards/auth"
)

// errorBody decodes an API error.
func errorBody(t testing.TB, body string) (code string) {
	t.Helper()
	var e struct{ Code, Message string }
	if err := json.Unmarshal([]byte(body), &e); err != nil || e.Code == "" || e.Message == "" {
		t.Fatalf("not a {code, message} error: %q", body)
	}
	return e.Code
}

// loginStatus posts a login and returns the status, body and cookies.
func loginStatus(t testing.TB, s *stack, contentType, origin, body string) (int, string, []*http.Cookie) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, s.url+"/dashboard/api/login", strings.NewReader(body))
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	if origin != "" {
		req.Header.Set("Origin", origin)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b), res.Cookies()
}

// TestLogin checks who may log in and the session cookie's attributes.
func TestLogin(t *testing.T) {
	users := filepath.Join(t.TempDir(), "dashboard_users")
	if _, err := dashboard.SetUser(users, "ops", httpapi.RoleViewer, []byte("ops-password"), 4); err != nil {
		t.Fatal(err)
	}
	s := startStack(t, nil, users)

	code, body, cookies := loginStatus(t, s, "application/json", "", `{"username":"admin","password":"admin-secret"}`)
	if code != http.StatusOK || len(cookies) != 1 {
		t.Fatalf("admin key login: %d %s", code, body)
	}
	c := cookies[0]
	if c.Name != dashboard.CookieName || !c.HttpOnly || c.SameSite != http.SameSiteStrictMode || c.Path != "/" || c.Secure || len(c.Value) < 40 {
		t.Errorf("session cookie %+v: want HttpOnly, SameSite=Strict, Path=/, a long random value", c)
	}
	var sess struct {
		Authenticated bool   `json:"authenticated"`
		Role          string `json:"role"`
		CSRF          string `json:"csrf_token"`
	}
	if err := json.Unmarshal([]byte(body), &sess); err != nil || !sess.Authenticated || sess.Role != "administrator" || len(sess.CSRF) < 40 {
		t.Errorf("login answer %s", body)
	}

	code, body, _ = loginStatus(t, s, "application/json", "", `{"username":"ops","password":"ops-password"}`)
	if code != http.StatusOK || !strings.Contains(body, `"role":"viewer"`) || !strings.Contains(body, `"user":"ops"`) {
		t.Errorf("users-file login: %d %s", code, body)
	}
	defer func() {
		// A users file broken after the start locks out its users only.
		if err := os.WriteFile(users, []byte("ops:viewer:not-bcrypt\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		if code, body, _ := loginStatus(t, s, "application/json", "", `{"username":"ops","password":"ops-password"}`); code != http.StatusUnauthorized {
			t.Errorf("a user of a broken file: %d %s", code, body)
		}
		if code, body, _ := loginStatus(t, s, "application/json", "", `{"username":"admin","password":"admin-secret"}`); code != http.StatusOK {
			t.Errorf("an API key beside a broken users file: %d %s", code, body)
		}
	}()

	for _, tc := range []struct {
		name, ct, origin, body string
		status                 int
		code                   string
	}{
		{"wrong secret", "application/json", "", `{"username":"admin","password":"nope"}`, 401, "BAD_USERNAME_OR_PWD"},
		{"wrong user password", "application/json", "", `{"username":"ops","password":"admin-secret"}`, 401, "BAD_USERNAME_OR_PWD"},
		{"unknown user", "application/json", "", `{"username":"nobody","password":"x"}`, 401, "BAD_USERNAME_OR_PWD"},
		{"publisher key", "application/json", "", `{"username":"pub","password":"pub-secret"}`, 403, "UNAUTHORIZED_ROLE"},
		{"empty password", "application/json", "", `{"username":"admin","password":""}`, 400, "BAD_REQUEST"},
		{"unknown field", "application/json", "", `{"username":"admin","password":"admin-secret","x":1}`, 400, "BAD_REQUEST"},
		{"a form post", "application/x-www-form-urlencoded", "", `username=admin&password=admin-secret`, 415, "UNSUPPORTED_MEDIA_TYPE"},
		{"another origin", "application/json", "https://evil.example", `{"username":"admin","password":"admin-secret"}`, 403, "BAD_ORIGIN"},
		{"huge body", "application/json", "", `{"username":"admin","password":"` + strings.Repeat("x", 5000) + `"}`, 413, "PAYLOAD_TOO_LARGE"},
	} {
		code, body, cookies := loginStatus(t, s, tc.ct, tc.origin, tc.body)
		if code != tc.status || errorBody(t, body) != tc.code || len(cookies) != 0 {
			t.Errorf("%s: %d %s (cookies %d), want %d %s", tc.name, code, body, len(cookies), tc.status, tc.code)
		}
	}
}

// TestSessionAuthorizesAPI checks that the API takes the session cookie in
// place of a key, requires the CSRF token to change state, applies the
// session's role, and ends with logout or with the key.
func TestSessionAuthorizesAPI(t *testing.T) {
	s := startStack(t, nil, "")
	admin, csrf := s.session(t, adminKey, adminSecret)
	api := s.url + "/api/v5"

	if code, body := call(t, admin, http.MethodGet, api+"/clients", ""); code != http.StatusOK {
		t.Errorf("GET /clients with the session: %d %s", code, body)
	}
	for _, token := range []string{"", "wrong", csrf[:len(csrf)-1]} {
		code, body := call(t, admin, http.MethodDelete, api+"/clients/c1", token)
		if code != http.StatusForbidden || errorBody(t, body) != "BAD_CSRF_TOKEN" {
			t.Errorf("DELETE with CSRF token %q: %d %s", token, code, body)
		}
	}
	if code, body := call(t, admin, http.MethodDelete, api+"/clients/c1", csrf); code != http.StatusNotFound || errorBody(t, body) != "CLIENTID_NOT_FOUND" {
		t.Errorf("DELETE with the token: %d %s (want the API's own answer, 404)", code, body)
	}
	// /metrics (when a key is required) takes the session too.
	if code, _ := call(t, admin, http.MethodGet, s.url+"/metrics", ""); code != http.StatusOK {
		t.Errorf("GET /metrics with the session: %d", code)
	}

	viewer, vcsrf := s.session(t, viewerKey, viewerSecret)
	if code, body := call(t, viewer, http.MethodDelete, api+"/clients/c1", vcsrf); code != http.StatusForbidden || errorBody(t, body) != "UNAUTHORIZED_ROLE" {
		t.Errorf("a viewer's DELETE: %d %s", code, body)
	}
	if code, _ := call(t, viewer, http.MethodGet, api+"/stats", ""); code != http.StatusOK {
		t.Errorf("a viewer's GET /stats: %d", code)
	}

	// Another site's page cannot read the CSRF token: the session
	// endpoint allows no cross-origin read and the cookie is SameSite.
	req, _ := http.NewRequest(http.MethodGet, s.url+"/dashboard/api/session", nil)
	req.Header.Set("Origin", "https://evil.example")
	res, err := admin.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.Header.Get("Access-Control-Allow-Origin") != "" || res.Header.Get("Cache-Control") != "no-store" {
		t.Errorf("session endpoint headers %v", res.Header)
	}

	// Logout needs the token, then ends the session: the cookie gets a
	// 401 TOKEN_TIME_OUT without a Basic challenge (no browser prompt).
	if code, body := call(t, admin, http.MethodPost, s.url+"/dashboard/api/logout", ""); code != http.StatusForbidden || errorBody(t, body) != "BAD_CSRF_TOKEN" {
		t.Errorf("logout without the token: %d %s", code, body)
	}
	stolen := admin.Jar.Cookies(mustURL(t, s.url))
	if code, _ := call(t, admin, http.MethodPost, s.url+"/dashboard/api/logout", csrf); code != http.StatusNoContent {
		t.Errorf("logout: %d", code)
	}
	jar, _ := cookiejar.New(nil)
	jar.SetCookies(mustURL(t, s.url), stolen)
	replay := &http.Client{Jar: jar}
	req, _ = http.NewRequest(http.MethodGet, api+"/clients", nil)
	res, err = replay.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != http.StatusUnauthorized || errorBody(t, string(b)) != "TOKEN_TIME_OUT" || res.Header.Get("WWW-Authenticate") != "" {
		t.Errorf("the logged-out cookie: %d %s %v", res.StatusCode, b, res.Header)
	}

	// A session opened with a key ends when the key is disabled.
	viewerName := ""
	var keys []struct{ Name, APIKey string }
	s.get(t, "/api_key", &keys)
	for _, k := range keys {
		if k.Name != "" && strings.HasPrefix(k.Name, "from_bootstrap_file_") {
			var one struct {
				Key string `json:"api_key"`
			}
			s.get(t, "/api_key/"+k.Name, &one)
			if one.Key == viewerKey {
				viewerName = k.Name
			}
		}
	}
	if viewerName == "" {
		t.Fatal("the viewer key is not listed")
	}
	req, _ = http.NewRequest(http.MethodPut, api+"/api_key/"+viewerName, strings.NewReader(`{"enable":false}`))
	req.SetBasicAuth(adminKey, adminSecret)
	req.Header.Set("Content-Type", "application/json")
	if res, err := http.DefaultClient.Do(req); err != nil || res.StatusCode != http.StatusOK {
		t.Fatalf("disabling the viewer key: %v %v", err, res)
	}
	if code, body := call(t, viewer, http.MethodGet, api+"/stats", ""); code != http.StatusUnauthorized || errorBody(t, body) != "TOKEN_TIME_OUT" {
		t.Errorf("the disabled key's session: %d %s", code, body)
	}
}

// TestPagesAndAssets checks the redirect, the security headers, gzip and
// the answers to wrong paths and methods.
func TestPagesAndAssets(t *testing.T) {
	// With CORS open to any origin for the API, the dashboard still
	// answers its own origin only.
	s := startStack(t, nil, "", func(c *httpapi.Config) { c.CORSOrigins = []string{"*"} })
	noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	for _, p := range []string{"/", "/dashboard"} {
		res, err := noFollow.Get(s.url + p)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != http.StatusFound || res.Header.Get("Location") != "/dashboard/" {
			t.Errorf("GET %s: %d to %q", p, res.StatusCode, res.Header.Get("Location"))
		}
	}
	for _, p := range []string{"/dashboard/", "/dashboard/clients", "/dashboard/clients/a%2Fb", "/dashboard/assets/app.js", "/dashboard/assets/style.css"} {
		req, _ := http.NewRequest(http.MethodGet, s.url+p, nil)
		req.Header.Set("Accept-Encoding", "gzip")
		req.Header.Set("Origin", "https://evil.example")
		res, err := http.DefaultTransport.RoundTrip(req)
		if err != nil {
			t.Fatal(err)
		}
		h := res.Header
		csp := h.Get("Content-Security-Policy")
		if res.StatusCode != http.StatusOK || !strings.Contains(csp, "default-src 'self'") || !strings.Contains(csp, "script-src 'self';") ||
			strings.Contains(csp, "unsafe") || !strings.Contains(csp, "frame-ancestors 'none'") || h.Get("X-Content-Type-Options") != "nosniff" {
			t.Errorf("GET %s: %d, headers %v", p, res.StatusCode, h)
		}
		if h.Get("Access-Control-Allow-Origin") != "" {
			t.Errorf("GET %s: Access-Control-Allow-Origin %q", p, h.Get("Access-Control-Allow-Origin"))
		}
		if h.Get("Content-Encoding") != "gzip" || h.Get("ETag") == "" {
			t.Errorf("GET %s with gzip: Content-Encoding %q, ETag %q", p, h.Get("Content-Encoding"), h.Get("ETag"))
		}
		zr, err := gzip.NewReader(res.Body)
		if err != nil {
			t.Fatalf("GET %s: %v", p, err)
		}
		body, _ := io.ReadAll(zr)
		res.Body.Close()
		if strings.HasSuffix(p, ".js") != strings.Contains(string(body), "import ") && !strings.HasSuffix(p, ".css") {
			t.Errorf("GET %s: unexpected body %.80q", p, body)
		}
		// Revalidation answers 304.
		req.Header.Set("If-None-Match", h.Get("ETag"))
		res, err = http.DefaultTransport.RoundTrip(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != http.StatusNotModified {
			t.Errorf("GET %s with its ETag: %d", p, res.StatusCode)
		}
	}
	// The header's API link leads to the API explorer.
	if res, err := http.Get(s.url + "/api-docs/"); err != nil || res.StatusCode != http.StatusOK {
		t.Errorf("GET /api-docs/ (the header's API link): %v %v", err, res)
	} else {
		res.Body.Close()
	}
	// No inline script or style anywhere in the page: the CSP forbids them.
	res, err := http.Get(s.url + "/dashboard/")
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if strings.Contains(string(page), "<style") || strings.Contains(string(page), "style=") || strings.Count(string(page), "<script") != 1 ||
		!strings.Contains(string(page), `<script type="module" src="/dashboard/assets/app.js"></script>`) {
		t.Errorf("the page holds inline script or style:\n%s", page)
	}
	for _, tc := range []struct {
		method, path string
		status       int
		code         string
	}{
		{http.MethodGet, "/dashboard/assets/nope.js", 404, "NOT_FOUND"},
		{http.MethodGet, "/dashboard/api/nope", 404, "NOT_FOUND"},
		{http.MethodPost, "/dashboard/", 405, "METHOD_NOT_ALLOWED"},
		{http.MethodDelete, "/", 405, "METHOD_NOT_ALLOWED"},
		{http.MethodGet, "/dashboard/api/login", 405, "METHOD_NOT_ALLOWED"},
		{http.MethodPost, "/dashboard/api/session", 405, "METHOD_NOT_ALLOWED"},
	} {
		req, _ := http.NewRequest(tc.method, s.url+tc.path, nil)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != tc.status || errorBody(t, string(b)) != tc.code {
			t.Errorf("%s %s: %d %s", tc.method, tc.path, res.StatusCode, b)
		}
	}
}

// TestUsersFile checks the users file: SetUser adds and changes, bad lines
// are refused with their number, and the MQTT password file and the users
// file refuse each other.
func TestUsersFile(t *testing.T) {
	dir := t.TempDir()
	users := filepath.Join(dir, "users")
	if added, err := dashboard.SetUser(users, "alice", httpapi.RoleAdministrator, []byte("pw1"), 4); err != nil || !added {
		t.Fatal(added, err)
	}
	if added, err := dashboard.SetUser(users, "bob", httpapi.RoleViewer, []byte("pw2"), 4); err != nil || !added {
		t.Fatal(added, err)
	}
	if added, err := dashboard.SetUser(users, "alice", httpapi.RoleViewer, []byte("pw3"), 4); err != nil || added {
		t.Fatal(added, err)
	}
	data, _ := os.ReadFile(users)
	lines := strings.Split(strings.TrimSpace(string(data)), "\n")
	if len(lines) != 2 || !strings.HasPrefix(lines[0], "alice:viewer:$2") || !strings.HasPrefix(lines[1], "bob:viewer:$2") {
		t.Errorf("users file:\n%s", data)
	}
	if fi, _ := os.Stat(users); fi.Mode().Perm() != 0o600 {
		t.Errorf("mode %v", fi.Mode().Perm())
	}
	if n, err := dashboard.LoadUsers(users); n != 2 || err != nil {
		t.Errorf("LoadUsers: %d %v", n, err)
	}
	if _, err := dashboard.SetUser(users, "pub", httpapi.RolePublisher, []byte("x"), 4); err == nil {
		t.Error("a publisher user was accepted")
	}
	// The MQTT password file's tools refuse the users file, and back.
	if _, err := auth.SetPassword(users, "carol", []byte("pw"), 4); err == nil {
		t.Error("shardmq passwd without -role rewrote the users file")
	}
	mqttFile := filepath.Join(dir, "passwd")
	if _, err := auth.SetPassword(mqttFile, "dev", []byte("pw"), 4); err != nil {
		t.Fatal(err)
	}
	if _, err := dashboard.LoadUsers(mqttFile); err == nil || !strings.Contains(err.Error(), "line 1") {
		t.Errorf("the MQTT password file as users file: %v", err)
	}
	for _, bad := range []string{"alice:owner:$2a$04$abcdefghijklmnopqrstuuW1yqlA2V3VnqpnJzLvoUHXXjEZp.H8y\n", "alice:viewer:plain\n", "nocolon\n"} {
		p := filepath.Join(dir, "bad")
		os.WriteFile(p, []byte("# comment\n\n"+bad), 0o600)
		if _, err := dashboard.LoadUsers(p); err == nil || !strings.Contains(err.Error(), "line 3") {
			t.Errorf("%q: %v", bad, err)
		}
	}
	if _, err := dashboard.New(dashboard.Config{Keys: httpapi.NewKeyStore(), UsersFile: filepath.Join(dir, "missing")}); err == nil {
		t.Error("a missing users file was accepted")
	}
}

// TestNoHTMLSinks checks the scripts never turn a string into markup: no
// innerHTML, outerHTML, insertAdjacentHTML, document.write or eval.
func TestNoHTMLSinks(t *testing.T) {
	files, err := filepath.Glob("web/assets/*.js")
	if err != nil || len(files) < 5 {
		t.Fatalf("scripts: %v %v", files, err)
	}
	for _, f := range files {
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, sink := range []string{"innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval(", "new Function", "setTimeout('", "setTimeout(\""} {
			if strings.Contains(string(src), sink) {
				t.Errorf("%s uses %s", f, sink)
			}
		}
	}
}
