package shards

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/eclipse/paho.golang/paho"
	pahov3 "github.com/eclipse/paho.mqtt.golang"
	"github.com/shardmq/shardmq/mqtt"
	"github.com/shardmq/shardmq/netio"
	"github.com/shardmq/shardmq/shards/auth"
	"golang.org/x/crypto/bcrypt"
)

// authFiles writes a password file (users: name → password, hashed at
// bcrypt's minimum cost to keep tests fast) and an ACL file.
func authFiles(t testing.TB, users map[string]string, acl string) auth.Config {
	t.Helper()
	dir := t.TempDir()
	cfg := auth.Config{PasswordFile: filepath.Join(dir, "passwd"), ACLFile: filepath.Join(dir, "acl")}
	if err := os.WriteFile(cfg.PasswordFile, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	for u, pw := range users {
		if _, err := auth.SetPassword(cfg.PasswordFile, u, []byte(pw), bcrypt.MinCost); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(cfg.ACLFile, []byte(acl), 0o600); err != nil {
		t.Fatal(err)
	}
	return cfg
}

// freeAddr returns a 127.0.0.1 address with a port free right now.
func freeAddr(t testing.TB) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// startListeners starts a broker for cfg serving every cfg.Listeners
// address, with netio's packet limit from Broker.MaxPacketSize.
func startListeners(t testing.TB, cfg Config) *testBroker {
	t.Helper()
	b, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	var addrs []netio.Listener
	for _, l := range cfg.Listeners {
		addrs = append(addrs, netio.Listener{Addr: l.Addr})
	}
	srv, err := netio.New(netio.Config{Listeners: addrs, Loops: 2, TickInterval: 20 * time.Millisecond,
		MaxPacketSize: b.MaxPacketSize()}, b)
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := srv.Shutdown(ctx); err != nil {
			t.Errorf("shutdown: %v", err)
		}
	})
	return &testBroker{Broker: b, srv: srv, addr: cfg.Listeners[0].Addr}
}

func ptr[T any](v T) *T { return &v }

// securedBroker serves one listener that refuses anonymous clients, with
// alice/wonderland and bob/builder in the password file and acl's rules.
func securedBroker(t *testing.T, acl string) (*testBroker, *auth.Auth, auth.Config) {
	t.Helper()
	acfg := authFiles(t, map[string]string{"alice": "wonderland", "bob": "builder"}, acl)
	a, err := auth.New(acfg)
	if err != nil {
		t.Fatal(err)
	}
	tb := startListeners(t, Config{Auth: a,
		Listeners: []ListenerConfig{{Addr: freeAddr(t), AllowAnonymous: ptr(false)}}})
	return tb, a, acfg
}

func withCreds(p *mqtt.Connect, user, pw string) *mqtt.Connect {
	p.HasUsername, p.Username = true, []byte(user)
	p.HasPassword, p.Password = true, []byte(pw)
	return p
}

