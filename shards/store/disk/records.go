package disk

import (
	"encoding/binary"
	"errors"
	"math"

	"github.com/shardmq/shardmq/shards/store"
)

// The records. Integers are varints (binary.AppendUvarint/AppendVarint),
// byte strings a uvarint length and the bytes.
//
//	session:  flags(bit0 will, bit1 zone) version username createdAt expiry expireAt
//	          nsubs {filter opts(qos:2 nl:1 rap:1 rh:2) id}
//	          [willDelay message willExpiry] [zone]
//	message:  topic payload flags(qos:2 retain:1) properties expireAt from
//	delivery: flags(qos:2 retain:1 ref:1) nids {id} (message | body id)
//	flight:   pid(2, big-endian) flags(bit0 released)
//	body:     message (shared by the deliveries that name its id)
//
// A record is decoded with bounds checks only: a corrupt record is an
// error, never a panic (FuzzRecords).

// errRecord reports a record that does not decode.
var errRecord = errors.New("malformed record")

func appendBytes(dst []byte, b []byte) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(b)))
	return append(dst, b...)
}

func appendString(dst []byte, s string) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(s)))
	return append(dst, s...)
}

func appendSession(dst []byte, s *store.Session) []byte {
	var flags byte
	if s.Will != nil {
		flags |= 1
	}
	if s.Zone != "" {
		flags |= 2
	}
	dst = append(dst, flags, s.Version)
	dst = appendString(dst, s.Username)
	dst = binary.AppendVarint(dst, s.CreatedAt)
	dst = binary.AppendUvarint(dst, uint64(s.Expiry))
	dst = binary.AppendVarint(dst, s.ExpireAt)
	dst = binary.AppendUvarint(dst, uint64(len(s.Subscriptions)))
	for i := range s.Subscriptions {
		sub := &s.Subscriptions[i]
		dst = appendString(dst, sub.Filter)
		opts := sub.QoS&3 | (sub.RetainHandling&3)<<4
		if sub.NoLocal {
			opts |= 1 << 2
		}
		if sub.RetainAsPublished {
			opts |= 1 << 3
		}
		dst = append(dst, opts)
		dst = binary.AppendUvarint(dst, uint64(sub.ID))
	}
	if s.Will != nil {
		dst = binary.AppendUvarint(dst, uint64(s.WillDelay))
		dst = appendMessage(dst, s.Will)
		dst = binary.AppendUvarint(dst, uint64(s.WillExpiry))
	}
	if s.Zone != "" {
		dst = appendString(dst, s.Zone)
	}
	return dst
}

func appendMessage(dst []byte, m *store.Message) []byte {
	dst = appendString(dst, m.Topic)
	dst = appendBytes(dst, m.Payload)
	flags := m.QoS & 3
	if m.Retain {
		flags |= 1 << 2
	}
	dst = append(dst, flags)
	dst = appendBytes(dst, m.Properties)
	dst = binary.AppendVarint(dst, m.ExpireAt)
	return appendString(dst, m.From)
}

// appendDelivery appends the delivery record of op: with the message in
// it when body is 0, else naming the body record that holds it.
func appendDelivery(dst []byte, op *store.Op, body uint64) []byte {
	flags := op.QoS & 3
	if op.Retain {
		flags |= 1 << 2
	}
	if body != 0 {
		flags |= 1 << 3
	}
	dst = append(dst, flags)
	dst = binary.AppendUvarint(dst, uint64(len(op.SubIDs)))
	for _, id := range op.SubIDs {
		dst = binary.AppendUvarint(dst, uint64(id))
	}
	if body != 0 {
		return binary.AppendUvarint(dst, body)
	}
	return appendMessage(dst, op.Message)
}

func appendFlight(dst []byte, pid uint16, released bool) []byte {
	dst = binary.BigEndian.AppendUint16(dst, pid)
	if released {
		return append(dst, 1)
	}
	return append(dst, 0)
}

// reader decodes a record; the first error sticks and every later read
// returns zero values.
type reader struct {
	b   []byte
	err error
}

func (r *reader) fail() {
	if r.err == nil {
		r.err = errRecord
	}
	r.b = nil
}

func (r *reader) byte() byte {
	if len(r.b) < 1 {
		r.fail()
		return 0
	}
	c := r.b[0]
	r.b = r.b[1:]
	return c
}

