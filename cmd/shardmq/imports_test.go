package main

import (
	"os/exec"
	"sort"
	"strings"
	"testing"
)

const module = "github.com/shardmq/shardmq"

// forbidden lists, per package of this module, the imports that STYLE.md's diagram and
// DESIGN.md's package table rule out, each with its reason. Imports are checked
// transitively (go list's .Deps), so an edge through a third package is caught too.
var forbidden = []struct {
	pkg, dep, why string
}{
	{"mqtt", module + "/", "mqtt is the leaf codec: it imports nothing of this module"},
	{"netio", module + "/shards", "netio knows sockets, not sessions: shards implements netio.Handler"},
	{"netio", module + "/catalog", "netio is the hot path: no catalog, no SQL"},
	{"netio", module + "/httpapi", "netio is the hot path: no HTTP"},
	{"netio", "database/sql", "no SQL on the hot path"},
	{"netio", "net/http", "no HTTP on the hot path"},
	{"shards", module + "/catalog", "shards hand snapshots to a sink they define; catalog implements it"},
	{"shards", module + "/httpapi", "httpapi calls shards through its Broker interface, never the reverse"},
	{"shards", "database/sql", "no SQL on the hot path"},
	{"shards", "net/http", "no HTTP on the hot path"},
	{"catalog", module + "/shards", "catalog implements the shards' sink without importing them"},
	{"catalog", module + "/httpapi", "catalog implements httpapi's lister without importing it"},
	{"catalog", module + "/netio", "catalog knows client rows, not sockets"},
	{"catalog", module + "/mqtt", "catalog does not know MQTT packets"},
	{"httpapi", module + "/shards", "httpapi talks to the broker through its own Broker interface"},
	{"httpapi", module + "/netio", "httpapi never touches connections"},
	{"bench", module + "/shards", "bench is a client of the broker, not part of it"},
	{"bench", module + "/netio", "bench is a client of the broker, not part of it"},
	{"bench", module + "/catalog", "bench is a client of the broker, not part of it"},
	{"bench", module + "/httpapi", "bench is a client of the broker, not part of it"},
}

// graph is what the import rules are checked against.
type graph struct {
	// deps maps each package of this module to its transitive dependencies.
	deps map[string][]string
	// own maps each package to the packages that this module's own code imports directly
	// within its closure (its own imports and those of the module packages it depends on).
	// Standard-library rules (database/sql, net/http) apply to these only: third-party
	// libraries are outside our control (gnet depends on zap, whose level handler links
	// net/http without any hot-path code calling it).
	own map[string][]string
	// nonStd maps mqtt's packages to their dependencies outside the standard library.
	nonStd map[string][]string
}

// violations returns one line per forbidden edge in g, sorted.
func violations(g graph) []string {
	var out []string
	for pkg, ds := range g.deps {
		rel := strings.TrimPrefix(strings.TrimPrefix(pkg, module), "/")
		top, _, _ := strings.Cut(rel, "/")
		for _, rule := range forbidden {
			if top != rule.pkg {
				continue
			}
			candidates := ds
			if !strings.HasPrefix(rule.dep, module) {
				candidates = g.own[pkg]
			}
			for _, d := range candidates {
				hit := d == rule.dep || strings.HasPrefix(d, rule.dep+"/")
				if strings.HasSuffix(rule.dep, "/") {
					// "module/": any package of this module outside the package's own tree.
					hit = strings.HasPrefix(d, rule.dep) && !strings.HasPrefix(d, module+"/"+rule.pkg)
				}
				if hit {
					out = append(out, pkg+" imports "+d+": "+rule.why)
				}
			}
		}
		if top == "mqtt" {
			for _, d := range g.nonStd[pkg] {
				if !strings.HasPrefix(d, module+"/mqtt") {
					out = append(out, pkg+" imports "+d+": mqtt uses the standard library only")
				}
			}
		}
	}
	sort.Strings(out)
	return out
}

func goList(t *testing.T, format string, args ...string) map[string][]string {
	t.Helper()
	cmd := exec.Command("go", append(append([]string{"list", "-f", format}, args...), module+"/...")...)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	m := make(map[string][]string)
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		f := strings.Fields(line)
		if len(f) > 0 {
			m[f[0]] = f[1:]
		}
	}
	return m
}

// TestImportGraph fails on any edge the package diagram in STYLE.md forbids.
func TestImportGraph(t *testing.T) {
	g := graph{
		deps:   goList(t, `{{.ImportPath}} {{join .Deps " "}}`),
		own:    map[string][]string{},
		nonStd: map[string][]string{},
	}
	if len(g.deps) < 6 {
		t.Fatalf("go list found %d packages; expected the whole module", len(g.deps))
	}
	imports := goList(t, `{{.ImportPath}} {{join .Imports " "}}`)
	for pkg, ds := range g.deps {
		for _, d := range append([]string{pkg}, ds...) {
			if strings.HasPrefix(d, module) {
				g.own[pkg] = append(g.own[pkg], imports[d]...)
			}
		}
	}
	for pkg, ds := range goList(t, `{{.ImportPath}} {{range .Deps}}{{.}} {{end}}`) {
		if strings.HasPrefix(pkg, module+"/mqtt") {
			for _, d := range ds {
				if strings.Contains(strings.SplitN(d, "/", 2)[0], ".") {
					g.nonStd[pkg] = append(g.nonStd[pkg], d)
				}
			}
		}
	}
	for _, v := range violations(g) {
		t.Error(v)
	}
}

// TestImportGraphCatches checks the checker itself: each kind of forbidden edge is reported.
func TestImportGraphCatches(t *testing.T) {
	tests := []struct {
		name   string
		deps   map[string][]string
		nonStd map[string][]string
		want   int
	}{
		{"clean", map[string][]string{
			module + "/shards":  {module + "/mqtt", module + "/netio", "sync"},
			module + "/httpapi": {module + "/catalog", "net/http"},
		}, nil, 0},
		{"shards to catalog", map[string][]string{module + "/shards": {module + "/catalog"}}, nil, 1},
		{"netio to sql", map[string][]string{module + "/netio": {"database/sql"}}, nil, 1},
		{"shards to net/http", map[string][]string{module + "/shards": {"net/http", module + "/mqtt"}}, nil, 1},
		{"httpapi to shards", map[string][]string{module + "/httpapi/auth": {module + "/shards"}}, nil, 1},
		{"mqtt to module", map[string][]string{module + "/mqtt": {module + "/netio"}}, nil, 1},
		{"mqtt to third party", map[string][]string{module + "/mqtt": {}},
			map[string][]string{module + "/mqtt": {module + "/mqtt", "github.com/x/y"}}, 1},
		{"bench to catalog", map[string][]string{module + "/bench": {module + "/catalog", module + "/mqtt"}}, nil, 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			g := graph{deps: tc.deps, own: tc.deps, nonStd: tc.nonStd}
			if got := violations(g); len(got) != tc.want {
				t.Fatalf("violations = %q, want %d", got, tc.want)
			}
		})
	}
}
