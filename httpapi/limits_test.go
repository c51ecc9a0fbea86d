package httpapi

import (
	"encoding/json"
	"net/http"
	"strconv"
	"testing"

	"github.com/shardmq/shardmq/catalog"
)

// TestSubscriptionsMaxInfinity checks that a subscriptions_max of 0 (no
// limit) is reported as EMQX 5 reports it, "infinity", in the list, in a
// projection and in the single-client object, and that a limit stays a
// number; the document says the field is either.
func TestSubscriptionsMaxInfinity(t *testing.T) {
	rows := testRows(4)
	rows[1].SubscriptionsMax = 0
	e := newTestEnv(t, Config{}, rows)
	for _, q := range []string{"", "fields=clientid,subscriptions_max"} {
		p := e.list(t, q)
		for _, d := range p.Data {
			want := any(10.0)
			if d["clientid"] == rows[1].ClientID {
				want = "infinity"
			}
			if d["subscriptions_max"] != want {
				t.Fatalf("%q: %v subscriptions_max = %v, want %v", q, d["clientid"], d["subscriptions_max"], want)
			}
		}
	}
	var c map[string]any
	e.do(t, "GET", "/clients/"+rows[1].ClientID, adminUser, nil).decode(t, &c)
	if c["subscriptions_max"] != "infinity" {
		t.Fatalf("single client: %v", c["subscriptions_max"])
	}

	r := e.raw(t, "GET", DocsPath, "")
	var doc struct {
		Components struct {
			Schemas map[string]struct {
				Properties map[string]json.RawMessage `json:"properties"`
			} `json:"schemas"`
		} `json:"components"`
	}
	r.decode(t, &doc)
	var prop struct {
		OneOf []struct {
			Type string   `json:"type"`
			Enum []string `json:"enum"`
		} `json:"oneOf"`
	}
	if err := json.Unmarshal(doc.Components.Schemas["Client"].Properties["subscriptions_max"], &prop); err != nil {
		t.Fatal(err)
	}
	if len(prop.OneOf) != 2 || prop.OneOf[0].Type != "integer" || prop.OneOf[1].Type != "string" || len(prop.OneOf[1].Enum) != 1 || prop.OneOf[1].Enum[0] != "infinity" {
		t.Fatalf("schema of subscriptions_max: %+v", prop)
	}
}

// TestEmptyUsernamePaging walks username= page by page: every client
// without a user name exactly once, with the exact count on each page, and
// null as their username.
func TestEmptyUsernamePaging(t *testing.T) {
	rows := testRows(200)
	e := newTestEnv(t, Config{}, rows)
	want := expectIDs(rows, func(r *catalog.Row) bool { return r.Username == "" })
	var got []string
	for page := 1; ; page++ {
		p := e.list(t, "username=&_limit=3&_page="+strconv.Itoa(page))
		if p.Meta.Count != len(want) {
			t.Fatalf("page %d count %d, want %d", page, p.Meta.Count, len(want))
		}
		for _, d := range p.Data {
			if d["username"] != nil {
				t.Fatalf("%v: username %v", d["clientid"], d["username"])
			}
		}
		got = append(got, p.ids()...)
		if !p.Meta.HasNext {
			break
		}
	}
	if len(got) != len(want) {
		t.Fatalf("walked %d clients, want %d", len(got), len(want))
	}
	for i := range got {
		if got[i] != want[i] {
			t.Fatalf("client %d: %s, want %s", i, got[i], want[i])
		}
	}
	// Other parameters keep refusing an empty value.
	e.do(t, "GET", "/clients?clientid=", adminUser, nil).wantError(t, http.StatusBadRequest, codeBadRequest)
}
