package bench

import (
	"context"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"time"
)

// payloadHeader is the start of every generated payload: the send time in
// nanoseconds since clockBase (8 bytes) and the publisher's index (2
// bytes), padded to 16.
const payloadHeader = 16

// setupTimeout bounds each connect and subscribe.
const setupTimeout = 10 * time.Second

// clockBase is the origin of payload timestamps: monotonic time, valid
// within one process, so sender and receiver must share it.
var clockBase = time.Now()

// now returns the monotonic nanoseconds since clockBase.
func now() int64 { return int64(time.Since(clockBase)) }

// flowSpec describes the publishers and subscribers of a message scenario.
type flowSpec struct {
	// pubTopics holds one topic per publisher.
	pubTopics []string
	// subFilters holds one filter per subscriber.
	subFilters []string
	// qos is the QoS of publications and subscriptions.
	qos byte
	// fanout is the number of deliveries each publication causes.
	fanout int
	// window is the inflight window per publisher: QoS 1/2 packets awaiting
	// their acknowledgement, or QoS 0 publications not yet delivered.
	window int
	// rate is the total publication rate per second (QoS 0 only: a paced
	// publisher has no window); 0 publishes as fast as the window allows.
	rate float64
	// persistent makes the subscribers' sessions persistent (clean
	// session 0; on MQTT 5 a session expiry interval).
	persistent bool
	// sn makes the publishers MQTT-SN clients of the broker's gateway
	// (QoS 0, one datagram per message).
	sn bool
}

// flowResult is what one flow run measured.
type flowResult struct {
	sent, delivered, stalls int64
	latency                 *Histogram
	measured                time.Duration
	cpu, genCPU             float64
	rss, peakRSS            int64
}

// flow is one run of a flowSpec against an instance.
type flow struct {
	spec    flowSpec
	cfg     Config
	in      *Instance
	pubs    []*publisher
	subs    []*subscriber
	stop    atomic.Bool
	measure atomic.Bool
	// from is the earliest send time a latency sample may have.
	from atomic.Int64
	wg   sync.WaitGroup
}

// runFlow connects the flow's clients, runs warm-up and measurement, and
// tears everything down. during, if not nil, runs while measuring.
func runFlow(ctx context.Context, cfg Config, in *Instance, spec flowSpec, during func(ctx context.Context)) (flowResult, error) {
	f := &flow{spec: spec, cfg: cfg, in: in}
	defer f.close()
	if in.Relay && len(spec.pubTopics) != len(spec.subFilters) && len(spec.pubTopics) > 1 && len(spec.subFilters) > 1 {
		return flowResult{}, fmt.Errorf("bench: the relay carries pairs, one publisher to many subscribers or many to one")
	}
	if err := f.connect(ctx); err != nil {
		return flowResult{}, err
	}
	for _, s := range f.subs {
		s.c.growRead(flowReadBuf)
		f.wg.Add(1)
		go f.readSubscriber(s)
	}
	for _, p := range f.pubs {
		if spec.qos > 0 {
			p.c.growRead(flowReadBuf)
			f.wg.Add(1)
			go f.readPublisherAcks(p)
		}
		if spec.sn {
			continue // publishGroups below
		}
		f.wg.Add(1)
		go f.publish(p)
	}
	if spec.sn {
		f.publishGroups()
	}

	if !sleepCtx(ctx, cfg.Warmup) {
		return flowResult{}, ctx.Err()
	}
	var res flowResult
	cpu0, _ := cpuOf(in)
	gen0, _ := procCPU(os.Getpid())
	start := time.Now()
	f.from.Store(now())
	f.measure.Store(true)
	dctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		if during != nil {
			during(dctx)
		}
	}()
	ok := sleepCtx(ctx, cfg.Duration)
	f.measure.Store(false)
	res.measured = time.Since(start)
	cancel()
	<-done
	if !ok {
		return flowResult{}, ctx.Err()
	}
	if cpu1, err := cpuOf(in); err == nil && res.measured > 0 {
		res.cpu = (cpu1 - cpu0) / res.measured.Seconds()
	}
	if gen1, err := procCPU(os.Getpid()); err == nil && res.measured > 0 {
		res.genCPU = (gen1 - gen0) / res.measured.Seconds()
	}
	if in.PID > 0 {
		res.rss, res.peakRSS, _ = procMem(in.PID)
	}
	f.close()

	res.latency = NewHistogram()
	for _, s := range f.subs {
		res.delivered += s.delivered
		res.latency.Merge(s.hist)
	}
	for _, p := range f.pubs {
		res.sent += p.sent
		res.stalls += p.stalls
		if p.err != nil && !f.stop.Load() {
			return res, p.err
		}
	}
	return res, nil
}

// cpuOf returns the broker's CPU seconds, or 0 for an in-process broker.
func cpuOf(in *Instance) (float64, error) {
	if in.PID == 0 {
		return 0, nil
	}
	return procCPU(in.PID)
}

