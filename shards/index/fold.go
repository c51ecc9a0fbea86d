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

	out  []Delivery[S]
	ids  []uint32
	slot []int32 // per hit: the index of its delivery, or -1 when the hit is skipped
	pos  map[S]int32
}

// Fold returns the deliveries for hits, which must have been resolved (Index.Resolve); group hits
// still present are skipped. A hit whose subscription has No Local is skipped when its subscriber
// equals publisher [MQTT-3.8.3-3]; pass the zero S when the message has no publishing client (a will,
// a $SYS message, an API publish) and no subscriber is the zero S.
func (f *Folder[S]) Fold(hits []Hit[S], publisher S) []Delivery[S] {
	f.out, f.ids, f.slot = f.out[:0], f.ids[:0], f.slot[:0]
	useMap := !f.PerSubscription && len(hits) > foldMapThreshold
	if useMap {
		if f.pos == nil {
			f.pos = make(map[S]int32, len(hits))
		}
		clear(f.pos)
	}
	var nids int32
	for _, h := range hits {
		if h.Group != nil || (h.Opts.NoLocal && h.Sub == publisher) {
			f.slot = append(f.slot, -1)
			continue
		}
		d := int32(-1)
		if !f.PerSubscription {
			d = f.find(h.Sub, useMap)
		}
		if d < 0 {
			d = int32(len(f.out))
			f.out = append(f.out, Delivery[S]{Sub: h.Sub, QoS: h.Opts.QoS})
			if useMap {
				f.pos[h.Sub] = d
			}
		}
		f.slot = append(f.slot, d)
		o := &f.out[d]
		o.QoS = max(o.QoS, h.Opts.QoS)
		o.RetainAsPublished = o.RetainAsPublished || h.Opts.RetainAsPublished
		if h.Opts.ID != 0 {
			o.hi++ // counts the identifiers until the offsets are laid out below
			nids++
		}
	}
	if nids == 0 {
		return f.out
	}
	var next int32
	for i := range f.out {
		o := &f.out[i]
		o.lo, o.hi, next = next, next, next+o.hi
	}
	f.ids = append(f.ids, make([]uint32, nids)...)
	for i, h := range hits {
		if d := f.slot[i]; d >= 0 && h.Opts.ID != 0 {
			o := &f.out[d]
			f.ids[o.hi] = h.Opts.ID
			o.hi++
		}
	}
	for i := range f.out {
		o := &f.out[i]
		if o.hi > o.lo {
			o.IDs = f.ids[o.lo:o.hi:o.hi]
		}
	}
	return f.out
}

// find returns the index of sub's delivery, or -1.
func (f *Folder[S]) find(sub S, useMap bool) int32 {
	if useMap {
		if d, ok := f.pos[sub]; ok {
			return d
		}
		return -1
	}
	for i := range f.out {
		if f.out[i].Sub == sub {
			return int32(i)
		}
	}
	return -1
}
