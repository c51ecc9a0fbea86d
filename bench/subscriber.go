package bench

import (
	"encoding/binary"

	"github.com/shardmq/shardmq/mqtt"
)

// subscriber is one subscribing connection; its fields are owned by its
// reading goroutine and read after it exits.
type subscriber struct {
	c         *client
	hist      *Histogram
	delivered int64
	err       error
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
