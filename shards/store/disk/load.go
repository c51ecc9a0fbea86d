package disk

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	"github.com/cockroachdb/pebble"

	"github.com/shardmq/shardmq/shards/store"
)

// drop says why Load deletes a client's records.
type drop uint8

const (
	keep    drop = iota
	expired      // the session expired
	orphan       // there is no session record
)

// cleanupBatch is how many deletions Load gathers before it writes them.
const cleanupBatch = 4096

// Load streams the retained messages and the sessions to l (see
// store.Store), the retained messages from a goroutine of its own while
// the calling goroutine reads the sessions: the two key ranges, and what
// the callee builds from them, are apart, so on two cores the retained
// messages cost the wall clock nothing. It drops from the store what
// expired at or before now and the orphans it finds (records of a client
// without a session record), and counts both. A record that does not
// decode stops Load with an error wrapping store.ErrCorrupt that names
// its key (the other range is read to its end all the same).
func (db *DB) Load(now time.Time, l store.Loader) (store.LoadStats, error) {
	start := time.Now()
	db.mu.RLock()
	defer db.mu.RUnlock()
	if db.closed {
		return store.LoadStats{}, store.ErrClosed
	}
	db.refs.clients.Clear()
	db.refs.live.Store(0)
	rl := loader{db: db, l: l, now: now.UnixNano(), del: db.pdb.NewBatch()}
	retainedErr := make(chan error, 1)
	go func() {
		err := rl.retained()
		if err == nil {
			err = rl.flushDeletes()
		}
		rl.del.Close()
		retainedErr <- err
	}()
	ld := loader{db: db, l: l, now: now.UnixNano(), del: db.pdb.NewBatch()}
	defer func() { ld.del.Close() }()
	err := ld.loadBodies()
	if err == nil {
		err = ld.clients()
	}
	if err == nil {
		err = ld.dropBodies()
	}
	if err == nil {
		err = ld.flushDeletes()
	}
	if rerr := <-retainedErr; rerr != nil {
		err = rerr // the retained range is read first in the key order
	}
	ld.st.Retained, ld.st.ExpiredRetained = rl.st.Retained, rl.st.ExpiredRetained
	ld.st.Took = time.Since(start)
	return ld.st, err
}

// loader is the state of one Load.
type loader struct {
	db  *DB
	l   store.Loader
	now int64
	st  store.LoadStats
	del *pebble.Batch // deletions not yet written

	// The client being read: its id (a copy), its state, and what became
	// of its session record.
	id   []byte
	ss   store.SessionState
	have bool // a session record was found and is kept
	drop drop // whether and why the client's range is deleted
	// pending is the last message read, held until its in-flight mark
	// (the next key, if any) is seen: only an unsent message expires.
	pending    bool
	pendingKey []byte
	// bodyOf holds, for each message of ss.Queue, the body it names (nil
	// when inline).
	bodyOf []*loadedBody

	// bodies are the shared message bodies by id.
	bodies map[uint64]*loadedBody
}

// loadedBody is a body record as Load found it.
type loadedBody struct {
	msg *store.Message
	bd  *body // its references count the surviving deliveries naming it
}

func (ld *loader) corrupt(key []byte, err error) error {
	if errors.Is(err, store.ErrCorrupt) {
		return err
	}
	return fmt.Errorf("%w: %s: record %q: %v", store.ErrCorrupt, ld.db.cfg.Dir, key, err)
}

func (ld *loader) iterError(it *pebble.Iterator) error {
	err := errors.Join(it.Error(), it.Close())
	if err == nil {
		return nil
	}
	if errors.Is(err, pebble.ErrCorruption) {
		return fmt.Errorf("%w: %s: %v", store.ErrCorrupt, ld.db.cfg.Dir, err)
	}
	return fmt.Errorf("store: load %s: %w", ld.db.cfg.Dir, err)
}

func (ld *loader) delete(key []byte) error {
	if err := ld.del.Delete(key, nil); err != nil {
		return err
	}
	return ld.maybeFlush()
}

func (ld *loader) deleteClient(id []byte) error {
	start := appendClient(nil, string(id))
	end := append(start[:len(start):len(start)], subEnd)
	if err := ld.del.DeleteRange(start, end, nil); err != nil {
		return err
	}
	return ld.maybeFlush()
}

func (ld *loader) maybeFlush() error {
	if ld.del.Count() < cleanupBatch {
		return nil
	}
	return ld.flushDeletes()
}

