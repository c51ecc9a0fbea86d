package httpapi

import (
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/shardmq/shardmq/catalog"
)

// expectIDs returns the sorted ids of rows passing keep.
func expectIDs(rows []catalog.Row, keep func(r *catalog.Row) bool) []string {
	var out []string
	for i := range rows {
		if keep(&rows[i]) {
			out = append(out, rows[i].ClientID)
		}
	}
	sort.Strings(out)
	return out
}

func TestListClientsFilters(t *testing.T) {
	rows := testRows(300)
	env := newTestEnv(t, Config{}, rows)
	sec := func(i int) string { return strconv.FormatInt((baseTime+int64(i)*1000)/1000, 10) }
	ms := func(i int) string { return strconv.FormatInt(baseTime+int64(i)*1000, 10) }
	tests := []struct {
		name    string
		queries []string // equivalent spellings
		keep    func(r *catalog.Row) bool
	}{
		{"all", []string{"", "_page=1", "page=1"}, func(*catalog.Row) bool { return true }},
		{"clientid", []string{"clientid=c0007"}, func(r *catalog.Row) bool { return r.ClientID == "c0007" }},
		{"repeated clientid", []string{"clientid=c0007&clientid=c0100&clientid=nope"},
			func(r *catalog.Row) bool { return r.ClientID == "c0007" || r.ClientID == "c0100" }},
		{"username", []string{"username=u3"}, func(r *catalog.Row) bool { return r.Username == "u3" }},
		{"repeated username", []string{"username=u3&username=u5"}, func(r *catalog.Row) bool { return r.Username == "u3" || r.Username == "u5" }},
		{"empty username", []string{"username="}, func(r *catalog.Row) bool { return r.Username == "" }},
		{"empty or u3", []string{"username=&username=u3", "username=u3&username="}, func(r *catalog.Row) bool { return r.Username == "" || r.Username == "u3" }},
		{"empty username and state", []string{"username=&conn_state=connected&proto_ver=4"}, func(r *catalog.Row) bool {
			return r.Username == "" && r.ConnState == catalog.Connected && r.ProtoVer == 4
		}},
		{"empty username, like ignored", []string{"username=&like_username=u"}, func(r *catalog.Row) bool { return r.Username == "" }},
		{"empty username and a range", []string{"username=&gte_mqueue_len=2"}, func(r *catalog.Row) bool { return r.Username == "" && r.MqueueLen >= 2 }},
		{"zone", []string{"zone=zone_a"}, func(r *catalog.Row) bool { return r.Zone == "zone_a" }},
		{"ip v4", []string{"ip_address=10.0.0.42"}, func(r *catalog.Row) bool { return r.IPAddress == "10.0.0.42" }},
		{"ip v6", []string{"ip_address=2001:db8::1", "ip_address=2001:DB8:0::1"}, func(r *catalog.Row) bool { return r.IPAddress == "2001:db8::1" }},
		{"connected", []string{"conn_state=connected"}, func(r *catalog.Row) bool { return r.ConnState == catalog.Connected }},
		{"idle", []string{"conn_state=idle"}, func(r *catalog.Row) bool { return r.ConnState == catalog.Idle }},
		{"disconnected", []string{"conn_state=disconnected"}, func(r *catalog.Row) bool { return r.ConnState == catalog.Disconnected }},
		{"clean_start", []string{"clean_start=true"}, func(r *catalog.Row) bool { return r.CleanStart }},
		{"not clean_start", []string{"clean_start=false"}, func(r *catalog.Row) bool { return !r.CleanStart }},
		{"proto_name", []string{"proto_name=MQTT"}, func(*catalog.Row) bool { return true }},
		{"proto_name none", []string{"proto_name=CoAP"}, func(*catalog.Row) bool { return false }},
		{"proto_ver", []string{"proto_ver=4"}, func(r *catalog.Row) bool { return r.ProtoVer == 4 }},
		{"created_at range", []string{
			"_gte_created_at=" + sec(10) + "&_lte_created_at=" + sec(20),
			"gte_created_at=" + strconv.FormatInt((baseTime+10000)/1000*1000, 10) + "&lte_created_at=" + strconv.FormatInt((baseTime+20000)/1000*1000+999, 10),
		}, func(r *catalog.Row) bool {
			return r.CreatedAt >= (baseTime+10000)/1000*1000 && r.CreatedAt <= (baseTime+20000)/1000*1000+999
		}},
		{"created_at millis", []string{"gte_created_at=" + ms(250), "gte_created_at=" + url.QueryEscape("2023-09-15T09:40:30.871Z")},
			func(r *catalog.Row) bool { return r.CreatedAt >= baseTime+250000 }},
		{"connected_at", []string{"_lte_connected_at=" + sec(5), "lte_connected_at=" + strconv.FormatInt((baseTime+5000)/1000*1000+999, 10)},
			func(r *catalog.Row) bool { return r.ConnectedAt <= (baseTime+5000)/1000*1000+999 }},
		{"like_clientid", []string{"like_clientid=01", "_like_clientid=01"}, func(r *catalog.Row) bool { return strings.Contains(r.ClientID, "01") }},
		{"like_clientid ignored with clientid", []string{"like_clientid=zzz&clientid=c0001"}, func(r *catalog.Row) bool { return r.ClientID == "c0001" }},
		{"like_username", []string{"like_username=4"}, func(r *catalog.Row) bool { return strings.Contains(r.Username, "4") }},
		{"like is literal", []string{"like_clientid=%25", "like_clientid=_"}, func(*catalog.Row) bool { return false }},
		{"sql injection matched literally", []string{"clientid=" + url.QueryEscape("' OR 1=1 --"), "username=" + url.QueryEscape(`x" OR ""="`), "like_clientid=" + url.QueryEscape("') OR ('1'='1")},
			func(*catalog.Row) bool { return false }},
		{"stats range", []string{"gte_mqueue_len=2&lte_mqueue_len=2"}, func(r *catalog.Row) bool { return r.MqueueLen == 2 }},
		{"dotted stats range", []string{"gte_recv_msg.qos1=8"}, func(r *catalog.Row) bool { return r.RecvMsgQoS1 >= 8 }},
		{"combined", []string{"username=u1&conn_state=connected&proto_ver=5&zone=default"}, func(r *catalog.Row) bool {
			return r.Username == "u1" && r.ConnState == catalog.Connected && r.ProtoVer == 5 && r.Zone == "default"
		}},
	}
	for _, tc := range tests {
		want := expectIDs(rows, tc.keep)
		for _, q := range tc.queries {
			t.Run(tc.name+"/"+q, func(t *testing.T) {
				p := env.list(t, q+"&_limit=10000")
				if got := p.ids(); !slices.Equal(got, want) && !(len(got) == 0 && len(want) == 0) {
					t.Fatalf("ids = %v\nwant %v", got, want)
				}
				if p.Meta.Count != len(want) || p.Meta.HasNext || p.Meta.Page != 1 || p.Meta.Limit != 10000 {
					t.Fatalf("meta = %+v, want count %d", p.Meta, len(want))
				}
			})
		}
	}
}

