package natscluster

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"
)

// TestRegistryBuckets runs three nodes whose registry is split over four
// buckets: claims from every node land in the bucket the client id's hash
// names, every bucket gets some, the owner reads back from any node, a
// takeover moves a client id across nodes, and a release empties it.
func TestRegistryBuckets(t *testing.T) {
	nodes := startClusterWith(t, 3, func(c *Config) { c.RegistryBuckets = 4 })
	ctx := context.Background()
	const ids = 40
	for i := range ids {
		if s, err := nodes[i%3].Acquire(ctx, fmt.Sprintf("dev-%d", i), false); err != nil || s != nil {
			t.Fatalf("Acquire dev-%d = %v, %v", i, s, err)
		}
	}
	rbs := *nodes[0].registry.kv.Load()
	if len(rbs) != 4 {
		t.Fatalf("%d buckets, want 4", len(rbs))
	}
	total := 0
	for i, rb := range rbs {
		if want := fmt.Sprintf("shardmq_sessions_%d", i); rb.name != want {
			t.Fatalf("bucket %d is %q, want %q", i, rb.name, want)
		}
		keys, err := rb.kv.Keys(ctx)
		if err != nil {
			t.Fatalf("keys of %s: %v", rb.name, err)
		}
		if len(keys) == 0 {
			t.Fatalf("%s holds no claim of %d client ids", rb.name, ids)
		}
		for _, k := range keys {
			if rbs.of(k) != &rbs[i] { // the ids are plain tokens: key = id
				t.Fatalf("%s is in %s, its hash names %s", k, rb.name, rbs.of(k).name)
			}
		}
		total += len(keys)
	}
	if total != ids {
		t.Fatalf("%d claims in the buckets, want %d", total, ids)
	}
	for i := range ids {
		id := fmt.Sprintf("dev-%d", i)
		want := nodes[i%3].cfg.Node
		waitFor(t, 5*time.Second, "n3 reads the owner of "+id, func() bool {
			owner, err := nodes[2].Owner(ctx, id)
			return err == nil && owner == want
		})
	}
	// dev-0 is n1's: n2 takes it over.
	if _, err := nodes[1].Acquire(ctx, "dev-0", false); err != nil {
		t.Fatal(err)
	}
	nodes[0].b.mu.Lock()
	took := slices.Clone(nodes[0].b.takeovers)
	nodes[0].b.mu.Unlock()
	if !slices.Equal(took, []string{"dev-0"}) {
		t.Fatalf("n1's takeovers %v, want [dev-0]", took)
	}
	nodes[1].Release("dev-0")
	waitFor(t, 5*time.Second, "dev-0 released", func() bool {
		owner, err := nodes[0].Owner(ctx, "dev-0")
		return err == nil && owner == ""
	})
}

// TestRegistryBucketsConfig checks the bounds of RegistryBuckets and that
// one bucket keeps the registry's single bucket's name.
func TestRegistryBucketsConfig(t *testing.T) {
	for _, n := range []int{-1, maxRegistryBuckets + 1} {
		c := testConfig("a", "127.0.0.1:1", nil, "", newFakeBroker("a"))
		c.RegistryBuckets = n
		if err := c.Validate(); !errors.Is(err, ErrConfig) {
			t.Fatalf("RegistryBuckets %d: Validate = %v", n, err)
		}
	}
	c := Config{Name: "x"}.withDefaults()
	if c.RegistryBuckets != 1 || c.registryBucketName(0) != "x_sessions" {
		t.Fatalf("default: %d buckets, the first %q", c.RegistryBuckets, c.registryBucketName(0))
	}
	c.RegistryBuckets = 3
	if got := c.registryBucketName(2); got != "x_sessions_2" {
		t.Fatalf("bucket 2 of 3 is %q", got)
	}
}
