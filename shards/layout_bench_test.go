package shards

import (
	"fmt"
	"sync"
	"testing"
)

// This file prototypes the two layouts of DESIGN.md as chains of
// goroutines joined by the same batched MPSC mailbox (a locked slice swap
// plus a one-slot wake-up, like gnet's task queue plus eventfd):
//
//	layout=loop:  publisher loop → subscriber loop (1 hop; the subscriber's
//	              loop owns the session and writes the socket)
//	layout=shard: publisher loop → publisher shard → subscriber shard →
//	              subscriber loop (3 hops: inbound packet, cross-shard
//	              delivery, AsyncWritev back to the connection's loop)
//
// Each message carries a little work at every stage (a small copy, as
// decoding or encoding would), and a stage forwards everything it drained
// as one batch, as the broker does. The numbers chose the layout; see
// docs/architecture.md.

// mailbox is a batched multi-producer single-consumer queue.
type mailbox struct {
	mu    sync.Mutex
	items []int
	wake  chan struct{}
}

func newMailbox() *mailbox { return &mailbox{wake: make(chan struct{}, 1)} }

// put appends a batch and wakes the consumer if it may be asleep.
func (m *mailbox) put(batch []int) {
	m.mu.Lock()
	empty := len(m.items) == 0
	m.items = append(m.items, batch...)
	m.mu.Unlock()
	if empty {
		select {
		case m.wake <- struct{}{}:
		default:
		}
	}
}

// take swaps out everything queued, blocking until there is something or
// stop is closed.
func (m *mailbox) take(buf []int, stop <-chan struct{}) ([]int, bool) {
	for {
		m.mu.Lock()
		if len(m.items) > 0 {
			buf, m.items = m.items, buf[:0]
			m.mu.Unlock()
			return buf, true
		}
		m.mu.Unlock()
		select {
		case <-m.wake:
		case <-stop:
			return buf, false
		}
	}
}

// stage runs one goroutine that drains in, does work per item and hands
// each drained batch to out (nil: the end of the chain, which counts).
func stage(in, out *mailbox, stop <-chan struct{}, delivered chan<- int) {
	var buf []int
	var scratch [64]byte
	for {
		var ok bool
		buf, ok = in.take(buf, stop)
		if !ok {
			return
		}
		for _, v := range buf {
			scratch[v&63] = byte(v) // a token of per-message work
		}
		if out != nil {
			out.put(buf)
		} else {
			delivered <- len(buf)
		}
	}
}

func BenchmarkLayoutHops(b *testing.B) {
	for _, layout := range []struct {
		name string
		hops int
	}{{"loop", 1}, {"shard", 3}} {
		for _, c := range []struct{ batch, window int }{{1, 1}, {1, 8}, {64, 8}} {
			batch, window := c.batch, c.window
			b.Run(fmt.Sprintf("layout=%s/hops=%d/batch=%d/window=%d", layout.name, layout.hops, batch, window), func(b *testing.B) {
				b.ReportAllocs()
				stop := make(chan struct{})
				delivered := make(chan int, 1024)
				boxes := make([]*mailbox, layout.hops)
				for i := range boxes {
					boxes[i] = newMailbox()
				}
				var wg sync.WaitGroup
				for i := range boxes {
					var out *mailbox
					if i+1 < len(boxes) {
						out = boxes[i+1]
					}
					wg.Add(1)
					go func(in, out *mailbox) { defer wg.Done(); stage(in, out, stop, delivered) }(boxes[i], out)
				}
				msgs := make([]int, batch)
				for i := range msgs {
					msgs[i] = i
				}
				b.ResetTimer()
				sent, got := 0, 0
				// Keep at most window batches in flight: 1 measures the
				// latency of the hops (every hop wakes a sleeping
				// goroutine), 8 the throughput of a busy pipeline.
				for sent < b.N || got < sent {
					for sent < b.N && sent-got < window*batch {
						n := min(batch, b.N-sent)
						boxes[0].put(msgs[:n])
						sent += n
					}
					got += <-delivered
				}
				b.StopTimer()
				close(stop)
				wg.Wait()
			})
		}
	}
}
