package retained

import (
	"fmt"
	"testing"
	"time"
)

// BenchmarkRetainMatch measures a retained lookup by a filter with a literal prefix in a store of
// 100,000 messages.
func BenchmarkRetainMatch(b *testing.B) {
	s, err := New(Config{})
	if err != nil {
		b.Fatal(err)
	}
	for i := range 100000 {
		if err := s.Set(&Message{Topic: fmt.Sprintf("site/%d/dev/%d", i%100, i), Payload: []byte("v")}); err != nil {
			b.Fatal(err)
		}
	}
	for _, filter := range []string{"site/7/dev/7", "site/7/dev/+", "site/+/dev/7"} {
		b.Run("filter="+filter, func(b *testing.B) {
			var dst []*Message
			b.ReportAllocs()
			for i := 0; i < b.N; i++ {
				dst = s.Match(filter, time.Time{}, dst[:0])
			}
			b.ReportMetric(float64(len(dst)), "msgs/op")
		})
	}
}
