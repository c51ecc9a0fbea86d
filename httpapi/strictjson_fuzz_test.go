package httpapi

import (
	"net/http"
	"testing"
)

// FuzzDecodeBodies feeds arbitrary bytes to every JSON body decoder and
// validator: they never panic, and a rejection is always a 400 with a
// message.
func FuzzDecodeBodies(f *testing.F) {
	for _, s := range []string{
		`{"topic":"t/a","qos":1}`, `[{"topic":"t/a","qos":1,"nl":0,"rap":1,"rh":2}]`, `{"topic":"$share/g/t","nl":1}`,
		`{"topic":"t","payload":"aGk=","payload_encoding":"base64","properties":{"user_properties":{"a":"b"},"message_expiry_interval":5}}`,
		`[{"topic":"t","payload":"x"}]`, `["c1","c2"]`, `null`, `{}`, `[]`, `{"topic":"t"} x`, `{"TOPIC":"t"}`, `{"qos":1e99}`,
	} {
		f.Add([]byte(s))
	}
	check := func(t *testing.T, e *apiError) {
		if e != nil && (e.status != http.StatusBadRequest || e.message == "") {
			t.Fatalf("bad rejection %+v", e)
		}
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		var sub subscribeBody
		if e := decodeJSON(body, &sub); e == nil {
			sub.request()
		} else {
			check(t, e)
		}
		var subs []subscribeBody
		if e := decodeJSON(body, &subs); e == nil {
			for i := range subs {
				subs[i].request()
			}
		} else {
			check(t, e)
		}
		var unsub []unsubscribeBody
		if e := decodeJSON(body, &unsub); e == nil {
			for i := range unsub {
				unsub[i].topic()
			}
		} else {
			check(t, e)
		}
		var pub publishBody
		if e := decodeJSON(body, &pub); e == nil {
			if m, err := pub.request(); err == nil {
				if validTopicName(m.Topic) != nil {
					t.Fatalf("accepted topic %q", m.Topic)
				}
			}
		} else {
			check(t, e)
		}
		var pubs []publishBody
		check(t, decodeJSON(body, &pubs))
		var ids []string
		check(t, decodeJSON(body, &ids))
	})
}
