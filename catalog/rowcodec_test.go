package catalog

import (
	"errors"
	"math/rand/v2"
	"reflect"
	"testing"
)

// TestRowCodec round-trips random rows (null and set pointer fields,
// hostile strings, counters) through AppendRow and DecodeRow, and refuses
// every truncation and a trailing byte.
func TestRowCodec(t *testing.T) {
	rows := genRows(rand.New(rand.NewPCG(9, 9)), 200)
	for i := range rows {
		r := &rows[i]
		if i%2 == 0 {
			v := int64(-i)
			r.DisconnectedAt, r.TenantIDFrom = &v, &r.ClientID
		}
		r.Counters.RecvOct = int64(i) << 40
		b := AppendRow(nil, r)
		var got Row
		if err := DecodeRow(b, &got); err != nil || !reflect.DeepEqual(got, *r) {
			t.Fatalf("row %d: %v\n got %+v\nwant %+v", i, err, got, *r)
		}
		for n := range len(b) {
			if err := DecodeRow(b[:n], &got); !errors.Is(err, ErrRowEncoding) {
				t.Fatalf("row %d cut at %d of %d: %v", i, n, len(b), err)
			}
		}
		if err := DecodeRow(append(b, 0), &got); !errors.Is(err, ErrRowEncoding) {
			t.Fatalf("row %d with a trailing byte: %v", i, err)
		}
	}
}

func BenchmarkRowCodec(b *testing.B) {
	r := genRows(rand.New(rand.NewPCG(1, 1)), 1)[0]
	var buf []byte
	var got Row
	for b.Loop() {
		buf = AppendRow(buf[:0], &r)
		if err := DecodeRow(buf, &got); err != nil {
			b.Fatal(err)
		}
	}
}
