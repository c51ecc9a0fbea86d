package bench

import (
	"context"
	"encoding/binary"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/shardmq/shardmq/mqtt"
)

// payloadHeader is the start of every generated payload: the send time in
// nanoseconds since clockBase (8 bytes) and the publisher's index (2
// bytes), padded to 16.
const payloadHeader = 16

// pubBatch is the most PUBLISH packets a publisher writes per syscall.
const pubBatch = 16

// stallTimeout is how long a QoS 0 publisher waits for its window to open
// before it assumes the missing messages were dropped and resets it.
const stallTimeout = time.Second

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
	// rate is the total publication rate per second; 0 publishes as fast
	// as the window allows.
	rate float64
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

// publisher is one publishing connection; its fields are owned by its
// goroutines as noted.
type publisher struct {
	c     *client
	topic []byte
	idx   int
	// outstanding counts QoS 0 deliveries sent but not yet received;
	// subscribers decrement it.
	outstanding atomic.Int64
	// resume is the outstanding count at or below which a waiting QoS 0
	// publisher is woken: half its window.
	resume int64
	// waiting is set while the publisher waits for its window; wake
	// (capacity 1) wakes it.
	waiting atomic.Bool
	wake    chan struct{}
	// sem holds one token per unacknowledged QoS 1/2 PUBLISH.
	sem chan struct{}
	// owned by the publishing goroutine, read after it exits
	sent, stalls int64
	err          error
}

// subscriber is one subscribing connection; its fields are owned by its
// reading goroutine and read after it exits.
type subscriber struct {
	c         *client
	hist      *Histogram
	delivered int64
	err       error
}