func (r *reader) uvarint() uint64 {
	v, n := binary.Uvarint(r.b)
	if n <= 0 {
		r.fail()
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *reader) varint() int64 {
	v, n := binary.Varint(r.b)
	if n <= 0 {
		r.fail()
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *reader) uint32() uint32 {
	v := r.uvarint()
	if v > math.MaxUint32 {
		r.fail()
		return 0
	}
	return uint32(v)
}

// raw returns the next length-prefixed bytes, aliasing the record.
func (r *reader) raw() []byte {
	n := r.uvarint()
	if n > uint64(len(r.b)) {
		r.fail()
		return nil
	}
	b := r.b[:n:n]
	r.b = r.b[n:]
	return b
}

func (r *reader) string() string { return string(r.raw()) }

// bytes returns a copy of the next length-prefixed bytes, nil when empty.
func (r *reader) bytes() []byte {
	b := r.raw()
	if len(b) == 0 {
		return nil
	}
	return append([]byte(nil), b...)
}

// done reports the record's error, or errRecord if bytes are left over.
func (r *reader) done() error {
	if r.err == nil && len(r.b) != 0 {
		r.err = errRecord
	}
	return r.err
}

func decodeSession(id string, b []byte) (*store.Session, error) {
	r := reader{b: b}
	s := &store.Session{ClientID: id}
	flags := r.byte()
	if flags&^3 != 0 {
		r.fail()
	}
	s.Version = r.byte()
	s.Username = r.string()
	s.CreatedAt = r.varint()
	s.Expiry = r.uint32()
	s.ExpireAt = r.varint()
	n := r.uvarint()
	if n > uint64(len(r.b))/3 { // a subscription takes at least 3 bytes
		r.fail()
	}
	if n > 0 && r.err == nil {
		s.Subscriptions = make([]store.Subscription, n)
		for i := range s.Subscriptions {
			sub := &s.Subscriptions[i]
			sub.Filter = r.string()
			opts := r.byte()
			if opts&0xc0 != 0 {
				r.fail()
			}
			sub.QoS = opts & 3
			sub.NoLocal = opts&(1<<2) != 0
			sub.RetainAsPublished = opts&(1<<3) != 0
			sub.RetainHandling = opts >> 4 & 3
			sub.ID = r.uint32()
		}
	}
	if flags&1 != 0 {
		s.WillDelay = r.uint32()
		s.Will = r.message()
		s.WillExpiry = r.uint32()
	}
	if flags&2 != 0 {
		s.Zone = r.string()
	}
	if err := r.done(); err != nil {
		return nil, err
	}
	return s, nil
}

func (r *reader) message() *store.Message {
	m := &store.Message{}
	m.Topic = r.string()
	m.Payload = r.bytes()
	flags := r.byte()
	if flags&^7 != 0 {
		r.fail()
	}
	m.QoS = flags & 3
	m.Retain = flags&(1<<2) != 0
	m.Properties = r.bytes()
	m.ExpireAt = r.varint()
	m.From = r.string()
	return m
}

func decodeMessage(b []byte) (*store.Message, error) {
	r := reader{b: b}
	m := r.message()
	if err := r.done(); err != nil {
		return nil, err
	}
	return m, nil
}

// decodeDelivery decodes a delivery record into d (Seq and the in-flight
// state are not part of it). A delivery whose message is in a body record
// returns the body's id (never 0) and leaves d.Message nil.
func decodeDelivery(b []byte, d *store.Delivery) (body uint64, err error) {
	r := reader{b: b}
	flags := r.byte()
	if flags&^15 != 0 {
		r.fail()
	}
	d.QoS = flags & 3
	d.Retain = flags&(1<<2) != 0
	n := r.uvarint()
	if n > uint64(len(r.b)) {
		r.fail()
	}
	d.SubIDs = nil
	if n > 0 && r.err == nil {
		d.SubIDs = make([]uint32, n)
		for i := range d.SubIDs {
			d.SubIDs[i] = r.uint32()
		}
	}
	d.Message = nil
	if flags&(1<<3) != 0 {
		if body = r.uvarint(); body == 0 {
			r.fail()
		}
	} else {
		d.Message = r.message()
	}
	return body, r.done()
}

func decodeFlight(b []byte) (pid uint16, released bool, err error) {
	if len(b) != 3 || b[2]&^1 != 0 {
		return 0, false, errRecord
	}
	return binary.BigEndian.Uint16(b), b[2] == 1, nil
}