func TestConnectAuthentication(t *testing.T) {
	tb, a, _ := securedBroker(t, "allow all all #\n")
	tests := []struct {
		name      string
		connect   *mqtt.Connect
		wantCode  mqtt.ReasonCode
		wantAuthn bool
	}{
		{name: "v311 right password", connect: withCreds(conn311("r3", true), "alice", "wonderland"), wantAuthn: true},
		{name: "v311 wrong password", connect: withCreds(conn311("w3", true), "alice", "x"), wantCode: mqtt.ConnRefusedBadUserNameOrPassword},
		{name: "v311 unknown user", connect: withCreds(conn311("u3", true), "eve", "wonderland"), wantCode: mqtt.ConnRefusedBadUserNameOrPassword},
		{name: "v311 anonymous refused", connect: conn311("a3", true), wantCode: mqtt.ConnRefusedNotAuthorized},
		{name: "v31 right password", connect: withCreds(&mqtt.Connect{Version: mqtt.V31, ClientID: []byte("r31"), CleanStart: true}, "bob", "builder"), wantAuthn: true},
		{name: "v31 wrong password", connect: withCreds(&mqtt.Connect{Version: mqtt.V31, ClientID: []byte("w31"), CleanStart: true}, "bob", "b"), wantCode: mqtt.ConnRefusedBadUserNameOrPassword},
		{name: "v5 right password", connect: withCreds(conn5("r5"), "bob", "builder"), wantAuthn: true},
		{name: "v5 wrong password", connect: withCreds(conn5("w5"), "bob", "builder2"), wantCode: mqtt.BadUserNameOrPassword},
		{name: "v5 user without password", connect: &mqtt.Connect{Version: mqtt.V5, ClientID: []byte("n5"), CleanStart: true, HasUsername: true, Username: []byte("bob")}, wantCode: mqtt.BadUserNameOrPassword},
		{name: "v5 anonymous refused", connect: conn5("a5"), wantCode: mqtt.NotAuthorized},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rc, ack := connectRaw(t, tb.addr, tc.connect)
			if ack.ReasonCode != tc.wantCode {
				t.Fatalf("CONNACK code = %#x, want %#x", byte(ack.ReasonCode), byte(tc.wantCode))
			}
			if tc.wantCode != 0 {
				if ack.SessionPresent {
					t.Error("session present on a refused CONNECT")
				}
				rc.expectClosed()
				ctx, cancel := context.WithTimeout(context.Background(), time.Second)
				defer cancel()
				if _, err := tb.ClientInfo(ctx, string(tc.connect.ClientID)); !errors.Is(err, ErrClientNotFound) {
					t.Fatalf("refused client has a session: %v", err)
				}
				return
			}
			if r := tb.info(t, string(tc.connect.ClientID)); r.EnableAuthn != tc.wantAuthn || r.Username != string(tc.connect.Username) {
				t.Fatalf("row enable_authn=%v username=%q", r.EnableAuthn, r.Username)
			}
		})
	}
	st := a.Stats()
	if st.Authenticated != 3 || st.AuthnFailed != 5 || st.AnonymousRefused != 2 {
		t.Errorf("auth stats = %+v", st)
	}
}

// A refused CONNECT must not take over the session of the client id it
// names.
func TestRefusedConnectDoesNotTakeOver(t *testing.T) {
	tb, _, _ := securedBroker(t, "allow all all #\n")
	owner, ack := connectRaw(t, tb.addr, withCreds(conn311("victim", true), "alice", "wonderland"))
	if ack.ReasonCode != 0 {
		t.Fatal(ack.ReasonCode)
	}
	_, ack = connectRaw(t, tb.addr, withCreds(conn311("victim", true), "alice", "guess"))
	if ack.ReasonCode != mqtt.ConnRefusedBadUserNameOrPassword {
		t.Fatalf("code %#x", byte(ack.ReasonCode))
	}
	if codes := owner.subscribe(1, sub("t", 0)); codes[0] != 0 {
		t.Fatalf("owner lost its connection or session: %v", codes)
	}
}

func TestPahoAuthentication(t *testing.T) {
	tb, _, _ := securedBroker(t, "allow all all #\n")
	v3 := func(id, user, pw string) byte {
		o := pahov3.NewClientOptions().AddBroker("tcp://" + tb.addr).SetClientID(id).SetProtocolVersion(4).
			SetAutoReconnect(false).SetConnectRetry(false)
		if user != "" {
			o.SetUsername(user).SetPassword(pw)
		}
		c := pahov3.NewClient(o)
		tok := c.Connect()
		if !tok.WaitTimeout(5 * time.Second) {
			t.Fatal("paho v3 connect timed out")
		}
		if tok.Error() == nil {
			c.Disconnect(50)
		}
		return tok.(*pahov3.ConnectToken).ReturnCode()
	}
	v5 := func(id, user, pw string) byte {
		conn, err := net.Dial("tcp", tb.addr)
		if err != nil {
			t.Fatal(err)
		}
		c := paho.NewClient(paho.ClientConfig{ClientID: id, Conn: conn})
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		cp := &paho.Connect{ClientID: id, CleanStart: true, KeepAlive: 30}
		if user != "" {
			cp.UsernameFlag, cp.Username, cp.PasswordFlag, cp.Password = true, user, true, []byte(pw)
		}
		ack, err := c.Connect(ctx, cp)
		if ack == nil {
			t.Fatalf("paho v5: no CONNACK: %v", err)
		}
		if err == nil {
			_ = c.Disconnect(&paho.Disconnect{})
		}
		select {
		case <-c.Done():
		case <-time.After(5 * time.Second):
		}
		conn.Close()
		return ack.ReasonCode
	}
	tests := []struct {
		name     string
		connect  func(id, user, pw string) byte
		user, pw string
		want     byte
	}{
		{"v311 right", v3, "alice", "wonderland", 0},
		{"v311 wrong", v3, "alice", "wonderlan", 4},
		{"v311 anonymous", v3, "", "", 5},
		{"v5 right", v5, "alice", "wonderland", 0},
		{"v5 wrong", v5, "alice", "Wonderland", 0x86},
		{"v5 anonymous", v5, "", "", 0x87},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.connect(fmt.Sprintf("paho-auth-%d", i), tc.user, tc.pw); got != tc.want {
				t.Fatalf("code = %#x, want %#x", got, tc.want)
			}
		})
	}
}

