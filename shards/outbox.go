package shards

import "sync"

// routed is one delivery addressed to a session, possibly on another
// shard.
type routed struct {
	s *session
	d delivery
}

// mail is one batch of deliveries from one shard to another. Mail is
// pooled with its slice and its bound run function, so that handing a
// batch to another loop allocates nothing of the shards' own.
type mail struct {
	to    *shard
	batch []routed // each delivery holds a reference to its message
	run   func()   // mb.deliver, bound once
	// wait, if not nil, holds acknowledgements until the target has
	// committed the batch that delivers this mail (durability sync).
	wait *ackWait
}

// mailPool holds mail for reuse; any shard may take or return it.
var mailPool sync.Pool

// maxMailBatch is the largest batch capacity mail keeps for reuse.
const maxMailBatch = 4096

// post queues r for its session's shard in this batch's outbox, with a
// reference to the message for the outbox.
func (sh *shard) post(r routed) {
	r.d.msg.ref()
	sh.posts++
	to := r.s.sh
	mb := sh.outbox[to]
	if mb == nil {
		mb, _ = mailPool.Get().(*mail)
		if mb == nil {
			mb = &mail{}
			mb.run = mb.deliver
		}
		mb.to = to
		sh.outbox[to] = mb
	}
	mb.batch = append(mb.batch, r)
}

// flushOutbox hands each other shard its batch of deliveries with one
// Loop.Execute (one wake-up per target per batch).
func (sh *shard) flushOutbox() {
	w := sh.holdAcks()
	for target, mb := range sh.outbox {
		if mb == nil {
			continue
		}
		if !target.bound.Load() {
			// A shard Recover filled whose loop has not run yet: the
			// mail waits here for a later batch, and acknowledgements
			// held for durability sync cannot wait for it: they report
			// the failure (the publisher sends again).
			if w != nil {
				w.failed.Store(true)
			}
			continue
		}
		sh.outbox[target] = nil
		for _, r := range mb.batch {
			r.s.mailbox.Add(1)
		}
		if w != nil {
			w.pending.Add(1)
			mb.wait = w
		}
		if err := target.loop.Execute(mb.run); err != nil {
			// The target is shutting down and will never run it.
			for _, r := range mb.batch {
				r.s.mailbox.Add(-1)
			}
			if w != nil {
				w.committed(err)
			}
			mb.recycle()
		}
	}
	if w != nil {
		w.committed(nil) // the token held while mail was sent
	}
}

// deliver runs on the target shard: it delivers the batch, gives back the
// outbox's references and returns mb to the pool.
func (mb *mail) deliver() {
	mb.to.receive(mb.batch)
	if w := mb.wait; w != nil {
		if rec := mb.to.rec; rec != nil {
			rec.waits = append(rec.waits, w)
			rec.batch.Sync = true
		} else {
			w.committed(nil)
		}
	}
	mb.recycle()
}

// recycle releases the references the batch still holds and returns mb
// to the pool.
func (mb *mail) recycle() {
	for i := range mb.batch {
		mb.batch[i].d.msg.release()
		mb.batch[i] = routed{}
	}
	if cap(mb.batch) > maxMailBatch {
		mb.batch = nil
	} else {
		mb.batch = mb.batch[:0]
	}
	mb.to, mb.wait = nil, nil
	mailPool.Put(mb)
}

// receive delivers a batch sent by another shard; the caller keeps the
// batch's references.
func (sh *shard) receive(batch []routed) {
	for _, r := range batch {
		r.s.mailbox.Add(-1)
		if !r.s.dead {
			r.s.deliver(r.d)
		}
	}
}
