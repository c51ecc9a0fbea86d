package gateway

import (
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/shardmq/shardmq/netio"
)

// TickInterval is how often a gateway's timers run (retransmissions,
// expiries, advertisements).
const TickInterval = 250 * time.Millisecond

// Stats are a gateway's counters.
type Stats struct {
	// Received and Sent count datagrams.
	Received, Sent int64
	// Retransmitted counts messages sent again for want of an
	// acknowledgement.
	Retransmitted int64
	// Clients is the number of clients the gateway knows.
	Clients int64
	// Dropped counts datagrams and messages dropped: Dropped[i] for the
	// reason Reasons[i].
	Dropped []int64
	// Reasons names the drop reasons, in Dropped's order.
	Reasons []string
}

// Base is the lifecycle and the counters of a gateway, which keeps it as
// a field and forwards Bind, Close, Addr and Stats to it. The counters
// are safe from any goroutine.
type Base struct {
	ep      *netio.Endpoint
	reasons []string
	drops   []atomic.Int64
	stop    chan struct{}
	once    sync.Once
	ticker  sync.WaitGroup

	// Received, Sent, Retransmitted and Clients are Stats' counters.
	Received, Sent, Retransmitted, Clients atomic.Int64
}

// Init prepares b for drop reasons reasons (Drop's argument indexes
// them); call it before anything else.
func (b *Base) Init(reasons []string) {
	b.reasons = reasons
	b.drops = make([]atomic.Int64, len(reasons))
	b.stop = make(chan struct{})
}

// Bind keeps ep and runs tick every TickInterval on a goroutine of its
// own until Close. It is the gateway's netio.Gateway Bind.
func (b *Base) Bind(ep *netio.Endpoint, tick func(now time.Time)) {
	b.ep = ep
	b.ticker.Add(1)
	go func() {
		defer b.ticker.Done()
		t := time.NewTicker(TickInterval)
		defer t.Stop()
		for {
			select {
			case <-b.stop:
				return
			case now := <-t.C:
				tick(now)
			}
		}
	}()
}

// Close stops the timers and waits for a tick under way; the gateway's
// connections close with the netio Server. Safe to call twice.
func (b *Base) Close() {
	b.once.Do(func() { close(b.stop) })
	b.ticker.Wait()
}

// Endpoint returns the endpoint Bind kept; nil before Bind.
func (b *Base) Endpoint() *netio.Endpoint { return b.ep }

// Addr returns the bound address; the zero AddrPort before Bind.
func (b *Base) Addr() netip.AddrPort {
	if b.ep == nil {
		return netip.AddrPort{}
	}
	return b.ep.Addr()
}

// Drop counts one drop for the reason of index why.
func (b *Base) Drop(why int) { b.drops[why].Add(1) }

// Stats returns the counters.
func (b *Base) Stats() Stats {
	s := Stats{Received: b.Received.Load(), Sent: b.Sent.Load(), Retransmitted: b.Retransmitted.Load(),
		Clients: b.Clients.Load(), Dropped: make([]int64, len(b.drops)), Reasons: b.reasons}
	for i := range b.drops {
		s.Dropped[i] = b.drops[i].Load()
	}
	return s
}

// Drops returns the count of the drop reason named reason; 0 for a reason
// the gateway does not have.
func (s Stats) Drops(reason string) int64 {
	for i, r := range s.Reasons {
		if r == reason {
			return s.Dropped[i]
		}
	}
	return 0
}
