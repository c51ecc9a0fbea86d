package shards

import (
	"context"
	"testing"
	"time"

	"github.com/shardmq/shardmq/mqtt"
	"github.com/shardmq/shardmq/netio"
	"go.uber.org/goleak"
)

// TestShutdown stops a broker with clients connected: MQTT 5 clients get
// DISCONNECT 0x8B, every connection closes, Shutdown is safe to call twice
// and no goroutine of the broker is left behind.
func TestShutdown(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent(),
		goleak.IgnoreAnyFunction("github.com/panjf2000/ants/v2.(*goWorker).run.func1"))
	b, err := New(Config{})
	if err != nil {
		t.Fatal(err)
	}
	srv, err := netio.New(netio.Config{Listeners: []netio.Listener{{Addr: "127.0.0.1:0"}}, Loops: 2}, b)
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	addr := srv.Addr().String()
	v5, _ := connectRaw(t, addr, conn5("bye5"))
	v3, _ := connectRaw(t, addr, conn311("bye3", false))
	v3.subscribe(1, sub("a", 1))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := srv.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	if err := srv.Shutdown(ctx); err != nil {
		t.Fatalf("second Shutdown: %v", err)
	}
	if code, ok := v5.expectClosed(); !ok || code != mqtt.ServerShuttingDown {
		t.Fatalf("v5 client got %v (%v), want DISCONNECT 0x8B", code, ok)
	}
	if _, ok := v3.expectClosed(); ok {
		t.Fatal("v3 client got a DISCONNECT")
	}
	v5.c.Close()
	v3.c.Close()
}
