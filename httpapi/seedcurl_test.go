package httpapi

import (
	"encoding/json"
	"net/http"
	"os/exec"
	"slices"
	"strings"
	"testing"
)

// TestSeedCurlExamples runs the seed's curl commands as the user would
// type them into bash, with {api} and the key substituted, and checks what
// they print. The seed's unsubscribe example has an unbalanced quote that
// no shell accepts; it runs with that quote removed.
func TestSeedCurlExamples(t *testing.T) {
	if _, err := exec.LookPath("curl"); err != nil {
		t.Skip("curl not installed")
	}
	bash, err := exec.LookPath("bash")
	if err != nil {
		t.Skip("bash not installed")
	}
	rows := testRows(3)
	rows[0].ClientID = "client_1"
	env := newTestEnv(t, Config{}, rows)
	api := env.srv.URL + "/api/v5"
	run := func(t *testing.T, cmd string) string {
		t.Helper()
		cmd = strings.NewReplacer("app_id:app_ssecret", adminUser, "app_id:app_secret", adminUser, "{api}", api).Replace(cmd)
		// The first example's unquoted & sends curl to the background:
		// wait for it as an interactive shell would show its output.
		var stderr strings.Builder
		c := exec.Command(bash, "-c", cmd+"\nwait")
		c.Stderr = &stderr
		out, err := c.Output()
		if err != nil {
			t.Fatalf("%s: %v\n%s%s", cmd, err, out, stderr.String())
		}
		return string(out)
	}
	decode := func(t *testing.T, out string, v any) {
		t.Helper()
		if err := json.Unmarshal([]byte(out), v); err != nil {
			t.Fatalf("output %q: %v", out, err)
		}
	}

	t.Run("list", func(t *testing.T) {
		var p listPage
		decode(t, run(t, `curl -u app_id:app_secret -X GET {api}/clients?_page=1&_limit=50`), &p)
		// bash cut the URL at '&', so the default limit applies.
		if p.Meta.Page != 1 || p.Meta.Count != 3 || p.Meta.HasNext || !slices.Equal(p.ids(), []string{"c0001", "c0002", "client_1"}) {
			t.Fatalf("%+v", p.Meta)
		}
		decode(t, run(t, `curl -u app_id:app_secret -X GET '{api}/clients?_page=1&_limit=50'`), &p)
		if p.Meta.Limit != 50 {
			t.Fatalf("quoted URL: %+v", p.Meta)
		}
	})
	t.Run("get", func(t *testing.T) {
		var obj map[string]any
		decode(t, run(t, `curl -u app_id:app_ssecret -X GET {api}/clients/client_1`), &obj)
		if obj["clientid"] != "client_1" || obj["connected"] != true {
			t.Fatalf("%v", obj)
		}
	})
	t.Run("subscribe", func(t *testing.T) {
		var s map[string]any
		decode(t, run(t, `curl -u app_id:app_secret -X POST -H 'Content-Type: application/json' -d '{"topic": "t/a","qos": 1}' {api}/clients/client_1/subscribe`), &s)
		if s["clientid"] != "client_1" || s["topic"] != "t/a" || s["qos"] != 1.0 || s["nl"] != 0.0 || s["rap"] != 0.0 || s["rh"] != 0.0 || s["node"] == nil {
			t.Fatalf("%v", s)
		}
	})
	t.Run("unsubscribe", func(t *testing.T) {
		if out := run(t, `curl -u app_id:app_secret -X POST -H 'Content-Type: application/json' -d '{"topic": "t/a"}' {api}/clients/client_1/unsubscribe`); out != "" {
			t.Fatalf("output %q", out)
		}
	})
	t.Run("subscribe bulk", func(t *testing.T) {
		var out struct {
			Data []map[string]any `json:"data"`
		}
		decode(t, run(t, `curl -u app_id:app_secret -X POST -H 'Content-Type: application/json' -d '[{"topic": "t/a", "qos": 1}, {"topic": "t/b", "qos": 0}]' {api}/clients/client_1/subscribe/bulk`), &out)
		if len(out.Data) != 2 || out.Data[0]["topic"] != "t/a" || out.Data[1]["qos"] != 0.0 {
			t.Fatalf("%v", out)
		}
	})
	t.Run("unsubscribe bulk", func(t *testing.T) {
		if out := run(t, `curl -u app_id:app_secret -X POST -H 'Content-Type: application/json' -d '[{"topic": "t/a"},{"topic": "t/b"}]' {api}/clients/client_1/unsubscribe/bulk`); out != "" {
			t.Fatalf("output %q", out)
		}
		var subs []subJSON
		env.do(t, "GET", "/clients/client_1/subscriptions", adminUser, nil).decode(t, &subs)
		if len(subs) != 0 {
			t.Fatalf("left %v", subs)
		}
	})
	t.Run("kick", func(t *testing.T) {
		if out := run(t, `curl -u app_id:app_secret -X DELETE {api}/clients/client_1`); out != "" {
			t.Fatalf("output %q", out)
		}
		env.do(t, "GET", "/clients/client_1", adminUser, nil).wantError(t, http.StatusNotFound, codeClientNotFound)
	})
}
