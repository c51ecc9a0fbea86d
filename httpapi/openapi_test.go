package httpapi

import (
	"encoding/json"
	"go/ast"
	"go/parser"
	"go/token"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/shardmq/shardmq/catalog"
)

// openAPIDoc is the part of the document the tests read.
type openAPIDoc struct {
	OpenAPI string `json:"openapi"`
	Paths   map[string]map[string]struct {
		Parameters []struct {
			Name string `json:"name"`
			In   string `json:"in"`
		} `json:"parameters"`
		Responses map[string]any `json:"responses"`
	} `json:"paths"`
}

func fetchDoc(t *testing.T, e *testEnv, path string) openAPIDoc {
	t.Helper()
	r := e.raw(t, "GET", path, "")
	if r.status != http.StatusOK || r.header.Get("Content-Type") != "application/json" {
		t.Fatalf("GET %s: %d %s %s", path, r.status, r.header.Get("Content-Type"), r.body)
	}
	var d openAPIDoc
	r.decode(t, &d)
	if !strings.HasPrefix(d.OpenAPI, "3.") {
		t.Fatalf("openapi %q", d.OpenAPI)
	}
	return d
}

// TestOpenAPIRoutes checks that the document names exactly the registered
// routes, and that every route it names answers (is not an unknown path or
// method).
func TestOpenAPIRoutes(t *testing.T) {
	e := newTestEnv(t, Config{}, testRows(3))
	e.api.EnableMetrics(prometheus.NewRegistry(), false)
	d := fetchDoc(t, e, "/api-docs")
	if d2 := fetchDoc(t, e, "/api/v5/api-docs"); len(d2.Paths) != len(d.Paths) {
		t.Fatalf("the two documents differ")
	}
	documented := map[string]bool{}
	for p, ops := range d.Paths {
		for m := range ops {
			documented[strings.ToUpper(m)+" "+p] = true
		}
	}
	registered := map[string]bool{}
	for _, rt := range e.api.ops.routes {
		registered[rt.method+" "+rt.pattern] = true
	}
	if len(registered) < 18 {
		t.Fatalf("only %d routes registered", len(registered))
	}
	for k := range registered {
		if !documented[k] {
			t.Errorf("route %s is missing from the document", k)
		}
	}
	for k := range documented {
		if !registered[k] {
			t.Errorf("the document names %s, which is not a route", k)
		}
	}
	// Every documented route is served: calling it (with a sample client
	// id, as the administrator) never meets the router's NOT_FOUND or
	// METHOD_NOT_ALLOWED.
	for k := range documented {
		method, path, _ := strings.Cut(k, " ")
		path = strings.NewReplacer("{clientid}", "c0001", "{node}", "shardmq@127.0.0.1", "{topic}", "r%2F1",
			"{as}", "clientid", "{who}", "c0001").Replace(path)
		t.Run(method+" "+path, func(t *testing.T) {
			req, err := http.NewRequest(method, e.srv.URL+path, nil)
			if err != nil {
				t.Fatal(err)
			}
			req.SetBasicAuth("admin", "admin-secret")
			res, err := e.srv.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer res.Body.Close()
			var body struct{ Code, Message string }
			_ = json.NewDecoder(res.Body).Decode(&body)
			// A 404 of the route itself (no such retained message,
			// ban or key) is not the router's.
			if body.Code == codeNotFound && strings.HasPrefix(body.Message, "no endpoint at") || body.Code == codeMethodNotAllowed {
				t.Fatalf("%s: %d %s", k, res.StatusCode, body.Code)
			}
		})
	}
}

// TestOpenAPIUndocumentedRoute checks that New's document builder refuses
// a route it has no description for.
func TestOpenAPIUndocumentedRoute(t *testing.T) {
	e := newTestEnv(t, Config{}, nil)
	a := e.api
	a.ops.routes = append(a.ops.routes, route{method: "GET", pattern: "/api/v5/nothing"})
	if _, err := a.buildDocs(); err == nil || !strings.Contains(err.Error(), "/api/v5/nothing") {
		t.Fatalf("buildDocs: %v", err)
	}
}

