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
			var p packedCounters
			p.set(&Counters{SendOct: math.MaxInt64}) // a previous big value is replaced
			p.set(&tt.ctr)
			if (p.big != nil) != tt.big {
				t.Fatalf("big = %v, want %v", p.big != nil, tt.big)
			}
			for i := range numStats {
				if got, want := p.at(i), ctrAt(&tt.ctr, i); got != want {
					t.Errorf("at(%d) = %d, want %d", i, got, want)
				}
			}
		})
	}
}
