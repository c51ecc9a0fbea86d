package httpapi

import (
	"net/http"
	"net/url"
	"reflect"
	"strings"
	"testing"

	"github.com/shardmq/shardmq/catalog"
)

func i64(v int64) *int64 { return &v }

func TestParseClientsQueryValid(t *testing.T) {
	created := catalog.Range{Gte: i64(1694770580000), Lte: i64(1694770590000)}
	createdSec := catalog.Range{Gte: i64(1694770580000), Lte: i64(1694770590999)}
	tests := []struct {
		name   string
		query  string
		want   catalog.Filter
		fields []int
		page   int
		limit  int
	}{
		{name: "empty", query: "", page: 1, limit: 100},
		{name: "seed paging", query: "_page=2&_limit=50", want: catalog.Filter{Page: 2, Limit: 50}, page: 2, limit: 50},
		{name: "emqx5 paging", query: "page=3&limit=10000", want: catalog.Filter{Page: 3, Limit: 10000}, page: 3, limit: 10000},
		{name: "clientid", query: "clientid=c1", want: catalog.Filter{ClientIDs: []string{"c1"}}, page: 1, limit: 100},
		{name: "repeated clientid", query: "clientid=c1&clientid=c%2F2", want: catalog.Filter{ClientIDs: []string{"c1", "c/2"}}, page: 1, limit: 100},
		{name: "repeated username", query: "username=u1&username=u2", want: catalog.Filter{Usernames: []string{"u1", "u2"}}, page: 1, limit: 100},
		{name: "sql injection is a literal clientid", query: "clientid=" + url.QueryEscape("' OR 1=1 --"), want: catalog.Filter{ClientIDs: []string{"' OR 1=1 --"}}, page: 1, limit: 100},
		{name: "zone", query: "zone=default", want: catalog.Filter{Zone: "default"}, page: 1, limit: 100},
		{name: "node", query: "node=n2", want: catalog.Filter{Node: "n2"}, page: 1, limit: 100},
		{name: "tls names and listener", query: "peersni=broker.example&cn=device-1&listener=ssl%3Adefault",
			want: catalog.Filter{PeerSNI: "broker.example", CN: "device-1", Listener: "ssl:default"}, page: 1, limit: 100},
		{name: "ipv4", query: "ip_address=115.236.21.86", want: catalog.Filter{IPAddress: "115.236.21.86"}, page: 1, limit: 100},
		{name: "ipv6 canonicalised", query: "ip_address=2001:DB8:0:0::1", want: catalog.Filter{IPAddress: "2001:db8::1"}, page: 1, limit: 100},
		{name: "conn_state", query: "conn_state=idle", want: catalog.Filter{ConnState: catalog.Idle}, page: 1, limit: 100},
		{name: "clean_start true", query: "clean_start=true", want: catalog.Filter{CleanStart: new(true)}, page: 1, limit: 100},
		{name: "clean_start false", query: "clean_start=false", want: catalog.Filter{CleanStart: new(false)}, page: 1, limit: 100},
		{name: "proto_name", query: "proto_name=MQTT-SN", want: catalog.Filter{ProtoName: "MQTT-SN"}, page: 1, limit: 100},
		{name: "proto_ver", query: "proto_ver=5", want: catalog.Filter{ProtoVer: 5}, page: 1, limit: 100},
		{name: "seed times in seconds", query: "_gte_created_at=1694770580&_lte_created_at=1694770590",
			want: catalog.Filter{CreatedAt: createdSec}, page: 1, limit: 100},
		{name: "emqx5 times in millis", query: "gte_created_at=1694770580000&lte_created_at=1694770590000",
			want: catalog.Filter{CreatedAt: created}, page: 1, limit: 100},
		{name: "emqx5 times rfc3339", query: "gte_connected_at=" + url.QueryEscape("2023-09-15T09:36:20.000+00:00") + "&lte_connected_at=" + url.QueryEscape("2023-09-15T17:36:30+08:00"),
			want: catalog.Filter{ConnectedAt: catalog.Range{Gte: i64(1694770580000), Lte: i64(1694770590000)}}, page: 1, limit: 100},
		{name: "seed connected_at", query: "_gte_connected_at=0&_lte_connected_at=253402300799",
			want: catalog.Filter{ConnectedAt: catalog.Range{Gte: i64(0), Lte: i64(253402300799999)}}, page: 1, limit: 100},
		{name: "like", query: "like_clientid=%25_x&like_username=u", want: catalog.Filter{LikeClientID: "%_x", LikeUsername: "u"}, page: 1, limit: 100},
		{name: "emqx4 like", query: "_like_clientid=x", want: catalog.Filter{LikeClientID: "x"}, page: 1, limit: 100},
		{name: "fields", query: "fields=username,clientid,clientid", want: catalog.Filter{Fields: []string{"clientid", "username"}},
			fields: []int{1, 2}, page: 1, limit: 100},
		{name: "fields disconnected_at pulls connected", query: "fields=disconnected_at",
			want: catalog.Filter{Fields: []string{"disconnected_at", "connected"}}, fields: []int{fieldDisconnectedAt}, page: 1, limit: 100},
		{name: "fields all", query: "fields=all", page: 1, limit: 100},
		{name: "order", query: "order_by=recv_oct&order=desc", want: catalog.Filter{OrderBy: "recv_oct", Desc: true}, page: 1, limit: 100},
		{name: "order dotted column", query: "order_by=send_msg.dropped&order=asc", want: catalog.Filter{OrderBy: "send_msg.dropped"}, page: 1, limit: 100},
		{name: "stats ranges", query: "gte_mqueue_len=1&lte_mqueue_len=5&gte_recv_msg.qos1=2",
			want: catalog.Filter{Ranges: []catalog.ColumnRange{
				{Column: "mqueue_len", Range: catalog.Range{Gte: i64(1), Lte: i64(5)}},
				{Column: "recv_msg.qos1", Range: catalog.Range{Gte: i64(2)}},
			}}, page: 1, limit: 100},
		{name: "cursor", query: "cursor=abc&limit=5", want: catalog.Filter{Cursor: "abc", Limit: 5}, page: 1, limit: 5},
		{name: "cursor with page 1", query: "cursor=abc&page=1", want: catalog.Filter{Cursor: "abc", Page: 1}, page: 1, limit: 100},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			q, e := parseClientsQuery(tc.query)
			if e != nil {
				t.Fatalf("error %d %s", e.status, e.message)
			}
			if !reflect.DeepEqual(q.filter, tc.want) {
				t.Errorf("filter = %+v\nwant     %+v", q.filter, tc.want)
			}
			if !reflect.DeepEqual(q.fields, tc.fields) {
				t.Errorf("fields = %v, want %v", q.fields, tc.fields)
			}
			if q.page != tc.page || q.limit != tc.limit {
				t.Errorf("page, limit = %d, %d; want %d, %d", q.page, q.limit, tc.page, tc.limit)
			}
			if err := q.filter.Validate(); err != nil {
				t.Errorf("catalog rejects the parsed filter: %v", err)
			}
		})
	}
}

