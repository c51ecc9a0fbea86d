package shards

import (
	"sync"
	"time"
)

// Retained is one retained message. The store keeps the pointer it is given: once stored, a
// Retained and the slices it holds must not be modified (replace it with a new one instead).
type Retained struct {
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
}

// Size returns the bytes the message accounts for in the store: topic, payload and properties.
func (m *Retained) Size() int64 {
	return int64(len(m.Topic) + len(m.Payload) + len(m.Properties))
}

// Expired reports whether the message's expiry interval has passed at now [MQTT-3.3.2-5].
func (m *Retained) Expired(now time.Time) bool {
	return m.ExpiryInterval != 0 && !now.Before(m.Stored.Add(time.Duration(m.ExpiryInterval)*time.Second))
}

// Remaining returns the expiry interval left at now, in whole seconds rounded down, which a
// forwarded copy carries [MQTT-3.3.2-6]; 0 when the message never expires or has expired.
func (m *Retained) Remaining(now time.Time) uint32 {
	if m.ExpiryInterval == 0 {
		return 0
	}
	left := m.Stored.Add(time.Duration(m.ExpiryInterval) * time.Second).Sub(now)
	if left <= 0 {
		return 0
	}
	return uint32(left / time.Second)
}

// RetainConfig bounds a RetainStore. A zero field means no limit.
type RetainConfig struct {
	// MaxMessages is the most retained messages kept.
	MaxMessages int
	// MaxBytes is the most bytes (Retained.Size summed) kept.
	MaxBytes int64
	// MaxPayload is the largest payload accepted.
	MaxPayload int
}

// Validate reports whether the configuration is usable.
func (c RetainConfig) Validate() error {
	if c.MaxMessages < 0 || c.MaxBytes < 0 || c.MaxPayload < 0 {
		return ErrRetainConfig
	}
	return nil
}

// RetainStore holds retained messages in a trie of topic levels, so a lookup by a filter with a
// literal prefix visits only that branch.
//
// Concurrency contract: all methods are safe for concurrent use. Changes serialise on a write lock;
// lookups share a read lock and return the stored pointers, which stay valid (immutable) after the
// lock is released.
type RetainStore struct {
	cfg RetainConfig

	// mu guards the following fields and the trie.
	mu    sync.RWMutex
	root  *retainNode
	count int
	bytes int64
}

// retainNode is one level of the retained trie.
type retainNode struct {
	level    string
	parent   *retainNode
	children map[string]*retainNode
	msg      *Retained
}

// NewRetainStore returns an empty store.
func NewRetainStore(cfg RetainConfig) (*RetainStore, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return &RetainStore{cfg: cfg, root: &retainNode{}}, nil
}

// Len returns the number of retained messages.
func (s *RetainStore) Len() int {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.count
}

// Bytes returns the bytes the retained messages account for (Retained.Size summed).
func (s *RetainStore) Bytes() int64 {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.bytes
}

