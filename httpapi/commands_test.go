package httpapi

import (
	"encoding/base64"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
)

func TestGetClient(t *testing.T) {
	rows := testRows(5)
	rows[1].ClientID = "dev/a b%"
	env := newTestEnv(t, Config{}, rows)
	tests := []struct {
		name, path string
		status     int
		code       string
	}{
		{"found", "/clients/c0000", http.StatusOK, ""},
		{"escaped id with slash", "/clients/" + url.PathEscape("dev/a b%"), http.StatusOK, ""},
		{"unknown", "/clients/nope", http.StatusNotFound, codeClientNotFound},
		{"invalid utf8", "/clients/a%ffb", http.StatusBadRequest, codeBadRequest},
		{"nul", "/clients/a%00b", http.StatusBadRequest, codeBadRequest},
		{"query not allowed", "/clients/c0000?fields=clientid", http.StatusBadRequest, codeBadRequest},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := env.do(t, "GET", tc.path, viewerUser, nil)
			if tc.code != "" {
				msg := r.wantError(t, tc.status, tc.code)
				if tc.code == codeClientNotFound && msg != "Client ID not found" {
					t.Fatalf("message %q", msg)
				}
				return
			}
			if r.status != tc.status {
				t.Fatalf("status %d %s", r.status, r.body)
			}
		})
	}
}

func TestKickClient(t *testing.T) {
	env := newTestEnv(t, Config{}, testRows(20))
	r := env.do(t, "DELETE", "/clients/c0003", adminUser, nil)
	if r.status != http.StatusNoContent || len(r.body) != 0 {
		t.Fatalf("kick: %d %q", r.status, r.body)
	}
	env.do(t, "GET", "/clients/c0003", adminUser, nil).wantError(t, http.StatusNotFound, codeClientNotFound)
	env.do(t, "DELETE", "/clients/c0003", adminUser, nil).wantError(t, http.StatusNotFound, codeClientNotFound)
	env.flush(t)
	if p := env.list(t, "clientid=c0003"); p.Meta.Count != 0 {
		t.Fatalf("kicked client still listed: %+v", p.Meta)
	}
	if p := env.list(t, ""); p.Meta.Count != 19 {
		t.Fatalf("count after kick %d", p.Meta.Count)
	}

	r = env.do(t, "POST", "/clients/kickout/bulk", adminUser, `["c0004","c0005","unknown"]`)
	if r.status != http.StatusNoContent {
		t.Fatalf("kickout bulk: %d %s", r.status, r.body)
	}
	env.broker.mu.Lock()
	kicked := slices.Clone(env.broker.kicked)
	env.broker.mu.Unlock()
	if !slices.Equal(kicked, []string{"c0003", "c0004", "c0005"}) {
		t.Fatalf("kicked %v", kicked)
	}
	for _, body := range []string{`[]`, `{"clientid":"a"}`, `[1]`, `["a",""]`, `null`, `["a"] x`} {
		env.do(t, "POST", "/clients/kickout/bulk", adminUser, body).wantError(t, http.StatusBadRequest, codeBadRequest)
	}
	env.do(t, "POST", "/clients/other/bulk", adminUser, `["a"]`).wantError(t, http.StatusNotFound, codeNotFound)
}

// subJSON is a decoded subscription object.
type subJSON struct {
	ClientID string `json:"clientid"`
	Topic    string `json:"topic"`
	QoS      int    `json:"qos"`
	NL       int    `json:"nl"`
	RAP      int    `json:"rap"`
	RH       int    `json:"rh"`
	Node     string `json:"node"`
}

