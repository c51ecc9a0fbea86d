package disk

import (
	"bytes"
	"reflect"
	"testing"

	"github.com/shardmq/shardmq/shards/store"
)

// FuzzRecords decodes arbitrary bytes as every kind of stored record and
// key: no panic, and what decodes encodes to bytes that decode to the
// same value.
func FuzzRecords(f *testing.F) {
	f.Add(appendSession(nil, full()))
	f.Add(appendSession(nil, session("c", "a/b")))
	op := queued("c", 1, full().Will)
	op.SubIDs = []uint32{1, 300}
	f.Add(appendDelivery(nil, &op, 0))
	f.Add(appendDelivery(nil, &op, 1<<40))
	f.Add(appendMessage(nil, full().Will))
	f.Add(appendFlight(nil, 7, true))
	f.Add(appendMessageKey(nil, "c", 9, seqFlight))
	f.Add(appendAwaitRelKey(nil, "c", 9))
	f.Add(appendSessionKey(nil, "dev-ü"))
	f.Fuzz(func(t *testing.T, b []byte) {
		if s, err := decodeSession("c", b); err == nil {
			s2, err := decodeSession("c", appendSession(nil, s))
			if err != nil || !reflect.DeepEqual(s, s2) {
				t.Errorf("session %x: %+v re-decodes as %+v (%v)", b, s, s2, err)
			}
		}
		if m, err := decodeMessage(b); err == nil {
			m2, err := decodeMessage(appendMessage(nil, m))
			if err != nil || !reflect.DeepEqual(m, m2) {
				t.Errorf("message %x: %+v re-decodes as %+v (%v)", b, m, m2, err)
			}
		}
		var d, d2 store.Delivery
		if body, err := decodeDelivery(b, &d); err == nil {
			op := store.Op{Message: d.Message, QoS: d.QoS, Retain: d.Retain, SubIDs: d.SubIDs}
			body2, err := decodeDelivery(appendDelivery(nil, &op, body), &d2)
			if err != nil || body2 != body || !reflect.DeepEqual(d, d2) {
				t.Errorf("delivery %x: %+v (body %d) re-decodes as %+v (body %d, %v)", b, d, body, d2, body2, err)
			}
		}
		if pid, rel, err := decodeFlight(b); err == nil {
			if re := appendFlight(nil, pid, rel); !bytes.Equal(re, b) {
				t.Errorf("flight %x re-encodes as %x", b, re)
			}
		}
		if ck, ok := parseClientKey(b); ok {
			var re []byte
			switch ck.sub {
			case subSession:
				re = appendSessionKey(nil, string(ck.id))
			case subMessage:
				re = appendMessageKey(nil, string(ck.id), ck.seq, ck.part)
			case subAwaitRel:
				re = appendAwaitRelKey(nil, string(ck.id), ck.pid)
			}
			if ck2, ok := parseClientKey(re); !ok || !reflect.DeepEqual(ck, ck2) {
				t.Errorf("key %x: %+v re-parses as %+v", b, ck, ck2)
			}
		}
	})
}
