package main

import (
	"context"
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"syscall"
	"testing"
	"time"

	pahov3 "github.com/eclipse/paho.mqtt.golang"
	"github.com/shardmq/shardmq/netio"
	"github.com/shardmq/shardmq/shards"
	"github.com/shardmq/shardmq/shards/auth"
	"golang.org/x/crypto/bcrypt"
)

func TestZoneFlag(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		want    map[string]shards.ZoneConfig
		wantErr bool
	}{
		{name: "every key", args: []string{"z:inflight_max=1,mqueue_max=10,subscriptions_max=3,awaiting_rel_max=4," +
			"max_packet_size=512,topic_alias_max=-1,server_keepalive=30,session_expiry=2h,max_session_expiry=1h," +
			"await_rel_timeout=5s,keepalive_multiplier=2"},
			want: map[string]shards.ZoneConfig{"z": {InflightMax: 1, MqueueMax: 10, SubscriptionsMax: 3, AwaitingRelMax: 4,
				MaxPacketSize: 512, TopicAliasMaximum: -1, ServerKeepalive: 30 * time.Second, SessionExpiry: 2 * time.Hour,
				MaxSessionExpiry: time.Hour, AwaitPubrelTimeout: 5 * time.Second, KeepaliveFactor: 2}}},
		{name: "repeated merges", args: []string{"a:mqueue_max=1", "b:inflight_max=2", "a:inflight_max=3"},
			want: map[string]shards.ZoneConfig{"a": {MqueueMax: 1, InflightMax: 3}, "b": {InflightMax: 2}}},
		{name: "no name", args: []string{":mqueue_max=1"}, wantErr: true},
		{name: "no colon", args: []string{"mqueue_max=1"}, wantErr: true},
		{name: "unknown key", args: []string{"a:queue=1"}, wantErr: true},
		{name: "bad number", args: []string{"a:mqueue_max=ten"}, wantErr: true},
		{name: "bad duration", args: []string{"a:session_expiry=soon"}, wantErr: true},
		{name: "not key=value", args: []string{"a:mqueue_max"}, wantErr: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var z zoneFlags
			var err error
			for _, a := range tc.args {
				if err = z.Set(a); err != nil {
					break
				}
			}
			if tc.wantErr {
				if err == nil {
					t.Fatal("no error")
				}
				return
			}
			if err != nil || !reflect.DeepEqual(z.m, tc.want) {
				t.Fatalf("got %+v, %v; want %+v", z.m, err, tc.want)
			}
		})
	}
}

func TestListenerAndAnonymousFlags(t *testing.T) {
	var l listenerFlags
	for _, s := range []string{"127.0.0.1:1883", "[::1]:1884@edge", ":1885@default"} {
		if err := l.Set(s); err != nil {
			t.Fatal(err)
		}
	}
	want := []shards.ListenerConfig{{Addr: "127.0.0.1:1883"}, {Addr: "[::1]:1884", Zone: "edge"}, {Addr: ":1885", Zone: "default"}}
	if !reflect.DeepEqual(l.list, want) {
		t.Fatalf("listeners %+v", l.list)
	}
	if err := l.Set("@zone"); err == nil {
		t.Fatal("listener without address accepted")
	}
	var a triState
	if a.ptr() != nil || a.String() != "" {
		t.Fatal("unset tri-state")
	}
	if err := a.Set("false"); err != nil || a.ptr() == nil || *a.ptr() {
		t.Fatal("false")
	}
	if err := a.Set("maybe"); err == nil {
		t.Fatal("maybe accepted")
	}
	// Both spellings parse to false (a bool flag would read the spaced one
	// as true plus a stray argument).
	for _, args := range [][]string{{"--allow-anonymous", "false"}, {"--allow-anonymous=false"}} {
		fs := flag.NewFlagSet("t", flag.ContinueOnError)
		var v triState
		fs.Var(&v, "allow-anonymous", "")
		if err := fs.Parse(args); err != nil || v.ptr() == nil || *v.ptr() || fs.NArg() != 0 {
			t.Fatalf("%q: err %v value %v args %v", args, err, v.String(), fs.Args())
		}
	}
}

