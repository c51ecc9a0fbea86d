package index

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/shardmq/shardmq/mqtt"
)

// randomFilter returns a valid topic filter of 1..4 levels drawn from a small alphabet, so that
// random topics hit them often; about one in five is shared.
func randomFilter(r *rand.Rand) string {
	levels := []string{"a", "b", "", "$s", "+", "+", "ab"}
	n := 1 + r.IntN(4)
	parts := make([]string, 0, n)
	for i := range n {
		if i == n-1 && r.IntN(4) == 0 {
			parts = append(parts, "#")
			break
		}
		parts = append(parts, levels[r.IntN(len(levels))])
	}
	f := strings.Join(parts, "/")
	if f == "" {
		f = "/" // a single empty level is not a valid filter; two are
	}
	switch r.IntN(10) {
	case 0:
		return "$share/g" + fmt.Sprint(r.IntN(2)) + "/" + f
	case 1:
		return "$queue/" + f
	}
	return f
}

// randomTopic returns a valid topic name of 1..5 levels from the filters' alphabet.
func randomTopic(r *rand.Rand) string {
	levels := []string{"a", "b", "", "$s", "$SYS", "ab", "c"}
	n := 1 + r.IntN(5)
	parts := make([]string, n)
	for i := range parts {
		parts[i] = levels[r.IntN(len(levels))]
	}
	if t := strings.Join(parts, "/"); t != "" {
		return t
	}
	return "/" // a single empty level is not a valid topic name; two are

}

// TestIndexMatchProperty subscribes random filters, unsubscribes some, and checks that Match returns
// exactly what a brute-force scan with mqtt.Match finds, for random topics.
func TestIndexMatchProperty(t *testing.T) {
	deadline := time.Now().Add(5 * time.Second)
	for seed := uint64(1); seed <= 30 && time.Now().Before(deadline); seed++ {
		t.Run(fmt.Sprintf("seed=%d", seed), func(t *testing.T) {
			r := rand.New(rand.NewPCG(seed, seed*7919))
			ix := newTestIndex(t, ShareRoundRobin)
			type sub struct{ who, filter string }
			live := make(map[sub]bool)
			for i := range 300 {
				s := sub{fmt.Sprintf("c%d", r.IntN(40)), randomFilter(r)}
				if i%4 == 3 && len(live) > 0 {
					// Unsubscribe a live one half the time, a random (maybe absent) one otherwise.
					for k := range live {
						s = k
						break
					}
				}
				if live[s] && r.IntN(2) == 0 {
					if ok, err := ix.Unsubscribe(s.who, s.filter); !ok || err != nil {
						t.Fatalf("Unsubscribe(%v) = %v, %v", s, ok, err)
					}
					delete(live, s)
					continue
				}
				res, err := ix.Subscribe(s.who, s.filter, SubOptions{})
				if err != nil || res.Existed != live[s] {
					t.Fatalf("Subscribe(%v) = %+v, %v; live=%v", s, res, err, live[s])
				}
				live[s] = true
			}
			if ix.Len() != len(live) {
				t.Fatalf("Len = %d, want %d", ix.Len(), len(live))
			}
			var hits []Hit[string]
			for range 300 {
				topic := randomTopic(r)
				var want []string
				groups := make(map[string]bool)
				for s := range live {
					group, filter, shared := mqtt.ParseShare([]byte(s.filter))
					if !shared {
						filter = []byte(s.filter)
					}
					if !mqtt.Match(filter, []byte(topic)) {
						continue
					}
					if shared {
						groups["group:"+string(group)+"@"+string(filter)] = true
					} else {
						want = append(want, s.who)
					}
				}
				for g := range groups {
					want = append(want, g)
				}
				slices.Sort(want)
				hits = ix.Match([]byte(topic), hits[:0])
				if got := hitNames(hits); !slices.Equal(got, want) {
					t.Fatalf("Match(%q) = %v, brute force %v", topic, got, want)
				}
			}
		})
	}
}

// FuzzIndexMatch subscribes one filter and checks Match against mqtt.Match for one topic; invalid
// filters must be refused with ErrBadFilter, valid topics only are published.
func FuzzIndexMatch(f *testing.F) {
	seeds := [][2]string{
		{"a/#", "a"}, {"+/+", "/"}, {"#", "$SYS/x"}, {"$share/g/a/+", "a/b"}, {"$queue/#", "x"},
		{"a//b", "a//b"}, {"+", ""}, {"a/+/#", "a/b/c"}, {"$SYS/#", "$SYS"}, {"a/#/b", "a"},
	}
	for _, s := range seeds {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, filter, topic string) {
		ix := newTestIndex(t, ShareRoundRobin)
		_, err := ix.Subscribe("c", filter, SubOptions{})
		if mqtt.ValidTopicFilter([]byte(filter)) != nil {
			if !errors.Is(err, ErrBadFilter) || ix.Len() != 0 {
				t.Fatalf("Subscribe(%q) = %v, Len %d; want ErrBadFilter", filter, err, ix.Len())
			}
			return
		}
		if err != nil {
			t.Fatalf("Subscribe(%q): %v", filter, err)
		}
		if mqtt.ValidTopicName([]byte(topic)) != nil {
			return
		}
		inner := []byte(filter)
		if _, f, ok := mqtt.ParseShare(inner); ok {
			inner = f
		}
		want := mqtt.Match(inner, []byte(topic))
		if got := len(ix.Match([]byte(topic), nil)) == 1; got != want {
			t.Fatalf("Match(%q) against %q = %v, mqtt.Match = %v", topic, filter, got, want)
		}
		if ok, err := ix.Unsubscribe("c", filter); !ok || err != nil || ix.Len() != 0 || !ix.root.empty() {
			t.Fatalf("Unsubscribe(%q) = %v, %v; Len %d", filter, ok, err, ix.Len())
		}
	})
}