func (ld *loader) flushDeletes() error {
	if ld.del.Empty() {
		return nil
	}
	if err := ld.del.Commit(pebble.Sync); err != nil {
		return fmt.Errorf("store: load %s: dropping expired records: %w", ld.db.cfg.Dir, err)
	}
	ld.del.Close()
	ld.del = ld.db.pdb.NewBatch()
	return nil
}

func (ld *loader) isExpired(at int64) bool { return at != 0 && at <= ld.now }

func (ld *loader) retained() error {
	it, err := ld.db.pdb.NewIter(&pebble.IterOptions{LowerBound: []byte{tagRetained}, UpperBound: []byte{tagRetained + 1}})
	if err != nil {
		return fmt.Errorf("store: load %s: %w", ld.db.cfg.Dir, err)
	}
	for ok := it.First(); ok; ok = it.Next() {
		m, err := decodeMessage(it.Value())
		if err == nil && m.Topic != string(it.Key()[1:]) {
			err = errors.New("topic differs from the key's")
		}
		if err != nil {
			it.Close()
			return ld.corrupt(it.Key(), err)
		}
		if ld.isExpired(m.ExpireAt) {
			ld.st.ExpiredRetained++
			if err := ld.delete(it.Key()); err != nil {
				it.Close()
				return err
			}
			continue
		}
		ld.st.Retained++
		if ld.l.Retained != nil {
			if err := ld.l.Retained(m); err != nil {
				it.Close()
				return err
			}
		}
	}
	return ld.iterError(it)
}

// loadBodies reads every shared message body: deliveries name them.
func (ld *loader) loadBodies() error {
	ld.bodies = map[uint64]*loadedBody{}
	it, err := ld.db.pdb.NewIter(&pebble.IterOptions{LowerBound: []byte{tagBody}, UpperBound: []byte{tagBody + 1}})
	if err != nil {
		return fmt.Errorf("store: load %s: %w", ld.db.cfg.Dir, err)
	}
	for ok := it.First(); ok; ok = it.Next() {
		k := it.Key()
		m, err := decodeMessage(it.Value())
		if err == nil && len(k) != 9 {
			err = errors.New("malformed key")
		}
		if err != nil {
			it.Close()
			return ld.corrupt(k, err)
		}
		id := binary.BigEndian.Uint64(k[1:])
		ld.bodies[id] = &loadedBody{msg: m, bd: &body{id: id}}
	}
	return ld.iterError(it)
}

// dropBodies deletes the bodies no surviving delivery names.
func (ld *loader) dropBodies() error {
	for id, lb := range ld.bodies {
		if lb.bd.refs.Load() == 0 {
			if err := ld.delete(appendBodyKey(nil, id)); err != nil {
				return err
			}
		}
	}
	ld.bodies = nil
	return nil
}

func (ld *loader) clients() error {
	it, err := ld.db.pdb.NewIter(&pebble.IterOptions{LowerBound: []byte{tagClient}, UpperBound: []byte{tagClient + 1}})
	if err != nil {
		return fmt.Errorf("store: load %s: %w", ld.db.cfg.Dir, err)
	}
	if ld.l.Sessions != nil {
		// One pass over the keys first: the callee sizes its maps once
		// instead of growing them a million times.
		n := 0
		for ok := it.First(); ok; ok = it.Next() {
			if k := it.Key(); len(k) > 0 && k[len(k)-1] == subSession {
				if ck, ok := parseClientKey(k); ok && ck.sub == subSession {
					n++
				}
			}
		}
		if it.Error() != nil {
			return ld.iterError(it)
		}
		ld.l.Sessions(n)
	}
	for ok := it.First(); ok; ok = it.Next() {
		if err := ld.clientKey(it.Key(), it.Value()); err != nil {
			it.Close()
			return err
		}
	}
	if err := ld.iterError(it); err != nil {
		return err
	}
	return ld.endClient()
}

