package index

import (
	"fmt"
	"slices"
	"testing"
)

func TestFolderFold(t *testing.T) {
	hit := func(sub string, qos byte, id uint32) Hit[string] {
		return Hit[string]{Sub: sub, Opts: SubOptions{QoS: qos, ID: id}}
	}
	type want struct {
		sub string
		qos byte
		rap bool
		ids []uint32
	}
	tests := []struct {
		name      string
		perSub    bool
		publisher string
		hits      []Hit[string]
		want      []want
	}{
		{
			name: "one copy at highest qos with every id",
			hits: []Hit[string]{hit("a", 0, 1), hit("b", 1, 0), hit("a", 2, 0), hit("a", 1, 3)},
			want: []want{{"a", 2, false, []uint32{1, 3}}, {"b", 1, false, nil}},
		},
		{
			// a's identifiers are not next to each other in hit order: laid out again.
			name: "ids of matches apart stay in hit order",
			hits: []Hit[string]{hit("a", 0, 1), hit("b", 1, 2), hit("a", 1, 3), hit("b", 0, 0), hit("a", 0, 4)},
			want: []want{{"a", 1, false, []uint32{1, 3, 4}}, {"b", 1, false, []uint32{2}}},
		},
		{
			name:   "one copy per subscription",
			perSub: true,
			hits:   []Hit[string]{hit("a", 0, 1), hit("b", 1, 0), hit("a", 2, 0), hit("a", 1, 3)},
			want:   []want{{"a", 0, false, []uint32{1}}, {"b", 1, false, nil}, {"a", 2, false, nil}, {"a", 1, false, []uint32{3}}},
		},
		{
			name:      "no local skips only the publisher's no-local subscriptions",
			publisher: "a",
			hits: []Hit[string]{
				{Sub: "a", Opts: SubOptions{QoS: 2, NoLocal: true, ID: 9}},
				{Sub: "a", Opts: SubOptions{QoS: 1, ID: 4}},
				{Sub: "b", Opts: SubOptions{QoS: 1, NoLocal: true}},
			},
			want: []want{{"a", 1, false, []uint32{4}}, {"b", 1, false, nil}},
		},
		{
			name: "retain as published is or-ed",
			hits: []Hit[string]{{Sub: "a"}, {Sub: "a", Opts: SubOptions{RetainAsPublished: true}}, {Sub: "b"}},
			want: []want{{"a", 0, true, nil}, {"b", 0, false, nil}},
		},
		{
			name: "unresolved group hits are skipped",
			hits: []Hit[string]{{Group: &ShareGroup[string]{name: "g"}}, hit("a", 1, 5)},
			want: []want{{"a", 1, false, []uint32{5}}},
		},
		{
			name: "empty",
			want: nil,
		},
	}
	// The map path (more than foldMapThreshold hits) must give the same result as the linear one.
	var many []Hit[string]
	var manyWant []want
	for i := range 3 * foldMapThreshold {
		many = append(many, hit(fmt.Sprintf("c%d", i%10), byte(i%3), uint32(i+1)))
	}
	for c := range 10 {
		w := want{sub: fmt.Sprintf("c%d", c)}
		for i := c; i < 3*foldMapThreshold; i += 10 {
			w.qos = max(w.qos, byte(i%3))
			w.ids = append(w.ids, uint32(i+1))
		}
		manyWant = append(manyWant, w)
	}
	tests = append(tests, struct {
		name      string
		perSub    bool
		publisher string
		hits      []Hit[string]
		want      []want
	}{name: "many hits through the map", hits: many, want: manyWant})

	f := &Folder[string]{} // one folder for every case: scratch reuse must not leak between calls
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f.PerSubscription = tc.perSub
			got := f.Fold(tc.hits, tc.publisher)
			if len(got) != len(tc.want) {
				t.Fatalf("Fold gave %d deliveries %+v, want %d", len(got), got, len(tc.want))
			}
			for i, d := range got {
				w := tc.want[i]
				if d.Sub != w.sub || d.QoS != w.qos || d.RetainAsPublished != w.rap || !slices.Equal(d.IDs, w.ids) {
					t.Errorf("delivery %d = {%s qos=%d rap=%v ids=%v}, want %+v", i, d.Sub, d.QoS, d.RetainAsPublished, d.IDs, w)
				}
			}
		})
	}
}

func TestFolderAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector allocates inside map operations")
	}
	for _, n := range []int{8, 64} {
		t.Run(fmt.Sprintf("hits=%d", n), func(t *testing.T) {
			hits := make([]Hit[string], n)
			for i := range hits {
				hits[i] = Hit[string]{Sub: fmt.Sprintf("c%d", i%5), Opts: SubOptions{QoS: byte(i % 3), ID: uint32(i)}}
			}
			f := &Folder[string]{}
			f.Fold(hits, "")
			allocs := testing.AllocsPerRun(100, func() { f.Fold(hits, "") })
			if allocs != 0 {
				t.Fatalf("Fold allocates %v times per call, want 0", allocs)
			}
		})
	}
}
