package httpapi

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
)

// seedFilters are the 14 query parameters of the seed's GET /clients, each
// with a value it accepts.
var seedFilters = []string{
	"_page=2", "_limit=50", "clientid=c0001", "username=u1", "zone=default", "ip_address=10.0.0.1",
	"conn_state=connected", "clean_start=true", "proto_name=MQTT", "proto_ver=5",
	"_gte_created_at=1694770580", "_lte_created_at=1694770600",
	"_gte_connected_at=1694770580", "_lte_connected_at=1694770600",
}

// FuzzAPI drives random methods, paths, query strings and bodies through
// the whole API (authentication, the router, every handler) over the real
// catalog and the test broker, as net/http would hand them over: it fails
// on any 5xx and on any error whose body is not the JSON {code, message}
// with a message for people. Requests net/http itself would refuse are
// WrapListener's (TestRawRequestErrorsAreJSON).
func FuzzAPI(f *testing.F) {
	env := newTestEnv(f, Config{}, testRows(40))
	if _, _, err := env.api.keys.create("fuzzkey", keySpec{}, 1); err != nil {
		f.Fatal(err)
	}
	// Every input starts from the same keys: one that deleted or disabled
	// the administrator's key would blind the inputs after it.
	keys := env.api.keys.keys.Load()

	add := func(method, path, query, body string) { f.Add(method, path, query, []byte(body)) }
	for _, q := range seedFilters {
		add("GET", "/api/v5/clients", q, "")
	}
	add("GET", "/api/v5/clients", strings.Join(seedFilters, "&"), "")
	add("GET", "/api/v5/clients", "like_clientid=c00&order_by=recv_oct&order=desc&fields=clientid,recv_oct&gte_mqueue_len=1", "")
	add("GET", "/api/v5/clients", "username=&cursor=AgE&page=2", "")
	add("HEAD", "/api/v5/clients/c0003", "", "")
	add("DELETE", "/api/v5/clients/c0004", "", "")
	add("GET", "/api/v5/clients/c0001/subscriptions", "", "")
	add("POST", "/api/v5/clients/c0001/subscribe", "", `{"topic":"t/#","qos":1,"nl":0,"rap":1,"rh":2}`)
	add("POST", "/api/v5/clients/c0001/subscribe/bulk", "", `[{"topic":"$share/g/t"},{"topic":"a/+"}]`)
	add("POST", "/api/v5/clients/c0001/unsubscribe", "", `{"topic":"t/#"}`)
	add("POST", "/api/v5/clients/c0001/unsubscribe/bulk", "", `[{"topic":"a/+"}]`)
	add("POST", "/api/v5/clients/kickout/bulk", "", `["c0005","nobody"]`)
	add("GET", "/api/v5/subscriptions", "topic=t/%23&qos=1&share_group=g&match_topic=t/a&_limit=5", "")
	add("POST", "/api/v5/publish", "", `{"topic":"t/a","payload":"aGk=","payload_encoding":"base64","qos":1,"properties":{"user_properties":{"k":"v"}}}`)
	add("POST", "/api/v5/publish/bulk", "", `[{"topic":"t/a","payload":"x"}]`)
	add("GET", "/api/v5/stats", "aggregate=true", "")
	add("GET", "/api/v5/api_key", "", "")
	add("POST", "/api/v5/api_key", "", `{"name":"new","expired_at":"2030-01-01T00:00:00Z","role":"viewer","desc":"d"}`)
	add("PUT", "/api/v5/api_key/fuzzkey", "", `{"enable":false,"expired_at":1700000000}`)
	add("DELETE", "/api/v5/api_key/fuzzkey", "", "")
	add("PUT", "/api/v5/clients/c0002/keepalive", "", `{"interval":30}`)
	add("GET", "/api/v5/clients/c0002/authorization/cache", "", "")
	add("DELETE", "/api/v5/clients/c0002/authorization/cache", "", "")
	add("GET", "/api/v5/clients/c0002/mqueue_messages", "position=1_0&limit=2&payload=plain&max_payload_bytes=1KB", "")
	add("GET", "/api/v5/clients/c0002/inflight_messages", "position=7&payload=none", "")
	add("GET", "/api/v5/nodes/shardmq@127.0.0.1", "", "")
	add("GET", "/api/v5/topics", "topic=t/%23&node=shardmq@127.0.0.1&page=1&limit=5", "")
	add("GET", "/api/v5/retainer/messages", "topic=t/%2B&limit=5", "")
	add("GET", "/api/v5/retainer/message/t%2Fa", "", "")
	add("DELETE", "/api/v5/retainer/message/t%2Fa", "", "")
	add("GET", "/api/v5/monitor_current", "", "")
	add("GET", "/api/v5/sessions_count", "since=1700000000", "")
	add("GET", "/api/v5/clients_v2", "limit=2&cursor=AgE&like_clientid=c0", "")
	add("GET", "/api/v5/banned", "page=1&limit=10&like_clientid=c0", "")
	add("POST", "/api/v5/banned", "", `{"as":"clientid_re","who":"^c00[0-9]$","by":"f","reason":"r","at":1700000000,"until":"2999-01-01T00:00:00Z"}`)
	add("POST", "/api/v5/banned", "", `{"as":"peerhost_net","who":"10.0.0.0/8","until":"infinity"}`)
	add("DELETE", "/api/v5/banned/peerhost_net/10.0.0.0%2F8", "", "")
	add("DELETE", "/api/v5/banned", "", "")
	add("PUT", "/api/v5/listeners/tcp:default/stop", "", "")
	add("POST", "/api/v5/listeners/tcp%3Adefault/restart", "", "{}")
	add("PUT", "/api/v5/listeners/udp:mqttsn/start", "", "")
	add("POST", "/api/v5/listeners/tcp:nobody/stop", "", "")
	add("GET", "/api/v5/listeners/tcp:default/pause", "", "")
	add("OPTIONS", "/api/v5/clients/c0001", "", "")
	add("GET", "/api-docs/swagger.json", "", "")
	add("GET", "/status", "", "")

	auth := "Basic " + base64.StdEncoding.EncodeToString([]byte("admin:admin-secret"))
	f.Fuzz(func(t *testing.T, method, path, query string, body []byte) {
		env.api.keys.keys.Store(keys)
		target := path
		if query != "" {
			target += "?" + query
		}
		var raw bytes.Buffer
		raw.WriteString(method + " " + target + " HTTP/1.1\r\nHost: api\r\nAuthorization: " + auth + "\r\n")
		if len(body) > 0 {
			raw.WriteString("Content-Type: application/json\r\nContent-Length: " + strconv.Itoa(len(body)) + "\r\n")
		}
		raw.WriteString("\r\n")
		raw.Write(body)
		req, err := http.ReadRequest(bufio.NewReader(&raw))
		if err != nil {
			return // net/http would refuse it before the API (WrapListener's case)
		}
		w := httptest.NewRecorder()
		env.api.ServeHTTP(w, req)
		res := w.Result()
		if res.StatusCode >= 500 {
			t.Fatalf("%s %q: %d %s", method, target, res.StatusCode, w.Body.Bytes())
		}
		if res.StatusCode < 400 {
			return
		}
		if ct := res.Header.Get("Content-Type"); ct != "application/json" {
			t.Fatalf("%s %q: %d with Content-Type %q", method, target, res.StatusCode, ct)
		}
		var e map[string]any
		if err := json.Unmarshal(w.Body.Bytes(), &e); err != nil || len(e) != 2 {
			t.Fatalf("%s %q: %d body %q is not {code, message}", method, target, res.StatusCode, w.Body.Bytes())
		}
		code, _ := e["code"].(string)
		msg, _ := e["message"].(string)
		if code == "" || msg == "" {
			t.Fatalf("%s %q: %d body %q", method, target, res.StatusCode, w.Body.Bytes())
		}
		checkMessage(t, msg)
	})
}