func TestAnonymousPolicy(t *testing.T) {
	tests := []struct {
		name string
		lc   ListenerConfig
		want bool
	}{
		{name: "loopback v4", lc: ListenerConfig{Addr: "127.0.0.1:1883"}, want: true},
		{name: "loopback v6", lc: ListenerConfig{Addr: "[::1]:1883"}, want: true},
		{name: "localhost", lc: ListenerConfig{Addr: "localhost:1883"}, want: true},
		{name: "all interfaces", lc: ListenerConfig{Addr: ":1883"}, want: false},
		{name: "unspecified v4", lc: ListenerConfig{Addr: "0.0.0.0:1883"}, want: false},
		{name: "lan address", lc: ListenerConfig{Addr: "192.168.1.10:1883"}, want: false},
		{name: "explicitly on", lc: ListenerConfig{Addr: ":1883", AllowAnonymous: ptr(true)}, want: true},
		{name: "explicitly off on loopback", lc: ListenerConfig{Addr: "127.0.0.1:1883", AllowAnonymous: ptr(false)}, want: false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := Config{Listeners: []ListenerConfig{tc.lc}}
			if err := cfg.Validate(); err != nil {
				t.Fatal(err)
			}
			if got := resolveListeners(cfg.withDefaults())[0].anonymous; got != tc.want {
				t.Fatalf("anonymous = %v, want %v", got, tc.want)
			}
		})
	}
	// Served for real: anonymous on (the loopback default) and off.
	on := startListeners(t, Config{Listeners: []ListenerConfig{{Addr: freeAddr(t)}}})
	if _, ack := connectRaw(t, on.addr, conn311("anon-on", true)); ack.ReasonCode != 0 {
		t.Fatalf("anonymous on: code %#x", byte(ack.ReasonCode))
	}
	if r := on.info(t, "anon-on"); r.EnableAuthn {
		t.Fatal("anonymous client reported as authenticated")
	}
	off := startListeners(t, Config{Listeners: []ListenerConfig{{Addr: freeAddr(t), AllowAnonymous: ptr(false)}}})
	if _, ack := connectRaw(t, off.addr, conn5("anon-off")); ack.ReasonCode != mqtt.NotAuthorized {
		t.Fatalf("anonymous off: code %#x", byte(ack.ReasonCode))
	}
}

const accessACL = `# first match wins
deny  user bob subscribe secret/#
allow user alice all users/%u/#
allow all subscribe devices/%c/#
allow clientid s-5-11 subscribe cid/#
allow ipaddr 10.0.0.0/8 all lan/#
allow ipaddr 127.0.0.0/8 subscribe local/#
deny  all publish eq public/locked
allow all all public/#
allow all subscribe secret/#
`