func TestSubscribe(t *testing.T) {
	env := newTestEnv(t, Config{}, testRows(10))
	r := env.do(t, "POST", "/clients/c0001/subscribe", adminUser, `{"topic": "t/a","qos": 1}`)
	if r.status != http.StatusOK {
		t.Fatalf("subscribe: %d %s", r.status, r.body)
	}
	var m map[string]any
	r.decode(t, &m)
	want := map[string]any{"clientid": "c0001", "topic": "t/a", "qos": 1.0, "nl": 0.0, "rap": 0.0, "rh": 0.0, "node": "test@node"}
	if len(m) != len(want) {
		t.Fatalf("subscription object %v", m)
	}
	for k, v := range want {
		if m[k] != v {
			t.Fatalf("%s = %v, want %v (%s)", k, m[k], v, r.body)
		}
	}
	// Takes effect before the response: subscriptions_cnt and a publish.
	var obj map[string]any
	env.do(t, "GET", "/clients/c0001", adminUser, nil).decode(t, &obj)
	if obj["subscriptions_cnt"] != 1.0 {
		t.Fatalf("subscriptions_cnt %v", obj["subscriptions_cnt"])
	}
	env.flush(t)
	if p := env.list(t, "clientid=c0001"); p.Data[0]["subscriptions_cnt"] != 1.0 {
		t.Fatalf("catalog subscriptions_cnt %v", p.Data[0]["subscriptions_cnt"])
	}
	if r := env.do(t, "POST", "/publish", adminUser, `{"topic":"t/a","payload":"x"}`); r.status != http.StatusOK {
		t.Fatalf("publish after subscribe: %d %s", r.status, r.body)
	}

	r = env.do(t, "POST", "/clients/c0001/subscribe", adminUser, `{"topic":"$share/g/s/+","qos":2,"rap":1,"rh":2}`)
	var s subJSON
	r.decode(t, &s)
	if r.status != http.StatusOK || s != (subJSON{"c0001", "$share/g/s/+", 2, 0, 1, 2, "test@node"}) {
		t.Fatalf("shared subscribe: %d %+v", r.status, s)
	}

	bad := []struct {
		name, body, mention string
	}{
		{"no topic", `{"qos":1}`, "topic"},
		{"null topic", `{"topic":null}`, "topic"},
		{"empty topic", `{"topic":""}`, "topic"},
		{"bad filter", `{"topic":"a/#/b"}`, "topic"},
		{"bad wildcard", `{"topic":"a+"}`, "topic"},
		{"qos 3", `{"topic":"t","qos":3}`, "qos"},
		{"qos negative", `{"topic":"t","qos":-1}`, "qos"},
		{"qos string", `{"topic":"t","qos":"1"}`, "qos"},
		{"qos float", `{"topic":"t","qos":1.5}`, "qos"},
		{"qos huge", `{"topic":"t","qos":1e40}`, "qos"},
		{"nl 2", `{"topic":"t","nl":2}`, "nl"},
		{"rap 2", `{"topic":"t","rap":2}`, "rap"},
		{"rh 3", `{"topic":"t","rh":3}`, "rh"},
		{"nl on shared", `{"topic":"$share/g/t","nl":1}`, "nl"},
		{"nl bool", `{"topic":"t","nl":true}`, "nl"},
		{"unknown field", `{"topic":"t","qos":1,"retain":true}`, "retain"},
		{"duplicate field", `{"topic":"t","topic":"u"}`, "given twice"},
		{"case variant field", `{"Topic":"t"}`, "Topic"},
		{"topic number", `{"topic":5}`, "topic"},
		{"array body", `[{"topic":"t"}]`, "object"},
		{"not json", `topic=t`, "malformed"},
		{"trailing data", `{"topic":"t"} {}`, "malformed"},
		{"truncated", `{"topic":"t"`, "JSON"},
		{"invalid utf8 topic", "{\"topic\":\"a\xffb\"}", "UTF-8"},
		{"nul in topic", `{"topic":"a\u0000b"}`, "topic"},
		{"sql in topic is fine but wildcard not", `{"topic":"'; DROP TABLE x; --#"}`, "topic"},
		{"empty body", ``, "empty"},
	}
	for _, tc := range bad {
		t.Run(tc.name, func(t *testing.T) {
			r := env.do(t, "POST", "/clients/c0001/subscribe", adminUser, tc.body)
			if msg := r.wantError(t, http.StatusBadRequest, codeBadRequest); !strings.Contains(msg, tc.mention) {
				t.Fatalf("message %q does not mention %q", msg, tc.mention)
			}
		})
	}
	env.do(t, "POST", "/clients/nope/subscribe", adminUser, `{"topic":"t"}`).wantError(t, http.StatusNotFound, codeClientNotFound)
	if msg := env.do(t, "POST", "/clients/c0001/subscribe", adminUser, `{"topic":"quota/exceeded"}`).wantError(t, http.StatusBadRequest, codeBadRequest); !strings.Contains(msg, "subscriptions_max") {
		t.Fatalf("rejection message %q", msg)
	}
}

