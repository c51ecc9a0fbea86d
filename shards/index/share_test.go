package index

import (
	"errors"
	"fmt"
	"testing"
)

// shareFixture returns an index with members m0..m{n-1} in group g on filter t/#, and that group.
func shareFixture(t *testing.T, strategy ShareStrategy, n int) (*Index[string], *ShareGroup[string]) {
	t.Helper()
	ix := newTestIndex(t, strategy)
	for i := range n {
		res, err := ix.Subscribe(fmt.Sprintf("m%d", i), "$share/g/t/#", SubOptions{QoS: byte(i % 3)})
		if err != nil || !res.Shared {
			t.Fatalf("Subscribe m%d = %+v, %v", i, res, err)
		}
	}
	hits := ix.Match([]byte("t/x"), nil)
	if len(hits) != 1 || hits[0].Group == nil || hits[0].Group.Len() != n {
		t.Fatalf("Match = %+v, want one group of %d", hits, n)
	}
	return ix, hits[0].Group
}

func TestShareStrategyNames(t *testing.T) {
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
		{"hash_topic", 0, ErrUnknownShareStrategy},
		{"Random", 0, ErrUnknownShareStrategy},
	}
	for _, tc := range tests {
		t.Run("name="+tc.name, func(t *testing.T) {
			got, err := ParseShareStrategy(tc.name)
			if got != tc.want || !errors.Is(err, tc.err) {
				t.Fatalf("ParseShareStrategy(%q) = %v, %v; want %v, %v", tc.name, got, err, tc.want, tc.err)
			}
			if err == nil && tc.name != "" && got.String() != tc.name {
				t.Fatalf("String() = %q, want %q", got.String(), tc.name)
			}
		})
	}
	if _, err := New[string](Config{ShareStrategy: ShareSticky + 1}); !errors.Is(err, ErrUnknownShareStrategy) {
		t.Fatalf("New with strategy %d: %v", ShareSticky+1, err)
	}
}

func TestSharePickDistribution(t *testing.T) {
	const members, picks = 4, 1000
	tests := []struct {
		strategy ShareStrategy
		check    func(t *testing.T, counts map[string]int, order []string)
	}{
		{ShareRoundRobin, func(t *testing.T, counts map[string]int, order []string) {
			for m, c := range counts {
				if c != picks/members {
					t.Errorf("%s picked %d times, want exactly %d", m, c, picks/members)
				}
			}
			for i := members; i < len(order); i++ {
				if order[i] != order[i-members] {
					t.Fatalf("round robin order breaks at %d: %v", i, order[i-members:i+1])
				}
			}
		}},
		{ShareRandom, func(t *testing.T, counts map[string]int, _ []string) {
			// Expected 250 each, standard deviation 13.7: the bounds are seven deviations away.
			for i := range members {
				if c := counts[fmt.Sprintf("m%d", i)]; c < 150 || c > 350 {
					t.Errorf("m%d picked %d times of %d, want about %d", i, c, picks, picks/members)
				}
			}
		}},
		{ShareHashClientID, func(t *testing.T, counts map[string]int, _ []string) {
			if len(counts) != 1 || counts[firstKey(counts)] != picks {
				t.Errorf("one publisher spread over %v, want one member", counts)
			}
		}},
		{ShareSticky, func(t *testing.T, counts map[string]int, _ []string) {
			if len(counts) != 1 {
				t.Errorf("sticky spread over %v, want one member", counts)
			}
		}},
	}
	for _, tc := range tests {
		t.Run("strategy="+tc.strategy.String(), func(t *testing.T) {
			ix, g := shareFixture(t, tc.strategy, members)
			counts := make(map[string]int)
			var order []string
			for range picks {
				sub, opts, ok := ix.Pick(g, []byte("publisher-1"), nil)
				if !ok {
					t.Fatal("Pick: no member")
				}
				if want := byte(sub[1]-'0') % 3; opts.QoS != want {
					t.Fatalf("Pick %s gave options %+v, want QoS %d", sub, opts, want)
				}
				counts[sub]++
				order = append(order, sub)
			}
			tc.check(t, counts, order)
		})
	}
}

func firstKey(m map[string]int) string {
	for k := range m {
		return k
	}
	return ""
}

func TestShareHashClientIDSpreadsPublishers(t *testing.T) {
	ix, g := shareFixture(t, ShareHashClientID, 4)
	first := make(map[string]string)
	counts := make(map[string]int)
	for round := range 3 {
		for p := range 200 {
			pub := fmt.Sprintf("publisher-%d", p)
			sub, _, ok := ix.Pick(g, []byte(pub), nil)
			if !ok {
				t.Fatal("Pick: no member")
			}
			if round == 0 {
				first[pub] = sub
				counts[sub]++
			} else if first[pub] != sub {
				t.Fatalf("%s went to %s, then to %s", pub, first[pub], sub)
			}
		}
	}
	if len(counts) != 4 {
		t.Fatalf("200 publishers reached only %v", counts)
	}
}