// runFlow connects the flow's clients, runs warm-up and measurement, and
// tears everything down. during, if not nil, runs while measuring.
func runFlow(ctx context.Context, cfg Config, in *Instance, spec flowSpec, during func(ctx context.Context)) (flowResult, error) {
	f := &flow{spec: spec, cfg: cfg, in: in}
	defer f.close()
	if in.Relay && len(spec.pubTopics) != len(spec.subFilters) {
		return flowResult{}, fmt.Errorf("bench: the relay only carries point-to-point pairs")
	}
	if err := f.connect(ctx); err != nil {
		return flowResult{}, err
	}
	for _, s := range f.subs {
		f.wg.Add(1)
		go f.readSubscriber(s)
	}
	for _, p := range f.pubs {
		if spec.qos > 0 {
			f.wg.Add(1)
			go f.readPublisherAcks(p)
		}
		f.wg.Add(1)
		go f.publish(p)
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

// close stops every goroutine and closes every connection; safe to call
// twice.
func (f *flow) close() {
	f.stop.Store(true)
	for _, s := range f.subs {
		s.c.close()
	}
	for _, p := range f.pubs {
		p.c.close()
	}
	f.wg.Wait()
}

// connect opens the subscribers (subscribed before any publisher starts)
// and then the publishers, a few at a time.
func (f *flow) connect(ctx context.Context) error {
	f.subs = make([]*subscriber, len(f.spec.subFilters))
	err := parallel(len(f.subs), 16, func(i int) error {
		c, err := f.dial(ctx, fmt.Sprintf("bench-s%d", i), i)
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
	return parallel(len(f.pubs), 16, func(i int) error {
		c, err := f.dial(ctx, fmt.Sprintf("bench-p%d", i), i)
		if err != nil {
			return err
		}
		p := &publisher{c: c, topic: []byte(f.spec.pubTopics[i]), idx: i, wake: make(chan struct{}, 1),
			resume: int64(f.spec.window) * int64(f.spec.fanout) / 2}
		if f.spec.qos > 0 {
			p.sem = make(chan struct{}, f.spec.window)
		}
		f.pubs[i] = p
		return nil
	})
}

// dial connects one client: MQTT CONNECT to a broker, or a pairing key
// to the relay (pair i joins subscriber i and publisher i).
func (f *flow) dial(ctx context.Context, clientID string, i int) (*client, error) {
	if !f.in.Relay {
		return dialMQTT(ctx, f.in.Addr, clientID, f.cfg.Version, setupTimeout)
	}
	nc, err := dialRaw(ctx, f.in.Addr, setupTimeout)
	if err != nil {
		return nil, err
	}
	if err := dialRelay(nc, fmt.Sprintf("pair-%d", i)); err != nil {
		nc.Close()
		return nil, err
	}
	return newClient(nc, f.cfg.Version), nil
}

// parallel runs fn(0..n-1) with at most conc at a time and returns the
// first error.
func parallel(n, conc int, fn func(i int) error) error {
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		first error
	)
	sem := make(chan struct{}, conc)
	for i := 0; i < n; i++ {
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			if err := fn(i); err != nil {
				mu.Lock()
				if first == nil {
					first = err
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	return first
}

// publish is a publisher's goroutine: it sends batches of PUBLISH packets
// carrying their send time until the flow stops.
func (f *flow) publish(p *publisher) {
	defer f.wg.Done()
	var (
		msg  = mqtt.Publish{QoS: f.spec.qos, Topic: p.topic, Payload: make([]byte, f.cfg.PayloadSize)}
		buf  = make([]byte, 0, pubBatch*(msg.Size(f.cfg.Version)+8))
		id   uint16
		fan  = int64(f.spec.fanout)
		lim  = int64(f.spec.window) * fan
		rate = f.spec.rate / float64(len(f.pubs))
		t0   = now()
		k    int64 // publications so far (paced mode)
	)
	binary.BigEndian.PutUint16(msg.Payload[8:], uint16(p.idx))
	for !f.stop.Load() {
		n := pubBatch
		var stamp func(j int) int64
		switch {
		case rate > 0:
			due := int64(float64(now()-t0)*rate/1e9) - k
			if due <= 0 {
				next := t0 + int64(float64(k+1)*1e9/rate)
				time.Sleep(time.Duration(max(next-now(), 50_000)))
				continue
			}
			n = int(min(due, 1000))
			base := k
			// The intended send time, so a stalled generator shows up as
			// latency instead of hiding it (coordinated omission).
			stamp = func(j int) int64 { return t0 + int64(float64(base+int64(j))*1e9/rate) }
			k += int64(n)
		case f.spec.qos == 0:
			if !f.waitWindow(p, fan, lim) {
				return
			}
			n = int(min(int64(n), (lim-p.outstanding.Load())/fan))
		default:
			if !f.acquire(p) {
				return
			}
			n = 1
			for n < pubBatch {
				select {
				case p.sem <- struct{}{}:
					n++
					continue
				default:
				}
				break
			}
		}
		buf = buf[:0]
		measuring := f.measure.Load()
		for j := 0; j < n; j++ {
			if f.spec.qos > 0 {
				id++
				if id == 0 {
					id = 1
				}
				msg.PacketID = id
			}
			ts := now()
			if stamp != nil {
				ts = stamp(j)
			}
			binary.BigEndian.PutUint64(msg.Payload, uint64(ts))
			buf = mqtt.AppendPublish(buf, &msg, f.cfg.Version)
		}
		if f.spec.qos == 0 && rate == 0 {
			p.outstanding.Add(int64(n) * fan)
		}
		if measuring {
			p.sent += int64(n)
		}
		if err := p.c.write(buf); err != nil {
			p.err = err
			return
		}
	}
}

// waitWindow waits until a QoS 0 publisher may send at least one more
// message. A full window is waited on until half of it has drained, so a
// publisher wakes once per many deliveries; after stallTimeout without
// reaching that it assumes the missing deliveries were dropped and resets
// the window. It reports false when the flow stops.
func (f *flow) waitWindow(p *publisher, fan, lim int64) bool {
	if p.outstanding.Load()+fan <= lim {
		return !f.stop.Load()
	}
	p.waiting.Store(true)
	defer p.waiting.Store(false)
	deadline := time.Now().Add(stallTimeout)
	for p.outstanding.Load() > p.resume {
		if f.stop.Load() {
			return false
		}
		left := time.Until(deadline)
		if left <= 0 {
			p.outstanding.Store(0)
			p.stalls++
			break
		}
		select {
		case <-p.wake:
		case <-time.After(min(left, 20*time.Millisecond)):
		}
	}
	return !f.stop.Load()
}

// acquire takes one inflight slot of a QoS 1/2 publisher, polling the stop
// flag so a flow that ends while the window is full does not hang.
func (f *flow) acquire(p *publisher) bool {
	select {
	case p.sem <- struct{}{}:
		return true
	default:
	}
	t := time.NewTimer(50 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case p.sem <- struct{}{}:
			return true
		case <-t.C:
			if f.stop.Load() {
				return false
			}
			t.Reset(50 * time.Millisecond)
		}
	}
}

// readPublisherAcks is a QoS 1/2 publisher's reading goroutine: PUBACK and
// PUBCOMP free a window slot, PUBREC is answered with PUBREL.
func (f *flow) readPublisherAcks(p *publisher) {
	defer f.wg.Done()
	var (
		out  []byte
		id   uint16
		v    = f.cfg.Version
		rel  mqtt.Pubrel
		free = func() {
			select {
			case <-p.sem:
			default:
			}
		}
	)
	for {
		h, body, err := p.c.readFrame()
		if err != nil {
			return
		}
		if len(body) < 2 {
			continue
		}
		id = binary.BigEndian.Uint16(body)
		switch h.Type {
		case mqtt.TypePuback, mqtt.TypePubcomp:
			free()
		case mqtt.TypePubrec:
			rel.PacketID = id
			out = mqtt.AppendPubrel(out, &rel, v)
		}
		if len(out) > 0 && !p.c.buffered() {
			if p.c.write(out) != nil {
				return
			}
			out = out[:0]
		}
	}
}

// readSubscriber is a subscriber's reading goroutine: it counts deliveries,
// records latencies from the payload timestamps, returns QoS 0 window
// credit to the publisher and acknowledges QoS 1/2.
func (f *flow) readSubscriber(s *subscriber) {
	defer f.wg.Done()
	var (
		msg  mqtt.Publish
		out  []byte
		v    = f.cfg.Version
		ack  mqtt.Puback
		rec  mqtt.Pubrec
		comp mqtt.Pubcomp
	)
	for {
		h, body, err := s.c.readFrame()
		if err != nil {
			if !f.stop.Load() {
				s.err = err
			}
			return
		}
		switch h.Type {
		case mqtt.TypePublish:
			if err := msg.Decode(h, body, v); err != nil {
				s.err = err
				return
			}
			f.received(s, msg.Payload)
			switch msg.QoS {
			case 1:
				ack.PacketID = msg.PacketID
				out = mqtt.AppendPuback(out, &ack, v)
			case 2:
				rec.PacketID = msg.PacketID
				out = mqtt.AppendPubrec(out, &rec, v)
			}
		case mqtt.TypePubrel:
			if len(body) >= 2 {
				comp.PacketID = binary.BigEndian.Uint16(body)
				out = mqtt.AppendPubcomp(out, &comp, v)
			}
		}
		if len(out) > 0 && !s.c.buffered() {
			if s.c.write(out) != nil {
				return
			}
			out = out[:0]
		}
	}
}

// received accounts one delivered payload.
func (f *flow) received(s *subscriber, payload []byte) {
	if len(payload) < payloadHeader {
		return
	}
	ts := int64(binary.BigEndian.Uint64(payload))
	if f.spec.qos == 0 && f.spec.rate == 0 {
		if idx := int(binary.BigEndian.Uint16(payload[8:])); idx < len(f.pubs) {
			p := f.pubs[idx]
			if p.outstanding.Add(-1) <= p.resume && p.waiting.Load() {
				select {
				case p.wake <- struct{}{}:
				default:
				}
			}
		}
	}
	if !f.measure.Load() {
		return
	}
	s.delivered++
	if ts >= f.from.Load() {
		s.hist.Record(now() - ts)
	}
}
