package httpapi

import (
	"encoding/json"
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"strings"

	"github.com/shardmq/shardmq/catalog"
)

// The OpenAPI 3 document of the API, served at /api-docs and
// {base}/api-docs. It is built once by New from opDocs below; a test
// checks that it names exactly the registered routes.

// param documents one parameter.
type param struct {
	name, in, typ, desc string
	enum                []string
	repeatable          bool
}

// opDoc documents one operation. Its key in opDocs is "METHOD path", the
// path under the base (or absolute for the operational endpoints).
type opDoc struct {
	summary string
	params  []param
	// body is the request body schema (a components name, or "" for none).
	body string
	// responses maps status → schema name ("" for no body, "text" for
	// text/plain, "metrics" for Prometheus' text format).
	responses map[int]string
	// public operations need no API key.
	public bool
}

// clientIDParam is the path parameter of the per-client routes.
var pathClientID = param{name: "clientid", in: "path", typ: "string",
	desc: "client id, percent-encoded when it holds / or other reserved characters"}

// pathTopic is the path parameter of the /retainer/message/{topic} routes.
var pathTopic = param{name: "topic", in: "path", typ: "string",
	desc: "topic name, percent-encoded: a/b is a%2Fb"}

// pathKeyName is the path parameter of the /api_key/{name} routes.
var pathKeyName = param{name: "name", in: "path", typ: "string",
	desc: "the key's name: a letter, then letters, digits, _ and -, at most 256"}

// clientsQueryParams are the parameters of GET /clients; the gte_/lte_
// ranges over the catalog's counters are added from catalog.Columns.
func clientsQueryParams() []param {
	ps := []param{
		{name: "page", in: "query", typ: "integer", desc: "page number, 1..1000000000, default 1; without cursor an offset, exact only while no client before the page comes or goes"},
		{name: "_page", in: "query", typ: "integer", desc: "page (the seed's spelling)"},
		{name: "limit", in: "query", typ: "integer", desc: "page size, 1..10000, default 100"},
		{name: "_limit", in: "query", typ: "integer", desc: "limit (the seed's spelling)"},
		{name: "clientid", in: "query", typ: "string", desc: "exact client id; repeated values are ORed (at most 1000)", repeatable: true},
		{name: "username", in: "query", typ: "string", desc: "exact username; repeated values are ORed (at most 1000); an empty value (username=) selects clients without a user name", repeatable: true},
		{name: "zone", in: "query", typ: "string", desc: "zone name"},
		{name: "node", in: "query", typ: "string", desc: "the node the client is connected to (its session's node)"},
		{name: "ip_address", in: "query", typ: "string", desc: "client IPv4 or IPv6 address, without port"},
		{name: "peersni", in: "query", typ: "string", desc: "exact TLS server name (SNI) the client asked for"},
		{name: "cn", in: "query", typ: "string", desc: "exact subject common name of the client's TLS certificate"},
		{name: "listener", in: "query", typ: "string", desc: "listener id KIND:NAME, e.g. ssl:default"},
		{name: "conn_state", in: "query", typ: "string", enum: []string{"connected", "idle", "disconnected"}, desc: "connection state"},
		{name: "clean_start", in: "query", typ: "boolean", desc: "clean start flag"},
		{name: "proto_name", in: "query", typ: "string", enum: []string{"MQTT", "MQIsdp", "CoAP", "MQTT-SN"}, desc: "protocol name"},
		{name: "proto_ver", in: "query", typ: "integer", desc: "protocol version, 1..255 (MQTT: 3, 4, 5)"},
		{name: "like_clientid", in: "query", typ: "string", desc: "case-sensitive substring of the client id"},
		{name: "_like_clientid", in: "query", typ: "string", desc: "like_clientid (EMQX 4's spelling)"},
		{name: "like_username", in: "query", typ: "string", desc: "case-sensitive substring of the username"},
		{name: "_like_username", in: "query", typ: "string", desc: "like_username (EMQX 4's spelling)"},
		{name: "order_by", in: "query", typ: "string", desc: "sort column: clientid (default), username, connected_at, created_at or a counter"},
		{name: "order", in: "query", typ: "string", enum: []string{"asc", "desc"}, desc: "sort direction, default asc"},
		{name: "cursor", in: "query", typ: "string", desc: "meta.cursor of the previous page (keyset paging): alone, or beside the page number it leads to; a walk by page number that passes it back never skips or repeats a client that stayed while others came and went"},
		{name: "fields", in: "query", typ: "string", desc: "comma-separated keys of the client object, or all"},
	}
	for _, t := range []string{"created_at", "connected_at"} {
		ps = append(ps,
			param{name: "gte_" + t, in: "query", typ: "string", desc: t + " ≥ bound: Unix milliseconds or RFC 3339"},
			param{name: "lte_" + t, in: "query", typ: "string", desc: t + " ≤ bound: Unix milliseconds or RFC 3339"},
			param{name: "_gte_" + t, in: "query", typ: "integer", desc: t + " ≥ bound in Unix seconds (the seed's spelling)"},
			param{name: "_lte_" + t, in: "query", typ: "integer", desc: t + " ≤ bound in Unix seconds, inclusive of the whole second"})
	}
	for _, c := range catalog.Columns {
		if c.Rangeable {
			ps = append(ps,
				param{name: "gte_" + c.Name, in: "query", typ: "integer", desc: c.Name + " ≥ bound, 0..2^62"},
				param{name: "lte_" + c.Name, in: "query", typ: "integer", desc: c.Name + " ≤ bound, 0..2^62"})
		}
	}
	return ps
}