func TestACLSubscribe(t *testing.T) {
	tb, a, _ := securedBroker(t, accessACL)
	for _, v := range []mqtt.Version{mqtt.V311, mqtt.V5} {
		deny := mqtt.ReasonCode(0x80)
		if v == mqtt.V5 {
			deny = mqtt.NotAuthorized
		}
		tests := []struct {
			name, user, pw, filter string
			want                   mqtt.ReasonCode
		}{
			{"placeholder own", "alice", "wonderland", "users/alice/#", 1},
			{"placeholder other", "alice", "wonderland", "users/bob/#", deny},
			{"placeholder not covering wider", "alice", "wonderland", "users/#", deny},
			{"first match deny", "bob", "builder", "secret/x", deny},
			{"later allow for others", "alice", "wonderland", "secret/x", 1},
			{"cidr loopback", "bob", "builder", "local/+", 1},
			{"cidr other network", "bob", "builder", "lan/x", deny},
			{"shared subscription", "bob", "builder", "$share/g/public/x", 1},
			{"no match", "bob", "builder", "other", deny},
			{"clientid placeholder own", "bob", "builder", "devices/%c/#", 1},
			{"clientid placeholder other", "bob", "builder", "devices/someone/#", deny},
			{"clientid rule", "bob", "builder", "cid/x", map[bool]mqtt.ReasonCode{true: 1, false: deny}[v == mqtt.V5]},
		}
		for i, tc := range tests {
			t.Run(fmt.Sprintf("v=%d/%s", v, tc.name), func(t *testing.T) {
				p := conn5(fmt.Sprintf("s-%d-%d", v, i))
				p.Version = v
				rc, ack := connectRaw(t, tb.addr, withCreds(p, tc.user, tc.pw))
				if ack.ReasonCode != 0 {
					t.Fatalf("connect %#x", byte(ack.ReasonCode))
				}
				filter := strings.ReplaceAll(tc.filter, "%c", string(p.ClientID))
				codes := rc.subscribe(1, sub(filter, 1), sub("public/ok", 0))
				if codes[0] != tc.want || codes[1] != 0 {
					t.Fatalf("SUBACK = %v, want [%#x 0]", codes, byte(tc.want))
				}
			})
		}
	}
	if a.Stats().SubscribeDenied != 13 {
		t.Errorf("SubscribeDenied = %d, want 13", a.Stats().SubscribeDenied)
	}
}

func TestACLPublish(t *testing.T) {
	tb, a, _ := securedBroker(t, accessACL)
	watcher, _ := connectRaw(t, tb.addr, withCreds(conn311("watcher", true), "alice", "wonderland"))
	if codes := watcher.subscribe(1, sub("public/#", 2), sub("users/+/x", 2)); codes[0] != 2 || codes[1] != 0x80 {
		t.Fatalf("watcher SUBACK %v", codes)
	}
	watcher.subscribe(2, sub("users/alice/#", 2))
	for _, v := range []mqtt.Version{mqtt.V311, mqtt.V5} {
		id := fmt.Sprintf("pub-%d", v)
		p := conn5(id)
		p.Version = v
		rc, _ := connectRaw(t, tb.addr, withCreds(p, "bob", "builder"))
		for qos := byte(0); qos <= 2; qos++ {
			pid := uint16(10 + qos)
			rc.publish("public/locked", "denied", qos, false, pid)
			switch qos {
			case 1:
				h, body := rc.read()
				var ack mqtt.Puback
				if h.Type != mqtt.TypePuback || ack.Decode(h, body, v) != nil || ack.PacketID != pid {
					t.Fatalf("v%d QoS 1: got %v", v, h.Type)
				}
				if v == mqtt.V5 && ack.ReasonCode != mqtt.NotAuthorized {
					t.Fatalf("v5 PUBACK code %#x, want 0x87", byte(ack.ReasonCode))
				}
			case 2:
				h, body := rc.read()
				var rec mqtt.Pubrec
				if h.Type != mqtt.TypePubrec || rec.Decode(h, body, v) != nil || rec.PacketID != pid {
					t.Fatalf("v%d QoS 2: got %v", v, h.Type)
				}
				if v == mqtt.V5 {
					if rec.ReasonCode != mqtt.NotAuthorized {
						t.Fatalf("v5 PUBREC code %#x, want 0x87", byte(rec.ReasonCode))
					}
					break
				}
				// MQTT 3: the exchange completes with PUBREL/PUBCOMP.
				rc.write(mqtt.AppendPubrel(nil, &mqtt.Pubrel{PacketID: pid}, v))
				h, body = rc.read()
				var comp mqtt.Pubcomp
				if h.Type != mqtt.TypePubcomp || comp.Decode(h, body, v) != nil || comp.PacketID != pid || comp.ReasonCode != 0 {
					t.Fatalf("v3 QoS 2: got %v %+v", h.Type, comp)
				}
			}
		}
		rc.publish("public/open", id, 1, false, 20)
		if h, _ := rc.read(); h.Type != mqtt.TypePuback {
			t.Fatalf("allowed publish: got %v", h.Type)
		}
		if m := watcher.readPublish(); string(m.Topic) != "public/open" || string(m.Payload) != id {
			t.Fatalf("watcher got %s %s: a denied message was routed", m.Topic, m.Payload)
		}
		if r := tb.info(t, id); r.RecvMsgDropped != 3 || r.RecvMsg != 4 {
			t.Fatalf("%s: recv_msg=%d recv_msg.dropped=%d, want 4 and 3", id, r.RecvMsg, r.RecvMsgDropped)
		}
	}
	// Placeholders: alice may publish under her own name only.
	alice, _ := connectRaw(t, tb.addr, withCreds(conn5("alice-pub"), "alice", "wonderland"))
	alice.publish("users/bob/x", "no", 0, false, 0)
	alice.publish("users/alice/x", "yes", 0, false, 0)
	if m := watcher.readPublish(); string(m.Topic) != "users/alice/x" {
		t.Fatalf("watcher got %s", m.Topic)
	}
	if got := a.Stats().PublishDenied; got != 7 {
		t.Errorf("PublishDenied = %d, want 7", got)
	}
}

