package index

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
)

// newTestIndex returns an index of string subscribers with the given strategy.
func newTestIndex(t testing.TB, strategy ShareStrategy) *Index[string] {
	t.Helper()
	ix, err := New[string](Config{ShareStrategy: strategy})
	if err != nil {
		t.Fatal(err)
	}
	return ix
}

// hitNames returns the sorted "sub" names of the ordinary hits and "group@filter" of group hits.
func hitNames(hits []Hit[string]) []string {
	out := make([]string, 0, len(hits))
	for _, h := range hits {
		if h.Group != nil {
			out = append(out, "group:"+h.Group.Name()+"@"+h.Group.Filter())
			continue
		}
		out = append(out, h.Sub)
	}
	slices.Sort(out)
	return out
}

func TestIndexMatchMatrix(t *testing.T) {
	tests := []struct {
		name    string
		filter  string
		match   []string
		nomatch []string
	}{
		{"exact", "a/b/c", []string{"a/b/c"}, []string{"a/b", "a/b/c/d", "a/b/cc", "A/b/c", "/a/b/c"}},
		{"single level", "a", []string{"a"}, []string{"a/", "/a", "b"}},
		{"hash matches everything", "#", []string{"a", "a/b", "/", "/a", "a/", ""}, []string{"$SYS", "$SYS/x", "$share/x"}},
		{"hash matches parent", "a/#", []string{"a", "a/", "a/b", "a/b/c"}, []string{"ab", "b/a", "$a"}},
		{"hash below plus", "+/#", []string{"a", "a/b", "/", "/x"}, []string{"$SYS/x", "$SYS"}},
		{"plus one level", "a/+", []string{"a/b", "a/"}, []string{"a", "a/b/c", "b/a"}},
		{"plus first", "+/b", []string{"a/b", "/b"}, []string{"b", "a/b/c", "$SYS/b"}},
		{"plus only", "+", []string{"a", ""}, []string{"a/b", "/", "$SYS"}},
		{"plus plus", "+/+", []string{"a/b", "/", "/finance", "a/"}, []string{"a", "a/b/c", "$SYS/x"}},
		{"leading slash plus", "/+", []string{"/finance", "/"}, []string{"finance", "a/b"}},
		{"empty levels", "a//b", []string{"a//b"}, []string{"a/b", "a///b"}},
		{"plus matches empty level", "a/+/b", []string{"a//b", "a/x/b"}, []string{"a/b"}},
		{"trailing slash", "a/", []string{"a/"}, []string{"a"}},
		{"sys exact", "$SYS/broker/uptime", []string{"$SYS/broker/uptime"}, []string{"SYS/broker/uptime"}},
		{"sys hash", "$SYS/#", []string{"$SYS", "$SYS/a", "$SYS/a/b"}, []string{"SYS/a", "$SYSX/a"}},
		{"sys plus below", "$SYS/+/uptime", []string{"$SYS/n1/uptime"}, []string{"$SYS/uptime"}},
		{"dollar literal", "$foo", []string{"$foo"}, []string{"foo"}},
		{"wildcard not first", "a/+/#", []string{"a/b", "a/b/c/d", "a/$x"}, []string{"a", "$a/b"}},
		{"dollar below root is literal", "a/+", []string{"a/$b"}, []string{"$a/b"}},
		{"shared exact", "$share/g/a/b", []string{"a/b"}, []string{"a", "$share/g/a/b"}},
		{"shared hash", "$share/g/#", []string{"a", "a/b"}, []string{"$SYS/x"}},
		{"shared plus", "$share/g/+/x", []string{"a/x"}, []string{"$SYS/x", "x"}},
		{"queue", "$queue/q/+", []string{"q/1"}, []string{"q", "$queue/q/1"}},
		{"shared sys", "$share/g/$SYS/#", []string{"$SYS/a"}, []string{"a"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ix := newTestIndex(t, ShareRoundRobin)
			res, err := ix.Subscribe("c1", tc.filter, SubOptions{QoS: 1})
			if err != nil {
				t.Fatalf("Subscribe(%q): %v", tc.filter, err)
			}
			wantShared := strings.HasPrefix(tc.filter, "$share/") || strings.HasPrefix(tc.filter, "$queue/")
			if res.Shared != wantShared || res.Existed {
				t.Fatalf("Subscribe(%q) = %+v, want Shared=%v Existed=false", tc.filter, res, wantShared)
			}
			var hits []Hit[string]
			for _, topic := range tc.match {
				hits = ix.Match([]byte(topic), hits[:0])
				if len(hits) != 1 {
					t.Errorf("Match(%q) against %q: %d hits, want 1", topic, tc.filter, len(hits))
					continue
				}
				if wantShared != (hits[0].Group != nil) {
					t.Errorf("Match(%q): hit %+v, shared=%v", topic, hits[0], wantShared)
				}
				if !wantShared && (hits[0].Sub != "c1" || hits[0].Opts.QoS != 1) {
					t.Errorf("Match(%q): hit %+v", topic, hits[0])
				}
			}
			for _, topic := range tc.nomatch {
				if hits = ix.Match([]byte(topic), hits[:0]); len(hits) != 0 {
					t.Errorf("Match(%q) against %q: %d hits, want 0", topic, tc.filter, len(hits))
				}
			}
		})
	}
}

