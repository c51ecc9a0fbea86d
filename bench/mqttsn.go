package bench

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"sync"
	"time"
)

// The MQTT-SN scenarios: fan-in from MQTT-SN publishers (UDP) to one MQTT
// subscriber, and the idle memory of MQTT-SN clients. They run on brokers
// with an MQTT-SN gateway (Instance.SNAddr); the generator speaks MQTT-SN
// 1.2 itself, one UDP socket per client.

// errSN reports an MQTT-SN gateway that answered wrong.
var errSN = errors.New("bench: MQTT-SN gateway")

// snMessage builds an MQTT-SN message (section 5.2): Length, MsgType,
// body.
func snMessage(dst []byte, typ byte, body ...[]byte) []byte {
	n := 2
	for _, b := range body {
		n += len(b)
	}
	if n <= 255 {
		dst = append(dst, byte(n), typ)
	} else {
		dst = append(dst, 0x01, byte((n+2)>>8), byte(n+2), typ)
	}
	for _, b := range body {
		dst = append(dst, b...)
	}
	return dst
}

// snRecv reads one message of type want within timeout.
func snRecv(nc net.Conn, want byte, timeout time.Duration) ([]byte, error) {
	buf := make([]byte, 512)
	_ = nc.SetReadDeadline(time.Now().Add(timeout))
	defer nc.SetReadDeadline(time.Time{})
	for {
		n, err := nc.Read(buf)
		if err != nil {
			return nil, err
		}
		if n < 2 || int(buf[0]) != n {
			continue
		}
		if buf[1] == want {
			return buf[2:n], nil
		}
	}
}

