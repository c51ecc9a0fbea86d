package catalog

import (
	"math"
	"testing"
)

func TestPackedCounters(t *testing.T) {
	tests := []struct {
		name string
		ctr  Counters
		big  bool
	}{
		{name: "zero", ctr: Counters{}},
		{name: "small", ctr: Counters{RecvOct: 12, SendPkt: 3, MailboxLen: 7}},
		{name: "max32", ctr: Counters{RecvOct: math.MaxUint32}},
		{name: "above32", ctr: Counters{SendOct: math.MaxUint32 + 1, RecvCnt: 5}, big: true},
		{name: "negative", ctr: Counters{InflightCnt: -1, RecvPkt: 9}, big: true},
	}
	for _, tt := range tests {
		t.Run("case="+tt.name, func(t *testing.T) {
			var b bigCounters
			var p, other packedCounters
			b.set(&other, &Counters{RecvCnt: -5})
			b.set(&p, &Counters{SendOct: math.MaxInt64}) // a previous big value is replaced
			b.set(&p, &tt.ctr)
			if (p.big != 0) != tt.big {
				t.Fatalf("big = %v, want %v", p.big != 0, tt.big)
			}
			for i := range numStats {
				if got, want := b.at(&p, i), ctrAt(&tt.ctr, i); got != want {
					t.Errorf("at(%d) = %d, want %d", i, got, want)
				}
			}
			if got := b.at(&other, 10); got != -5 { // recv_cnt
				t.Errorf("another row's full copy changed: %d", got)
			}
			// Full copies are reused once released.
			b.release(&p)
			b.set(&p, &Counters{SendOct: -1})
			if len(b.rows) != 2 {
				t.Errorf("%d full copies for 2 big rows", len(b.rows))
			}
		})
	}
}