func TestIndexMatchOverlapping(t *testing.T) {
	ix := newTestIndex(t, ShareRoundRobin)
	subs := []struct{ sub, filter string }{
		{"a", "sport/tennis/player1"},
		{"a", "sport/tennis/+"},
		{"b", "sport/#"},
		{"c", "#"},
		{"d", "+/+/+"},
		{"e", "sport/+/player1/#"},
		{"f", "sport/tennis/player2"},
		{"s1", "$share/g1/sport/#"},
		{"s2", "$share/g1/sport/#"},
		{"s3", "$share/g2/sport/tennis/+"},
		{"q", "$queue/sport/tennis/player1"},
	}
	for _, s := range subs {
		if _, err := ix.Subscribe(s.sub, s.filter, SubOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		topic string
		want  []string
	}{
		{"sport/tennis/player1", []string{"a", "a", "b", "c", "d", "e", "group:$queue@sport/tennis/player1", "group:g1@sport/#", "group:g2@sport/tennis/+"}},
		{"sport/tennis/player2", []string{"a", "b", "c", "d", "f", "group:g1@sport/#", "group:g2@sport/tennis/+"}},
		{"sport", []string{"b", "c", "group:g1@sport/#"}},
		{"sport/tennis/player1/ranking", []string{"b", "c", "e", "group:g1@sport/#"}},
		{"$SYS/a/b", nil},
		{"other", []string{"c"}},
	}
	for _, tc := range tests {
		t.Run("topic="+tc.topic, func(t *testing.T) {
			got := hitNames(ix.Match([]byte(tc.topic), nil))
			if !slices.Equal(got, tc.want) {
				t.Fatalf("Match(%q) = %v, want %v", tc.topic, got, tc.want)
			}
		})
	}
}

func TestIndexSubscribeErrors(t *testing.T) {
	tests := []struct {
		name   string
		filter string
		opts   SubOptions
		want   error
	}{
		{"empty", "", SubOptions{}, ErrBadFilter},
		{"hash not last", "a/#/b", SubOptions{}, ErrBadFilter},
		{"hash in level", "a/b#", SubOptions{}, ErrBadFilter},
		{"plus in level", "a/b+/c", SubOptions{}, ErrBadFilter},
		{"nul", "a/\x00", SubOptions{}, ErrBadFilter},
		{"bad utf8", "a/\xff", SubOptions{}, ErrBadFilter},
		{"too long", strings.Repeat("a", 65536), SubOptions{}, ErrBadFilter},
		{"share without filter", "$share/g", SubOptions{}, ErrBadFilter},
		{"share empty filter", "$share/g/", SubOptions{}, ErrBadFilter},
		{"share empty group", "$share//a", SubOptions{}, ErrBadFilter},
		{"share wildcard group", "$share/g+/a", SubOptions{}, ErrBadFilter},
		{"share hash group", "$share/#/a", SubOptions{}, ErrBadFilter},
		{"share bad inner", "$share/g/a/#/b", SubOptions{}, ErrBadFilter},
		{"queue empty", "$queue/", SubOptions{}, ErrBadFilter},
		{"share no local", "$share/g/a", SubOptions{NoLocal: true}, ErrShareNoLocal},
		{"queue no local", "$queue/a", SubOptions{NoLocal: true}, ErrShareNoLocal},
		{"ok long", strings.Repeat("a", 65535), SubOptions{}, nil},
		{"ok no local", "a/b", SubOptions{NoLocal: true}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ix := newTestIndex(t, ShareRoundRobin)
			_, err := ix.Subscribe("c", tc.filter, tc.opts)
			if !errors.Is(err, tc.want) {
				t.Fatalf("Subscribe(%q) = %v, want %v", tc.filter, err, tc.want)
			}
			wantLen := 0
			if tc.want == nil {
				wantLen = 1
			}
			if ix.Len() != wantLen {
				t.Fatalf("Len = %d, want %d", ix.Len(), wantLen)
			}
			if tc.want != nil {
				if _, err := ix.Unsubscribe("c", tc.filter); tc.want == ErrBadFilter && !errors.Is(err, ErrBadFilter) {
					t.Fatalf("Unsubscribe(%q) = %v, want %v", tc.filter, err, ErrBadFilter)
				}
			}
		})
	}
}

