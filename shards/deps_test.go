package shards

import (
	"os/exec"
	"slices"
	"sort"
	"strings"
	"testing"
)

const module = "github.com/shardmq/shardmq"

// forbiddenDeps are the packages no package of shards/... may depend on,
// each with its reason (STYLE.md's diagram, DESIGN.md's package table). A
// module package is forbidden with everything below it; a standard one
// counts only where this module's own code imports it (gnet's logger links
// net/http without any of our code calling it).
var forbiddenDeps = []struct{ dep, why string }{
	{module + "/catalog", "shards hand snapshots to a sink they define; catalog implements it"},
	{module + "/httpapi", "httpapi calls the broker through its Broker interface, never the reverse"},
	{"database/sql", "no SQL on the hot path"},
	{"net/http", "no HTTP on the hot path"},
}

// depViolations returns one line per forbidden edge, sorted: deps maps each
// package of shards/... to its transitive dependencies, own to the packages
// this module's code imports within that closure. A sub-package of shards
// must not depend on shards itself: the parent is the consumer of its
// concepts (index, retained, auth, ...), never their dependency.
func depViolations(deps, own map[string][]string) []string {
	var out []string
	for pkg, ds := range deps {
		for _, f := range forbiddenDeps {
			candidates := ds
			if !strings.HasPrefix(f.dep, module) {
				candidates = own[pkg]
			}
			for _, d := range candidates {
				if d == f.dep || strings.HasPrefix(d, f.dep+"/") {
					out = append(out, pkg+" imports "+d+": "+f.why)
				}
			}
		}
		if pkg != module+"/shards" && slices.Contains(ds, module+"/shards") {
			out = append(out, pkg+" imports its parent "+module+"/shards: the parent consumes its sub-packages")
		}
	}
	sort.Strings(out)
	return out
}

// goListShards runs go list with format on shards/... (plus args) and
// returns the result keyed by the first field of each line.
func goListShards(t *testing.T, format string, args ...string) map[string][]string {
	t.Helper()
	args = append(append([]string{"list", "-f", format}, args...), module+"/shards/...")
	out, err := exec.Command("go", args...).Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	m := make(map[string][]string)
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		if f := strings.Fields(line); len(f) > 0 {
			m[f[0]] = f[1:]
		}
	}
	return m
}

// TestDeps guards the import graph of shards and every package below it.
func TestDeps(t *testing.T) {
	if _, err := exec.LookPath("go"); err != nil {
		t.Skip("go tool not in PATH")
	}
	deps := goListShards(t, `{{.ImportPath}} {{join .Deps " "}}`)
	for _, want := range []string{"", "/auth", "/index", "/retained", "/gateway/mqttsn", "/gateway/coap"} {
		if _, ok := deps[module+"/shards"+want]; !ok {
			t.Fatalf("go list found %d packages without shards%s; expected all of shards/...", len(deps), want)
		}
	}
	imports := goListShards(t, `{{.ImportPath}} {{join .Imports " "}}`, "-deps")
	own := make(map[string][]string)
	for pkg, ds := range deps {
		for _, d := range append([]string{pkg}, ds...) {
			if strings.HasPrefix(d, module+"/") {
				own[pkg] = append(own[pkg], imports[d]...)
			}
		}
	}
	for _, v := range depViolations(deps, own) {
		t.Error(v)
	}
}

// TestDepsCatches checks the checker: each kind of forbidden edge is
// reported, and allowed ones are not.
func TestDepsCatches(t *testing.T) {
	const sh = module + "/shards"
	tests := []struct {
		name string
		deps map[string][]string
		own  map[string][]string
		want int
	}{
		{"clean", map[string][]string{sh: {sh + "/index", module + "/netio", "sync"}, sh + "/index": {module + "/mqtt"}},
			map[string][]string{sh: {"sync"}}, 0},
		{"sub-package to parent", map[string][]string{sh + "/retained": {sh}}, nil, 1},
		{"sub-package to parent through a sibling", map[string][]string{sh + "/index": {sh + "/auth", sh}}, nil, 1},
		{"parent to catalog", map[string][]string{sh: {module + "/catalog"}}, nil, 1},
		{"sub-package to httpapi below", map[string][]string{sh + "/auth": {module + "/httpapi/auth"}}, nil, 1},
		{"own net/http", map[string][]string{sh + "/index": {"net/http"}}, map[string][]string{sh + "/index": {"net/http"}}, 1},
		{"third-party net/http", map[string][]string{sh: {"net/http"}}, map[string][]string{sh: {"sync"}}, 0},
		{"own database/sql", map[string][]string{sh: {}}, map[string][]string{sh: {"database/sql"}}, 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := depViolations(tc.deps, tc.own); len(got) != tc.want {
				t.Fatalf("violations = %q, want %d", got, tc.want)
			}
		})
	}
}