func TestListClientsPaging(t *testing.T) {
	rows := testRows(250)
	env := newTestEnv(t, Config{}, rows)
	all := expectIDs(rows, func(*catalog.Row) bool { return true })

	t.Run("default page and limit", func(t *testing.T) {
		p := env.list(t, "")
		if p.Meta.Page != 1 || p.Meta.Limit != 100 || p.Meta.Count != 250 || !p.Meta.HasNext || len(p.Data) != 100 {
			t.Fatalf("meta %+v, %d rows", p.Meta, len(p.Data))
		}
	})
	for _, spelling := range []string{"_page=%d&_limit=%d", "page=%d&limit=%d"} {
		t.Run("every page "+spelling, func(t *testing.T) {
			var got []string
			for page := 1; ; page++ {
				p := env.list(t, strings.Replace(strings.Replace(spelling, "%d", strconv.Itoa(page), 1), "%d", "7", 1))
				if p.Meta.Page != page || p.Meta.Limit != 7 || p.Meta.Count != 250 {
					t.Fatalf("page %d meta %+v", page, p.Meta)
				}
				got = append(got, p.ids()...)
				wantNext := page*7 < 250
				if p.Meta.HasNext != wantNext {
					t.Fatalf("page %d hasnext %v, want %v", page, p.Meta.HasNext, wantNext)
				}
				if !p.Meta.HasNext {
					break
				}
				if page > 100 {
					t.Fatal("no last page")
				}
			}
			if !slices.Equal(got, all) {
				t.Fatalf("pages joined differ from all clients: %d vs %d", len(got), len(all))
			}
		})
	}
	t.Run("page past the end", func(t *testing.T) {
		p := env.list(t, "_page=99&_limit=10")
		if len(p.Data) != 0 || p.Meta.HasNext || p.Meta.Count != 250 {
			t.Fatalf("meta %+v, %d rows", p.Meta, len(p.Data))
		}
	})
	t.Run("exact last page has no next", func(t *testing.T) {
		p := env.list(t, "_page=5&_limit=50")
		if len(p.Data) != 50 || p.Meta.HasNext {
			t.Fatalf("meta %+v, %d rows", p.Meta, len(p.Data))
		}
	})
	for _, order := range []string{"", "&order_by=recv_oct&order=desc", "&order_by=created_at&order=asc", "&order_by=username&order=desc"} {
		t.Run("cursor through every page"+order, func(t *testing.T) {
			var got []string
			p := env.list(t, "limit=13"+order)
			for n := 0; ; n++ {
				got = append(got, p.ids()...)
				if !p.Meta.HasNext {
					if p.Meta.Cursor != "" {
						t.Fatal("cursor on the last page")
					}
					break
				}
				if p.Meta.Cursor == "" || n > 100 {
					t.Fatalf("no cursor with hasnext: %+v", p.Meta)
				}
				p = env.list(t, "limit=13&cursor="+url.QueryEscape(p.Meta.Cursor)+order)
				if p.Meta.Count != 250 {
					t.Fatalf("count %d with cursor", p.Meta.Count)
				}
			}
			sorted := slices.Clone(got)
			sort.Strings(sorted)
			if !slices.Equal(sorted, all) {
				t.Fatalf("cursor pages: %d ids, want %d without duplicates", len(got), len(all))
			}
			if order == "" && !slices.Equal(got, all) {
				t.Fatal("cursor pages out of clientid order")
			}
		})
	}
	t.Run("tampered cursor", func(t *testing.T) {
		p := env.list(t, "limit=10")
		c := []byte(p.Meta.Cursor)
		c[len(c)/2] ^= 1
		r := env.do(t, "GET", "/clients?limit=10&cursor="+url.QueryEscape(string(c)), adminUser, nil)
		if msg := r.wantError(t, http.StatusBadRequest, codeBadRequest); !strings.Contains(msg, "cursor") {
			t.Fatalf("message %q", msg)
		}
		r = env.do(t, "GET", "/clients?limit=10&username=u1&cursor="+url.QueryEscape(p.Meta.Cursor), adminUser, nil)
		r.wantError(t, http.StatusBadRequest, codeBadRequest)
	})
}