func TestSubscribeBulk(t *testing.T) {
	env := newTestEnv(t, Config{MaxBulk: 3}, testRows(10))
	r := env.do(t, "POST", "/clients/c0002/subscribe/bulk", adminUser, `[{"topic": "t/a", "qos": 1}, {"topic": "t/b", "qos": 0}]`)
	if r.status != http.StatusOK {
		t.Fatalf("bulk: %d %s", r.status, r.body)
	}
	var out struct {
		Data []subJSON `json:"data"`
	}
	r.decode(t, &out)
	want := []subJSON{{"c0002", "t/a", 1, 0, 0, 0, "test@node"}, {"c0002", "t/b", 0, 0, 0, 0, "test@node"}}
	if !slices.Equal(out.Data, want) {
		t.Fatalf("data %+v", out.Data)
	}
	// All or nothing: one bad item fails the whole batch before the broker
	// sees it; a broker rejection applies none.
	for _, body := range []string{
		`[{"topic":"ok/1"},{"topic":"bad/#/x"}]`,
		`[{"topic":"ok/1"},{"topic":"ok/2","qos":9}]`,
		`[{"topic":"ok/1"},{"topic":"quota/exceeded"}]`,
		`[{"topic":"a"},{"topic":"b"},{"topic":"c"},{"topic":"d"}]`,
		`[]`, `{"topic":"a"}`, `[{"topic":"a","x":1}]`, `[null]`, `["a"]`,
	} {
		t.Run(body, func(t *testing.T) {
			env.do(t, "POST", "/clients/c0002/subscribe/bulk", adminUser, body).wantError(t, http.StatusBadRequest, codeBadRequest)
		})
	}
	var subs []subJSON
	env.do(t, "GET", "/clients/c0002/subscriptions", viewerUser, nil).decode(t, &subs)
	if len(subs) != 2 {
		t.Fatalf("a failed batch changed subscriptions: %+v", subs)
	}
}

func TestUnsubscribe(t *testing.T) {
	env := newTestEnv(t, Config{}, testRows(10))
	env.do(t, "POST", "/clients/c0003/subscribe/bulk", adminUser, `[{"topic":"a"},{"topic":"b"},{"topic":"c"},{"topic":"d"}]`)
	r := env.do(t, "POST", "/clients/c0003/unsubscribe", adminUser, `{"topic": "a"}`)
	if r.status != http.StatusNoContent || len(r.body) != 0 {
		t.Fatalf("unsubscribe: %d %s", r.status, r.body)
	}
	// Not subscribed: still 204.
	if r := env.do(t, "POST", "/clients/c0003/unsubscribe", adminUser, `{"topic": "never"}`); r.status != http.StatusNoContent {
		t.Fatalf("unsubscribe unknown topic: %d", r.status)
	}
	if r := env.do(t, "POST", "/clients/c0003/unsubscribe/bulk", adminUser, `[{"topic":"b"},{"topic":"c"}]`); r.status != http.StatusNoContent {
		t.Fatalf("unsubscribe bulk: %d %s", r.status, r.body)
	}
	var subs []subJSON
	env.do(t, "GET", "/clients/c0003/subscriptions", adminUser, nil).decode(t, &subs)
	if len(subs) != 1 || subs[0].Topic != "d" {
		t.Fatalf("left %+v", subs)
	}
	if r := env.do(t, "POST", "/publish", adminUser, `{"topic":"a","payload":"x"}`); r.status != http.StatusAccepted {
		t.Fatalf("publish after unsubscribe: %d %s", r.status, r.body)
	}
	for _, body := range []string{`{}`, `{"topic":"a/#/b"}`, `{"topic":"a","qos":1}`, `[{"topic":"a"}]`} {
		env.do(t, "POST", "/clients/c0003/unsubscribe", adminUser, body).wantError(t, http.StatusBadRequest, codeBadRequest)
	}
	for _, body := range []string{`[]`, `[{}]`, `{"topic":"a"}`, `[{"topic":"+/+/#/"}]`} {
		env.do(t, "POST", "/clients/c0003/unsubscribe/bulk", adminUser, body).wantError(t, http.StatusBadRequest, codeBadRequest)
	}
	env.do(t, "POST", "/clients/nope/unsubscribe", adminUser, `{"topic":"a"}`).wantError(t, http.StatusNotFound, codeClientNotFound)
	env.do(t, "POST", "/clients/nope/unsubscribe/bulk", adminUser, `[{"topic":"a"}]`).wantError(t, http.StatusNotFound, codeClientNotFound)
}