func TestConfigureSecurity(t *testing.T) {
	old := security
	t.Cleanup(func() { security = old })
	tests := []struct {
		name    string
		flags   securityFlags
		wantErr bool
		check   func(t *testing.T, a *app)
	}{
		{name: "defaults: one loopback listener, open", flags: securityFlags{aclNoMatch: "deny"},
			check: func(t *testing.T, a *app) {
				if len(a.cfg.Listeners) != 1 || a.cfg.Listeners[0].Addr != "127.0.0.1:1883" || a.cfg.Listeners[0].AllowAnonymous != nil {
					t.Fatalf("listeners %+v", a.cfg.Listeners)
				}
				if a.cfg.Auth == nil {
					t.Fatal("no Auth")
				}
			}},
		{name: "anonymous flag applies to every listener", flags: securityFlags{aclNoMatch: "allow",
			allowAnonymous: triState{set: true}, listeners: listenerFlags{list: []shards.ListenerConfig{{Addr: ":1"}, {Addr: ":2"}}}},
			check: func(t *testing.T, a *app) {
				for _, l := range a.cfg.Listeners {
					if l.AllowAnonymous == nil || *l.AllowAnonymous {
						t.Fatalf("listener %+v", l)
					}
				}
			}},
		{name: "bad policy", flags: securityFlags{aclNoMatch: "sometimes"}, wantErr: true},
		{name: "missing password file", flags: securityFlags{aclNoMatch: "deny", passwordFile: "/nonexistent"}, wantErr: true},
		{name: "unknown zone", flags: securityFlags{aclNoMatch: "deny",
			listeners: listenerFlags{list: []shards.ListenerConfig{{Addr: ":1", Zone: "nope"}}}}, wantErr: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			security = tc.flags
			a := &app{opts: options{mqttAddr: "127.0.0.1:1883"}}
			err := configureSecurity(a)
			if tc.wantErr {
				if err == nil {
					t.Fatal("no error")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			tc.check(t, a)
		})
	}
}

// secFiles writes a password file with alice/wonderland and an ACL file.
func secFiles(t *testing.T, acl string) (passwd, aclPath string) {
	t.Helper()
	dir := t.TempDir()
	passwd, aclPath = filepath.Join(dir, "passwd"), filepath.Join(dir, "acl")
	if _, err := auth.SetPassword(passwd, "alice", []byte("wonderland"), bcrypt.MinCost); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(aclPath, []byte(acl), 0o600); err != nil {
		t.Fatal(err)
	}
	return passwd, aclPath
}

// pahoAlice connects alice with paho.mqtt.golang (MQTT 3.1.1).
func pahoAlice(t *testing.T, addr, id string) pahov3.Client {
	t.Helper()
	c := pahov3.NewClient(pahov3.NewClientOptions().AddBroker("tcp://" + addr).SetClientID(id).
		SetUsername("alice").SetPassword("wonderland").SetProtocolVersion(4).SetAutoReconnect(false))
	if tok := c.Connect(); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		t.Fatalf("connect: %v", tok.Error())
	}
	t.Cleanup(func() { c.Disconnect(50) })
	return c
}

// subCode subscribes and returns the SUBACK return code.
func subCode(t *testing.T, c pahov3.Client, filter string) byte {
	t.Helper()
	tok := c.Subscribe(filter, 1, func(pahov3.Client, pahov3.Message) {})
	if !tok.WaitTimeout(5 * time.Second) {
		t.Fatal("SUBACK timed out")
	}
	codes := tok.(*pahov3.SubscribeToken).Result()
	return codes[filter]
}

// TestReloadInProcess wires the broker as run does and calls the function
// the SIGHUP handler calls.
func TestReloadInProcess(t *testing.T) {
	old := security
	t.Cleanup(func() { security = old })
	passwd, acl := secFiles(t, "allow all all a/#\n")
	security = securityFlags{passwordFile: passwd, aclFile: acl, aclNoMatch: "deny", allowAnonymous: triState{set: true}}
	addr := freePort(t)
	a := &app{opts: options{mqttAddr: addr}}
	if err := configureSecurity(a); err != nil {
		t.Fatal(err)
	}
	b, err := shards.New(a.cfg)
	if err != nil {
		t.Fatal(err)
	}
	srv, err := netio.New(netio.Config{Listeners: []netio.Listener{{Addr: addr}}, MaxPacketSize: b.MaxPacketSize(), Loops: 2}, b)
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
	})
	c := pahoAlice(t, addr, "inproc")
	if got := subCode(t, c, "a/1"); got != 1 {
		t.Fatalf("before reload: %#x", got)
	}
	if err := os.WriteFile(acl, []byte("deny all all a/#\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	reloadAuth(a)
	if got := subCode(t, c, "a/2"); got != 0x80 {
		t.Fatalf("after reload: %#x, want 0x80", got)
	}
	if !c.IsConnectionOpen() {
		t.Fatal("client disconnected by the reload")
	}
	// A broken file keeps the rules in force.
	if err := os.WriteFile(acl, []byte("allow nobody\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	reloadAuth(a)
	if got := subCode(t, c, "a/3"); got != 0x80 {
		t.Fatalf("after a failed reload: %#x, want 0x80", got)
	}
}

// TestSIGHUP sends a real SIGHUP to a built broker process.
func TestSIGHUP(t *testing.T) {
	_, bin := buildBroker(t)
	passwd, acl := secFiles(t, "allow all all a/#\n")
	addr := freePort(t)
	cmd := exec.Command(bin, "--mqtt-addr", addr, "--api-addr", freePort(t), "--data-dir", t.TempDir(),
		"--password-file", passwd, "--acl-file", acl, "--allow-anonymous=false")
	logPath := startProcess(t, cmd)
	waitListening(t, addr, cmd)
	c := pahoAlice(t, addr, "hup")
	if got := subCode(t, c, "a/1"); got != 1 {
		t.Fatalf("before SIGHUP: %#x", got)
	}
	if err := os.WriteFile(acl, []byte("deny all all a/#\nallow all all #\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	// The reload runs on the broker's signal goroutine: poll until the log
	// says it happened, then check the decision.
	waitUntil(t, "the reload in the log", func() bool {
		log, _ := os.ReadFile(logPath)
		return containsLine(string(log), "reloaded password and ACL files")
	})
	if got := subCode(t, c, "a/2"); got != 0x80 {
		t.Fatalf("after SIGHUP: %#x, want 0x80", got)
	}
	if got := subCode(t, c, "b"); got != 1 {
		t.Fatalf("after SIGHUP, other topic: %#x", got)
	}
	if !c.IsConnectionOpen() {
		t.Fatal("client disconnected by SIGHUP")
	}
}

func containsLine(log, s string) bool {
	for i := 0; i+len(s) <= len(log); i++ {
		if log[i:i+len(s)] == s {
			return true
		}
	}
	return false
}
