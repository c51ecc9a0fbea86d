package bench

import (
	"context"
	"net"
	"os"
	"runtime"
	"testing"
	"time"
)

// TestIdleRSSAfterHold checks that the idle sample is taken after the
// hold: memory the process touches halfway through the hold is in it.
func TestIdleRSSAfterHold(t *testing.T) {
	const grow = 64 << 20
	rss0, _, err := procMem(os.Getpid())
	if err != nil {
		t.Skipf("no /proc: %v", err)
	}
	hold := 400 * time.Millisecond
	done := make(chan []byte)
	go func() {
		time.Sleep(hold / 2)
		b := make([]byte, grow)
		for i := 0; i < len(b); i += 4096 {
			b[i] = 1 // touch every page
		}
		done <- b
	}()
	start := time.Now()
	rss := idleRSS(context.Background(), os.Getpid(), hold)
	b := <-done
	if took := time.Since(start); took < hold+settleStep {
		t.Errorf("sampled after %v, want the hold (%v) and at least one settling step", took, hold)
	}
	if rss-rss0 < grow*3/4 {
		t.Errorf("RSS %d → %d: the %d bytes touched during the hold are missing", rss0, rss, grow)
	}
	runtime.KeepAlive(b)
}

// TestStormSource checks that a storm job's connections come from its
// source address, and that jobs get distinct ones.
func TestStormSource(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	peers := make(chan string, 8)
	go func() {
		for {
			nc, err := ln.Accept()
			if err != nil {
				return
			}
			peers <- nc.RemoteAddr().(*net.TCPAddr).IP.String()
			go func() {
				defer nc.Close()
				buf := make([]byte, 256)
				if _, err := nc.Read(buf); err != nil { // the CONNECT
					return
				}
				_, _ = nc.Write([]byte{0x20, 2, 0, 0}) // CONNACK accepted
				_, _ = nc.Read(buf)                    // until the client goes
			}()
		}
	}()
	if stormSource(0) == stormSource(1) {
		t.Fatalf("jobs 0 and 1 share source %s", stormSource(0))
	}
	job := stormJob{Addr: ln.Addr().String(), Version: 4, Prefix: "src", Source: stormSource(3), Count: 3, Concurrency: 2}
	conns, rep := connectStorm(context.Background(), job)
	for _, c := range conns {
		c.abort()
	}
	if rep.Connected != 3 || rep.Err != "" {
		t.Fatalf("report %+v", rep)
	}
	for range 3 {
		if p := <-peers; p != "127.0.0.5" {
			t.Errorf("connection from %s, want 127.0.0.5", p)
		}
	}
}
