package shards

import (
	"testing"
	"time"
)

// TestSnapshotBatches checks what a shard's snapshot hands the sink: a
// lifecycle row carries the counters, so a session is sent as a stats
// update only when they changed after its row; batches are allocated at
// their final size; ended sessions are not sent.
func TestSnapshotBatches(t *testing.T) {
	tests := []struct {
		name string
		// life and stats mark sessions (by index) before the first
		// snapshot; after marks sessions between the two snapshots.
		life, stats, after []int
		dead               []int
		wantRows           int
		wantStats          []int // sessions in the second snapshot's stats update
	}{
		{name: "connect_only", life: []int{0, 1, 2}, wantRows: 3},
		{name: "counters_after_row", life: []int{0, 1, 2}, after: []int{1}, wantRows: 3, wantStats: []int{1}},
		{name: "stats_without_row", stats: []int{0, 2}, wantStats: []int{0, 2}},
		{name: "marked_twice", life: []int{0}, after: []int{0, 0}, wantRows: 1, wantStats: []int{0}},
		{name: "ended", life: []int{0, 1}, dead: []int{1}, after: []int{0, 1}, wantRows: 1, wantStats: []int{0}},
	}
	for _, tt := range tests {
		t.Run("case="+tt.name, func(t *testing.T) {
			sink := newMemSink()
			b, err := New(Config{Sink: sink, StatsInterval: time.Second})
			if err != nil {
				t.Fatal(err)
			}
			sh := newShard(b, nil, 0)
			now := time.Unix(1000, 0)
			ss := make([]*session, 3)
			for i := range ss {
				ss[i] = newSession(sh, string(rune('a'+i)), now)
			}
			for _, i := range tt.life {
				ss[i].markLife()
			}
			for _, i := range tt.stats {
				ss[i].markStats()
			}
			for _, i := range tt.dead {
				ss[i].dead = true
			}
			sh.snapshot(now)
			for _, i := range tt.after {
				ss[i].count(cRecvPkt)
				ss[i].markStats()
			}
			sh.snapshot(now.Add(2 * time.Second))

			var rows []ClientRow
			var ups []StatsUpdate
			for len(sink.ch) > 0 {
				switch v := (<-sink.ch).(type) {
				case []ClientRow:
					if cap(v) != len(v) && len(tt.dead) == 0 {
						t.Errorf("row batch len %d cap %d, want one allocation at its size", len(v), cap(v))
					}
					rows = append(rows, v...)
				case []StatsUpdate:
					if cap(v) != len(v) {
						t.Errorf("stats batch len %d cap %d, want one allocation at its size", len(v), cap(v))
					}
					ups = append(ups, v...)
				}
			}
			if len(rows) != tt.wantRows {
				t.Errorf("rows %d, want %d", len(rows), tt.wantRows)
			}
			var got []string
			for _, u := range ups {
				got = append(got, u.ClientID)
			}
			var want []string
			for _, i := range tt.wantStats {
				want = append(want, ss[i].id)
			}
			if len(got) != len(want) {
				t.Fatalf("stats updates %v, want %v", got, want)
			}
			for i := range got {
				if got[i] != want[i] {
					t.Fatalf("stats updates %v, want %v", got, want)
				}
			}
		})
	}
}