// clientsV2Params are GET /clients' parameters without the page number.
func clientsV2Params() []param {
	var out []param
	for _, p := range clientsQueryParams() {
		if p.name != "page" && p.name != "_page" {
			out = append(out, p)
		}
	}
	return out
}

// opDocs documents every route.
func opDocs() map[string]opDoc {
	clientErrs := map[int]string{400: "Error", 404: "Error", 503: "Error"}
	with := func(m map[int]string, status int, schema string) map[int]string {
		out := map[int]string{status: schema}
		for k, v := range m {
			out[k] = v
		}
		return out
	}
	docs := map[string]opDoc{
		"GET /clients": {summary: "List clients (connected and offline sessions), filtered and paged, from the catalog",
			params: clientsQueryParams(), responses: map[int]string{200: "ClientPage", 400: "Error", 503: "Error"}},
		"GET /clients/{clientid}": {summary: "One client's info object, read live from its session",
			params: []param{pathClientID}, responses: with(clientErrs, 200, "Client")},
		"DELETE /clients/{clientid}": {summary: "Kick: close the connection (MQTT 5: DISCONNECT 0x98) and discard the session",
			params: []param{pathClientID}, responses: with(clientErrs, 204, "")},
		"GET /clients/{clientid}/subscriptions": {summary: "One client's subscriptions, ordered by topic",
			params: []param{pathClientID}, responses: with(clientErrs, 200, "SubscriptionList")},
		"GET /clients/{clientid}/mqueue_messages": {summary: "The session's queued messages, oldest first, paged by position",
			params: []param{pathClientID,
				{name: "position", in: "query", typ: "string", desc: "meta.position of the previous page: list what comes after it"},
				{name: "limit", in: "query", typ: "integer", desc: "messages per page, 1..1000, default 100"},
				{name: "payload", in: "query", typ: "string", enum: []string{"base64", "plain", "none"}, desc: "payload encoding, default base64"},
				{name: "max_payload_bytes", in: "query", typ: "string", desc: "stop adding messages past this many payload bytes (at least one is listed), default 1MB; bytes or KB/MB/GB"},
			}, responses: with(clientErrs, 200, "MessagePage")},
		"GET /clients/{clientid}/inflight_messages": {summary: "The session's inflight window (sent, not acknowledged), in send order, paged by position (packet id)",
			params: []param{pathClientID,
				{name: "position", in: "query", typ: "string", desc: "meta.position of the previous page: list what comes after it"},
				{name: "limit", in: "query", typ: "integer", desc: "messages per page, 1..1000, default 100"},
				{name: "payload", in: "query", typ: "string", enum: []string{"base64", "plain", "none"}, desc: "payload encoding, default base64"},
				{name: "max_payload_bytes", in: "query", typ: "string", desc: "stop adding messages past this many payload bytes (at least one is listed), default 1MB; bytes or KB/MB/GB"},
			}, responses: with(clientErrs, 200, "MessagePage")},
		"GET /clients/{clientid}/authorization/cache": {summary: "The authorization decisions the session keeps (publish first, by topic)",
			params: []param{pathClientID}, responses: with(clientErrs, 200, "AuthzCache")},
		"DELETE /clients/{clientid}/authorization/cache": {summary: "Forget the session's cached authorization decisions: the ACL decides anew",
			params: []param{pathClientID}, responses: with(clientErrs, 204, "")},
		"PUT /clients/{clientid}/keepalive": {summary: "Change the keep alive of the client's connection (seconds, 0: none); the timer runs with it from now",
			params: []param{pathClientID}, body: "KeepaliveRequest", responses: with(clientErrs, 200, "Client")},
		"POST /clients/{clientid}/subscribe": {summary: "Subscribe the client; in force when the response comes",
			params: []param{pathClientID}, body: "SubscribeRequest", responses: with(clientErrs, 200, "Subscription")},
		"POST /clients/{clientid}/subscribe/bulk": {summary: "Subscribe the client to several filters, all or nothing",
			params: []param{pathClientID}, body: "SubscribeBulkRequest", responses: with(clientErrs, 200, "SubscriptionData")},
		"POST /clients/{clientid}/unsubscribe": {summary: "Unsubscribe the client from a filter",
			params: []param{pathClientID}, body: "UnsubscribeRequest", responses: with(clientErrs, 204, "")},
		"POST /clients/{clientid}/unsubscribe/bulk": {summary: "Unsubscribe the client from several filters",
			params: []param{pathClientID}, body: "UnsubscribeBulkRequest", responses: with(clientErrs, 204, "")},
		"POST /clients/kickout/bulk": {summary: "Kick several clients; ids without a session are skipped",
			body: "ClientIDList", responses: map[int]string{204: "", 400: "Error", 503: "Error"}},
		"GET /subscriptions": {summary: "Every subscription of every session, ordered by client id then topic, paged",
			params: []param{
				{name: "page", in: "query", typ: "integer", desc: "page number, default 1"},
				{name: "_page", in: "query", typ: "integer", desc: "page (the seed's spelling)"},
				{name: "limit", in: "query", typ: "integer", desc: "page size, 1..10000, default 100"},
				{name: "_limit", in: "query", typ: "integer", desc: "limit (the seed's spelling)"},
				{name: "cursor", in: "query", typ: "string", desc: "meta.cursor of the previous page"},
				{name: "clientid", in: "query", typ: "string", desc: "owner, exact"},
				{name: "topic", in: "query", typ: "string", desc: "subscribed filter, exact, without $share/{group}/"},
				{name: "qos", in: "query", typ: "integer", enum: []string{"0", "1", "2"}, desc: "granted QoS"},
				{name: "share_group", in: "query", typ: "string", desc: "shared subscriptions of this group"},
				{name: "match_topic", in: "query", typ: "string", desc: "a topic name the filter matches"},
				{name: "_match_topic", in: "query", typ: "string", desc: "match_topic (EMQX 4's spelling)"},
			}, responses: map[int]string{200: "SubscriptionPage", 400: "Error", 503: "Error"}},
		"POST /publish": {summary: "Publish a message as the API",
			body: "PublishRequest", responses: map[int]string{200: "PublishResult", 202: "PublishResult", 400: "Error", 503: "Error"}},
		"POST /publish/bulk": {summary: "Publish several messages, validated as a whole first",
			body: "PublishBulkRequest", responses: map[int]string{200: "PublishResultList", 202: "PublishResultList", 400: "Error", 503: "Error"}},
		"GET /stats": {summary: "Broker-wide counts and their high-water marks (EMQX 5's names)",
			params:    []param{{name: "aggregate", in: "query", typ: "boolean", desc: "one object without the node name instead of one per node"}},
			responses: map[int]string{200: "StatsList", 400: "Error", 503: "Error"}},
		"GET /banned": {summary: "The bans in force, by kind then who, paged (EMQX 5's shape); at most one filter",
			params: []param{
				{name: "page", in: "query", typ: "integer", desc: "page number, default 1"},
				{name: "_page", in: "query", typ: "integer", desc: "page (the seed's spelling)"},
				{name: "limit", in: "query", typ: "integer", desc: "page size, 1..10000, default 100"},
				{name: "_limit", in: "query", typ: "integer", desc: "limit (the seed's spelling)"},
				{name: "clientid", in: "query", typ: "string", desc: "the ban of this exact client id"},
				{name: "username", in: "query", typ: "string", desc: "the ban of this exact user name"},
				{name: "peerhost", in: "query", typ: "string", desc: "the ban of this exact address"},
				{name: "like_clientid", in: "query", typ: "string", desc: "clientid and clientid_re bans whose who contains this (case-sensitive)"},
				{name: "like_username", in: "query", typ: "string", desc: "username and username_re bans whose who contains this"},
				{name: "like_peerhost", in: "query", typ: "string", desc: "peerhost bans whose address contains this"},
				{name: "like_peerhost_net", in: "query", typ: "string", desc: "peerhost_net bans whose network contains this text"},
			}, responses: map[int]string{200: "BanPage", 400: "Error", 503: "Error"}},
		"POST /banned": {summary: "Ban clients; refused at CONNECT (0x8A, MQTT 3: 5) and kicked when connected, from the answer on",
			body: "BanCreate", responses: map[int]string{200: "Ban", 400: "Error", 503: "Error"}},
		"DELETE /banned": {summary: "Lift every ban",
			responses: map[int]string{204: "", 400: "Error", 503: "Error"}},
		"DELETE /banned/{as}/{who}": {summary: "Lift one ban; who percent-encoded (a network: 10.0.0.0%2F8)",
			params: []param{
				{name: "as", in: "path", typ: "string", enum: banKinds, desc: "the ban's kind"},
				{name: "who", in: "path", typ: "string", desc: "the ban's who, percent-encoded"},
			}, responses: map[int]string{204: "", 400: "Error", 404: "Error", 503: "Error"}},
		"GET /topics": {summary: "The topic filters subscribed to (routes), each once with its node, by filter, paged",
			params: []param{
				{name: "page", in: "query", typ: "integer", desc: "page number, default 1"},
				{name: "_page", in: "query", typ: "integer", desc: "page (the seed's spelling)"},
				{name: "limit", in: "query", typ: "integer", desc: "page size, 1..10000, default 100"},
				{name: "_limit", in: "query", typ: "integer", desc: "limit (the seed's spelling)"},
				{name: "topic", in: "query", typ: "string", desc: "exact filter (shared subscriptions without $share/{group}/)"},
				{name: "node", in: "query", typ: "string", desc: "exact node name"},
			}, responses: map[int]string{200: "TopicPage", 400: "Error", 503: "Error"}},
		"GET /retainer/messages": {summary: "Retained messages by topic, paged, without payloads",
			params: []param{
				{name: "page", in: "query", typ: "integer", desc: "page number, default 1"},
				{name: "_page", in: "query", typ: "integer", desc: "page (the seed's spelling)"},
				{name: "limit", in: "query", typ: "integer", desc: "page size, 1..10000, default 100"},
				{name: "_limit", in: "query", typ: "integer", desc: "limit (the seed's spelling)"},
				{name: "topic", in: "query", typ: "string", desc: "a topic filter (wildcards allowed) the topics must match"},
			}, responses: map[int]string{200: "RetainedPage", 400: "Error", 503: "Error"}},
		"GET /retainer/message/{topic}": {summary: "The message retained at a topic, payload in base64",
			params:    []param{pathTopic},
			responses: map[int]string{200: "RetainedMessage", 400: "Error", 404: "Error", 503: "Error"}},
		"DELETE /retainer/message/{topic}": {summary: "Remove the message retained at a topic",
			params:    []param{pathTopic},
			responses: map[int]string{204: "", 400: "Error", 404: "Error", 503: "Error"}},
		"GET /listeners": {summary: "The MQTT listeners with their address, zone, limit and current connections (EMQX 5's shape)",
			responses: map[int]string{200: "ListenerList", 400: "Error", 503: "Error"}},
		"GET /nodes": {summary: "Every node of the cluster (EMQX 5's shape): name, node_status (running or stopped), version, uptime (ms), connections; this node's entry adds memory, file limit, load",
			responses: map[int]string{200: "NodeList", 400: "Error", 503: "Error"}},
		"GET /nodes/{node}": {summary: "One node of the cluster by name; an unknown name is a 404",
			params:    []param{{name: "node", in: "path", typ: "string", desc: "node name, e.g. shardmq@127.0.0.1"}},
			responses: map[int]string{200: "Node", 400: "Error", 404: "Error", 503: "Error"}},
		"GET /monitor_current": {summary: "Current counts and per-second rates over the last stats interval (EMQX 5's names)",
			responses: map[int]string{200: "MonitorCurrent", 400: "Error", 503: "Error"}},
		"GET /sessions_count": {summary: "The number of sessions, connected and offline (a JSON integer)",
			params:    []param{{name: "since", in: "query", typ: "integer", desc: "Unix seconds (EMQX 5); every session kept is alive now, so it changes nothing"}},
			responses: map[int]string{200: "Count", 400: "Error", 503: "Error"}},
		"GET /clients_v2": {summary: "GET /clients paged by cursor only (EMQX 5.7): pass meta.cursor back until hasnext is false",
			params: clientsV2Params(), responses: map[int]string{200: "ClientPage", 400: "Error", 503: "Error"}},
		"GET /api_key": {summary: "Every API key, without secrets, by name (EMQX 5's shape)",
			responses: map[int]string{200: "ApiKeyList", 400: "Error"}},
		"POST /api_key": {summary: "Create an API key with a random api_key and api_secret; the secret is in this answer only",
			body: "ApiKeyCreate", responses: map[int]string{200: "ApiKeyWithSecret", 400: "Error"}},
		"GET /api_key/{name}": {summary: "One API key, without its secret",
			params: []param{pathKeyName}, responses: map[int]string{200: "ApiKey", 400: "Error", 404: "Error"}},
		"PUT /api_key/{name}": {summary: "Change an API key's enable, expired_at, desc or role; in force for the next request",
			params: []param{pathKeyName}, body: "ApiKeyUpdate", responses: map[int]string{200: "ApiKey", 400: "Error", 404: "Error"}},
		"DELETE /api_key/{name}": {summary: "Delete an API key; it authenticates nobody from the answer on",
			params: []param{pathKeyName}, responses: map[int]string{204: "", 400: "Error", 404: "Error"}},
		"GET " + StatusPath: {summary: "Health, as EMQX: 200 when the MQTT listeners and the catalog are up, 503 before and while stopping",
			responses: map[int]string{200: "text", 503: "text"}, public: true},
		"GET {base}" + StatusPath: {summary: "Health (the same as /status)",
			responses: map[int]string{200: "text", 503: "text"}, public: true},
		"GET " + DocsPath: {summary: "This OpenAPI 3 document",
			responses: map[int]string{200: "document"}, public: true},
		"GET {base}" + DocsPath: {summary: "This OpenAPI 3 document (the same as /api-docs)",
			responses: map[int]string{200: "document"}, public: true},
		"GET " + SwaggerPath: {summary: "This OpenAPI 3 document, where EMQX 5 serves its own",
			responses: map[int]string{200: "document"}, public: true},
		"GET " + ExplorerPath: {summary: "The API explorer: a page that lists these operations and sends them with a key typed in it",
			responses: map[int]string{200: "html"}, public: true},
		"GET " + ExplorerScriptPath: {summary: "The API explorer's script",
			responses: map[int]string{200: "javascript"}, public: true},
		"GET " + MetricsPath: {summary: "Prometheus metrics (text exposition format); needs an administrator or viewer key when the broker is configured so",
			responses: map[int]string{200: "metrics", 401: "Error", 403: "Error"}, public: true},
	}
	// The listener actions, under PUT (EMQX 5.0) and POST (EMQX 5.1 on).
	id := param{name: "id", in: "path", typ: "string", desc: "listener id TYPE:NAME, as tcp:default (GET /listeners lists them)"}
	for act, what := range map[string]string{
		ActionStop:    "Stop an MQTT listener on this node: its port closes (connects are refused) and its connections are closed; stopping a stopped one does nothing",
		ActionStart:   "Start a stopped MQTT listener on this node again on the address and with the settings it had (an ssl or wss listener reads its certificate files again); starting a running one does nothing",
		ActionRestart: "Stop an MQTT listener on this node, closing its connections, and start it again",
	} {
		for _, m := range []string{http.MethodPut, http.MethodPost} {
			docs[m+" /listeners/{id}/"+act] = opDoc{summary: what, params: []param{id},
				responses: map[int]string{200: "", 400: "Error", 404: "Error", 503: "Error"}}
		}
	}
	return docs
}

