package shards

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// TestSubSet drives a subSet through its small and map forms, and back to
// empty, against a map as the model.
func TestSubSet(t *testing.T) {
	tests := []struct {
		name    string
		filters int // distinct filters the operations draw from
		ops     int
	}{
		{name: "small", filters: 3, ops: 200},
		{name: "at the switch", filters: subSmall + 1, ops: 2000},
		{name: "map", filters: 4 * subSmall, ops: 5000},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(1, uint64(tc.filters)))
			var ss subSet
			model := map[string]SubOptions{}
			for op := range tc.ops {
				f := fmt.Sprintf("t/%d", rng.IntN(tc.filters))
				switch rng.IntN(3) {
				case 0, 1:
					o := SubOptions{QoS: byte(op % 3), ID: uint32(op)}
					ss.Set(f, o)
					model[f] = o
				default:
					_, want := model[f]
					if got := ss.Delete(f); got != want {
						t.Fatalf("op %d: Delete(%q) = %v, want %v", op, f, got, want)
					}
					delete(model, f)
				}
				checkSubSet(t, op, &ss, model)
			}
		})
	}
}

// checkSubSet fails t unless ss holds exactly model.
func checkSubSet(t *testing.T, op int, ss *subSet, model map[string]SubOptions) {
	t.Helper()
	if ss.Len() != len(model) {
		t.Fatalf("op %d: Len = %d, want %d", op, ss.Len(), len(model))
	}
	if (ss.t == nil) != (len(model) == 0) {
		t.Fatalf("op %d: table allocated = %v with %d subscriptions", op, ss.t != nil, len(model))
	}
	if ss.t != nil && (ss.t.big != nil) == (len(ss.t.small) > 0) {
		t.Fatalf("op %d: both or neither of the forms in use", op)
	}
	seen := 0
	for f, o := range ss.All() {
		seen++
		if want, ok := model[f]; !ok || want != o {
			t.Fatalf("op %d: All yields %q %+v, model has %+v (%v)", op, f, o, want, ok)
		}
	}
	if seen != len(model) {
		t.Fatalf("op %d: All yields %d, want %d", op, seen, len(model))
	}
	for f, want := range model {
		if got, ok := ss.Get(f); !ok || got != want {
			t.Fatalf("op %d: Get(%q) = %+v %v, want %+v", op, f, got, ok, want)
		}
	}
	if _, ok := ss.Get("absent"); ok {
		t.Fatalf("op %d: Get of a filter never subscribed found one", op)
	}
}
