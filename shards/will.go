package shards

import "time"

// dropWill discards s's will, if any, with its reference to the message.
func (s *session) dropWill() {
	if s.will != nil {
		s.will.msg.release()
	}
	s.will = nil
}

// publishWill publishes s's will as if s had published it.
func (s *session) publishWill() {
	w := s.will
	s.will = nil
	if w == nil {
		return
	}
	m := w.msg
	if m.expiry > 0 {
		// The expiry counts from publication, not from CONNECT. Nothing
		// else holds the will's message yet, so it may still change.
		m.expireAt = s.sh.loop.Now().Add(time.Duration(m.expiry) * time.Second).UnixNano()
	}
	if m.retain {
		s.sh.storeRetained(m) // a will with the retain flag is retained [MQTT-3.1.2-17]
	}
	s.sh.publish(m)
	m.release() // the will's reference
}
