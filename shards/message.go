package shards

import (
	"time"

	"github.com/shardmq/shardmq/mqtt"
)

// message is one application message as the broker routes it. It is
// immutable once built and shared, read-only, by every shard that delivers
// it, so it carries its own copies of everything it needs.
type message struct {
	topic   []byte
	payload []byte
	qos     byte
	retain  bool
	// props are the MQTT 5 properties forwarded to subscribers (payload
	// format, content type, response topic, correlation data, user
	// properties), nil when there are none; the expiry is kept in expireAt.
	props *mqtt.Properties
	// from is the publishing client's id (No Local, hash_clientid); empty
	// for messages published by the broker's API.
	from []byte
	// sender identifies the publishing session for No Local; nil when none.
	sender *session
	// expiry is the Message Expiry Interval in seconds (0: none) and
	// expireAt the Unix nanoseconds it ends at.
	expiry   uint32
	expireAt int64
	size     int
}

// forwarded lists the PUBLISH properties a broker forwards unchanged
// [MQTT-3.3.2-15..20]; the topic alias and subscription identifiers are
// per connection and the expiry is recomputed.
const forwarded = 1<<mqtt.PropPayloadFormat | 1<<mqtt.PropContentType |
	1<<mqtt.PropResponseTopic | 1<<mqtt.PropCorrelationData

// newMessage copies what a PUBLISH (whose slices alias a read buffer)
// needs to outlive the read into one allocation.
func newMessage(p *mqtt.Publish, topic []byte, from []byte, sender *session, now time.Time) *message {
	n := len(topic) + len(p.Payload) + len(from)
	pr := &p.Properties
	n += len(pr.ContentType) + len(pr.ResponseTopic) + len(pr.CorrelationData)
	for _, u := range pr.User {
		n += len(u.Key) + len(u.Value)
	}
	buf := make([]byte, 0, n)
	take := func(b []byte) []byte {
		if b == nil {
			return nil
		}
		start := len(buf)
		buf = append(buf, b...)
		return buf[start:len(buf):len(buf)]
	}
	m := &message{qos: p.QoS, retain: p.Retain, sender: sender}
	m.topic = take(topic)
	m.payload = take(p.Payload)
	if len(m.payload) == 0 {
		m.payload = nil
	}
	m.from = take(from)
	if pr.Present&forwarded != 0 || len(pr.User) > 0 {
		fp := &mqtt.Properties{Present: pr.Present & forwarded, PayloadFormat: pr.PayloadFormat}
		fp.ContentType = take(pr.ContentType)
		fp.ResponseTopic = take(pr.ResponseTopic)
		fp.CorrelationData = take(pr.CorrelationData)
		if len(pr.User) > 0 {
			fp.User = make([]mqtt.UserProperty, len(pr.User))
			for i, u := range pr.User {
				fp.User[i] = mqtt.UserProperty{Key: take(u.Key), Value: take(u.Value)}
			}
		}
		m.props = fp
	}
	if pr.Present.Has(mqtt.PropMessageExpiry) && pr.MessageExpiry > 0 {
		m.expiry = pr.MessageExpiry
		m.expireAt = now.Add(time.Duration(pr.MessageExpiry) * time.Second).UnixNano()
	}
	m.size = n + 96
	return m
}

// expired reports whether m's expiry interval has passed at now (Unix ns).
func (m *message) expired(now int64) bool { return m.expireAt != 0 && now >= m.expireAt }

// remaining returns the expiry interval left at now in whole seconds,
// at least 1 while m has not expired [MQTT-3.3.2-6].
func (m *message) remaining(now int64) uint32 {
	left := (m.expireAt - now) / int64(time.Second)
	if left < 1 {
		left = 1
	}
	return uint32(left)
}

// delivery is one message on its way to one session, with the options of
// the subscription(s) that matched.
type delivery struct {
	msg    *message
	qos    byte
	retain bool
	subIDs []uint32
}