// badClientsQueries are GET /clients queries that must be a 400 whose
// message names the parameter.
var badClientsQueries = []struct {
	name, query, param string
}{
	{"unknown parameter", "foo=1", "foo"},
	{"unknown parameter case", "ClientID=a", "ClientID"},
	{"node repeated", "node=a&node=b", "node"},
	{"page zero", "_page=0", "_page"},
	{"page negative", "page=-1", "page"},
	{"page not a number", "_page=a", "_page"},
	{"page float", "_page=1.5", "_page"},
	{"page huge", "_page=99999999999999999999", "_page"},
	{"page above max", "page=1000000001", "page"},
	{"page sql", "_page=" + url.QueryEscape("1; DROP TABLE clients"), "_page"},
	{"limit zero", "_limit=0", "_limit"},
	{"limit too big", "_limit=10001", "_limit"},
	{"limit huge", "limit=1e9", "limit"},
	{"limit repeated", "limit=1&limit=2", "limit"},
	{"both page spellings", "_page=1&page=1", "page"},
	{"both limit spellings", "_limit=1&limit=1", "limit"},
	{"both created_at spellings", "_gte_created_at=1&gte_created_at=1", "gte_created_at"},
	{"empty value", "clientid=", "clientid"},
	{"invalid utf8 value", "clientid=%ff", "clientid"},
	{"invalid utf8 key", "%ff=1", `\xff`},
	{"nul in clientid", "clientid=a%00b", "clientid"},
	{"too many clientids", "clientid=" + strings.Repeat("a&clientid=", 1000) + "a", "clientid"},
	{"zone repeated", "zone=a&zone=b", "zone"},
	{"ip with port", "ip_address=127.0.0.1:1883", "ip_address"},
	{"ipv6 with port", "ip_address=" + url.QueryEscape("[::1]:1883"), "ip_address"},
	{"ip with zone", "ip_address=" + url.QueryEscape("fe80::1%eth0"), "ip_address"},
	{"ip hostname", "ip_address=localhost", "ip_address"},
	{"ip sql", "ip_address=" + url.QueryEscape("1.2.3.4' OR '1'='1"), "ip_address"},
	{"conn_state foo", "conn_state=foo", "conn_state"},
	{"conn_state case", "conn_state=Connected", "conn_state"},
	{"clean_start 1", "clean_start=1", "clean_start"},
	{"clean_start yes", "clean_start=yes", "clean_start"},
	{"proto_name other", "proto_name=AMQP", "proto_name"},
	{"proto_name case", "proto_name=mqtt", "proto_name"},
	{"proto_ver not int", "proto_ver=v5", "proto_ver"},
	{"proto_ver float", "proto_ver=5.0", "proto_ver"},
	{"proto_ver zero", "proto_ver=0", "proto_ver"},
	{"proto_ver huge", "proto_ver=256", "proto_ver"},
	{"proto_ver sql", "proto_ver=" + url.QueryEscape("5 OR 1=1"), "proto_ver"},
	{"seed time millis too big", "_gte_created_at=253402300800", "_gte_created_at"},
	{"seed time rfc3339", "_gte_created_at=" + url.QueryEscape("2023-09-15T09:36:20Z"), "_gte_created_at"},
	{"seed time negative", "_lte_connected_at=-1", "_lte_connected_at"},
	{"time garbage", "gte_created_at=yesterday", "gte_created_at"},
	{"time huge", "lte_created_at=99999999999999999999", "lte_created_at"},
	{"time bad rfc3339", "gte_connected_at=2023-13-45T00:00:00Z", "gte_connected_at"},
	{"time rfc3339 no zone", "gte_connected_at=2023-09-15T09:36:20", "gte_connected_at"},
	{"time repeated", "gte_created_at=1&gte_created_at=2", "gte_created_at"},
	{"fields unknown", "fields=clientid,password", "fields"},
	{"fields empty item", "fields=clientid,,username", "fields"},
	{"fields conn_state not in object", "fields=conn_state", "fields"},
	{"fields all mixed", "fields=all,clientid", "fields"},
	{"order_by unknown", "order_by=password", "order_by"},
	{"order_by not orderable", "order_by=zone", "order_by"},
	{"order_by sql", "order_by=" + url.QueryEscape("clientid; DROP TABLE clients"), "order_by"},
	{"order bad", "order=up", "order"},
	{"range unknown column", "gte_password=1", "gte_password"},
	{"range on non stats", "gte_port=1", "gte_port"},
	{"range not int", "gte_mqueue_len=a", "gte_mqueue_len"},
	{"range negative", "lte_recv_oct=-5", "lte_recv_oct"},
	{"range huge", "gte_recv_oct=99999999999999999999", "gte_recv_oct"},
	{"seed spelling of range", "_gte_mqueue_len=1", "_gte_mqueue_len"},
	{"cursor too long", "cursor=" + strings.Repeat("a", 4097), "cursor"},
	{"like repeated", "like_clientid=a&like_clientid=b", "like_clientid"},
	{"like both spellings", "like_clientid=a&_like_clientid=b", "like_clientid"},
	{"malformed escape", "clientid=%zz", "query"},
	{"clientid too long", "clientid=" + strings.Repeat("a", 65536), "clientid"},
}