// dialSN connects an MQTT-SN client with clean session and duration
// keepAlive (seconds) and registers topic (if not empty); it returns the
// client (whose nc is the UDP socket) and the topic's id.
func dialSN(ctx context.Context, addr, clientID, topic string, keepAlive uint16, timeout time.Duration) (*client, uint16, error) {
	d := net.Dialer{Timeout: timeout}
	nc, err := d.DialContext(ctx, "udp", addr)
	if err != nil {
		return nil, 0, err
	}
	fail := func(err error) (*client, uint16, error) {
		nc.Close()
		return nil, 0, err
	}
	connect := snMessage(nil, 0x04, []byte{0x04, 0x01, byte(keepAlive >> 8), byte(keepAlive)}, []byte(clientID))
	var ack []byte
	// UDP may lose the CONNECT or its CONNACK, and the gateway binds its
	// port just after the broker's TCP listeners: try again, as a device
	// does, until the timeout.
	for deadline := time.Now().Add(timeout); ; {
		if _, err = nc.Write(connect); err == nil {
			if ack, err = snRecv(nc, 0x05, 500*time.Millisecond); err == nil {
				break
			}
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			return fail(err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if len(ack) != 1 || ack[0] != 0 {
		return fail(fmt.Errorf("%w: CONNACK % x", errSN, ack))
	}
	var tid uint16
	if topic != "" {
		if _, err := nc.Write(snMessage(nil, 0x0A, []byte{0, 0, 0, 1}, []byte(topic))); err != nil {
			return fail(err)
		}
		b, err := snRecv(nc, 0x0B, timeout)
		if err != nil {
			return fail(err)
		}
		if len(b) != 5 || b[4] != 0 {
			return fail(fmt.Errorf("%w: REGACK % x", errSN, b))
		}
		tid = binary.BigEndian.Uint16(b)
	}
	return &client{nc: nc}, tid, nil
}

// snPublish appends an MQTT-SN PUBLISH at QoS 0 on a normal topic id.
func snPublish(dst []byte, topicID uint16, payload []byte) []byte {
	return snMessage(dst, 0x0C, []byte{0, byte(topicID >> 8), byte(topicID), 0, 0}, payload)
}

// snDisconnect sends DISCONNECT, so that the gateway lets the client go.
func snDisconnect(c *client) { _, _ = c.nc.Write([]byte{2, 0x18}) }

// runStormSN connects cfg.StormConns MQTT-SN clients at up to
// cfg.StormConcurrency at a time, holds them idle and measures the
// broker's resident memory per client, as the TCP storm does.
func runStormSN(ctx context.Context, cfg Config, in *Instance, r Result) Result {
	if in.SNAddr == "" {
		r.Skipped = "broker has no MQTT-SN gateway"
		return r
	}
	base := baseOf(in.PID)
	n := cfg.StormConns
	conns := make([]*client, n)
	var mu sync.Mutex
	start := now()
	last := start
	err := parallel(ctx, n, max(1, cfg.StormConcurrency), float64(cfg.ConnectRate), func(i int) error {
		c, _, err := dialSN(ctx, in.SNAddr, fmt.Sprintf("%ssnstorm%d", cfg.ClientPrefix, i), "", 600, setupTimeout)
		if err != nil {
			return err
		}
		t := now()
		mu.Lock()
		conns[i] = c
		last = max(last, t)
		mu.Unlock()
		return nil
	})
	defer func() {
		for _, c := range conns {
			if c != nil {
				snDisconnect(c)
				c.close()
			}
		}
	}()
	for _, c := range conns {
		if c != nil {
			r.Conns++
		}
	}
	if err != nil {
		r.Err = err.Error()
	}
	if last > start {
		r.Seconds = float64(last-start) / 1e9
		r.ConnectRate = float64(r.Conns) / r.Seconds
	}
	if in.PID > 0 && r.Conns > 0 {
		grown := base.settle(ctx, &r, cfg.IdleHold)
		_, r.PeakRSS, _ = procMem(in.PID)
		r.BytesPerConn = float64(grown) / float64(r.Conns)
	}
	return r
}

// snGroups is how many goroutines drive the MQTT-SN publishers. A
// thousand clients with a window of 3 each, one goroutine apiece, would
// wake a goroutine every second message: the generator, not the broker,
// would set the rate. Each goroutine sends for its share of the clients,
// each client from its own socket within its own window.
const snGroups = 16

// publishGroups starts the goroutines of the MQTT-SN publishers.
func (f *flow) publishGroups() {
	per := (len(f.pubs) + snGroups - 1) / snGroups
	for i := 0; i < len(f.pubs); i += per {
		ps := f.pubs[i:min(i+per, len(f.pubs))]
		wake := make(chan struct{}, 1)
		for _, p := range ps {
			p.wake = wake // the subscriber wakes the group
		}
		f.wg.Add(1)
		go f.publishGroup(ps, wake)
	}
}

// publishGroup sends QoS 0 PUBLISH datagrams for each of ps while its
// window has room, and sleeps while none has; a window without credit
// for stallTimeout is reset as publish does.
func (f *flow) publishGroup(ps []*publisher, wake chan struct{}) {
	defer f.wg.Done()
	var (
		payload = make([]byte, f.cfg.PayloadSize)
		buf     []byte
		fan     = int64(f.spec.fanout)
		lim     = int64(f.spec.window) * fan
		idle    time.Time // when the group last found no room, zero while sending
	)
	for !f.stop.Load() {
		sent := false
		measuring := f.measure.Load()
		for _, p := range ps {
			room := (lim - p.outstanding.Load()) / fan
			if room <= 0 {
				continue
			}
			n := min(room, pubBatch)
			binary.BigEndian.PutUint16(payload[8:], uint16(p.idx))
			p.outstanding.Add(n * fan)
			for j := int64(0); j < n; j++ {
				binary.BigEndian.PutUint64(payload, uint64(now()))
				buf = snPublish(buf[:0], p.snTopic, payload)
				if err := p.c.write(buf); err != nil {
					p.err = err
					return
				}
			}
			if measuring {
				p.sent += n
			}
			sent = true
		}
		if sent {
			idle = time.Time{}
			continue
		}
		if idle.IsZero() {
			idle = time.Now()
		} else if time.Since(idle) > stallTimeout {
			// The missing deliveries were dropped: start the windows over.
			for _, p := range ps {
				if p.outstanding.Load() >= lim {
					p.outstanding.Store(0)
					p.stalls++
				}
			}
			idle = time.Time{}
			continue
		}
		for _, p := range ps {
			p.waiting.Store(true)
		}
		select {
		case <-wake:
		case <-time.After(20 * time.Millisecond):
		}
		for _, p := range ps {
			p.waiting.Store(false)
		}
	}
}