func TestListClientsOrder(t *testing.T) {
	rows := testRows(120)
	env := newTestEnv(t, Config{}, rows)
	p := env.list(t, "order_by=recv_oct&order=desc&_limit=10000")
	if len(p.Data) != 120 {
		t.Fatalf("%d rows", len(p.Data))
	}
	for i := 1; i < len(p.Data); i++ {
		a, b := p.Data[i-1]["recv_oct"].(float64), p.Data[i]["recv_oct"].(float64)
		if a < b || a == b && p.Data[i-1]["clientid"].(string) < p.Data[i]["clientid"].(string) {
			t.Fatalf("row %d out of order: %v then %v", i, p.Data[i-1], p.Data[i])
		}
	}
}

// seedKeys are the keys of the client object (CLIENTS_API.md), without
// disconnected_at.
var seedKeys = strings.Fields(`node clientid username proto_name proto_ver ip_address port
listener is_bridge is_persistent enable_authn peersni cn dn tenant_id_from zone connected
connected_at created_at keepalive clean_start expiry_interval subscriptions_cnt subscriptions_max
inflight_cnt inflight_max mqueue_len mqueue_max mqueue_dropped awaiting_rel_cnt awaiting_rel_max
recv_oct recv_cnt recv_pkt recv_msg recv_msg.qos0 recv_msg.qos1 recv_msg.qos2 recv_msg.dropped
recv_msg.dropped.await_pubrel_timeout send_oct send_cnt send_pkt send_msg send_msg.qos0
send_msg.qos1 send_msg.qos2 send_msg.dropped send_msg.dropped.expired send_msg.dropped.queue_full
send_msg.dropped.too_large mailbox_len heap_size reductions`)