func TestParseClientsQueryInvalid(t *testing.T) {
	for _, tc := range badClientsQueries {
		t.Run(tc.name, func(t *testing.T) {
			_, e := parseClientsQuery(tc.query)
			if e == nil {
				t.Fatal("accepted")
			}
			if e.status != http.StatusBadRequest || e.code != codeBadRequest {
				t.Fatalf("status %d code %s, want 400 BAD_REQUEST", e.status, e.code)
			}
			if !strings.Contains(e.message, tc.param) {
				t.Fatalf("message %q does not name %q", e.message, tc.param)
			}
		})
	}
}

func FuzzParseClientsQuery(f *testing.F) {
	for _, tc := range badClientsQueries {
		f.Add(tc.query)
	}
	f.Add("_page=1&_limit=50&clientid=a&username=b&zone=z&ip_address=::1&conn_state=connected&clean_start=true&proto_name=MQTT&proto_ver=4&_gte_created_at=1&lte_connected_at=2023-09-15T09:36:20Z&fields=clientid&order_by=recv_oct&order=desc&gte_mqueue_len=1&like_clientid=x")
	f.Fuzz(func(t *testing.T, raw string) {
		q, e := parseClientsQuery(raw)
		if e != nil {
			if e.status != http.StatusBadRequest || e.message == "" {
				t.Fatalf("bad error %+v", e)
			}
			return
		}
		// Whatever the parser accepts, the catalog must accept too: a
		// filter the catalog rejects would surface as a late 400 at best.
		if err := q.filter.Validate(); err != nil {
			t.Fatalf("parser accepted %q but the catalog rejects it: %v", raw, err)
		}
	})
}