func TestSharePickSkipsUnavailable(t *testing.T) {
	for _, strategy := range []ShareStrategy{ShareRoundRobin, ShareRandom, ShareHashClientID, ShareSticky} {
		t.Run("strategy="+strategy.String(), func(t *testing.T) {
			ix, g := shareFixture(t, strategy, 4)
			offline := map[string]bool{"m0": true, "m2": true}
			available := func(s string) bool { return !offline[s] }
			for i := range 200 {
				sub, opts, ok := ix.Pick(g, fmt.Appendf(nil, "p%d", i), available)
				if !ok || offline[sub] {
					t.Fatalf("Pick = %q, %v, want an online member", sub, ok)
				}
				if want := byte(sub[1]-'0') % 3; opts.QoS != want {
					t.Fatalf("Pick %s gave options %+v, want QoS %d", sub, opts, want)
				}
			}
			offline["m1"], offline["m3"] = true, true
			if sub, _, ok := ix.Pick(g, []byte("p"), available); ok {
				t.Fatalf("Pick with every member offline = %q, want none", sub)
			}
			if _, _, ok := ix.Pick(g, []byte("p"), nil); !ok {
				t.Fatal("Pick with nil available found no member")
			}
		})
	}
}

func TestShareStickyMovesWhenMemberGoes(t *testing.T) {
	ix, g := shareFixture(t, ShareSticky, 3)
	first, _, _ := ix.Pick(g, nil, nil)
	down := ""
	available := func(s string) bool { return s != down }
	down = first
	second, _, ok := ix.Pick(g, nil, available)
	if !ok || second == first {
		t.Fatalf("with %s unavailable Pick = %q, %v", first, second, ok)
	}
	down = ""
	for range 50 {
		if s, _, _ := ix.Pick(g, nil, available); s != second {
			t.Fatalf("sticky moved from %s to %s without reason", second, s)
		}
	}
	if ok, err := ix.Unsubscribe(second, "$share/g/t/#"); !ok || err != nil {
		t.Fatalf("Unsubscribe %s = %v, %v", second, ok, err)
	}
	third, _, _ := ix.Pick(g, nil, nil)
	if third == second {
		t.Fatalf("sticky stayed on %s after it left", second)
	}
	// Replacing the sticky member's options keeps it sticky, with the new options.
	if _, err := ix.Subscribe(third, "$share/g/t/#", SubOptions{QoS: 2, ID: 42}); err != nil {
		t.Fatal(err)
	}
	for range 20 {
		if s, opts, _ := ix.Pick(g, nil, nil); s != third || opts.ID != 42 {
			t.Fatalf("after resubscribe Pick = %s %+v, want %s with ID 42", s, opts, third)
		}
	}
}

func TestShareResolve(t *testing.T) {
	ix := newTestIndex(t, ShareRoundRobin)
	subs := []struct{ sub, filter string }{
		{"plain", "t/+"},
		{"a1", "$share/a/t/#"},
		{"a2", "$share/a/t/#"},
		{"b1", "$share/b/t/x"},
		{"q1", "$queue/t/x"},
	}
	for _, s := range subs {
		if _, err := ix.Subscribe(s.sub, s.filter, SubOptions{QoS: 1}); err != nil {
			t.Fatal(err)
		}
	}
	hits := ix.Match([]byte("t/x"), nil)
	if len(hits) != 4 {
		t.Fatalf("Match: %d hits, want 4 (1 plain, 3 groups)", len(hits))
	}
	available := func(s string) bool { return s != "b1" }
	resolved, unserved := ix.Resolve(hits, []byte("pub"), available, nil)
	got := hitNames(resolved)
	if len(got) != 3 || got[2] != "q1" || got[1] != "plain" || (got[0] != "a1" && got[0] != "a2") {
		t.Fatalf("Resolve hits = %v, want [a1|a2 plain q1]", got)
	}
	if len(unserved) != 1 || unserved[0].Name() != "b" || unserved[0].Filter() != "t/x" {
		t.Fatalf("unserved = %v, want group b", unserved)
	}
	// Group a alternates between its members across messages.
	seen := make(map[string]bool)
	for range 4 {
		resolved, _ = ix.Resolve(ix.Match([]byte("t/x"), hits[:0]), []byte("pub"), nil, unserved[:0])
		for _, h := range resolved {
			seen[h.Sub] = true
		}
	}
	if !seen["a1"] || !seen["a2"] {
		t.Fatalf("round robin over group a reached only %v", seen)
	}
	// Resolve allocates nothing with reused slices.
	available = func(s string) bool { return true }
	allocs := testing.AllocsPerRun(100, func() {
		hits = ix.Match([]byte("t/x"), hits[:0])
		hits, unserved = ix.Resolve(hits, []byte("pub"), available, unserved[:0])
	})
	if allocs != 0 {
		t.Fatalf("Match+Resolve allocates %v times, want 0", allocs)
	}
}