// parserParams returns the parameter names a query parser names in the
// case clauses of its switch statements (read from the source, so that a
// parameter added to the parser must be added to the document).
func parserParams(t *testing.T, file, fn string) []string {
	t.Helper()
	f, err := parser.ParseFile(token.NewFileSet(), file, nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	found := false
	for _, decl := range f.Decls {
		fd, ok := decl.(*ast.FuncDecl)
		if !ok || fd.Name.Name != fn {
			continue
		}
		found = true
		// Only the outer switch's cases name parameters; inner switches
		// list values.
		ast.Inspect(fd.Body, func(n ast.Node) bool {
			sw, ok := n.(*ast.SwitchStmt)
			if !ok {
				return true
			}
			if id, ok := sw.Tag.(*ast.Ident); !ok || id.Name != "name" {
				return true
			}
			for _, st := range sw.Body.List {
				for _, e := range st.(*ast.CaseClause).List {
					if bl, ok := e.(*ast.BasicLit); ok && bl.Kind == token.STRING {
						s, _ := strconv.Unquote(bl.Value)
						names = append(names, s)
					}
				}
			}
			return false
		})
	}
	if !found || len(names) == 0 {
		t.Fatalf("no parameters found in %s %s", file, fn)
	}
	return names
}

// sampleValue returns a value of the parameter's type the parser accepts
// the name with.
func sampleValue(name string) string {
	switch {
	case name == "ip_address":
		return "10.0.0.1"
	case name == "conn_state":
		return "connected"
	case name == "clean_start" || name == "aggregate":
		return "true"
	case name == "proto_name":
		return "MQTT"
	case name == "order":
		return "asc"
	case name == "order_by" || name == "fields":
		return "clientid"
	case name == "topic" || name == "match_topic" || name == "_match_topic":
		return "a/b"
	case name == "share_group":
		return "g"
	case strings.HasSuffix(name, "created_at") || strings.HasSuffix(name, "connected_at"):
		return "1694770580"
	case strings.Contains(name, "like_") || name == "clientid" || name == "username" || name == "zone" || name == "cursor":
		return "x"
	}
	return "1"
}

// TestOpenAPIQueryParams checks that every query parameter the parsers of
// GET /clients, GET /subscriptions and GET /stats accept is in the
// document, and that every documented one is accepted.
func TestOpenAPIQueryParams(t *testing.T) {
	e := newTestEnv(t, Config{}, nil)
	d := fetchDoc(t, e, "/api-docs")
	aliasesOf := func(names []string) []string {
		out := append([]string(nil), names...)
		for alias, canonical := range aliases {
			for _, n := range names {
				if n == canonical {
					out = append(out, alias)
				}
			}
		}
		return out
	}
	var ranges []string
	for _, c := range catalog.Columns {
		if c.Rangeable {
			ranges = append(ranges, "gte_"+c.Name, "lte_"+c.Name)
		}
	}
	cases := []struct {
		name   string
		path   string
		parser []string // what the parser names
		accept func(raw string) *apiError
	}{
		{"clients", "/api/v5/clients",
			append(aliasesOf(parserParams(t, "clientsquery.go", "parseClientsQuery")), ranges...),
			func(raw string) *apiError { _, e := parseClientsQuery(raw); return e }},
		{"subscriptions", "/api/v5/subscriptions",
			aliasesOf(parserParams(t, "subscriptions.go", "parseSubscriptionsQuery")),
			func(raw string) *apiError { _, e := parseSubscriptionsQuery(raw); return e }},
		{"stats", "/api/v5/stats", []string{"aggregate"}, nil},
	}
	for _, tc := range cases {
		t.Run("route="+tc.name, func(t *testing.T) {
			op, ok := d.Paths[tc.path]["get"]
			if !ok {
				t.Fatalf("no GET %s in the document", tc.path)
			}
			documented := map[string]bool{}
			for _, p := range op.Parameters {
				if p.In == "query" {
					documented[p.Name] = true
				}
			}
			for _, n := range tc.parser {
				if !documented[n] {
					t.Errorf("parameter %s is accepted but not documented", n)
				}
			}
			if tc.accept == nil {
				return
			}
			names := make([]string, 0, len(documented))
			for n := range documented {
				names = append(names, n)
			}
			sort.Strings(names)
			for _, n := range names {
				if e := tc.accept(n + "=" + sampleValue(n)); e != nil && strings.Contains(e.message, "unknown parameter") {
					t.Errorf("documented parameter %s is refused: %s", n, e.message)
				}
			}
			// The check can fail: a made-up name is refused.
			if e := tc.accept("no_such_param=1"); e == nil || !strings.Contains(e.message, "unknown parameter") {
				t.Fatalf("a made-up parameter was accepted: %v", e)
			}
		})
	}
}
