package index

// foldMapThreshold is the hit count above which Folder finds a subscriber's delivery through a map
// instead of a linear scan of the deliveries built so far.
const foldMapThreshold = 16

// Delivery is one copy of a message for one subscriber, the result of folding hits with a Folder.
type Delivery[S comparable] struct {
	// Sub is the receiving subscriber.
	Sub S
	// QoS is the highest QoS granted by the folded subscriptions; the broker sends
	// min(QoS, the message's QoS) [MQTT-3.8.4-8].
	QoS byte
	// RetainAsPublished is true when any folded subscription set Retain As Published.
	RetainAsPublished bool
	// IDs are the Subscription Identifiers of the folded subscriptions that have one, in hit
	// order [MQTT-3.3.4-4] [MQTT-3.3.4-5]. The slice belongs to the Folder and is valid until its
	// next Fold.
	IDs []uint32

	lo, hi int32 // the IDs' range in Folder.ids while folding
}

// Folder turns the hits of one message into deliveries. By default each subscriber gets one copy
// at the highest QoS of its matching subscriptions, carrying every matching Subscription Identifier
// ([MQTT-3.3.4-2], [MQTT-3.3.4-4]); with PerSubscription set each subscription gets its own copy
// with its own identifier ([MQTT-3.3.4-5]).
//
// A Folder keeps its scratch space between calls, so folding allocates nothing in steady state.
// Concurrency contract: a Folder belongs to one goroutine (typically one per shard); the deliveries
// Fold returns, and their IDs, are valid until the next call of Fold.
type Folder[S comparable] struct {
	// PerSubscription sends one copy per matching subscription instead of one per subscriber.
	PerSubscription bool

	out []Delivery[S]
	ids []uint32 // the deliveries' identifiers, each delivery's contiguous
	pos map[S]int32
}

// Fold returns the deliveries for hits, which must have been resolved (Index.Resolve); group hits
// still present are skipped. A hit whose subscription has No Local is skipped when its subscriber
// equals publisher [MQTT-3.8.3-3]; pass the zero S when the message has no publishing client (a will,
// a $SYS message, an API publish) and no subscriber is the zero S.
func (f *Folder[S]) Fold(hits []Hit[S], publisher S) []Delivery[S] {
	out := f.out[:0]
	f.ids = f.ids[:0]
	useMap := !f.PerSubscription && len(hits) > foldMapThreshold
	if useMap {
		if f.pos == nil {
			f.pos = make(map[S]int32, len(hits))
		}
		clear(f.pos) // nothing to do after Clear
	}
	for i := range hits {
		h := &hits[i]
		if h.Group != nil || (h.Opts.NoLocal && h.Sub == publisher) {
			continue
		}
		d := int32(-1)
		if !f.PerSubscription {
			d = f.find(out, h.Sub, useMap)
		}
		if d < 0 {
			d = int32(len(out))
			out = append(out, Delivery[S]{Sub: h.Sub, QoS: h.Opts.QoS, RetainAsPublished: h.Opts.RetainAsPublished})
			if useMap {
				f.pos[h.Sub] = d
			}
		} else {
			o := &out[d]
			o.QoS = max(o.QoS, h.Opts.QoS)
			o.RetainAsPublished = o.RetainAsPublished || h.Opts.RetainAsPublished
		}
		if h.Opts.ID != 0 {
			f.addID(&out[d], h.Opts.ID)
		}
	}
	f.out = out
	if len(f.ids) == 0 {
		return out
	}
	for i := range out {
		if o := &out[i]; o.hi > o.lo {
			o.IDs = f.ids[o.lo:o.hi:o.hi]
		}
	}
	return out
}

// addID appends id to the identifiers of delivery o, which stay contiguous in f.ids and in hit
// order: when another delivery's identifiers were appended since o's last one (a client whose
// overlapping subscriptions match apart), o's move to the end of f.ids first. A client has few
// overlapping subscriptions, so the moves stay short.
func (f *Folder[S]) addID(o *Delivery[S], id uint32) {
	n := int32(len(f.ids))
	switch {
	case o.hi == 0:
		o.lo = n
	case o.hi != n:
		f.ids = append(f.ids, f.ids[o.lo:o.hi]...)
		o.lo = n
	}
	f.ids = append(f.ids, id)
	o.hi = int32(len(f.ids))
}

// Clear drops the deliveries of the last Fold and the subscribers they name, so that a Folder kept
// between messages does not keep a subscriber that went away from the garbage collector. Call it
// once the deliveries are used; the next Fold works with or without it.
func (f *Folder[S]) Clear() {
	clear(f.out)
	f.out = f.out[:0]
	clear(f.pos)
}

// find returns the index of sub's delivery in out, or -1.
func (f *Folder[S]) find(out []Delivery[S], sub S, useMap bool) int32 {
	if useMap {
		if d, ok := f.pos[sub]; ok {
			return d
		}
		return -1
	}
	for i := range out {
		if out[i].Sub == sub {
			return int32(i)
		}
	}
	return -1
}