// TestACLWill: a will to a topic the client may not publish to is never
// published.
func TestACLWill(t *testing.T) {
	tb, _, _ := securedBroker(t, accessACL)
	watcher, _ := connectRaw(t, tb.addr, withCreds(conn311("will-watcher", true), "alice", "wonderland"))
	watcher.subscribe(1, sub("public/#", 0))
	for _, topic := range []string{"public/locked", "public/will"} {
		p := withCreds(conn311("will-"+topic, true), "bob", "builder")
		p.HasWill, p.Will = true, mqtt.Will{Topic: []byte(topic), Payload: []byte("gone")}
		rc, _ := connectRaw(t, tb.addr, p)
		rc.c.Close() // abnormal loss: the will is due
	}
	if m := watcher.readPublish(); string(m.Topic) != "public/will" {
		t.Fatalf("got will on %s", m.Topic)
	}
	watcher.expectSilence(200 * time.Millisecond)
}

// TestACLReload: a reload changes decisions for new operations (cached
// ones included) while connected clients stay connected.
func TestACLReload(t *testing.T) {
	tb, a, acfg := securedBroker(t, "allow all all a/#\n")
	rc, _ := connectRaw(t, tb.addr, withCreds(conn5("reloaded"), "bob", "builder"))
	if codes := rc.subscribe(1, sub("a/x", 1)); codes[0] != 1 {
		t.Fatalf("before reload: %v", codes)
	}
	rc.publish("a/x", "before", 1, false, 2)
	var sawAck, sawMsg bool
	for !sawAck || !sawMsg {
		h, body := rc.read()
		switch h.Type {
		case mqtt.TypePuback:
			var ack mqtt.Puback
			if ack.Decode(h, body, mqtt.V5) != nil || ack.ReasonCode != 0 {
				t.Fatalf("before reload: PUBACK %+v", ack)
			}
			sawAck = true
		case mqtt.TypePublish:
			var p mqtt.Publish
			_ = p.Decode(h, body, mqtt.V5)
			rc.write(mqtt.AppendPuback(nil, &mqtt.Puback{PacketID: p.PacketID}, mqtt.V5))
			sawMsg = true
		}
	}
	if err := os.WriteFile(acfg.ACLFile, []byte("deny all all a/#\nallow all all #\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := a.Reload(); err != nil {
		t.Fatal(err)
	}
	if codes := rc.subscribe(3, sub("a/y", 1), sub("b", 1)); codes[0] != mqtt.NotAuthorized || codes[1] != 1 {
		t.Fatalf("after reload: %v", codes)
	}
	rc.publish("a/x", "after", 1, false, 4) // the cached allow must be gone
	h, body := rc.read()
	var ack mqtt.Puback
	if h.Type != mqtt.TypePuback || ack.Decode(h, body, mqtt.V5) != nil || ack.ReasonCode != mqtt.NotAuthorized {
		t.Fatalf("after reload: %v %+v", h.Type, ack)
	}
	if r := tb.info(t, "reloaded"); !r.Connected {
		t.Fatal("client disconnected by the reload")
	}
	// The password file too: bob's new password works for new CONNECTs.
	if _, err := auth.SetPassword(acfg.PasswordFile, "bob", []byte("rebuilt"), bcrypt.MinCost); err != nil {
		t.Fatal(err)
	}
	if err := a.Reload(); err != nil {
		t.Fatal(err)
	}
	if _, ack := connectRaw(t, tb.addr, withCreds(conn5("bob2"), "bob", "builder")); ack.ReasonCode != mqtt.BadUserNameOrPassword {
		t.Fatalf("old password: %#x", byte(ack.ReasonCode))
	}
	if _, ack := connectRaw(t, tb.addr, withCreds(conn5("bob3"), "bob", "rebuilt")); ack.ReasonCode != 0 {
		t.Fatalf("new password: %#x", byte(ack.ReasonCode))
	}
	if r := tb.info(t, "reloaded"); !r.Connected {
		t.Fatal("client disconnected by the second reload")
	}
}

func TestZones(t *testing.T) {
	small, big := freeAddr(t), freeAddr(t)
	cfg := Config{
		Zones: map[string]ZoneConfig{
			"small": {MqueueMax: 10, InflightMax: 1, MaxPacketSize: 256, ServerKeepalive: 7 * time.Second, SubscriptionsMax: 2},
		},
		Listeners: []ListenerConfig{{Addr: small, Name: "tcp:small", Zone: "small"}, {Addr: big}},
	}
	tb := startListeners(t, cfg)
	if got := tb.MaxPacketSize(); got != 1<<20 {
		t.Fatalf("MaxPacketSize = %d, want the default zone's 1 MiB", got)
	}
	// A persistent subscriber in zone small goes offline; 11 QoS 1
	// messages arrive: the queue keeps 10 and drops (and counts) one.
	p := conn311("queued", false)
	rc, _ := connectRaw(t, small, p)
	rc.subscribe(1, sub("q", 1))
	rc.write(mqtt.AppendDisconnect(nil, &mqtt.Disconnect{}, mqtt.V311))
	rc.expectClosed()
	waitFor(t, "session offline", func() bool { return !tb.info(t, "queued").Connected })
	pub, _ := connectRaw(t, big, conn311("publisher", true))
	for i := range 11 {
		pub.publish("q", fmt.Sprint(i), 1, false, uint16(i+1))
		if h, _ := pub.read(); h.Type != mqtt.TypePuback {
			t.Fatalf("got %v", h.Type)
		}
	}
	r := tb.info(t, "queued")
	if r.Zone != "small" || r.Listener != "tcp:small" || r.MqueueMax != 10 || r.MqueueLen != 10 ||
		r.MqueueDropped != 1 || r.SendMsgDroppedQueueFull != 1 || r.InflightMax != 1 || r.SubscriptionsMax != 2 {
		t.Fatalf("zone small row: zone=%s listener=%s mqueue max=%d len=%d dropped=%d queue_full=%d inflight_max=%d subs_max=%d",
			r.Zone, r.Listener, r.MqueueMax, r.MqueueLen, r.MqueueDropped, r.SendMsgDroppedQueueFull, r.InflightMax, r.SubscriptionsMax)
	}
	if r := tb.info(t, "publisher"); r.Zone != DefaultZone || r.Listener != "tcp:1" || r.MqueueMax != 1000 {
		t.Fatalf("default zone row: zone=%s listener=%s mqueue_max=%d", r.Zone, r.Listener, r.MqueueMax)
	}
	// The resumed session gets the 10 kept messages, oldest dropped.
	rc, ack := connectRaw(t, small, conn311("queued", false))
	if !ack.SessionPresent {
		t.Fatal("session not present")
	}
	for i := 1; i <= 10; i++ {
		m := rc.readPublish()
		if string(m.Payload) != fmt.Sprint(i) {
			t.Fatalf("message %d: payload %s", i, m.Payload)
		}
		rc.write(mqtt.AppendPuback(nil, &mqtt.Puback{PacketID: m.PacketID}, mqtt.V311))
	}
	// MQTT 5 in zone small: CONNACK carries the zone's limits, and a packet
	// above the zone's size is refused with 0x95.
	c5, ack := connectRaw(t, small, conn5("five"))
	pr := &ack.Properties
	if pr.MaximumPacketSize != 256 || !pr.Present.Has(mqtt.PropServerKeepAlive) || pr.ServerKeepAlive != 7 {
		t.Fatalf("CONNACK max packet %d server keepalive %v/%d", pr.MaximumPacketSize,
			pr.Present.Has(mqtt.PropServerKeepAlive), pr.ServerKeepAlive)
	}
	if r := tb.info(t, "five"); r.Keepalive != 7 {
		t.Fatalf("keepalive = %d, want the zone's 7", r.Keepalive)
	}
	if codes := c5.subscribe(1, sub("a", 0), sub("b", 0), sub("c", 0)); codes[2] != mqtt.QuotaExceeded {
		t.Fatalf("third subscription in a zone of 2: %v", codes)
	}
	c5.publish("big", string(make([]byte, 300)), 0, false, 0)
	if code, ok := c5.expectClosed(); !ok || code != mqtt.PacketTooLarge {
		t.Fatalf("oversized packet: DISCONNECT %v %#x", ok, byte(code))
	}
}

func TestZoneConfigValidate(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
		ok   bool
	}{
		{name: "no zones", ok: true},
		{name: "known zone", cfg: Config{Zones: map[string]ZoneConfig{"z": {MqueueMax: 1}},
			Listeners: []ListenerConfig{{Addr: ":1", Zone: "z"}}}, ok: true},
		{name: "default zone without entry", cfg: Config{Listeners: []ListenerConfig{{Addr: ":1", Zone: DefaultZone}}}, ok: true},
		{name: "unknown zone", cfg: Config{Listeners: []ListenerConfig{{Addr: ":1", Zone: "nope"}}}},
		{name: "bad zone limit", cfg: Config{Zones: map[string]ZoneConfig{"z": {MqueueMax: -1}}}},
		{name: "bad listener address", cfg: Config{Listeners: []ListenerConfig{{Addr: "1883"}}}},
		{name: "server keepalive too long", cfg: Config{ServerKeepalive: 70000 * time.Second}},
		{name: "max keepalive", cfg: Config{MaxKeepalive: 65535 * time.Second}, ok: true},
		{name: "max keepalive too long", cfg: Config{MaxKeepalive: 65536 * time.Second}},
		{name: "max keepalive below a second", cfg: Config{MaxKeepalive: 500 * time.Millisecond}},
		{name: "max keepalive negative", cfg: Config{MaxKeepalive: -time.Second}},
		{name: "zone max keepalive too long", cfg: Config{Zones: map[string]ZoneConfig{"z": {MaxKeepalive: 70000 * time.Second}}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.cfg.Validate(); (err == nil) != tc.ok {
				t.Fatalf("Validate = %v", err)
			}
		})
	}
}

