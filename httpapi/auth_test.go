package httpapi

import (
	"net/http"
	"strings"
	"testing"
)

func TestAuth(t *testing.T) {
	env := newTestEnv(t, Config{}, testRows(3))
	for _, tc := range []struct{ name, user string }{
		{"no credentials", ""},
		{"wrong secret", "admin:wrong"},
		{"unknown key", "nobody:admin-secret"},
		{"secret of another key", "admin:viewer-secret"},
		{"empty secret", "admin:"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := env.do(t, "GET", "/clients", tc.user, nil)
			r.wantError(t, http.StatusUnauthorized, codeBadKey)
			if !strings.HasPrefix(r.header.Get("WWW-Authenticate"), "Basic ") {
				t.Fatalf("WWW-Authenticate %q", r.header.Get("WWW-Authenticate"))
			}
		})
	}
	t.Run("not basic", func(t *testing.T) {
		req, _ := http.NewRequest("GET", env.srv.URL+"/api/v5/clients", nil)
		req.Header.Set("Authorization", "Bearer admin-secret")
		res, err := env.srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != http.StatusUnauthorized {
			t.Fatalf("status %d", res.StatusCode)
		}
	})
	t.Run("unauthenticated unknown route is 401", func(t *testing.T) {
		env.do(t, "GET", "/nothing", "", nil).wantError(t, http.StatusUnauthorized, codeBadKey)
	})
}

func TestRoles(t *testing.T) {
	env := newTestEnv(t, Config{}, testRows(5))
	type call struct{ method, path, body string }
	calls := map[string]call{
		"list":          {"GET", "/clients", ""},
		"get":           {"GET", "/clients/c0001", ""},
		"subs":          {"GET", "/clients/c0001/subscriptions", ""},
		"allsubs":       {"GET", "/subscriptions", ""},
		"stats":         {"GET", "/stats", ""},
		"subscribe":     {"POST", "/clients/c0001/subscribe", `{"topic":"t"}`},
		"subscribebulk": {"POST", "/clients/c0001/subscribe/bulk", `[{"topic":"t"}]`},
		"unsubscribe":   {"POST", "/clients/c0001/unsubscribe", `{"topic":"t"}`},
		"unsubbulk":     {"POST", "/clients/c0001/unsubscribe/bulk", `[{"topic":"t"}]`},
		"publish":       {"POST", "/publish", `{"topic":"t","payload":"x"}`},
		"publishbulk":   {"POST", "/publish/bulk", `[{"topic":"t","payload":"x"}]`},
		"kickoutbulk":   {"POST", "/clients/kickout/bulk", `["c0002"]`},
		"kick":          {"DELETE", "/clients/c0001", ""},
	}
	allowed := map[string][]string{
		viewerUser: {"list", "get", "subs", "allsubs", "stats"},
		pubUser:    {"publish", "publishbulk"},
		adminUser:  {"list", "get", "subs", "allsubs", "stats", "subscribe", "subscribebulk", "unsubscribe", "unsubbulk", "publish", "publishbulk", "kickoutbulk", "kick"},
	}
	// The administrator goes last because it kicks.
	for _, user := range []string{viewerUser, pubUser, adminUser} {
		ok := map[string]bool{}
		for _, n := range allowed[user] {
			ok[n] = true
		}
		for _, name := range []string{"list", "get", "subs", "allsubs", "stats", "subscribe", "subscribebulk", "unsubscribe", "unsubbulk", "publish", "publishbulk", "kickoutbulk", "kick"} {
			c := calls[name]
			t.Run(strings.Split(user, ":")[0]+"/"+name, func(t *testing.T) {
				var body any
				if c.body != "" {
					body = c.body
				}
				r := env.do(t, c.method, c.path, user, body)
				if !ok[name] {
					r.wantError(t, http.StatusForbidden, codeUnauthorizedRole)
					return
				}
				if r.status >= 300 && r.status != http.StatusAccepted {
					t.Fatalf("allowed call failed: %d %s", r.status, r.body)
				}
			})
		}
	}
}