// headDoc documents HEAD from the GET operation d: the same parameters and
// statuses, without bodies.
func headDoc(d opDoc) opDoc {
	h := opDoc{summary: "Headers of GET: " + d.summary, params: d.params, public: d.public, responses: map[int]string{}}
	for status := range d.responses {
		h.responses[status] = ""
	}
	return h
}

// docKey returns the opDocs key of a registered route.
func (a *API) docKey(rt route) string {
	p := rt.pattern
	if rest, ok := strings.CutPrefix(p, a.cfg.Base); ok && (rest == StatusPath || rest == DocsPath) {
		return rt.method + " {base}" + rest
	}
	if rest, ok := strings.CutPrefix(p, a.cfg.Base+"/"); ok {
		return rt.method + " /" + rest
	}
	return rt.method + " " + p
}

// buildDocs returns the document for the registered routes; a route
// without an opDoc is an error (New refuses to start: the document would
// lie).
func (a *API) buildDocs() ([]byte, error) {
	docs := opDocs()
	paths := map[string]map[string]any{}
	for _, rt := range a.ops.routes {
		key := a.docKey(rt)
		d, ok := docs[key]
		if rt.method == http.MethodHead {
			// HEAD is GET without the body.
			d, ok = docs[a.docKey(route{method: http.MethodGet, pattern: rt.pattern})]
			d = headDoc(d)
		}
		if !ok {
			return nil, fmt.Errorf("httpapi: route %s %s has no OpenAPI description", rt.method, rt.pattern)
		}
		op := map[string]any{"summary": d.summary, "operationId": operationID(key)}
		if len(d.params) > 0 {
			var ps []map[string]any
			for _, p := range d.params {
				schema := map[string]any{"type": p.typ}
				if len(p.enum) > 0 {
					schema["enum"] = p.enum
				}
				if p.repeatable {
					schema = map[string]any{"type": "array", "items": schema}
				}
				ps = append(ps, map[string]any{"name": p.name, "in": p.in, "required": p.in == "path",
					"description": p.desc, "schema": schema, "explode": true})
			}
			op["parameters"] = ps
		}
		if d.body != "" {
			op["requestBody"] = map[string]any{"required": true, "content": map[string]any{
				"application/json": map[string]any{"schema": ref(d.body)}}}
		}
		res := map[string]any{}
		for status, schema := range d.responses {
			r := map[string]any{"description": http.StatusText(status)}
			switch schema {
			case "":
			case "text":
				r["content"] = map[string]any{"text/plain": map[string]any{"schema": map[string]any{"type": "string"},
					"example": "Node " + a.cfg.Node + " is started\nshardmq is running"}}
			case "metrics":
				r["content"] = map[string]any{"text/plain; version=0.0.4": map[string]any{"schema": map[string]any{"type": "string"}}}
			case "html":
				r["content"] = map[string]any{"text/html": map[string]any{"schema": map[string]any{"type": "string"}}}
			case "javascript":
				r["content"] = map[string]any{"text/javascript": map[string]any{"schema": map[string]any{"type": "string"}}}
			case "document":
				r["content"] = map[string]any{"application/json": map[string]any{"schema": map[string]any{"type": "object"}}}
			default:
				r["content"] = map[string]any{"application/json": map[string]any{"schema": ref(schema)}}
			}
			res[strconv.Itoa(status)] = r
		}
		if !d.public {
			res["401"] = map[string]any{"description": "missing or wrong API key", "content": jsonContent("Error")}
			res["403"] = map[string]any{"description": "the key's role may not do this", "content": jsonContent("Error")}
		}
		op["responses"] = res
		if d.public {
			op["security"] = []any{}
		}
		if paths[rt.pattern] == nil {
			paths[rt.pattern] = map[string]any{}
		}
		paths[rt.pattern][strings.ToLower(rt.method)] = op
	}
	doc := map[string]any{
		"openapi": "3.0.3",
		"info": map[string]any{"title": "shardmq management API", "version": "5",
			"description": "EMQX 5-compatible clients API of the shardmq MQTT broker. Errors are JSON {code, message}. " +
				"HEAD is served wherever GET is; OPTIONS on any path answers 204 with Allow, without a key " +
				"(with CORS preflight headers for the configured origins)."},
		"servers":    []any{map[string]any{"url": "/"}},
		"paths":      paths,
		"security":   []any{map[string]any{"basicAuth": []any{}}},
		"components": components(),
	}
	return json.MarshalIndent(doc, "", "  ")
}