// TestACLCacheOffline checks that a session's ACL decisions go with its
// connection: cached while it is connected, none kept while it is offline,
// also after the API changed the offline session's subscriptions.
func TestACLCacheOffline(t *testing.T) {
	tb, _, _ := securedBroker(t, accessACL)
	ctx := context.Background()
	rc, ack := connectRaw(t, tb.addr, withCreds(conn311("acl-offline", false), "alice", "wonderland"))
	if ack.ReasonCode != 0 {
		t.Fatalf("connect %#x", byte(ack.ReasonCode))
	}
	if codes := rc.subscribe(1, sub("public/ok", 1)); codes[0] != 1 {
		t.Fatalf("SUBACK %v", codes)
	}
	entries, err := tb.AuthzCache(ctx, "acl-offline")
	if err != nil || len(entries) != 1 {
		t.Fatalf("connected: cache %v, %v; want one decision", entries, err)
	}
	rc.write(mqtt.AppendDisconnect(nil, &mqtt.Disconnect{}, mqtt.V311))
	rc.c.Close()
	waitFor(t, "the session offline", func() bool {
		r, err := tb.ClientInfo(ctx, "acl-offline")
		return err == nil && !r.Connected
	})
	if _, err := tb.Subscribe(ctx, "acl-offline", []SubscribeRequest{{Topic: "public/api", Options: SubOptions{QoS: 1}}}); err != nil {
		t.Fatal(err)
	}
	var held bool
	if err := tb.onOwner(ctx, "acl-offline", func(s *session) { held = s.acl != nil }); err != nil {
		t.Fatal(err)
	}
	if held {
		t.Fatal("the offline session holds an ACL cache")
	}
	if entries, err := tb.AuthzCache(ctx, "acl-offline"); err != nil || len(entries) != 0 {
		t.Fatalf("offline: cache %v, %v; want none", entries, err)
	}
}
