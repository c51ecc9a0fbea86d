package main

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"syscall"
	"testing"
	"time"

	pahov3 "github.com/eclipse/paho.mqtt.golang"
	"github.com/shardmq/shardmq/netio"
	"github.com/shardmq/shardmq/shards"
	"github.com/shardmq/shardmq/shards/auth"
	"golang.org/x/crypto/bcrypt"
)

func TestZoneSpec(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		want    map[string]shards.ZoneConfig
		wantErr string // the error's key
	}{
		{name: "every key", args: []string{"z:inflight_max=1,mqueue_max=10,subscriptions_max=3,awaiting_rel_max=4," +
			"max_packet_size=512,topic_alias_max=-1,server_keepalive=30,max_keepalive=300,session_expiry=2h,max_session_expiry=1h," +
			"await_rel_timeout=5s,keepalive_multiplier=2"},
			want: map[string]shards.ZoneConfig{"z": {InflightMax: 1, MqueueMax: 10, SubscriptionsMax: 3, AwaitingRelMax: 4,
				MaxPacketSize: 512, TopicAliasMaximum: -1, ServerKeepalive: 30 * time.Second, MaxKeepalive: 300 * time.Second,
				SessionExpiry:    2 * time.Hour,
				MaxSessionExpiry: time.Hour, AwaitPubrelTimeout: 5 * time.Second, KeepaliveFactor: 2}}},
		{name: "repeated merges", args: []string{"a:mqueue_max=1", "b:inflight_max=2", "a:inflight_max=3"},
			want: map[string]shards.ZoneConfig{"a": {MqueueMax: 1, InflightMax: 3}, "b": {InflightMax: 2}}},
		{name: "empty zone names the defaults", args: []string{"e:"}, want: map[string]shards.ZoneConfig{"e": {}}},
		{name: "no name", args: []string{":mqueue_max=1"}, wantErr: "zones"},
		{name: "no colon", args: []string{"mqueue_max=1"}, wantErr: "zones"},
		{name: "unknown key", args: []string{"a:queue=1"}, wantErr: "zones.a.queue"},
		{name: "bad number", args: []string{"a:mqueue_max=ten"}, wantErr: "zones.a.mqueue_max"},
		{name: "bad duration", args: []string{"a:session_expiry=soon"}, wantErr: "zones.a.session_expiry"},
		{name: "out of range", args: []string{"a:inflight_max=70000"}, wantErr: "zones.a.inflight_max"},
		{name: "not key=value", args: []string{"a:mqueue_max"}, wantErr: "zones.a"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			zones := map[string]shards.ZoneConfig{}
			var err error
			for _, a := range tc.args {
				if err = addZoneSpec(zones, a); err != nil {
					break
				}
			}
			if tc.wantErr != "" {
				var ke *keyError
				if !errors.As(err, &ke) || ke.key != tc.wantErr {
					t.Fatalf("error %v, want one about key %s", err, tc.wantErr)
				}
				return
			}
			if err != nil || !reflect.DeepEqual(zones, tc.want) {
				t.Fatalf("got %+v, %v; want %+v", zones, err, tc.want)
			}
		})
	}
}

