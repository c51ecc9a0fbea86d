package main

import (
	"errors"
	"net"
	"os"
	"runtime"
	"runtime/metrics"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestReleasePolicy feeds the policy heap samples of typical histories and
// checks when it releases: once after a burst goes quiet, never under a
// steady load, at most once per interval, and not for small growth.
func TestReleasePolicy(t *testing.T) {
	const mib = 1 << 20
	p := releasePolicy{growth: 16 * mib, quiet: time.Second, minInterval: time.Minute, quietRate: mib}
	// phase is a stretch of samples every 250 ms: the allocation rate
	// (bytes per second) and the retained heap it leaves (0: unchanged).
	// A release leaves the live heap, 20 MiB, retained.
	type phase struct {
		d        time.Duration
		rate     uint64
		retained uint64
	}
	const live = 20 * mib
	storm := func(retained uint64) phase { return phase{2 * time.Second, 80 * mib, retained} }
	idle := func(d time.Duration) phase { return phase{d, 0, 0} }
	start := []phase{{time.Second, 0, 4 * mib}}
	tests := []struct {
		name   string
		phases []phase
		want   []time.Duration // release times from the start
	}{
		{"storm then quiet releases once, a quiet period after the storm",
			append(start, storm(50*mib), idle(10*time.Second)), []time.Duration{4 * time.Second}},
		{"steady allocation never releases",
			append(start, phase{5 * time.Minute, 20 * mib, 60 * mib}), nil},
		{"load just under the quiet rate counts as quiet",
			append(start, storm(50*mib), phase{5 * time.Second, mib - 1, 0}), []time.Duration{4 * time.Second}},
		{"a pause shorter than the quiet period does not release",
			append(start, storm(50*mib), idle(750*time.Millisecond), storm(60*mib), idle(500*time.Millisecond)), nil},
		{"growth below the threshold does not release",
			append(start, phase{time.Second, 80 * mib, 19 * mib}, idle(time.Minute)), nil},
		{"bursts every 10 s release at most once a minute",
			func() []phase {
				ps := append([]phase(nil), start...)
				for range 12 {
					ps = append(ps, storm(50*mib), idle(8*time.Second))
				}
				return ps
			}(), []time.Duration{4 * time.Second, 4*time.Second + time.Minute}},
		{"the next release needs growth from the heap the last one left",
			append(start, storm(50*mib), idle(10*time.Second), // released: 20 MiB left
				storm(30*mib), idle(2*time.Minute), // +10 MiB < 16 MiB: none
				storm(50*mib), idle(10*time.Second)), // +30 MiB ≥ max(16, 20/4) MiB
			[]time.Duration{4 * time.Second, 2*time.Minute + 18*time.Second}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
			now, allocs, retained := t0, uint64(0), uint64(0)
			var st releaseState
			var got []time.Duration
			for _, ph := range tc.phases {
				if ph.retained != 0 {
					retained = ph.retained
				}
				for range int(ph.d / (250 * time.Millisecond)) {
					now = now.Add(250 * time.Millisecond)
					allocs += ph.rate / 4
					if p.due(&st, memSample{at: now, allocs: allocs, retained: retained}) {
						got = append(got, now.Sub(t0))
						retained = live
						st.released(memSample{at: now, allocs: allocs, retained: retained})
					}
				}
			}
			if !slices.Equal(got, tc.want) {
				t.Fatalf("releases at %v, want %v", got, tc.want)
			}
		})
	}
}