func ref(name string) map[string]any {
	return map[string]any{"$ref": "#/components/schemas/" + name}
}

func jsonContent(schema string) map[string]any {
	return map[string]any{"application/json": map[string]any{"schema": ref(schema)}}
}

// operationID makes an operation id from "METHOD /path/{x}".
func operationID(key string) string {
	r := strings.NewReplacer("{base}", "base", "/", "_", "{", "", "}", "", "-", "_", " ", "")
	return strings.ToLower(r.Replace(key))
}

// components returns the schemas of the document.
func components() map[string]any {
	obj := func(required []string, props map[string]any) map[string]any {
		m := map[string]any{"type": "object", "properties": props}
		if len(required) > 0 {
			m["required"] = required
		}
		return m
	}
	str := map[string]any{"type": "string"}
	integer := map[string]any{"type": "integer"}
	boolean := map[string]any{"type": "boolean"}
	arr := func(items any) map[string]any { return map[string]any{"type": "array", "items": items} }
	bit := map[string]any{"type": "integer", "enum": []int{0, 1}}
	meta := obj([]string{"page", "limit", "hasnext"}, map[string]any{"page": integer, "limit": integer,
		"hasnext": boolean, "count": integer, "cursor": str})
	sub := obj(nil, map[string]any{"clientid": str, "topic": str, "qos": integer, "nl": bit, "rap": bit,
		"rh": integer, "node": str})
	subReq := obj([]string{"topic"}, map[string]any{"topic": str, "qos": map[string]any{"type": "integer", "enum": []int{0, 1, 2}},
		"nl": bit, "rap": bit, "rh": map[string]any{"type": "integer", "enum": []int{0, 1, 2}}})
	unsubReq := obj([]string{"topic"}, map[string]any{"topic": str})
	pubReq := obj([]string{"topic", "payload"}, map[string]any{
		"topic": str, "payload": str, "payload_encoding": map[string]any{"type": "string", "enum": []string{"plain", "base64"}},
		"qos": map[string]any{"type": "integer", "enum": []int{0, 1, 2}}, "retain": boolean,
		"clientid": map[string]any{"type": "string", "deprecated": true},
		"properties": obj(nil, map[string]any{"payload_format_indicator": bit, "message_expiry_interval": integer,
			"response_topic": str, "correlation_data": str, "content_type": str,
			"user_properties": map[string]any{"type": "object", "additionalProperties": str}}),
	})
	pubRes := obj([]string{"id"}, map[string]any{"id": str, "reason_code": integer, "message": str})
	stats := map[string]any{}
	for _, k := range []string{"connections", "live_connections", "sessions", "subscriptions",
		"subscriptions.shared", "topics", "retained"} {
		stats[k+".count"] = integer
		stats[k+".max"] = integer
	}
	stats["node"] = str
	expiredAt := map[string]any{"oneOf": []any{
		map[string]any{"type": "string", "enum": []string{"infinity"}},
		map[string]any{"type": "string", "format": "date-time"},
		map[string]any{"type": "integer", "description": "Unix seconds"},
	}}
	keyProps := func(out bool) map[string]any {
		m := map[string]any{"desc": str, "enable": boolean, "expired_at": expiredAt,
			"role": map[string]any{"type": "string", "enum": []string{"administrator", "viewer", "publisher"}}}
		if out {
			m["name"], m["api_key"], m["created_at"], m["expired"] = str, str, map[string]any{"type": "string", "format": "date-time"}, boolean
			m["expired_at"] = map[string]any{"oneOf": []any{
				map[string]any{"type": "string", "enum": []string{"infinity"}},
				map[string]any{"type": "string", "format": "date-time"}}}
		}
		return m
	}
	apiKey := obj([]string{"name", "api_key", "expired_at", "created_at", "desc", "enable", "expired", "role"}, keyProps(true))
	withSecret := keyProps(true)
	withSecret["api_secret"] = str
	createProps := keyProps(false)
	createProps["name"] = map[string]any{"type": "string", "pattern": "^[A-Za-z][A-Za-z0-9_-]*$", "maxLength": maxNameLen}
	banAs := map[string]any{"type": "string", "enum": banKinds}
	banProps := map[string]any{"as": banAs, "who": str, "by": str, "reason": str,
		"at": map[string]any{"type": "string", "format": "date-time"},
		"until": map[string]any{"oneOf": []any{
			map[string]any{"type": "string", "enum": []string{"infinity"}},
			map[string]any{"type": "string", "format": "date-time"}}}}
	ban := obj([]string{"as", "who", "by", "reason", "at", "until"}, banProps)
	banCreate := obj([]string{"as", "who"}, map[string]any{"as": banAs,
		"who":    map[string]any{"type": "string", "minLength": 1, "maxLength": maxBanWho},
		"by":     map[string]any{"type": "string", "maxLength": maxBanText, "description": "default mgmt_api"},
		"reason": map[string]any{"type": "string", "maxLength": maxBanText},
		"at": map[string]any{"oneOf": []any{map[string]any{"type": "string", "format": "date-time"},
			map[string]any{"type": "integer", "description": "Unix seconds"}}, "description": "default now"},
		"until": expiredAt})
	return map[string]any{
		"schemas": map[string]any{
			"Node": obj([]string{"node", "node_status", "version", "uptime", "connections"}, map[string]any{
				"node": str, "node_status": map[string]any{"type": "string", "enum": []string{"running", "stopped"}}, "version": str,
				"edition": str, "role": str, "uptime": map[string]any{"type": "integer", "description": "milliseconds"},
				"connections": integer, "live_connections": integer, "memory_total": integer, "memory_used": integer,
				"max_fds": integer, "load1": map[string]any{"type": "number"}, "load5": map[string]any{"type": "number"},
				"load15": map[string]any{"type": "number"}, "process_used": map[string]any{"type": "integer", "description": "goroutines"},
				"otp_release": map[string]any{"type": "string", "description": "the Go runtime's version"}}),
			"NodeList": arr(ref("Node")),
			"MonitorCurrent": obj(nil, map[string]any{"connections": integer, "live_connections": integer, "sessions": integer,
				"subscriptions": integer, "shared_subscriptions": integer, "topics": integer, "retained_msg_count": integer,
				"received_msg_rate": integer, "sent_msg_rate": integer, "dropped_msg_rate": integer,
				"received_bytes_rate": integer, "sent_bytes_rate": integer, "received_packets_rate": integer,
				"sent_packets_rate": integer, "mqueue_dropped_rate": integer}),
			"Count":            integer,
			"KeepaliveRequest": obj([]string{"interval"}, map[string]any{"interval": map[string]any{"type": "integer", "minimum": 0, "maximum": 65535}}),
			"Ban":              ban,
			"BanCreate":        banCreate,
			"BanPage": obj([]string{"meta", "data"}, map[string]any{"meta": meta,
				"data": arr(ref("Ban"))}),
			"Error":  obj([]string{"code", "message"}, map[string]any{"code": str, "message": str}),
			"Client": clientSchema(),
			"ClientPage": obj([]string{"meta", "data"}, map[string]any{"meta": meta,
				"data": arr(ref("Client"))}),
			"Subscription":           sub,
			"SubscriptionList":       arr(ref("Subscription")),
			"SubscriptionData":       obj([]string{"data"}, map[string]any{"data": arr(ref("Subscription"))}),
			"SubscriptionPage":       obj([]string{"meta", "data"}, map[string]any{"meta": meta, "data": arr(ref("Subscription"))}),
			"SubscribeRequest":       subReq,
			"SubscribeBulkRequest":   arr(ref("SubscribeRequest")),
			"UnsubscribeRequest":     unsubReq,
			"UnsubscribeBulkRequest": arr(ref("UnsubscribeRequest")),
			"ClientIDList":           arr(str),
			"PublishRequest":         pubReq,
			"PublishBulkRequest":     arr(ref("PublishRequest")),
			"PublishResult":          pubRes,
			"PublishResultList":      arr(ref("PublishResult")),
			"Stats":                  obj(nil, stats),
			"StatsList":              map[string]any{"oneOf": []any{arr(ref("Stats")), ref("Stats")}},
			"ApiKey":                 apiKey,
			"ApiKeyList":             arr(ref("ApiKey")),
			"ApiKeyWithSecret": obj([]string{"name", "api_key", "api_secret", "expired_at", "created_at", "desc", "enable", "expired", "role"},
				withSecret),
			"ApiKeyCreate": obj([]string{"name"}, createProps),
			"ApiKeyUpdate": obj(nil, keyProps(false)),
		},
		"securitySchemes": map[string]any{
			"basicAuth": map[string]any{"type": "http", "scheme": "basic",
				"description": "API key and secret (key:secret[:role] file); roles administrator, viewer (GET only), publisher (publish only)"},
		},
	}
}

