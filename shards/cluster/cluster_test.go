package cluster

import (
	"errors"
	"testing"
)

func TestParseShareStrategy(t *testing.T) {
	tests := []struct {
		name string
		want ShareStrategy
		err  error
	}{
		{"", ShareRoundRobin, nil},
		{"round_robin", ShareRoundRobin, nil},
		{"random", ShareRandom, nil},
		{"hash_clientid", ShareHashClientID, nil},
		{"sticky", ShareSticky, nil},
		{"local", 0, ErrUnknownShareStrategy},
	}
	for _, tc := range tests {
		t.Run("name="+tc.name, func(t *testing.T) {
			got, err := ParseShareStrategy(tc.name)
			if !errors.Is(err, tc.err) || got != tc.want {
				t.Fatalf("ParseShareStrategy(%q) = %v, %v", tc.name, got, err)
			}
			if err == nil && tc.name != "" && got.String() != tc.name {
				t.Fatalf("String() = %q", got.String())
			}
		})
	}
}

func TestRouteServeLocal(t *testing.T) {
	r := Route{Nodes: 1 << 2, Groups: []GroupChoice{
		{Group: Group{Name: "g", Filter: "a/#"}, Slot: 2},
		{Group: Group{Name: "h", Filter: "a/#"}, Local: true},
	}}
	if !r.Remote() || r.ServeLocal("g", "a/#") || !r.ServeLocal("h", "a/#") || !r.ServeLocal("g", "b") {
		t.Fatalf("ServeLocal on %+v", r)
	}
	r.Reset()
	if r.Remote() || len(r.Groups) != 0 || !r.ServeLocal("g", "a/#") {
		t.Fatal("Reset")
	}
}

func TestSingle(t *testing.T) {
	var s Single
	var r Route
	r.Nodes = 1
	s.Route([]byte("a"), nil, &r)
	if !s.Alone() || s.Remote([]byte("a")) || r.Remote() {
		t.Fatal("Single routes elsewhere")
	}
	called := false
	s.NewOutbox().Flush(func(err error) { called = err == nil })
	if !called {
		t.Fatal("Single's Flush did not ack at once")
	}
}