// sleepCtx sleeps for d; it reports false if ctx ended first.
func sleepCtx(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// cutShort reports whether ctx has ended or its deadline has passed. A
// dial that fails at the deadline may see the dialer's own timer, set
// from ctx's deadline, fire before ctx reports its error: such a failure
// is the deadline's, not the broker's.
func cutShort(ctx context.Context) bool {
	if ctx.Err() != nil {
		return true
	}
	dl, ok := ctx.Deadline()
	return ok && !time.Now().Before(dl)
}

// close stops every goroutine and closes every connection; safe to call
// twice.
func (f *flow) close() {
	f.stop.Store(true)
	for _, s := range f.subs {
		if s == nil {
			continue // its dial failed
		}
		s.c.close()
	}
	for _, p := range f.pubs {
		if p == nil {
			continue
		}
		if f.spec.sn {
			snDisconnect(p.c)
		}
		p.c.close()
	}
	f.wg.Wait()
}

// connect opens the subscribers (subscribed before any publisher starts)
// and then the publishers, a few at a time.
func (f *flow) connect(ctx context.Context) error {
	f.subs = make([]*subscriber, len(f.spec.subFilters))
	err := parallel(ctx, len(f.subs), 16, 0, func(i int) error {
		c, err := f.dial(ctx, fmt.Sprintf("%ss%d", f.cfg.ClientPrefix, i), i, false)
		if err != nil {
			return err
		}
		f.subs[i] = &subscriber{c: c, hist: NewHistogram()}
		if f.in.Relay {
			return nil
		}
		return c.subscribe(f.spec.subFilters[i], f.spec.qos, setupTimeout)
	})
	if err != nil {
		return err
	}
	f.pubs = make([]*publisher, len(f.spec.pubTopics))
	return parallel(ctx, len(f.pubs), 16, 0, func(i int) error {
		id := fmt.Sprintf("%sp%d", f.cfg.ClientPrefix, i)
		var c *client
		var tid uint16
		var err error
		if f.spec.sn {
			c, tid, err = dialSN(ctx, f.in.SNAddr, id, f.spec.pubTopics[i], 600, setupTimeout)
		} else {
			c, err = f.dial(ctx, id, i, true)
		}
		if err != nil {
			return err
		}
		p := &publisher{c: c, topic: []byte(f.spec.pubTopics[i]), idx: i, wake: make(chan struct{}, 1),
			resume: int64(f.spec.window) * int64(f.spec.fanout) / 2, snTopic: tid}
		if f.spec.qos > 0 {
			p.sem = make(chan struct{}, f.spec.window)
		}
		f.pubs[i] = p
		return nil
	})
}

// dial connects one client, publisher i or subscriber i: MQTT CONNECT to
// a broker, or its key to the relay (relayKey).
func (f *flow) dial(ctx context.Context, clientID string, i int, pub bool) (*client, error) {
	if !f.in.Relay {
		addr := f.in.Addr
		if pub && len(f.in.PubAddrs) > 0 {
			addr = f.in.PubAddrs[i%len(f.in.PubAddrs)]
		}
		return dialMQTT(ctx, addr, f.cfg.connectOptions(clientID, !pub && f.spec.persistent), f.cfg.Version, setupTimeout)
	}
	nc, err := dialRaw(ctx, f.in.Addr, setupTimeout)
	if err != nil {
		return nil, err
	}
	if err := dialRelay(nc, f.relayKey(i, pub)); err != nil {
		nc.Close()
		return nil, err
	}
	return newClient(nc, f.cfg.Version), nil
}

// relayKey returns the relay key of publisher or subscriber i: pair i
// joins subscriber i and publisher i when the flow has as many of each;
// otherwise all join one group.
func (f *flow) relayKey(i int, pub bool) string {
	pubs, subs := len(f.spec.pubTopics), len(f.spec.subFilters)
	if pubs == subs {
		return fmt.Sprintf("pair-%d", i)
	}
	return groupKey("flow", pubs, subs, pub)
}

// parallel runs fn(0..n-1) with at most conc at a time and returns the
// first error. With rate > 0 it starts fn(i) no earlier than i/rate
// seconds after the first start. It stops starting new calls once ctx is
// done (returning ctx's error if no call failed) and waits for those
// running.
func parallel(ctx context.Context, n, conc int, rate float64, fn func(i int) error) error {
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		first error
	)
	fail := func(err error) {
		mu.Lock()
		if first == nil {
			first = err
		}
		mu.Unlock()
	}
	sem := make(chan struct{}, conc)
	t0 := time.Now()
	for i := 0; i < n; i++ {
		if rate > 0 {
			due := t0.Add(time.Duration(float64(i) * 1e9 / rate))
			if d := time.Until(due); d > 0 && !sleepCtx(ctx, d) {
				fail(ctx.Err())
				break
			}
		}
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
		}
		if ctx.Err() != nil {
			fail(ctx.Err())
			break
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			if err := fn(i); err != nil {
				fail(err)
			}
		}()
	}
	wg.Wait()
	return first
}