// nullableClientFields may be null in the client object.
var nullableClientFields = map[string]bool{"username": true, "peersni": true, "cn": true, "dn": true,
	"tenant_id_from": true, "disconnected_at": true}

// clientSchema describes the client object, its keys and types taken from
// the encoder itself (clientFields over a sample row).
func clientSchema() map[string]any {
	s := "x"
	d := int64(1)
	row := catalog.Row{Username: "u", PeerSNI: &s, CN: &s, DN: &s, TenantIDFrom: &s, DisconnectedAt: &d, ConnectedAt: 1, CreatedAt: 1}
	props := map[string]any{}
	var required []string
	for _, f := range clientFields {
		var v any
		_ = json.Unmarshal(f.appendValue(nil, &row), &v)
		var schema map[string]any
		switch v.(type) {
		case string:
			schema = map[string]any{"type": "string"}
			if strings.HasSuffix(f.name, "_at") {
				schema["format"] = "date-time"
			}
		case bool:
			schema = map[string]any{"type": "boolean"}
		default:
			schema = map[string]any{"type": "integer"}
		}
		if limitFields[f.name] {
			schema = map[string]any{"oneOf": []any{
				map[string]any{"type": "integer", "minimum": 1},
				map[string]any{"type": "string", "enum": []string{"infinity"}},
			}, "description": "the limit, or \"infinity\" when there is none"}
		}
		if nullableClientFields[f.name] {
			schema["nullable"] = true
		}
		if f.name != "disconnected_at" {
			required = append(required, f.name)
		}
		props[f.name] = schema
	}
	sort.Strings(required)
	return map[string]any{"type": "object", "properties": props, "required": required}
}

// serveDocs serves the OpenAPI document.
func (a *API) serveDocs(w http.ResponseWriter, r *http.Request) {
	if e := noQuery(r); e != nil {
		writeError(w, e)
		return
	}
	writeBody(w, http.StatusOK, a.ops.docs)
}