func TestSubscriptionsListing(t *testing.T) {
	env := newTestEnv(t, Config{}, testRows(10))
	for _, c := range []struct{ id, body string }{
		{"c0001", `[{"topic":"a/+","qos":1},{"topic":"$share/g1/s/#","qos":0},{"topic":"x","qos":2}]`},
		{"c0002", `[{"topic":"a/b","qos":0},{"topic":"$share/g2/s/#","qos":1}]`},
		{"c0000", `[{"topic":"#","qos":1}]`},
	} {
		if r := env.do(t, "POST", "/clients/"+c.id+"/subscribe/bulk", adminUser, c.body); r.status != http.StatusOK {
			t.Fatalf("setup: %d %s", r.status, r.body)
		}
	}
	var own []subJSON
	env.do(t, "GET", "/clients/c0001/subscriptions", viewerUser, nil).decode(t, &own)
	if len(own) != 3 || own[0].Topic != "$share/g1/s/#" || own[1].Topic != "a/+" || own[2].Topic != "x" {
		t.Fatalf("client subscriptions %+v", own)
	}
	env.do(t, "GET", "/clients/nope/subscriptions", viewerUser, nil).wantError(t, http.StatusNotFound, codeClientNotFound)

	type listing struct {
		Meta struct {
			Page    int  `json:"page"`
			Limit   int  `json:"limit"`
			HasNext bool `json:"hasnext"`
			Count   int  `json:"count"`
		} `json:"meta"`
		Data []subJSON `json:"data"`
	}
	key := func(s subJSON) string { return s.ClientID + " " + s.Topic }
	tests := []struct {
		query string
		want  []string
	}{
		{"", []string{"c0000 #", "c0001 $share/g1/s/#", "c0001 a/+", "c0001 x", "c0002 $share/g2/s/#", "c0002 a/b"}},
		{"clientid=c0002", []string{"c0002 $share/g2/s/#", "c0002 a/b"}},
		{"topic=s/%23", []string{"c0001 $share/g1/s/#", "c0002 $share/g2/s/#"}},
		{"qos=1", []string{"c0000 #", "c0001 a/+", "c0002 $share/g2/s/#"}},
		{"share_group=g1", []string{"c0001 $share/g1/s/#"}},
		{"match_topic=a/b", []string{"c0000 #", "c0001 a/+", "c0002 a/b"}},
		{"_match_topic=a/b&qos=0", []string{"c0002 a/b"}},
		{"match_topic=%24SYS/x", nil},
		{"page=2&limit=4", []string{"c0002 $share/g2/s/#", "c0002 a/b"}},
		{"_page=1&_limit=2", []string{"c0000 #", "c0001 $share/g1/s/#"}},
	}
	for _, tc := range tests {
		t.Run(tc.query, func(t *testing.T) {
			r := env.do(t, "GET", "/subscriptions?"+tc.query, viewerUser, nil)
			if r.status != http.StatusOK {
				t.Fatalf("%d %s", r.status, r.body)
			}
			var l listing
			r.decode(t, &l)
			var got []string
			for _, s := range l.Data {
				got = append(got, key(s))
			}
			if !slices.Equal(got, tc.want) {
				t.Fatalf("got %v\nwant %v", got, tc.want)
			}
		})
	}
	var l listing
	env.do(t, "GET", "/subscriptions?limit=4", viewerUser, nil).decode(t, &l)
	if l.Meta.Count != 6 || !l.Meta.HasNext || l.Meta.Page != 1 || l.Meta.Limit != 4 {
		t.Fatalf("meta %+v", l.Meta)
	}
	env.do(t, "GET", "/subscriptions?limit=6", viewerUser, nil).decode(t, &l)
	if l.Meta.Count != 6 || l.Meta.HasNext {
		t.Fatalf("meta %+v", l.Meta)
	}
	// Cursor paging walks the same order.
	var all []string
	cursorQ := "limit=4"
	for n := 0; ; n++ {
		var cl struct {
			Meta struct {
				HasNext bool   `json:"hasnext"`
				Count   int    `json:"count"`
				Cursor  string `json:"cursor"`
			} `json:"meta"`
			Data []subJSON `json:"data"`
		}
		env.do(t, "GET", "/subscriptions?"+cursorQ, viewerUser, nil).decode(t, &cl)
		for _, s := range cl.Data {
			all = append(all, key(s))
		}
		if cl.Meta.Count != 6 || n > 5 {
			t.Fatalf("cursor meta %+v", cl.Meta)
		}
		if !cl.Meta.HasNext {
			break
		}
		cursorQ = "limit=4&cursor=" + url.QueryEscape(cl.Meta.Cursor)
	}
	if !slices.Equal(all, tests[0].want) {
		t.Fatalf("cursor pages %v", all)
	}
	for _, q := range []string{"cursor=%21%21", "cursor=YQ", "cursor=YQBi&page=2", "qos=3", "topic=a/%23/b", "topic=%24share/g/a", "match_topic=a/%2B", "share_group=a/b", "foo=1",
		"page=0", "limit=10001", "page=1&_page=1", "clientid=a&clientid=b", "page=100000000&limit=10000"} {
		t.Run("bad "+q, func(t *testing.T) {
			env.do(t, "GET", "/subscriptions?"+q, viewerUser, nil).wantError(t, http.StatusBadRequest, codeBadRequest)
		})
	}
}

