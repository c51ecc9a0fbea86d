package retained

import (
	"strings"
	"sync"
	"time"
)

// Config bounds a Store. A zero field means no limit.
type Config struct {
	// MaxMessages is the most retained messages kept.
	MaxMessages int
	// MaxBytes is the most bytes (Message.Size summed) kept.
	MaxBytes int64
	// MaxPayload is the largest payload accepted.
	MaxPayload int
}

// Validate reports whether the configuration is usable.
func (c Config) Validate() error {
	if c.MaxMessages < 0 || c.MaxBytes < 0 || c.MaxPayload < 0 {
		return ErrConfig
	}
	return nil
}

// Store holds retained messages in a trie of topic levels, so a lookup by a filter with a
// literal prefix visits only that branch.
//
// Concurrency contract: all methods are safe for concurrent use. Changes serialise on a write lock;
// lookups share a read lock and return the stored pointers, which stay valid (immutable) after the
// lock is released.
type Store struct {
	cfg Config

	// mu guards the following fields and the trie.
	mu    sync.RWMutex
	root  *node
	count int
	bytes int64
}

// node is one level of the trie.
type node struct {
	level    string
	parent   *node
	children map[string]*node
	msg      *Message
}

// New returns an empty store.
func New(cfg Config) (*Store, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return &Store{cfg: cfg, root: &node{}}, nil
}

// Len returns the number of retained messages.
func (s *Store) Len() int {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.count
}

// Bytes returns the bytes the retained messages account for (Message.Size summed).
func (s *Store) Bytes() int64 {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.bytes
}

// Set stores m under m.Topic, replacing the message there, or deletes that message when m's payload
// is empty [MQTT-3.3.1-6] [MQTT-3.3.1-7]. m.Topic must be a valid topic name. It fails with
// ErrTooLarge or ErrFull, leaving the store unchanged.
func (s *Store) Set(m *Message) error {
	if len(m.Payload) == 0 {
		s.Delete(m.Topic)
		return nil
	}
	if s.cfg.MaxPayload > 0 && len(m.Payload) > s.cfg.MaxPayload {
		return ErrTooLarge
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var oldSize int64
	oldCount := 0
	if n := s.findLocked(m.Topic); n != nil && n.msg != nil {
		oldSize, oldCount = n.msg.Size(), 1
	}
	if s.cfg.MaxMessages > 0 && s.count-oldCount+1 > s.cfg.MaxMessages {
		return ErrFull
	}
	if s.cfg.MaxBytes > 0 && s.bytes-oldSize+m.Size() > s.cfg.MaxBytes {
		return ErrFull
	}
	n := s.root
	for rest, more := m.Topic, true; more; {
		var level string
		level, rest, more = strings.Cut(rest, "/")
		c := n.children[level]
		if c == nil {
			if n.children == nil {
				n.children = make(map[string]*node)
			}
			c = &node{level: level, parent: n}
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
func (s *Store) Delete(topic string) bool {
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
func (s *Store) Get(topic string) *Message {
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
func (s *Store) Match(filter string, now time.Time, dst []*Message) []*Message {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.root.match(filter, true, now, dst)
}

// All appends to dst every retained message not expired at now ('$' topics included) and returns
// the extended slice, in no particular order.
func (s *Store) All(now time.Time, dst []*Message) []*Message {
	s.mu.RLock()
	defer s.mu.RUnlock()
	s.root.walk(func(n *node) {
		if keep(n.msg, now) {
			dst = append(dst, n.msg)
		}
	})
	return dst
}

// DeleteExpired removes every message expired at now and returns how many it removed. It visits
// the whole store; call it from a periodic timer.
func (s *Store) DeleteExpired(now time.Time) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	var expired []*node
	s.root.walk(func(n *node) {
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
func (n *node) match(filter string, root bool, now time.Time, dst []*Message) []*Message {
	level, rest, more := strings.Cut(filter, "/")
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
			dst = c.step(rest, more, now, dst)
		}
	default:
		if c := n.children[level]; c != nil {
			dst = c.step(rest, more, now, dst)
		}
	}
	return dst
}

// step handles a child that matched one level: it holds the match when the filter ended there
// (more is false).
func (n *node) step(rest string, more bool, now time.Time, dst []*Message) []*Message {
	if more {
		return n.match(rest, false, now, dst)
	}
	if n.msg != nil && keep(n.msg, now) {
		dst = append(dst, n.msg)
	}
	return dst
}

// collect appends every unexpired message at or below n.
func (n *node) collect(now time.Time, dst []*Message) []*Message {
	if n.msg != nil && keep(n.msg, now) {
		dst = append(dst, n.msg)
	}
	for _, c := range n.children {
		dst = c.collect(now, dst)
	}
	return dst
}

// walk calls fn for every node below n that holds a message.
func (n *node) walk(fn func(*node)) {
	for _, c := range n.children {
		if c.msg != nil {
			fn(c)
		}
		c.walk(fn)
	}
}

// findLocked returns the node of topic, or nil.
func (s *Store) findLocked(topic string) *node {
	n := s.root
	for rest, more := topic, true; more && n != nil; {
		var level string
		level, rest, more = strings.Cut(rest, "/")
		n = n.children[level]
	}
	return n
}

// removeLocked drops n's message and prunes the levels left empty.
func (s *Store) removeLocked(n *node) {
	s.count--
	s.bytes -= n.msg.Size()
	n.msg = nil
	for n != s.root && n.msg == nil && len(n.children) == 0 {
		delete(n.parent.children, n.level)
		n = n.parent
	}
}

// keep reports whether m is to be returned at now (a zero now keeps every message).
func keep(m *Message, now time.Time) bool { return now.IsZero() || !m.Expired(now) }

// isDollar reports whether level begins with '$', which filters beginning with a wildcard skip.
func isDollar(level string) bool { return len(level) > 0 && level[0] == '$' }
