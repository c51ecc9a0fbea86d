package httpapi

import (
	"strings"
	"testing"
	"unicode"
)

// TestErrorMessages checks the exact message of each kind of error the API
// answers, and that every one reads as a sentence for people: no Go package
// prefix, no phrase said twice, the offending value quoted.
func TestErrorMessages(t *testing.T) {
	env := newTestEnv(t, Config{}, testRows(5))
	for _, tc := range []struct {
		name, method, path, user string
		body                     any
		status                   int
		code, message            string
	}{
		{"unknown path", "GET", "/nothing", adminUser, nil, 404, codeNotFound,
			`no endpoint at "/api/v5/nothing"; /api-docs lists them`},
		{"wrong method", "PUT", "/clients", adminUser, nil, 405, codeMethodNotAllowed,
			`PUT is not allowed on "/api/v5/clients"; allowed: GET, HEAD, OPTIONS`},
		{"unknown parameter", "GET", "/clients?zz=1", adminUser, nil, 400, codeBadRequest,
			`unknown parameter "zz"; see /api-docs or docs/api.md for the parameters of GET /clients`},
		{"parameter on an endpoint without any", "DELETE", "/clients/c0001?x=1", adminUser, nil, 400, codeBadRequest,
			`unknown parameter "x"; this endpoint takes no query parameters`},
		{"malformed query", "GET", "/clients?a=%zz", adminUser, nil, 400, codeBadRequest,
			`malformed query string: invalid URL escape "%zz"`},
		{"limit out of range", "GET", "/clients?_limit=0", adminUser, nil, 400, codeBadRequest,
			`parameter "_limit": want an integer in 1..10000`},
		{"bad enum", "GET", "/clients?conn_state=foo", adminUser, nil, 400, codeBadRequest,
			`parameter "conn_state": want connected, idle or disconnected`},
		{"empty value", "GET", "/clients?zone=", adminUser, nil, 400, codeBadRequest,
			`parameter "zone": empty value`},
		{"both spellings", "GET", "/clients?_page=1&page=2", adminUser, nil, 400, codeBadRequest,
			`"_page" and "page" are two spellings of one parameter; give one`},
		{"forged cursor", "GET", "/clients?cursor=abc", adminUser, nil, 400, codeBadRequest,
			`parameter "cursor": malformed; pass meta.cursor back unchanged`},
		{"client id with NUL", "GET", "/clients/a%00b", adminUser, nil, 400, codeBadRequest,
			`client id "a\x00b" in the path: contains U+0000`},
		{"# inside a filter", "POST", "/clients/c0001/subscribe", adminUser, `{"topic":"a/#/b"}`, 400, codeBadRequest,
			`field "topic": topic filter "a/#/b": '#' must be the last level`},
		{"+ inside a level", "POST", "/clients/c0001/subscribe", adminUser, `{"topic":"a+/b"}`, 400, codeBadRequest,
			`field "topic": topic filter "a+/b": '+' must be a whole level`},
		{"# inside a level", "POST", "/clients/c0001/subscribe", adminUser, `{"topic":"a#"}`, 400, codeBadRequest,
			`field "topic": topic filter "a#": '#' must be a whole level`},
		{"share without filter", "POST", "/clients/c0001/subscribe", adminUser, `{"topic":"$share/g"}`, 400, codeBadRequest,
			`field "topic": topic filter "$share/g": want $share/{group}/{filter} with a non-empty group and filter`},
		{"empty filter", "POST", "/clients/c0001/unsubscribe", adminUser, `{"topic":""}`, 400, codeBadRequest,
			`field "topic": topic filter "": must not be empty`},
		{"missing topic", "POST", "/clients/c0001/subscribe", adminUser, `{"qos":1}`, 400, codeBadRequest,
			`field "topic": required`},
		{"qos out of range", "POST", "/clients/c0001/subscribe", adminUser, `{"topic":"t","qos":3}`, 400, codeBadRequest,
			`field "qos": want 0..2`},
		{"wrong type", "POST", "/clients/c0001/subscribe", adminUser, `{"topic":"t","qos":"1"}`, 400, codeBadRequest,
			`field "qos": want an integer, got string`},
		{"unknown field", "POST", "/clients/c0001/subscribe", adminUser, `{"topic":"t","x":1}`, 400, codeBadRequest,
			`request body: unknown field "x"`},
		{"field twice", "POST", "/clients/c0001/subscribe", adminUser, `{"topic":"t","topic":"u"}`, 400, codeBadRequest,
			`field "topic": given twice`},
		{"not an object", "POST", "/clients/c0001/subscribe", adminUser, `[1]`, 400, codeBadRequest,
			`request body: want a JSON object, got array`},
		{"syntax", "POST", "/clients/c0001/subscribe", adminUser, `{"topic":}`, 400, codeBadRequest,
			`invalid JSON body: malformed at byte 10`},
		{"empty body", "POST", "/clients/c0001/subscribe", adminUser, ` `, 400, codeBadRequest,
			`the request body is empty; this endpoint takes JSON`},
		{"bulk item invalid", "POST", "/clients/c0001/subscribe/bulk", adminUser, `[{"topic":"t"},{"topic":"a/#/b"}]`, 400, codeBadRequest,
			`[1]: field "topic": topic filter "a/#/b": '#' must be the last level`},
		{"bulk item wrong type", "POST", "/clients/c0001/subscribe/bulk", adminUser, `[{"topic":"t"},{"topic":"u","nl":true}]`, 400, codeBadRequest,
			`[1]: field "nl": want an integer, got bool`},
		{"bulk item not an object", "POST", "/clients/c0001/unsubscribe/bulk", adminUser, `[{"topic":"t"},"u"]`, 400, codeBadRequest,
			`[1]: want a JSON object, got string`},
		{"bulk empty", "POST", "/clients/c0001/subscribe/bulk", adminUser, `[]`, 400, codeBadRequest,
			`the array is empty; give 1 to 1000 items`},
		{"bulk not an array", "POST", "/clients/c0001/subscribe/bulk", adminUser, `{"topic":"t"}`, 400, codeBadRequest,
			`request body: want an array, got object`},
		{"kickout empty id", "POST", "/clients/kickout/bulk", adminUser, `["c0001",""]`, 400, codeBadRequest,
			`[1]: client id must not be empty`},
		{"nl on a shared filter", "POST", "/clients/c0001/subscribe", adminUser, `{"topic":"$share/g/t","nl":1}`, 400, codeBadRequest,
			`field "nl": must be 0 on a $share subscription`},
		{"quota", "POST", "/clients/c0001/subscribe", adminUser, `{"topic":"quota/exceeded"}`, 400, codeBadRequest,
			`the broker refused the request: subscriptions_max reached`},
		{"wildcard topic name", "POST", "/publish", adminUser, `{"topic":"a/+","payload":"x"}`, 400, codeBadRequest,
			`field "topic": topic name "a/+": wildcards '+' and '#' are allowed only in topic filters`},
		{"bad base64", "POST", "/publish", adminUser, `{"topic":"a","payload":"!","payload_encoding":"base64"}`, 400, codeBadRequest,
			`field "payload": not valid base64`},
		{"nested unknown field", "POST", "/publish", adminUser, `{"topic":"a","payload":"x","properties":{"y":1}}`, 400, codeBadRequest,
			`field "properties": unknown field "y"`},
		{"subscriptions filter", "GET", "/subscriptions?topic=a/%23/b", adminUser, nil, 400, codeBadRequest,
			`parameter "topic": topic filter "a/#/b": '#' must be the last level`},
		{"share group", "GET", "/subscriptions?share_group=a/b", adminUser, nil, 400, codeBadRequest,
			`parameter "share_group": share group "a/b" must not contain '+', '#' or '/'`},
		{"match topic", "GET", "/subscriptions?match_topic=a/%2B", adminUser, nil, 400, codeBadRequest,
			`parameter "match_topic": topic name "a/+": wildcards '+' and '#' are allowed only in topic filters`},
		{"stats parameter", "GET", "/stats?x=1", adminUser, nil, 400, codeBadRequest,
			`unknown parameter "x"; this endpoint takes only aggregate`},
		{"viewer writes", "DELETE", "/clients/c0001", viewerUser, nil, 403, codeUnauthorizedRole,
			`the API key's role viewer may only read (GET, HEAD); DELETE "/api/v5/clients/c0001" needs an administrator key`},
		{"publisher lists", "GET", "/clients", pubUser, nil, 403, codeUnauthorizedRole,
			`the API key's role publisher may only call POST /publish and POST /publish/bulk; GET "/api/v5/clients" needs an administrator key`},
		{"no key", "GET", "/clients", "", nil, 401, codeBadKey,
			`missing or wrong API key or secret`},
		{"unknown client", "GET", "/clients/nobody", adminUser, nil, 404, codeClientNotFound,
			`Client ID not found`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := env.do(t, tc.method, tc.path, tc.user, tc.body)
			msg := r.wantError(t, tc.status, tc.code)
			if msg != tc.message {
				t.Errorf("message\n got %s\nwant %s", msg, tc.message)
			}
			checkMessage(t, msg)
		})
	}
}

