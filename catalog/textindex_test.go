package catalog

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"
)

// TestTextIndexMatchesContains drives a textIndex with random adds, kills
// and compactions and compares every search with strings.Contains.
func TestTextIndexMatchesContains(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	var x textIndex
	live := map[uint32]string{}  // slot → value
	entry := map[uint32]uint32{} // slot → entry
	alphabet := []string{"a", "b", "ab", "%", "_", "\\", "é", "\xff", "\x00"}
	for step := range 4000 {
		slot := uint32(rng.IntN(600))
		if e, ok := entry[slot]; ok && rng.IntN(2) == 0 {
			x.kill(e)
			delete(entry, slot)
			delete(live, slot)
		} else if !ok {
			var b strings.Builder
			for range rng.IntN(6) {
				b.WriteString(alphabet[rng.IntN(len(alphabet))])
			}
			live[slot] = b.String()
			entry[slot] = x.add(b.String(), slot)
		}
		if step%100 == 0 || x.needsCompact() {
			x.compact(func(s, e uint32) { entry[s] = e })
		}
		for s, e := range entry {
			if got := string(x.value(e)); got != live[s] {
				t.Fatalf("step %d: slot %d holds %q, want %q", step, s, got, live[s])
			}
		}
		needle := alphabet[rng.IntN(len(alphabet)-1)] + alphabet[rng.IntN(len(alphabet)-1)][:rng.IntN(2)]
		got := map[uint32]bool{}
		x.each(needle, func(s uint32) bool {
			if got[s] {
				t.Fatalf("slot %d reported twice", s)
			}
			got[s] = true
			return true
		})
		for s, v := range live {
			if strings.Contains(v, needle) != got[s] {
				t.Fatalf("step %d: needle %q on %q: got %v", step, needle, v, got[s])
			}
		}
	}
}

// TestLikeAfterChurn removes most rows (compacting the text indexes) and
// renames users, then checks like_ filters against brute force.
func TestLikeAfterChurn(t *testing.T) {
	ctx := context.Background()
	c := newTestCatalog(t, Config{})
	var rows []Row
	for i := range 3000 {
		r := row(fmt.Sprintf("dev-%04d", i), []ConnState{Connected, Disconnected}[i%2])
		r.Username = fmt.Sprintf("user-%d", i%37)
		rows = append(rows, r)
	}
	c.Upsert(rows)
	flush(t, c)
	var gone []string
	for i := range 2500 {
		gone = append(gone, rows[i].ClientID)
	}
	c.Remove(gone)
	rows = rows[2500:]
	for i := range rows {
		if i%3 == 0 {
			rows[i].Username = fmt.Sprintf("renamed-%d", i%11)
		}
	}
	c.Upsert(rows)
	flush(t, c)
	for _, f := range []Filter{
		{LikeClientID: "9"}, {LikeClientID: "dev-2"}, {LikeUsername: "renamed"}, {LikeUsername: "user-1"},
		{LikeClientID: "1", LikeUsername: "-1"}, {LikeClientID: "2", ConnState: Disconnected},
		{LikeClientID: "3", CreatedAt: Range{Gte: ptr(int64(0))}}, {LikeUsername: "e", Desc: true, OrderBy: "username"},
	} {
		f.Limit = 50
		got, err := c.List(ctx, f)
		if err != nil {
			t.Fatal(err)
		}
		checkPage(t, &f, got, bruteForce(&f, rows), 0)
	}
	if c.ids.needsCompact() || len(c.ids.slots) > 2*(len(rows)+1024) {
		t.Fatalf("ids index not compacted: %d dead of %d", c.ids.dead, len(c.ids.slots))
	}
}

// TestTextIndexCompactShortValues compacts an index whose dead entries are
// shorter than 8 bytes (empty usernames are common): the rebuilt buffer's
// size must come from the bytes really held, not an estimate per entry,
// which once went negative and panicked with 10,000 anonymous clients.
func TestTextIndexCompactShortValues(t *testing.T) {
	var x textIndex
	const n = 5000
	for i := 0; i < n; i++ {
		v := ""
		if i%10 == 0 {
			v = "user-" + strconv.Itoa(i)
		}
		x.add(v, uint32(i))
	}
	for e := 0; e < n; e++ {
		if e%10 != 0 {
			x.kill(uint32(e))
		}
	}
	if !x.needsCompact() {
		t.Fatalf("needsCompact false with %d dead of %d", x.dead, len(x.slots))
	}
	x.compact(func(slot, entry uint32) {})
	if x.dead != 0 || len(x.slots) != n/10 {
		t.Fatalf("after compact: dead %d, entries %d; want 0, %d", x.dead, len(x.slots), n/10)
	}
	var got []uint32
	x.each("user-", func(slot uint32) bool { got = append(got, slot); return true })
	if len(got) != n/10 || got[0] != 0 || got[len(got)-1] != n-10 {
		t.Fatalf("each after compact: %d slots, first/last %v", len(got), got[:min(3, len(got))])
	}
}
