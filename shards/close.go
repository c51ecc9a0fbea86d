package shards

import (
	"errors"
	"time"

	"github.com/shardmq/shardmq/netio"
)

// detachConn unbinds s from its connection, folding the connection's
// socket counters into the session's.
func (sh *shard) detachConn(s *session) {
	c := s.conn
	if c == nil {
		return
	}
	s.countN(cRecvOct, uint64(c.BytesIn()))
	s.countN(cRecvCnt, uint64(c.Reads()))
	s.countN(cSendOct, uint64(c.BytesOut()))
	s.countN(cSendCnt, uint64(c.Writes()))
	s.cstate().sess = nil
	s.conn = nil
	// The ACL decisions were made for this connection's identity, and
	// attach empties them at the next CONNECT: an offline session keeps
	// none (24 B, plus a map per action when an ACL is loaded).
	s.acl = nil
	sh.b.liveN.add(-1)
	s.updateBusy()
	s.online.Store(false)
	s.disconnectedAt = sh.loop.Now().UnixMilli()
	s.markLife()
}

// detach handles the close of s's connection c: the will on an abnormal
// loss, then the end of a non-persistent session or the offline expiry
// timer of a persistent one.
func (sh *shard) detach(s *session, c *netio.Conn, cs *connState, err error) {
	if s.conn != c {
		return
	}
	sh.detachConn(s)
	if cs.graceful {
		s.dropWill()
	} else if s.will != nil {
		// Abnormal loss: keepalive expiry, socket error, protocol error,
		// kick [MQTT-3.1.2-8]. A will delay defers it [MQTT-3.1.3-9].
		if s.will.delay > 0 && s.persistent() {
			s.will.at = sh.loop.Now().Add(time.Duration(s.will.delay) * time.Second).UnixNano()
		} else {
			s.publishWill()
		}
	}
	if !s.persistent() || errors.Is(err, ErrKicked) {
		s.end()
		return
	}
	if s.expiry != neverExpire {
		s.expireAt = sh.loop.Now().Add(time.Duration(s.expiry) * time.Second).UnixNano()
	}
	s.reschedule()
}

// end ends s: a pending delayed will is published [MQTT-3.1.3-9], its
// subscriptions leave the index and its queues are dropped.
func (s *session) end() {
	if s.dead {
		return
	}
	if s.will != nil && s.will.at != 0 {
		s.publishWill()
	}
	s.dropWill()
	s.dead = true
	s.online.Store(false)
	s.keptMirror.Store(false)
	for f := range s.subs.All() {
		_, _ = s.sh.b.index.Unsubscribe(s, f)
	}
	s.subs.Clear()
	sh := s.sh
	sh.totals.retire(s)
	delete(sh.sessions, s.id)
	sh.b.sessionsN.add(-1)
	sh.b.registry.CompareAndDelete(s.id, s)
	sh.removed = append(sh.removed, s.id)
	sh.timers.Remove(int(s.heapIdx))
	s.dropMessages()
	s.storeDiscarded()
	delete(sh.peers, s)
	if !sh.b.alone && sh.keepOwner != s {
		sh.b.cluster.Release(s.id) // the other nodes may forget its owner
	}
}