func TestIndexSubscribeReplaceAndCounts(t *testing.T) {
	ix := newTestIndex(t, ShareRoundRobin)
	steps := []struct {
		op       string // "sub" or "unsub"
		sub      string
		filter   string
		qos      byte
		existed  bool // sub: SubscribeResult.Existed; unsub: the result
		total    int
		perSub   int
		nSubbers int
	}{
		{"sub", "a", "x/y", 0, false, 1, 1, 1},
		{"sub", "a", "x/y", 2, true, 1, 1, 1},
		{"sub", "a", "x/+", 1, false, 2, 2, 1},
		{"sub", "b", "x/y", 1, false, 3, 1, 2},
		{"sub", "a", "$share/g/x/y", 1, false, 4, 3, 2},
		{"sub", "a", "$share/g/x/y", 2, true, 4, 3, 2},
		{"sub", "a", "$share/h/x/y", 1, false, 5, 4, 2},
		{"unsub", "a", "x/z", 0, false, 5, 4, 2},
		{"unsub", "a", "$share/g/x/y", 0, true, 4, 3, 2},
		{"unsub", "a", "$share/g/x/y", 0, false, 4, 3, 2},
		{"unsub", "b", "x/y", 0, true, 3, 0, 1},
		{"unsub", "a", "x/y", 0, true, 2, 2, 1},
		{"unsub", "a", "x/+", 0, true, 1, 1, 1},
		{"unsub", "a", "$share/h/x/y", 0, true, 0, 0, 0},
	}
	for i, st := range steps {
		t.Run(fmt.Sprintf("step=%d/%s/%s/%s", i, st.op, st.sub, st.filter), func(t *testing.T) {
			switch st.op {
			case "sub":
				res, err := ix.Subscribe(st.sub, st.filter, SubOptions{QoS: st.qos})
				if err != nil || res.Existed != st.existed {
					t.Fatalf("Subscribe = %+v, %v; want Existed=%v", res, err, st.existed)
				}
			case "unsub":
				ok, err := ix.Unsubscribe(st.sub, st.filter)
				if err != nil || ok != st.existed {
					t.Fatalf("Unsubscribe = %v, %v; want %v", ok, err, st.existed)
				}
			}
			if ix.Len() != st.total || ix.SubscriptionsOf(st.sub) != st.perSub || ix.Subscribers() != st.nSubbers {
				t.Fatalf("Len=%d SubscriptionsOf(%s)=%d Subscribers=%d, want %d %d %d",
					ix.Len(), st.sub, ix.SubscriptionsOf(st.sub), ix.Subscribers(), st.total, st.perSub, st.nSubbers)
			}
		})
	}
	t.Run("replaced options are matched", func(t *testing.T) {
		ix := newTestIndex(t, ShareRoundRobin)
		for _, q := range []byte{0, 2, 1} {
			if _, err := ix.Subscribe("a", "t", SubOptions{QoS: q, ID: uint32(q) + 7}); err != nil {
				t.Fatal(err)
			}
		}
		hits := ix.Match([]byte("t"), nil)
		if len(hits) != 1 || hits[0].Opts.QoS != 1 || hits[0].Opts.ID != 8 {
			t.Fatalf("hits = %+v, want one with QoS 1 ID 8", hits)
		}
	})
	t.Run("trie pruned", func(t *testing.T) {
		ix.mu.Lock()
		nodes := ix.nodes
		ix.mu.Unlock()
		if nodes != 0 || ix.root.children.Load() != nil || ix.root.plus.Load() != nil || ix.root.hash.Load() != nil {
			t.Fatalf("after removing everything: nodes=%d root=%+v", nodes, ix.root)
		}
	})
}

