package catalog

import (
	"reflect"
	"testing"
	"unsafe"
)

// TestCountersLayout guards what ctrAt and ctrPtr assume, that Counters is
// laid out like [numStats]int64 in statFields order, and what the writer
// assumes, that statFields lists every Counters field once in the order
// of statNames and of the counter columns, which are the last columns
// from statColumn0 on: a field out of place would write one counter into
// another's column.
func TestCountersLayout(t *testing.T) {
	if unsafe.Sizeof(Counters{}) != numStats*8 {
		t.Fatalf("Counters is %d bytes, want %d", unsafe.Sizeof(Counters{}), numStats*8)
	}
	if n := reflect.TypeFor[Counters]().NumField(); n != numStats {
		t.Fatalf("Counters has %d fields, want %d", n, numStats)
	}
	if statColumn0+numStats != len(Columns) {
		t.Fatalf("counter columns are %d..%d of %d", statColumn0, statColumn0+numStats, len(Columns))
	}
	for i := range numStats {
		var c Counters
		*statFields(&c)[i] = 1
		if ctrAt(&c, i) != 1 || ctrPtr(&c, i) != statFields(&c)[i] {
			t.Fatalf("counter %d (%s) is not where statFields puts it", i, statNames[i])
		}
		v := reflect.ValueOf(c)
		var tags []string
		for k := range v.NumField() {
			if v.Field(k).Int() != 0 {
				tags = append(tags, v.Type().Field(k).Tag.Get("db"))
			}
		}
		col := Columns[statColumn0+i]
		if len(tags) != 1 || tags[0] != col.SQL || col.Name != statNames[i] || col.stat != i {
			t.Fatalf("statFields[%d] sets %v, want the field of column %s", i, tags, col.Name)
		}
	}
}

// statFields returns pointers to the Counters fields in column order.
func statFields(s *Counters) [numStats]*int64 {
	return [numStats]*int64{
		&s.SubscriptionsCnt, &s.SubscriptionsMax, &s.InflightCnt, &s.InflightMax,
		&s.MqueueLen, &s.MqueueMax, &s.MqueueDropped, &s.AwaitingRelCnt, &s.AwaitingRelMax,
		&s.RecvOct, &s.RecvCnt, &s.RecvPkt, &s.RecvMsg, &s.RecvMsgQoS0, &s.RecvMsgQoS1,
		&s.RecvMsgQoS2, &s.RecvMsgDropped, &s.RecvMsgDroppedAwaitPubrelTimeout,
		&s.SendOct, &s.SendCnt, &s.SendPkt, &s.SendMsg, &s.SendMsgQoS0, &s.SendMsgQoS1,
		&s.SendMsgQoS2, &s.SendMsgDropped, &s.SendMsgDroppedExpired,
		&s.SendMsgDroppedQueueFull, &s.SendMsgDroppedTooLarge,
		&s.MailboxLen, &s.HeapSize, &s.Reductions,
	}
}