// Set stores m under m.Topic, replacing the message there, or deletes that message when m's payload
// is empty [MQTT-3.3.1-6] [MQTT-3.3.1-7]. m.Topic must be a valid topic name. It fails with
// ErrRetainedTooLarge or ErrRetainedFull, leaving the store unchanged.
func (s *RetainStore) Set(m *Retained) error {
	if len(m.Payload) == 0 {
		s.Delete(m.Topic)
		return nil
	}
	if s.cfg.MaxPayload > 0 && len(m.Payload) > s.cfg.MaxPayload {
		return ErrRetainedTooLarge
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var oldSize int64
	oldCount := 0
	if n := s.findLocked(m.Topic); n != nil && n.msg != nil {
		oldSize, oldCount = n.msg.Size(), 1
	}
	if s.cfg.MaxMessages > 0 && s.count-oldCount+1 > s.cfg.MaxMessages {
		return ErrRetainedFull
	}
	if s.cfg.MaxBytes > 0 && s.bytes-oldSize+m.Size() > s.cfg.MaxBytes {
		return ErrRetainedFull
	}
	n := s.root
	for rest, done := m.Topic, false; !done; {
		var level string
		level, rest, done = nextLevel(rest)
		c := n.children[level]
		if c == nil {
			if n.children == nil {
				n.children = make(map[string]*retainNode)
			}
			c = &retainNode{level: level, parent: n}
			n.children[level] = c
		}
		n = c
	}
	n.msg = m
	s.count += 1 - oldCount
	s.bytes += m.Size() - oldSize
	return nil
}

// Delete removes the message retained under topic and reports whether there was one.
func (s *RetainStore) Delete(topic string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := s.findLocked(topic)
	if n == nil || n.msg == nil {
		return false
	}
	s.removeLocked(n)
	return true
}

// Get returns the message retained under topic, or nil.
func (s *RetainStore) Get(topic string) *Retained {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if n := s.findLocked(topic); n != nil {
		return n.msg
	}
	return nil
}

// Match appends to dst the retained messages whose topics filter matches and returns the extended
// slice. filter must be a valid, non-shared topic filter. Filters that begin with a wildcard skip
// topics beginning with '$' [MQTT-4.7.2-1]. Messages expired at now are left out; a zero now keeps
// them all. Only the branches the filter can reach are visited.
func (s *RetainStore) Match(filter string, now time.Time, dst []*Retained) []*Retained {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.root.match(filter, true, now, dst)
}

// DeleteExpired removes every message expired at now and returns how many it removed. It visits
// the whole store; call it from a periodic timer.
func (s *RetainStore) DeleteExpired(now time.Time) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	var expired []*retainNode
	s.root.walk(func(n *retainNode) {
		if n.msg.Expired(now) {
			expired = append(expired, n)
		}
	})
	for _, n := range expired {
		s.removeLocked(n)
	}
	return len(expired)
}

// match continues Match below n with the filter's remaining levels.
func (n *retainNode) match(filter string, root bool, now time.Time, dst []*Retained) []*Retained {
	level, rest, last := nextLevel(filter)
	switch level {
	case "#":
		// "a/#" matches "a" too [MQTT-4.7.1-2].
		if n.msg != nil && keep(n.msg, now) {
			dst = append(dst, n.msg)
		}
		for _, c := range n.children {
			if root && isDollar(c.level) {
				continue
			}
			dst = c.collect(now, dst)
		}
	case "+":
		for _, c := range n.children {
			if root && isDollar(c.level) {
				continue
			}
			dst = c.step(rest, last, now, dst)
		}
	default:
		if c := n.children[level]; c != nil {
			dst = c.step(rest, last, now, dst)
		}
	}
	return dst
}

// step handles a child that matched one level: it holds the match when the filter ended there.
func (n *retainNode) step(rest string, last bool, now time.Time, dst []*Retained) []*Retained {
	if !last {
		return n.match(rest, false, now, dst)
	}
	if n.msg != nil && keep(n.msg, now) {
		dst = append(dst, n.msg)
	}
	return dst
}

// collect appends every unexpired message at or below n.
func (n *retainNode) collect(now time.Time, dst []*Retained) []*Retained {
	if n.msg != nil && keep(n.msg, now) {
		dst = append(dst, n.msg)
	}
	for _, c := range n.children {
		dst = c.collect(now, dst)
	}
	return dst
}

// walk calls fn for every node below n that holds a message.
func (n *retainNode) walk(fn func(*retainNode)) {
	for _, c := range n.children {
		if c.msg != nil {
			fn(c)
		}
		c.walk(fn)
	}
}

// findLocked returns the node of topic, or nil.
func (s *RetainStore) findLocked(topic string) *retainNode {
	n := s.root
	for rest, done := topic, false; !done && n != nil; {
		var level string
		level, rest, done = nextLevel(rest)
		n = n.children[level]
	}
	return n
}

// removeLocked drops n's message and prunes the levels left empty.
func (s *RetainStore) removeLocked(n *retainNode) {
	s.count--
	s.bytes -= n.msg.Size()
	n.msg = nil
	for n != s.root && n.msg == nil && len(n.children) == 0 {
		delete(n.parent.children, n.level)
		n = n.parent
	}
}

func keep(m *Retained, now time.Time) bool { return now.IsZero() || !m.Expired(now) }

func isDollar(level string) bool { return len(level) > 0 && level[0] == '$' }