// TestIndexManySubscribers grows and shrinks one node's subscriber table and the root's children
// table through several rebuilds and checks that every subscription stays reachable.
func TestIndexManySubscribers(t *testing.T) {
	ix := newTestIndex(t, ShareRoundRobin)
	const n = 2000
	for i := range n {
		if _, err := ix.Subscribe(fmt.Sprintf("c%d", i), "fan/out", SubOptions{}); err != nil {
			t.Fatal(err)
		}
		if _, err := ix.Subscribe("one", fmt.Sprintf("dev%d/+", i), SubOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	check := func(t *testing.T, lo int) {
		t.Helper()
		got := ix.Match([]byte("fan/out"), nil)
		if len(got) != n-lo {
			t.Fatalf("fan/out: %d hits, want %d", len(got), n-lo)
		}
		seen := make(map[string]bool)
		for _, h := range got {
			if seen[h.Sub] {
				t.Fatalf("duplicate hit %q", h.Sub)
			}
			seen[h.Sub] = true
		}
		for i := range n {
			want := 1
			if i < lo {
				want = 0
			}
			if got := len(ix.Match(fmt.Appendf(nil, "dev%d/x", i), nil)); got != want {
				t.Fatalf("dev%d/x: %d hits, want %d", i, got, want)
			}
		}
	}
	check(t, 0)
	for i := range n - 3 {
		if ok, _ := ix.Unsubscribe(fmt.Sprintf("c%d", i), "fan/out"); !ok {
			t.Fatalf("Unsubscribe c%d: not found", i)
		}
		if ok, _ := ix.Unsubscribe("one", fmt.Sprintf("dev%d/+", i)); !ok {
			t.Fatalf("Unsubscribe dev%d: not found", i)
		}
	}
	check(t, n-3)
	if ix.Len() != 6 || ix.SubscriptionsOf("one") != 3 {
		t.Fatalf("Len=%d SubscriptionsOf(one)=%d, want 6 and 3", ix.Len(), ix.SubscriptionsOf("one"))
	}
	if cells := len(ix.root.children.Load().cells); cells > 16 {
		t.Fatalf("root children table kept %d cells for 4 children", cells)
	}
}

// TestIndexConcurrentReaders runs readers that check invariants of a stable set of subscriptions
// while a writer churns other subscriptions on the same nodes. Run it with -race.
func TestIndexConcurrentReaders(t *testing.T) {
	ix := newTestIndex(t, ShareRoundRobin)
	stable := []string{"s/a/b", "s/+/b", "s/#", "#"}
	for i, f := range stable {
		if _, err := ix.Subscribe(fmt.Sprintf("stable%d", i), f, SubOptions{QoS: 1}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := ix.Subscribe("member", "$share/g/s/a/b", SubOptions{}); err != nil {
		t.Fatal(err)
	}
	const rounds = 2000
	var stop atomic.Bool
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	for r := range 3 {
		wg.Go(func() {
			var hits []Hit[string]
			for i := 0; !stop.Load() && i < 1_000_000; i++ {
				hits = ix.Match([]byte("s/a/b"), hits[:0])
				stableSeen, groups := 0, 0
				for _, h := range hits {
					if strings.HasPrefix(h.Sub, "stable") {
						stableSeen++
					}
					if h.Group != nil {
						groups++
						if _, _, ok := ix.Pick(h.Group, nil, nil); !ok && h.Group.Name() == "g" {
							errs <- fmt.Errorf("reader %d: stable group g has no member", r)
							return
						}
					}
				}
				if stableSeen != len(stable) || groups < 1 {
					errs <- fmt.Errorf("reader %d: %d stable hits, %d groups; want %d and >=1", r, stableSeen, groups, len(stable))
					return
				}
			}
		})
	}
	for i := range rounds {
		f := []string{"s/a/b", "s/+/b", "s/#", "s/a/+", "$share/g/s/a/b", "$share/h/s/#", fmt.Sprintf("s/a/b/%d", i%50)}[i%7]
		sub := fmt.Sprintf("churn%d", i%97)
		if _, err := ix.Subscribe(sub, f, SubOptions{QoS: byte(i % 3)}); err != nil {
			t.Fatal(err)
		}
		if i%3 != 0 {
			if _, err := ix.Unsubscribe(sub, f); err != nil {
				t.Fatal(err)
			}
		}
	}
	stop.Store(true)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

func TestIndexMatchAllocs(t *testing.T) {
	ix := newTestIndex(t, ShareRoundRobin)
	for i := range 1000 {
		sub := fmt.Sprintf("c%d", i)
		for _, f := range []string{fmt.Sprintf("dev/%d/temp", i), "dev/+/temp", "dev/#", fmt.Sprintf("$share/g/dev/%d/+", i%10)} {
			if _, err := ix.Subscribe(sub, f, SubOptions{QoS: 1}); err != nil {
				t.Fatal(err)
			}
		}
	}
	hits := make([]Hit[string], 0, 4096)
	topic := []byte("dev/7/temp")
	if got := len(ix.Match(topic, hits[:0])); got != 1+1000+1000+1 {
		t.Fatalf("Match: %d hits, want 2002", got)
	}
	allocs := testing.AllocsPerRun(200, func() {
		hits = ix.Match(topic, hits[:0])
	})
	if allocs != 0 {
		t.Fatalf("Match allocates %v times per call, want 0", allocs)
	}
}
