package bench

import (
	"encoding/binary"
	"sync/atomic"
	"time"

	"github.com/shardmq/shardmq/mqtt"
)

// pubBatch is the most PUBLISH packets a publisher writes per syscall.
const pubBatch = 16

// stallTimeout is how long a QoS 0 publisher waits for its window to open
// before it assumes the missing messages were dropped and resets it.
const stallTimeout = time.Second

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
	// snTopic is the topic id of an MQTT-SN publisher.
	snTopic uint16
	// owned by the publishing goroutine, read after it exits
	sent, stalls int64
	err          error
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
		paced := int64(-1) // first publication index of a paced batch
		switch {
		case rate > 0:
			due := int64(float64(now()-t0)*rate/1e9) - k
			if due <= 0 {
				next := t0 + int64(float64(k+1)*1e9/rate)
				time.Sleep(time.Duration(max(next-now(), 50_000)))
				continue
			}
			n = int(min(due, 1000))
			paced = k
			k += int64(n)
		case f.spec.qos == 0:
			if !f.waitWindow(p, fan, lim) {
				return
			}
			n = int(max(1, min(int64(n), (lim-p.outstanding.Load())/fan)))
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
			if paced >= 0 {
				// The intended send time, so a stalled generator shows up
				// as latency instead of hiding it (coordinated omission).
				ts = t0 + int64(float64(paced+int64(j))*1e9/rate)
			}
			binary.BigEndian.PutUint64(msg.Payload, uint64(ts))
			if f.spec.sn {
				// One datagram per message.
				if err := p.c.write(snPublish(buf[:0], p.snTopic, msg.Payload)); err != nil {
					p.err = err
					return
				}
				continue
			}
			buf = mqtt.AppendPublish(buf, &msg, f.cfg.Version)
		}
		if f.spec.qos == 0 && rate == 0 {
			p.outstanding.Add(int64(n) * fan)
		}
		if measuring {
			p.sent += int64(n)
		}
		if f.spec.sn {
			continue
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