func TestPublish(t *testing.T) {
	env := newTestEnv(t, Config{MaxBulk: 3}, testRows(3))
	env.do(t, "POST", "/clients/c0000/subscribe", adminUser, `{"topic":"t/#"}`)

	r := env.do(t, "POST", "/publish", pubUser, `{"topic": "t/a","qos": 1,"payload": "Hello EMQX"}`)
	var ok map[string]any
	r.decode(t, &ok)
	if r.status != http.StatusOK || len(ok) != 1 || len(ok["id"].(string)) != 32 {
		t.Fatalf("publish: %d %s", r.status, r.body)
	}
	r = env.do(t, "POST", "/publish", pubUser, `{"topic": "other","payload": ""}`)
	var nm map[string]any
	r.decode(t, &nm)
	if r.status != http.StatusAccepted || nm["reason_code"] != 16.0 || nm["message"] != "no_matching_subscribers" {
		t.Fatalf("no subscriber: %d %s", r.status, r.body)
	}
	payload := []byte{0, 1, 2, 0xff}
	body := `{"topic":"t/b","payload":"` + base64.StdEncoding.EncodeToString(payload) + `","payload_encoding":"base64","retain":true,"qos":2,` +
		`"properties":{"payload_format_indicator":0,"message_expiry_interval":60,"response_topic":"r/1","correlation_data":"cd",` +
		`"user_properties":{"b":"2","a":"1"},"content_type":"text/plain"},"clientid":"ignored"}`
	if r := env.do(t, "POST", "/publish", adminUser, body); r.status != http.StatusOK {
		t.Fatalf("publish with properties: %d %s", r.status, r.body)
	}
	env.broker.mu.Lock()
	m := env.broker.published[len(env.broker.published)-1]
	env.broker.mu.Unlock()
	if string(m.Payload) != string(payload) || !m.Retain || m.QoS != 2 || *m.Properties.MessageExpiryInterval != 60 ||
		*m.Properties.PayloadFormatIndicator != 0 || m.Properties.ResponseTopic != "r/1" || string(m.Properties.CorrelationData) != "cd" ||
		m.Properties.ContentType != "text/plain" || !slices.Equal(m.Properties.UserProperties, [][2]string{{"a", "1"}, {"b", "2"}}) {
		t.Fatalf("broker got %+v", m)
	}

	for _, tc := range []struct{ name, body, mention string }{
		{"no topic", `{"payload":"x"}`, "topic"},
		{"no payload", `{"topic":"t"}`, "payload"},
		{"wildcard topic", `{"topic":"t/+","payload":"x"}`, "topic"},
		{"bad encoding", `{"topic":"t","payload":"x","payload_encoding":"hex"}`, "payload_encoding"},
		{"bad base64", `{"topic":"t","payload":"!!","payload_encoding":"base64"}`, "payload"},
		{"qos 3", `{"topic":"t","payload":"x","qos":3}`, "qos"},
		{"retain string", `{"topic":"t","payload":"x","retain":"true"}`, "retain"},
		{"payload number", `{"topic":"t","payload":5}`, "payload"},
		{"unknown field", `{"topic":"t","payload":"x","dup":true}`, "dup"},
		{"unknown property", `{"topic":"t","payload":"x","properties":{"foo":1}}`, "foo"},
		{"pfi 2", `{"topic":"t","payload":"x","properties":{"payload_format_indicator":2}}`, "payload_format_indicator"},
		{"expiry negative", `{"topic":"t","payload":"x","properties":{"message_expiry_interval":-1}}`, "message_expiry_interval"},
		{"expiry huge", `{"topic":"t","payload":"x","properties":{"message_expiry_interval":4294967296}}`, "message_expiry_interval"},
		{"response topic wildcard", `{"topic":"t","payload":"x","properties":{"response_topic":"#"}}`, "response_topic"},
		{"user property not string", `{"topic":"t","payload":"x","properties":{"user_properties":{"a":1}}}`, "user_properties"},
		{"properties not object", `{"topic":"t","payload":"x","properties":[]}`, "properties"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			msg := env.do(t, "POST", "/publish", pubUser, tc.body).wantError(t, http.StatusBadRequest, codeBadRequest)
			if !strings.Contains(msg, tc.mention) {
				t.Fatalf("message %q does not mention %q", msg, tc.mention)
			}
		})
	}
}

