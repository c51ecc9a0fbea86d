package httpapi

import (
	"net/http"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
)

// TestBadInputEveryEndpoint sends every registered route an unknown
// parameter, a wrong method, unknown and over-long ids, malformed and
// over-long bodies, and checks that each is a 400, 404 or 405 with the
// JSON error body, never a 5xx.
func TestBadInputEveryEndpoint(t *testing.T) {
	env := newTestEnv(t, Config{MaxHeaderBytes: 1 << 20}, testRows(5))
	env.api.EnableMetrics(prometheus.NewRegistry(), false)
	// send sends to an absolute path.
	send := func(t *testing.T, method, path string, body any) response {
		t.Helper()
		if rel, ok := strings.CutPrefix(path, "/api/v5"); ok {
			return env.do(t, method, rel, adminUser, body)
		}
		return env.raw(t, method, path, adminUser)
	}
	long := strings.Repeat("a", 65536)
	// longBodies hold a string longer than any field allows.
	longBodies := map[string]string{
		"/clients/{clientid}/subscribe":        `{"topic":"` + long + `"}`,
		"/clients/{clientid}/subscribe/bulk":   `[{"topic":"` + long + `"}]`,
		"/clients/{clientid}/unsubscribe":      `{"topic":"` + long + `"}`,
		"/clients/{clientid}/unsubscribe/bulk": `[{"topic":"` + long + `"}]`,
		"/clients/kickout/bulk":                `["` + long + `"]`,
		"/publish":                             `{"topic":"` + long + `","payload":"x"}`,
		"/publish/bulk":                        `[{"topic":"t","payload":"x","properties":{"content_type":"` + long + `"}}]`,
		"/api_key":                             `{"name":"` + long + `"}`,
		"/api_key/{name}":                      `{"desc":"` + long + `"}`,
		"/banned":                              `{"as":"clientid","who":"` + long + `"}`,
		"/clients/{clientid}/keepalive":        `{"interval":"` + long + `"}`,
		"/listeners/{id}/stop":                 `{"id":"` + long + `"}`,
		"/listeners/{id}/start":                `{"id":"` + long + `"}`,
		"/listeners/{id}/restart":              `{"id":"` + long + `"}`,
	}
	// Lenient on purpose: load balancers' and scrapers' probes.
	takesAnyQuery := map[string]bool{StatusPath: true, "/api/v5" + StatusPath: true, MetricsPath: true}

	check := func(t *testing.T, r response, method string, statuses ...int) {
		t.Helper()
		for _, s := range statuses {
			if r.status == s {
				if method != http.MethodHead {
					msg := r.wantError(t, r.status, errorCode(t, r))
					checkMessage(t, msg)
				}
				return
			}
		}
		t.Fatalf("status %d, want one of %v; body %.200s", r.status, statuses, r.body)
	}
	n := 0
	for _, rt := range env.api.ops.routes {
		rel := strings.TrimPrefix(rt.pattern, "/api/v5")
		sample := strings.NewReplacer("{clientid}", "c0001", "{name}", bootstrapName("viewer"),
			"{as}", "clientid", "{who}", "c0001", "{node}", "shardmq@127.0.0.1", "{topic}", "r%2F1",
			"{id}", "tcp:default").Replace(rt.pattern)
		name := rt.method + " " + rt.pattern
		n++
		if !takesAnyQuery[rt.pattern] {
			t.Run(name+"/unknown parameter", func(t *testing.T) {
				check(t, send(t, rt.method, sample+"?zz=1", nil), rt.method, 400)
			})
		}
		t.Run(name+"/wrong method", func(t *testing.T) {
			r := send(t, "PATCH", sample, nil)
			check(t, r, "PATCH", 405)
			if r.header.Get("Allow") == "" {
				t.Fatal("405 without Allow")
			}
		})
		if strings.Contains(rt.pattern, "{clientid}") || strings.Contains(rt.pattern, "{name}") || strings.Contains(rt.pattern, "{who}") ||
			strings.Contains(rt.pattern, "{node}") || strings.Contains(rt.pattern, "{topic}") || strings.Contains(rt.pattern, "{id}") {
			unknown := strings.NewReplacer("{clientid}", "nobody", "{name}", "nobody", "{as}", "clientid", "{who}", "nobody", "{node}", "nobody@127.0.0.1", "{topic}", "no%2Fsuch",
				"{id}", "tcp:nobody").Replace(rel)
			overlong := strings.NewReplacer("{clientid}", long, "{name}", strings.Repeat("n", 257), "{as}", "clientid", "{who}", long, "{node}", long, "{topic}", long,
				"{id}", "tcp:"+long).Replace(rel)
			body := map[string]any{http.MethodPost: `{"topic":"t"}`, http.MethodPut: `{}`}[rt.method]
			if strings.HasPrefix(rt.pattern, "/api/v5/listeners/") {
				body = nil
			}
			if strings.HasSuffix(rt.pattern, "/bulk") {
				body = `[{"topic":"t"}]`
			}
			if strings.HasSuffix(rt.pattern, "/keepalive") {
				body = `{"interval":30}`
			}
			t.Run(name+"/unknown id", func(t *testing.T) {
				check(t, env.do(t, rt.method, unknown, adminUser, body), rt.method, 404)
			})
			t.Run(name+"/over-long id", func(t *testing.T) {
				check(t, env.do(t, rt.method, overlong, adminUser, body), rt.method, 400)
			})
		}
		if rt.method == http.MethodPost || rt.method == http.MethodPut {
			path := strings.TrimPrefix(sample, "/api/v5")
			for _, body := range []string{`{"topic":`, `[`, `"x"`, `{"zz":1}`, `[{"zz":1}]`, "\xff", `{"topic":1e999}`} {
				t.Run(name+"/bad body "+body, func(t *testing.T) {
					check(t, env.do(t, rt.method, path, adminUser, body), rt.method, 400)
				})
			}
			if lb, ok := longBodies[rel]; ok {
				t.Run(name+"/over-long string", func(t *testing.T) {
					check(t, env.do(t, rt.method, path, adminUser, lb), rt.method, 400)
				})
			} else {
				t.Errorf("%s: no over-long body in the table", name)
			}
		}
	}
	for _, q := range []string{"clientid=" + long, "like_username=" + long, "username=" + long, "zone=" + long, "cursor=" + long} {
		t.Run("GET /clients?"+q[:strings.IndexByte(q, '=')]+"=long", func(t *testing.T) {
			check(t, env.do(t, "GET", "/clients?"+q, adminUser, nil), "GET", 400)
		})
	}
	for _, q := range []string{"clientid=" + long, "topic=" + long, "match_topic=" + long} {
		t.Run("GET /subscriptions?"+q[:strings.IndexByte(q, '=')]+"=long", func(t *testing.T) {
			check(t, env.do(t, "GET", "/subscriptions?"+q, adminUser, nil), "GET", 400)
		})
	}
	for _, q := range []string{"clientid=" + long, "like_username=" + long, "peerhost=" + long, "page=0", "limit=10001",
		"peerhost=10.0.0.1:80", "clientid=a&username=b", "zz=1"} {
		t.Run("GET /banned?"+q[:min(len(q), 24)], func(t *testing.T) {
			check(t, env.do(t, "GET", "/banned?"+q, adminUser, nil), "GET", 400)
		})
	}
	for _, b := range []string{`{"who":"x"}`, `{"as":"nope","who":"x"}`, `{"as":"clientid"}`, `{"as":"clientid","who":""}`,
		`{"as":"peerhost","who":"10.0.0.1:80"}`, `{"as":"peerhost_net","who":"10.0.0.0"}`, `{"as":"clientid_re","who":"a("}`,
		`{"as":"clientid","who":"x","until":1}`, `{"as":"clientid","who":"x","until":"soon"}`, `{"as":"clientid","who":"x","at":"infinity"}`,
		`{"as":"clientid","who":"x","reason":"` + long + `"}`, `{"as":"clientid","who":"x\u0000"}`} {
		t.Run("POST /banned "+b[:min(len(b), 40)], func(t *testing.T) {
			check(t, env.do(t, "POST", "/banned", adminUser, b), "POST", 400)
		})
	}
	for _, b := range []string{`{}`, `{"interval":-1}`, `{"interval":65536}`, `{"interval":1.5}`, `{"interval":null}`} {
		t.Run("PUT keepalive "+b, func(t *testing.T) {
			check(t, env.do(t, "PUT", "/clients/c0001/keepalive", adminUser, b), "PUT", 400)
		})
	}
	for _, q := range []string{"page=2", "_page=1", "cursor=zz", "zz=1"} {
		t.Run("GET /clients_v2?"+q, func(t *testing.T) {
			check(t, env.do(t, "GET", "/clients_v2?"+q, adminUser, nil), "GET", 400)
		})
	}
	for _, q := range []string{"topic=a/%23/b", "topic=%24share/g/t", "topic=" + long, "node=" + long, "zz=1", "limit=0"} {
		t.Run("GET /topics?"+q[:min(len(q), 24)], func(t *testing.T) {
			check(t, env.do(t, "GET", "/topics?"+q, adminUser, nil), "GET", 400)
		})
		if !strings.HasPrefix(q, "node=") {
			t.Run("GET /retainer/messages?"+q[:min(len(q), 24)], func(t *testing.T) {
				check(t, env.do(t, "GET", "/retainer/messages?"+q, adminUser, nil), "GET", 400)
			})
		}
	}
	t.Run("GET /retainer/message/{wildcard}", func(t *testing.T) {
		check(t, env.do(t, "GET", "/retainer/message/a%2F%2B", adminUser, nil), "GET", 400)
	})
	for _, q := range []string{"position=x", "position=-1", "limit=0", "limit=1001", "payload=hex", "max_payload_bytes=0",
		"max_payload_bytes=1TB", "max_payload_bytes=x", "zz=1", "limit=1&limit=2"} {
		for _, which := range []string{"mqueue_messages", "inflight_messages"} {
			t.Run("GET /clients/c0001/"+which+"?"+q, func(t *testing.T) {
				check(t, env.do(t, "GET", "/clients/c0001/"+which+"?"+q, adminUser, nil), "GET", 400)
			})
		}
	}
	for _, q := range []string{"since=-1", "since=x", "since=1&since=2", "until=1"} {
		t.Run("GET /sessions_count?"+q, func(t *testing.T) {
			check(t, env.do(t, "GET", "/sessions_count?"+q, adminUser, nil), "GET", 400)
		})
	}
	t.Run("DELETE /banned/{as} unknown kind", func(t *testing.T) {
		check(t, env.do(t, "DELETE", "/banned/nope/x", adminUser, nil), "DELETE", 400)
	})
	if n < 30 {
		t.Fatalf("only %d routes", n)
	}
}

// errorCode returns the code of an error response.
func errorCode(t *testing.T, r response) string {
	t.Helper()
	var e struct{ Code string }
	r.decode(t, &e)
	return e.Code
}