// TestReleaseMemoryReturnsHeap drops 64 MiB of garbage and checks that a
// release hands it back to the OS and is counted.
func TestReleaseMemoryReturnsHeap(t *testing.T) {
	released := func() uint64 {
		s := []metrics.Sample{{Name: "/memory/classes/heap/released:bytes"}}
		metrics.Read(s)
		return s[0].Value.Uint64()
	}
	garbage := make([][]byte, 64)
	for i := range garbage {
		garbage[i] = make([]byte, 1<<20)
		for j := range garbage[i] {
			garbage[i][j] = byte(j) // touch every page
		}
	}
	runtime.KeepAlive(garbage)
	garbage = nil
	var st memoryStats
	before := released()
	r := releaseMemory(&st)
	if got := released() - before; got < 32<<20 {
		t.Errorf("released %d bytes of 64 MiB of garbage", got)
	}
	if st.runs.Load() != 1 || r.run != 1 || st.nanos.Load() <= 0 {
		t.Errorf("runs %d (result says %d), %d ns: want the release counted", st.runs.Load(), r.run, st.nanos.Load())
	}
	if r.freeOS <= 0 {
		t.Errorf("FreeOSMemory took %v", r.freeOS)
	}
	if r.trimErr != nil && !errors.Is(r.trimErr, errNoMallocTrim) {
		t.Errorf("malloc_trim: %v", r.trimErr)
	}
	if _, err := os.Stat("/proc/self/statm"); err == nil && (r.rssBefore <= 0 || r.rssAfter <= 0 || r.rssAfter >= r.rssBefore) {
		t.Errorf("RSS before %d after %d: want both read and the release to lower it", r.rssBefore, r.rssAfter)
	}
}

// TestByteSize checks the size syntax of memory_limit and
// memory_release_growth, both ways.
func TestByteSize(t *testing.T) {
	tests := []struct {
		in   string
		want uint64
		out  string // String after Set; "" for a rejected input
	}{
		{"0", 0, "0"},
		{"1048576", 1 << 20, "1MiB"},
		{"64MiB", 64 << 20, "64MiB"},
		{"1 GiB", 1 << 30, "1GiB"},
		{"1536KiB", 1536 << 10, "1536KiB"},
		{"2GB", 2 << 30, "2GiB"}, // GB is 2^30, as GOMEMLIMIT reads it
		{"100B", 100, "100B"},
		{"1.5GiB", 0, ""},
		{"-1", 0, ""},
		{"lots", 0, ""},
		{"20000000TiB", 0, ""}, // overflows 64 bits
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			var b byteSize
			err := b.Set(tc.in)
			if tc.out == "" {
				if err == nil {
					t.Fatalf("Set(%q) accepted: %d", tc.in, b)
				}
				return
			}
			if err != nil || uint64(b) != tc.want || b.String() != tc.out {
				t.Fatalf("Set(%q): %d %q %v, want %d %q", tc.in, b, b.String(), err, tc.want, tc.out)
			}
		})
	}
}

// TestMemoryReleaseBinary runs the broker with a small growth threshold,
// opens 1,000 connections and checks that the broker releases memory once
// they are idle: the log line and the /metrics counters.
func TestMemoryReleaseBinary(t *testing.T) {
	_, bin := buildBroker(t)
	b := startOps(t, bin, "--memory-release-growth", "1MiB", "--memory-release-quiet", "300ms")
	connect := []byte{0x10, 12, 0, 4, 'M', 'Q', 'T', 'T', 4, 2, 0, 60, 0, 0} // MQTT 3.1.1, clean, empty client id
	var conns []net.Conn
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	for range 1000 {
		c, err := net.Dial("tcp", b.mqtt)
		if err != nil {
			t.Fatal(err)
		}
		conns = append(conns, c)
		if _, err := c.Write(connect); err != nil {
			t.Fatal(err)
		}
	}
	for _, c := range conns {
		ack := make([]byte, 4)
		if _, err := c.Read(ack); err != nil || ack[0] != 0x20 || ack[3] != 0 {
			t.Fatalf("CONNACK %x: %v", ack, err)
		}
	}
	// The log is polled, not /metrics: scraping every 20 ms allocates more
	// than the quiet rate, so the broker would never be quiet.
	waitUntil(t, "a release in the log", func() bool {
		log, _ := os.ReadFile(b.logPath)
		return strings.Contains(string(log), "memory returned to the OS after a quiet burst")
	})
	_, body := httpGet(b.url("/metrics"), "")
	if metricValue(body, "shardmq_memory_releases_total") != 1 || metricValue(body, "shardmq_memory_release_seconds_total") <= 0 ||
		metricValue(body, "shardmq_memory_released_bytes_total") < 0 {
		t.Errorf("releases not counted:\n%s", body)
	}
	if code := b.stop(t); code != 0 {
		t.Fatalf("exit code %d", code)
	}
}