var rfc3339Millis = regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}[+-]\d\d:\d\d$`)

// checkClientObject checks the keys and value types of one client object.
func checkClientObject(t *testing.T, obj map[string]any, r *catalog.Row) {
	t.Helper()
	want := slices.Clone(seedKeys)
	if !r.Connected {
		want = append(want, "disconnected_at")
	}
	var got []string
	for k := range obj {
		got = append(got, k)
	}
	sort.Strings(got)
	sort.Strings(want)
	if !slices.Equal(got, want) {
		t.Fatalf("keys = %v\nwant   %v", got, want)
	}
	for _, k := range []string{"connected_at", "created_at", "disconnected_at"} {
		if v, ok := obj[k]; ok && !(k == "disconnected_at" && v == nil && r.DisconnectedAt == nil) {
			if s, _ := v.(string); !rfc3339Millis.MatchString(s) {
				t.Fatalf("%s = %v, want RFC 3339 with milliseconds and offset", k, v)
			}
		}
	}
	if obj["created_at"] != string(appendTime(nil, r.CreatedAt)[1:len(appendTime(nil, r.CreatedAt))-1]) {
		t.Fatalf("created_at %v", obj["created_at"])
	}
	if obj["clientid"] != r.ClientID || obj["proto_ver"] != float64(r.ProtoVer) || obj["connected"] != r.Connected ||
		obj["clean_start"] != r.CleanStart || obj["recv_oct"] != float64(r.RecvOct) || obj["recv_msg.qos1"] != float64(r.RecvMsgQoS1) {
		t.Fatalf("values differ from the row: %v", obj)
	}
	if r.Username == "" && obj["username"] != nil || r.Username != "" && obj["username"] != r.Username {
		t.Fatalf("username %v, row %q", obj["username"], r.Username)
	}
	if (r.PeerSNI == nil) != (obj["peersni"] == nil) || obj["cn"] != nil || obj["dn"] != nil || obj["tenant_id_from"] != nil {
		t.Fatalf("nullable TLS fields wrong: %v", obj)
	}
}

func TestClientObjectShape(t *testing.T) {
	rows := testRows(40)
	env := newTestEnv(t, Config{}, rows)
	p := env.list(t, "_limit=100")
	if len(p.Data) != len(rows) {
		t.Fatalf("%d rows", len(p.Data))
	}
	for i := range p.Data {
		checkClientObject(t, p.Data[i], &rows[i])
	}
	for _, i := range []int{0, 4, 9, 12, 34} {
		r := env.do(t, "GET", "/clients/"+rows[i].ClientID, viewerUser, nil)
		if r.status != http.StatusOK {
			t.Fatalf("GET client: %d %s", r.status, r.body)
		}
		var obj map[string]any
		r.decode(t, &obj)
		checkClientObject(t, obj, &rows[i])
	}
}

func TestListClientsFields(t *testing.T) {
	rows := testRows(30)
	env := newTestEnv(t, Config{}, rows)
	tests := []struct {
		query string
		keys  func(r *catalog.Row) []string
	}{
		{"fields=clientid,username", func(*catalog.Row) []string { return []string{"clientid", "username"} }},
		{"fields=recv_msg.qos1,clientid", func(*catalog.Row) []string { return []string{"clientid", "recv_msg.qos1"} }},
		{"fields=disconnected_at", func(r *catalog.Row) []string {
			if r.Connected {
				return nil
			}
			return []string{"disconnected_at"}
		}},
		{"fields=all", func(r *catalog.Row) []string {
			k := slices.Clone(seedKeys)
			if !r.Connected {
				k = append(k, "disconnected_at")
			}
			return k
		}},
	}
	for _, tc := range tests {
		t.Run(tc.query, func(t *testing.T) {
			p := env.list(t, tc.query)
			for i, d := range p.Data {
				var got []string
				for k := range d {
					got = append(got, k)
				}
				want := tc.keys(&rows[i])
				sort.Strings(got)
				sort.Strings(want)
				if !slices.Equal(got, want) && len(got)+len(want) > 0 {
					t.Fatalf("row %d keys %v, want %v", i, got, want)
				}
			}
		})
	}
	p := env.list(t, "fields=username&clientid=c0003")
	if len(p.Data) != 1 || p.Data[0]["username"] != rows[3].Username {
		t.Fatalf("projected value wrong: %v", p.Data)
	}
}

// TestListClientsBadInput sends every bad query through HTTP: each is a 400
// JSON error naming the parameter, never a 500.
func TestListClientsBadInput(t *testing.T) {
	env := newTestEnv(t, Config{}, testRows(10))
	for _, tc := range badClientsQueries {
		t.Run(tc.name, func(t *testing.T) {
			r := env.do(t, "GET", "/clients?"+tc.query, viewerUser, nil)
			if r.status == http.StatusRequestHeaderFieldsTooLarge {
				return // the 64 KiB header limit caught it before the API
			}
			msg := r.wantError(t, http.StatusBadRequest, codeBadRequest)
			if !strings.Contains(msg, tc.param) {
				t.Fatalf("message %q does not name %q", msg, tc.param)
			}
		})
	}
}
