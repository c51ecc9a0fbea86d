package retained

import "time"

// Message is one retained message. The store keeps the pointer it is given: once stored, a
// Message and the slices it holds must not be modified (replace it with a new one instead), so
// any goroutine may read a Message the store returned.
type Message struct {
	// Topic is the topic name the message was published to.
	Topic string
	// Payload is the application message; never empty (an empty payload deletes [MQTT-3.3.1-6]).
	Payload []byte
	// QoS is the QoS the message was published with.
	QoS byte
	// Properties are the message's encoded MQTT 5 properties, forwarded unchanged.
	Properties []byte
	// Stored is when the message was stored; message expiry counts from it.
	Stored time.Time
	// ExpiryInterval is the Message Expiry Interval in seconds; 0 means the message never expires.
	ExpiryInterval uint32
	// From is the client id of the publisher; empty for the broker's own (the API's) messages.
	From string
}

// Size returns the bytes the message accounts for in the store: topic, payload and properties.
func (m *Message) Size() int64 {
	return int64(len(m.Topic) + len(m.Payload) + len(m.Properties))
}

// Expired reports whether the message's expiry interval has passed at now [MQTT-3.3.2-5].
func (m *Message) Expired(now time.Time) bool {
	return m.ExpiryInterval != 0 && !now.Before(m.Stored.Add(time.Duration(m.ExpiryInterval)*time.Second))
}

// Remaining returns the expiry interval left at now, in whole seconds rounded down, which a
// forwarded copy carries [MQTT-3.3.2-6]; 0 when the message never expires or has expired.
func (m *Message) Remaining(now time.Time) uint32 {
	if m.ExpiryInterval == 0 {
		return 0
	}
	left := m.Stored.Add(time.Duration(m.ExpiryInterval) * time.Second).Sub(now)
	if left <= 0 {
		return 0
	}
	return uint32(left / time.Second)
}