func TestPublishBulk(t *testing.T) {
	env := newTestEnv(t, Config{MaxBulk: 3}, testRows(3))
	env.do(t, "POST", "/clients/c0000/subscribe", adminUser, `{"topic":"t/#"}`)
	r := env.do(t, "POST", "/publish/bulk", pubUser, `[{"topic": "t/a","qos": 0,"payload": "Hello EMQX"},{"topic": "t/b","qos": 1,"payload": "Hi EMQX"}]`)
	var all []map[string]any
	r.decode(t, &all)
	if r.status != http.StatusOK || len(all) != 2 || len(all[0]) != 1 || all[0]["id"] == all[1]["id"] {
		t.Fatalf("bulk: %d %s", r.status, r.body)
	}
	r = env.do(t, "POST", "/publish/bulk", pubUser, `[{"topic": "t/a","payload": "1"},{"topic": "nobody","payload": "2"}]`)
	r.decode(t, &all)
	if r.status != http.StatusAccepted || len(all) != 2 || all[0]["reason_code"] != nil || all[1]["reason_code"] != 16.0 {
		t.Fatalf("partial: %d %s", r.status, r.body)
	}
	for _, body := range []string{`[]`, `[{"topic":"a","payload":"1"},{"topic":"a/+","payload":"2"}]`, `{"topic":"a","payload":"1"}`,
		`[{"topic":"a","payload":"1"},{"topic":"a","payload":"1"},{"topic":"a","payload":"1"},{"topic":"a","payload":"1"}]`} {
		env.do(t, "POST", "/publish/bulk", pubUser, body).wantError(t, http.StatusBadRequest, codeBadRequest)
	}
	env.broker.mu.Lock()
	n := len(env.broker.published)
	env.broker.mu.Unlock()
	if n != 4 {
		t.Fatalf("broker got %d messages, want 4 (rejected batches publish nothing)", n)
	}
}

func TestStats(t *testing.T) {
	env := newTestEnv(t, Config{Node: "n1@host"}, testRows(20))
	env.do(t, "POST", "/clients/c0000/subscribe", adminUser, `{"topic":"t/#"}`)
	var nodes []map[string]any
	r := env.do(t, "GET", "/stats", viewerUser, nil)
	r.decode(t, &nodes)
	if r.status != http.StatusOK || len(nodes) != 1 || nodes[0]["node"] != "n1@host" || nodes[0]["sessions.count"] != 20.0 ||
		nodes[0]["subscriptions.count"] != 1.0 || len(nodes[0]) != 15 {
		t.Fatalf("stats: %d %s", r.status, r.body)
	}
	var agg map[string]any
	r = env.do(t, "GET", "/stats?aggregate=true", viewerUser, nil)
	r.decode(t, &agg)
	if r.status != http.StatusOK || agg["node"] != nil || agg["sessions.count"] != 20.0 || len(agg) != 14 {
		t.Fatalf("aggregate: %d %s", r.status, r.body)
	}
	env.do(t, "GET", "/stats?aggregate=1", viewerUser, nil).wantError(t, http.StatusBadRequest, codeBadRequest)
	env.do(t, "GET", "/stats?node=x", viewerUser, nil).wantError(t, http.StatusBadRequest, codeBadRequest)
}