// checkMessage fails when an error message shows internals or says a
// phrase twice.
func checkMessage(t testing.TB, msg string) {
	t.Helper()
	for _, internal := range []string{"httpapi:", "catalog:", "mqtt:", "json:", "http:", "strconv", "sql", "runtime", "goroutine", ".go:"} {
		if strings.Contains(strings.ToLower(msg), internal) {
			t.Errorf("message %q shows internals (%s)", msg, internal)
		}
	}
	if p := repeatedPhrase(msg); p != "" {
		t.Errorf("message %q says %q twice", msg, p)
	}
}

// repeatedPhrase returns a sequence of three words that occurs twice in msg
// outside quoted values, or "".
func repeatedPhrase(msg string) string {
	var words []string
	inQuote := false
	for _, f := range strings.FieldsFunc(msg, func(r rune) bool {
		if r == '"' {
			inQuote = !inQuote
			return true
		}
		return inQuote || !(unicode.IsLetter(r) || unicode.IsDigit(r) || r == '_')
	}) {
		words = append(words, strings.ToLower(f))
	}
	seen := map[string]bool{}
	for i := 0; i+3 <= len(words); i++ {
		p := strings.Join(words[i:i+3], " ")
		if seen[p] {
			return p
		}
		seen[p] = true
	}
	return ""
}

func TestRepeatedPhrase(t *testing.T) {
	for msg, want := range map[string]string{
		`field "topic": invalid topic filter: invalid topic filter: mqtt: bad`:      "invalid topic filter",
		`field "topic": topic filter "a/b a/b a/b a/b": '#' must be the last level`: "",
		`unknown parameter "x"; this endpoint takes no query parameters`:            "",
	} {
		if got := repeatedPhrase(msg); got != want {
			t.Errorf("repeatedPhrase(%q) = %q, want %q", msg, got, want)
		}
	}
}
