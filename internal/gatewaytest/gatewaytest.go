// Package gatewaytest starts a broker for the tests of the udp gateways
// (shards/gateway/...): a shards.Broker on a netio.Server with a tcp
// listener for real MQTT clients and one udp listener served by the
// gateway under test, both on 127.0.0.1, stopped when the test ends. It
// is for tests only, like net/http/httptest; it lives outside shards/
// because it imports shards, which shards' sub-packages may not.
package gatewaytest

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	pahov3 "github.com/eclipse/paho.mqtt.golang"
	"github.com/shardmq/shardmq/netio"
	"github.com/shardmq/shardmq/shards"
)

// Gateway is a gateway under test.
type Gateway interface {
	netio.Gateway
	// Close stops the gateway's timers.
	Close()
}

// Env is a running broker with a gateway.
type Env struct {
	// Broker is the broker; Server serves its listeners.
	Broker *shards.Broker
	Server *netio.Server
	// TCP is the MQTT listener's address, UDP the gateway's.
	TCP, UDP string
}

var yes = true

// Start starts a broker whose udp listener "udp:NAME" (protocol proto,
// version 1, anonymous clients allowed) is served by gw, and a tcp
// listener "tcp:default"; mut, when not nil, changes the broker's
// configuration first. The broker, the Server and gw stop at the test's
// end.
func Start(t testing.TB, gw Gateway, name, proto string, mut func(*shards.Config)) *Env {
	t.Helper()
	cfg := shards.Config{SysInterval: -1, Listeners: []shards.ListenerConfig{
		{Name: "tcp:default", Addr: "127.0.0.1:0", AllowAnonymous: &yes},
		{Name: "udp:" + name, Addr: "127.0.0.1:0", AllowAnonymous: &yes, Protocol: proto, ProtoVer: 1},
	}}
	if mut != nil {
		mut(&cfg)
	}
	b, err := shards.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	srv, err := netio.New(netio.Config{Loops: 2, Listeners: []netio.Listener{
		{Addr: "127.0.0.1:0"},
		{Kind: netio.KindUDP, Name: name, Addr: "127.0.0.1:0", Gateway: gw},
	}}, b)
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		gw.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
	})
	return &Env{Broker: b, Server: srv, TCP: srv.Addr().String(), UDP: srv.UDPAddrs()[0].String()}
}

// WaitFor polls cond every 10 ms for up to 5 s, and fails the test with
// what when it does not hold by then.
func WaitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); !cond(); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}

// Received collects the messages an MQTT client receives, as
// "topic qos payload"; safe from any goroutine.
type Received struct {
	mu   sync.Mutex
	msgs []string
}

// Add records m; give it to paho as the publish handler.
func (r *Received) Add(_ pahov3.Client, m pahov3.Message) {
	r.mu.Lock()
	r.msgs = append(r.msgs, fmt.Sprintf("%s %d %s", m.Topic(), m.Qos(), m.Payload()))
	r.mu.Unlock()
}

// Wait waits for n messages (WaitFor) and returns all received so far.
func (r *Received) Wait(t testing.TB, n int) []string {
	t.Helper()
	WaitFor(t, fmt.Sprintf("%d messages", n), func() bool {
		r.mu.Lock()
		defer r.mu.Unlock()
		return len(r.msgs) >= n
	})
	return r.All()
}

// All returns the messages received so far.
func (r *Received) All() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.msgs...)
}