// clientKey takes one key of the client table, in key order.
func (ld *loader) clientKey(key, val []byte) error {
	ck, ok := parseClientKey(key)
	if !ok {
		return ld.corrupt(key, errors.New("malformed key"))
	}
	if ld.id == nil || !bytes.Equal(ck.id, ld.id) {
		if err := ld.endClient(); err != nil {
			return err
		}
		ld.id = append(ld.id[:0:0], ck.id...)
		if ck.sub != subSession {
			// Messages without their session: a Queued before any
			// SessionSaved, or a session record lost.
			ld.drop = orphan
			ld.st.Orphans++
			return ld.deleteClient(ck.id)
		}
	}
	switch ld.drop {
	case expired:
		if ck.sub == subMessage && ck.part == seqBody {
			ld.st.ExpiredSessionMessages++
		}
		return nil
	case orphan:
		ld.st.Orphans++
		return nil
	}
	switch ck.sub {
	case subSession:
		s, err := decodeSession(string(ck.id), val)
		if err != nil {
			return ld.corrupt(key, err)
		}
		if ld.isExpired(s.ExpireAt) {
			ld.drop = expired
			ld.st.ExpiredSessions++
			if ld.l.Expired != nil {
				ld.l.Expired(s)
			}
			return ld.deleteClient(ck.id)
		}
		ld.ss.Session, ld.have = s, true
	case subMessage:
		if ck.part == seqBody {
			if err := ld.settle(); err != nil {
				return err
			}
			ld.ss.Queue = append(ld.ss.Queue, store.Delivery{Seq: ck.seq})
			d := &ld.ss.Queue[len(ld.ss.Queue)-1]
			id, err := decodeDelivery(val, d)
			if err != nil {
				return ld.corrupt(key, err)
			}
			var lb *loadedBody
			if id != 0 {
				if lb = ld.bodies[id]; lb == nil {
					// Its body is gone: nothing to deliver.
					ld.ss.Queue = ld.ss.Queue[:len(ld.ss.Queue)-1]
					ld.st.Orphans++
					return ld.delete(key)
				}
				d.Message = lb.msg
			}
			ld.bodyOf = append(ld.bodyOf, lb)
			ld.pending = true
			ld.pendingKey = append(ld.pendingKey[:0], key...)
			return nil
		}
		pid, rel, err := decodeFlight(val)
		if err != nil {
			return ld.corrupt(key, err)
		}
		q := ld.ss.Queue
		if !ld.pending || q[len(q)-1].Seq != ck.seq {
			// An in-flight mark without its message.
			ld.st.Orphans++
			return ld.delete(key)
		}
		q[len(q)-1].PacketID, q[len(q)-1].Released = pid, rel
		return ld.settle()
	case subAwaitRel:
		if err := ld.settle(); err != nil {
			return err
		}
		ld.ss.AwaitRel = append(ld.ss.AwaitRel, ck.pid)
	}
	return nil
}

// settle decides the pending message: one that was not sent and whose
// Message Expiry Interval passed is dropped [MQTT-3.3.2-5]; one in flight
// stays, its delivery has started.
func (ld *loader) settle() error {
	if !ld.pending {
		return nil
	}
	ld.pending = false
	q := ld.ss.Queue
	d := &q[len(q)-1]
	if d.PacketID == 0 && ld.isExpired(d.Message.ExpireAt) {
		ld.ss.Queue = q[:len(q)-1]
		ld.bodyOf = ld.bodyOf[:len(ld.bodyOf)-1]
		ld.st.ExpiredMessages++
		return ld.delete(ld.pendingKey)
	}
	return nil
}

// countBodies counts the references of the session's deliveries to
// shared bodies, for Commit to delete a body when its last one goes.
func (ld *loader) countBodies() {
	var cb *clientBodies
	for i, lb := range ld.bodyOf {
		if lb == nil {
			continue
		}
		if cb == nil {
			cb = &clientBodies{seqs: map[uint64]*body{}}
			ld.db.refs.clients.Store(ld.ss.Session.ClientID, cb)
		}
		cb.seqs[ld.ss.Queue[i].Seq] = lb.bd
		lb.bd.refs.Add(1)
		ld.db.refs.live.Add(1)
	}
}

// endClient hands the client read so far to the Loader.
func (ld *loader) endClient() error {
	err := ld.settle()
	if err == nil && ld.have {
		ss := &ld.ss
		ld.st.Sessions++
		ld.st.Subscriptions += len(ss.Session.Subscriptions)
		ld.st.Messages += len(ss.Queue)
		for i := range ss.Queue {
			if ss.Queue[i].InFlight() {
				ld.st.InFlight++
			}
		}
		ld.st.AwaitRel += len(ss.AwaitRel)
		ld.countBodies()
		if ld.l.Session != nil {
			err = ld.l.Session(ss)
		}
	}
	clear(ld.ss.Queue)
	clear(ld.bodyOf)
	ld.bodyOf = ld.bodyOf[:0]
	ld.ss = store.SessionState{Queue: ld.ss.Queue[:0], AwaitRel: ld.ss.AwaitRel[:0]}
	ld.have, ld.drop = false, keep
	return err
}