func TestParseListener(t *testing.T) {
	tests := []struct {
		spec    string
		want    Listener
		wantErr bool
	}{
		{spec: "127.0.0.1:1883", want: Listener{Addr: "127.0.0.1:1883"}},
		{spec: "ssl://0.0.0.0:8883@devices?name=devices&certfile=s.pem&keyfile=s.key&cacertfile=ca.pem&verify=verify_peer&fail_if_no_peer_cert=true&peer_cert_as_username=cn&tenant_from=peersni&proxy_protocol=true&proxy_protocol_timeout=2s&max_connections=100",
			want: Listener{Kind: "ssl", Addr: "0.0.0.0:8883", Zone: "devices", Name: "devices", CertFile: "s.pem", KeyFile: "s.key", CACertFile: "ca.pem",
				Verify: "verify_peer", FailIfNoPeerCert: true, PeerCertAsUsername: "cn", TenantFrom: "peersni", ProxyProtocol: true,
				ProxyProtocolTimeout: 2 * time.Second, MaxConnections: 100}},
		{spec: "wss://127.0.0.1:8084?path=/ws&certfile=s.pem&keyfile=s.key", want: Listener{Kind: "wss", Addr: "127.0.0.1:8084", Path: "/ws", CertFile: "s.pem", KeyFile: "s.key"}},
		{spec: "ws://127.0.0.1:8083@web?proxy_address_header=X-Forwarded-For", want: Listener{Kind: "ws", Addr: "127.0.0.1:8083", Zone: "web", ProxyAddressHeader: "X-Forwarded-For"}},
		{spec: "[::1]:1884@edge", want: Listener{Addr: "[::1]:1884", Zone: "edge"}},
		{spec: ":1885@default", want: Listener{Addr: ":1885", Zone: "default"}},
		{spec: "tcp://127.0.0.1:1884@devices?name=devices", want: Listener{Kind: "tcp", Addr: "127.0.0.1:1884", Zone: "devices", Name: "devices"}},
		{spec: "tcp://0.0.0.0:1883", want: Listener{Kind: "tcp", Addr: "0.0.0.0:1883"}},
		{spec: "127.0.0.1:1883?name=local", want: Listener{Addr: "127.0.0.1:1883", Name: "local"}},
		{spec: "@zone", wantErr: true},
		{spec: "tcp://", wantErr: true},
		{spec: "quic://127.0.0.1:8883", wantErr: true},
		{spec: "ssl://127.0.0.1:8883?verify=yes", wantErr: true},
		{spec: "ws://127.0.0.1:8083?zone=web", wantErr: true},
		{spec: "tcp://127.0.0.1:1883?name=", wantErr: true},
		{spec: "tcp://127.0.0.1:1883?name=a&name=b", wantErr: true},
		{spec: "tcp://127.0.0.1:1883?cert=x", wantErr: true},
	}
	for _, tc := range tests {
		t.Run(tc.spec, func(t *testing.T) {
			got, err := parseListener(tc.spec)
			if tc.wantErr {
				if err == nil {
					t.Fatalf("accepted: %+v", got)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("got %+v, %v; want %+v", got, err, tc.want)
			}
		})
	}
}

// TestAllowAnonymousFlag checks that both spellings parse to false (a
// bool flag would read the spaced one as true plus a stray argument), and
// that the value reaches every listener.
func TestAllowAnonymousFlag(t *testing.T) {
	for _, args := range [][]string{{"--allow-anonymous", "false"}, {"--allow-anonymous=false"}} {
		cl, err := parseCommandLine(append(args, "--listener", ":1", "--listener", ":2"))
		if err != nil {
			t.Fatalf("%q: %v", args, err)
		}
		o, err := mergeOptions(nil, nil, cl.changes)
		if err != nil || o.AllowAnonymous == nil || *o.AllowAnonymous {
			t.Fatalf("%q: %v, allow_anonymous %v", args, err, o.AllowAnonymous)
		}
		for _, l := range brokerConfig(&o, o.mqttListeners(), nil, nil).Listeners {
			if l.AllowAnonymous == nil || *l.AllowAnonymous {
				t.Fatalf("listener %+v", l)
			}
		}
	}
	if _, err := parseCommandLine([]string{"--allow-anonymous", "maybe"}); err == nil {
		t.Fatal("maybe accepted")
	}
}

// TestBrokerListeners checks the listeners the broker gets: names, zones
// and the anonymous policy, and the listener settings Validate refuses.
func TestBrokerListeners(t *testing.T) {
	tests := []struct {
		name    string
		opts    func(o *Options)
		want    []shards.ListenerConfig
		wantErr string
	}{
		{name: "default: mqtt_addr, open on loopback", opts: func(*Options) {},
			want: []shards.ListenerConfig{{Addr: "127.0.0.1:1883", Name: "tcp:default", Zone: "default"}}},
		{name: "unnamed listeners are numbered", opts: func(o *Options) {
			o.Zones = map[string]shards.ZoneConfig{"devices": {}}
			o.Listeners = []Listener{{Addr: ":1"}, {Addr: ":2", Zone: "devices"}}
		}, want: []shards.ListenerConfig{{Addr: ":1", Name: "tcp:default", Zone: "default"}, {Addr: ":2", Name: "tcp:1", Zone: "devices"}}},
		{name: "named listeners", opts: func(o *Options) {
			o.Zones = map[string]shards.ZoneConfig{"devices": {}}
			o.Listeners = []Listener{{Addr: ":1"}, {Addr: ":2", Zone: "devices", Name: "devices"}}
		}, want: []shards.ListenerConfig{{Addr: ":1", Name: "tcp:default", Zone: "default"}, {Addr: ":2", Name: "tcp:devices", Zone: "devices"}}},
		{name: "unknown zone", opts: func(o *Options) { o.Listeners = []Listener{{Addr: ":1", Zone: "nope"}} },
			wantErr: `unknown zone "nope"`},
		{name: "name taken", opts: func(o *Options) { o.Listeners = []Listener{{Addr: ":1"}, {Addr: ":2", Name: "default"}} },
			wantErr: `name "default" is taken`},
		{name: "bad name", opts: func(o *Options) { o.Listeners = []Listener{{Addr: ":1", Name: "a b"}} },
			wantErr: `name "a b": want letters`},
		{name: "address twice", opts: func(o *Options) { o.Listeners = []Listener{{Addr: ":1"}, {Addr: ":1", Name: "x"}} },
			wantErr: "given twice"},
		{name: "no port", opts: func(o *Options) { o.Listeners = []Listener{{Addr: "localhost"}} },
			wantErr: "missing port"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			o := defaultOptions()
			tc.opts(&o)
			err := o.Validate()
			if tc.wantErr != "" {
				var ke *keyError
				if !errors.As(err, &ke) || ke.key != listenersKey || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error %v, want key listeners: ...%s", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			c := brokerConfig(&o, o.mqttListeners(), nil, nil)
			if !reflect.DeepEqual(c.Listeners, tc.want) {
				t.Fatalf("listeners %+v, want %+v", c.Listeners, tc.want)
			}
			if err := c.Validate(); err != nil {
				t.Fatalf("shards refuses the config: %v", err)
			}
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

// TestReloadInProcess wires the broker as start does and calls the
// function the SIGHUP handler calls.
func TestReloadInProcess(t *testing.T) {
	passwd, acl := secFiles(t, "allow all all a/#\n")
	addr := freePort(t)
	o := defaultOptions()
	o.PasswordFile, o.ACLFile, o.MQTTAddr = passwd, acl, addr
	o.AllowAnonymous = new(bool)
	az, err := newAuth(&o)
	if err != nil {
		t.Fatal(err)
	}
	b, err := shards.New(brokerConfig(&o, o.mqttListeners(), az, nil))
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
	reloadAuth(az)
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
	reloadAuth(az)
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
