package auth

import (
	"errors"
	"net/netip"
	"strings"
	"testing"
)

func TestParseACL(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    []Rule
		wantErr bool
	}{
		{name: "empty", in: "\n# only a comment\n"},
		{name: "all publish", in: "allow all publish a/#",
			want: []Rule{{Permission: Allow, Who: WhoAll, Action: Publish, Filter: "a/#", Line: 1}}},
		{name: "user subscribe placeholder", in: "deny user alice subscribe x/%u/+",
			want: []Rule{{Permission: Deny, Who: WhoUser, Name: "alice", Action: Subscribe, Filter: "x/%u/+", Line: 1}}},
		{name: "clientid all eq", in: "allow clientid c1 all eq #",
			want: []Rule{{Permission: Allow, Who: WhoClientID, Name: "c1", Action: All, Filter: "#", Literal: true, Line: 1}}},
		{name: "cidr masked", in: "allow ipaddr 10.1.2.3/8 all t",
			want: []Rule{{Permission: Allow, Who: WhoIPAddr, Prefix: netip.MustParsePrefix("10.0.0.0/8"), Action: All, Filter: "t", Line: 1}}},
		{name: "single address", in: "allow ipaddr ::ffff:127.0.0.1 all t",
			want: []Rule{{Permission: Allow, Who: WhoIPAddr, Prefix: netip.MustParsePrefix("127.0.0.1/32"), Action: All, Filter: "t", Line: 1}}},
		{name: "filter with spaces and tabs around", in: "\tallow  all\tpublish   a b/c  \n",
			want: []Rule{{Permission: Allow, Who: WhoAll, Action: Publish, Filter: "a b/c", Line: 1}}},
		{name: "topic named eq", in: "allow all publish eq",
			want: []Rule{{Permission: Allow, Who: WhoAll, Action: Publish, Filter: "eq", Line: 1}}},
		{name: "line numbers", in: "# c\n\nallow all all a\ndeny all all b\n",
			want: []Rule{{Permission: Allow, Action: All, Filter: "a", Line: 3}, {Permission: Deny, Action: All, Filter: "b", Line: 4}}},
		{name: "bad permission", in: "permit all publish a", wantErr: true},
		{name: "bad who", in: "allow group x publish a", wantErr: true},
		{name: "user without name", in: "allow user", wantErr: true},
		{name: "bad ip", in: "allow ipaddr 10.0.0.256 all a", wantErr: true},
		{name: "bad cidr", in: "allow ipaddr 10.0.0.0/33 all a", wantErr: true},
		{name: "bad action", in: "allow all read a", wantErr: true},
		{name: "no filter", in: "allow all publish", wantErr: true},
		{name: "eq without filter", in: "allow all publish eq ", want: []Rule{{Permission: Allow, Action: Publish, Filter: "eq", Line: 1}}},
		{name: "invalid filter", in: "allow all publish a/#/b", wantErr: true},
		{name: "invalid plus", in: "allow all subscribe a+", wantErr: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rules, err := ParseACL(strings.NewReader(tc.in))
			if tc.wantErr {
				if !errors.Is(err, ErrACLFile) {
					t.Fatalf("err = %v, want ErrACLFile", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(rules) != len(tc.want) {
				t.Fatalf("got %d rules, want %d: %+v", len(rules), len(tc.want), rules)
			}
			for i, w := range tc.want {
				g := rules[i]
				if g.Permission != w.Permission || g.Who != w.Who || g.Name != w.Name || g.Prefix != w.Prefix ||
					g.Action != w.Action || g.Filter != w.Filter || g.Literal != w.Literal || g.Line != w.Line {
					t.Errorf("rule %d = %+v, want %+v", i, g, w)
				}
			}
		})
	}
}

func TestCovers(t *testing.T) {
	tests := []struct {
		rule, sub string
		want      bool
	}{
		{"#", "a/b", true},
		{"#", "#", true},
		{"#", "$SYS/x", false},
		{"$SYS/#", "$SYS/x", true},
		{"a/#", "a", true},
		{"a/#", "a/#", true},
		{"a/#", "a/+/c", true},
		{"a/#", "b", false},
		{"a/+", "a/b", true},
		{"a/+", "a/+", true},
		{"a/+", "a/#", false},
		{"a/+", "a/b/c", false},
		{"a/+", "a", false},
		{"+/b", "x/b", true},
		{"+/b", "$x/b", false},
		{"a/b", "a/b", true},
		{"a/b", "a/+", false},
		{"a/b", "a/#", false},
		{"a/b", "a/b/c", false},
		{"a/b/c", "a/b", false},
		{"a//b", "a//b", true},
		{"a/+/b", "a//b", true},
	}
	for _, tc := range tests {
		t.Run("rule="+tc.rule+"/sub="+tc.sub, func(t *testing.T) {
			if got := covers([]byte(tc.rule), []byte(tc.sub)); got != tc.want {
				t.Errorf("covers(%q, %q) = %v, want %v", tc.rule, tc.sub, got, tc.want)
			}
		})
	}
}

func TestExpand(t *testing.T) {
	tests := []struct {
		name, filter, user, id, want string
		ok                           bool
	}{
		{name: "user", filter: "u/%u/#", user: "alice", want: "u/alice/#", ok: true},
		{name: "client", filter: "c/%c", id: "dev1", want: "c/dev1", ok: true},
		{name: "both", filter: "%u/%c", user: "a", id: "b", want: "a/b", ok: true},
		{name: "percent kept", filter: "100%/%x", want: "100%/%x", ok: true},
		{name: "no user", filter: "u/%u", id: "x", ok: false},
		{name: "wildcard user", filter: "u/%u", user: "+", ok: false},
		{name: "slash in id", filter: "c/%c", id: "a/b", ok: false},
		{name: "hash in id", filter: "c/%c", id: "#", ok: false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := expand(nil, []byte(tc.filter), &Client{Username: tc.user, ClientID: tc.id})
			if ok != tc.ok || (ok && string(got) != tc.want) {
				t.Errorf("expand = %q, %v; want %q, %v", got, ok, tc.want, tc.ok)
			}
		})
	}
}

func FuzzParseACL(f *testing.F) {
	for _, s := range []string{
		"allow all publish a/#\n",
		"deny user alice subscribe x/%u/+\n",
		"allow clientid c1 all eq #\n",
		"allow ipaddr 10.0.0.0/8 all t\n# c\n\n",
		"allow ipaddr ::1 publish $SYS/#",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		rules, err := ParseACL(strings.NewReader(in))
		if err != nil {
			if !errors.Is(err, ErrACLFile) {
				t.Fatalf("error %v is not ErrACLFile", err)
			}
			return
		}
		c := &Client{ClientID: "c", Username: "u", IP: netip.MustParseAddr("10.0.0.1")}
		for i := range rules {
			r := &rules[i]
			if r.Action&All == 0 || r.Filter == "" || r.Line < 1 {
				t.Fatalf("rule %+v", r)
			}
			r.matches(c, Publish, []byte("a/b"), nil)
			r.matches(c, Subscribe, []byte("a/+"), nil)
		}
	})
}
