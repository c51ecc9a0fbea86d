package shards

import "time"

// ClientRow is one client (connected, or offline with a kept session) with
// every field of the API's client object (CLIENTS_API.md). Its fields
// mirror catalog.Row one for one so that cmd can convert it without
// either package importing the other. Times are Unix milliseconds; nil
// pointers are null in the API.
type ClientRow struct {
	Node         string
	ClientID     string
	Username     string
	ProtoName    string
	ProtoVer     int64
	IPAddress    string
	Port         int64
	Listener     string
	IsBridge     bool
	IsPersistent bool
	EnableAuthn  bool
	PeerSNI      *string
	CN           *string
	DN           *string
	TenantIDFrom *string
	Zone         string
	Connected    bool
	// ConnState is "connected", "idle" or "disconnected".
	ConnState string
	// ConnectedAt is when the current (or last) connection was made.
	ConnectedAt int64
	// DisconnectedAt is set only when the client is not connected.
	DisconnectedAt *int64
	// CreatedAt is when the session was created.
	CreatedAt      int64
	Keepalive      int64
	CleanStart     bool
	ExpiryInterval int64

	Counters
}

// Counters are the numeric fields of a client that change while it is
// connected (field for field catalog.Counters). See CLIENTS_API.md decision
// 11 for MailboxLen, HeapSize and Reductions.
type Counters struct {
	SubscriptionsCnt                 int64
	SubscriptionsMax                 int64
	InflightCnt                      int64
	InflightMax                      int64
	MqueueLen                        int64
	MqueueMax                        int64
	MqueueDropped                    int64
	AwaitingRelCnt                   int64
	AwaitingRelMax                   int64
	RecvOct                          int64
	RecvCnt                          int64
	RecvPkt                          int64
	RecvMsg                          int64
	RecvMsgQoS0                      int64
	RecvMsgQoS1                      int64
	RecvMsgQoS2                      int64
	RecvMsgDropped                   int64
	RecvMsgDroppedAwaitPubrelTimeout int64
	SendOct                          int64
	SendCnt                          int64
	SendPkt                          int64
	SendMsg                          int64
	SendMsgQoS0                      int64
	SendMsgQoS1                      int64
	SendMsgQoS2                      int64
	SendMsgDropped                   int64
	SendMsgDroppedExpired            int64
	SendMsgDroppedQueueFull          int64
	SendMsgDroppedTooLarge           int64
	MailboxLen                       int64
	HeapSize                         int64
	Reductions                       int64
}

// StatsUpdate carries the current Counters of one client.
type StatsUpdate struct {
	// ClientID names the client.
	ClientID string
	// Counters are its current counters.
	Counters Counters
}

// SnapshotSink receives the broker's client rows for the catalog. Shards
// call it from their own goroutines, concurrently, with batches they no
// longer touch: an implementation takes ownership of the slices and must
// not block for long (queue them to a writer).
type SnapshotSink interface {
	// Upsert receives whole rows of clients whose lifecycle changed
	// (connected, disconnected, session created or resumed, subscription
	// count), at the end of the loop's batch that made the change: before
	// the CONNACK goes out, and before an API command answers.
	Upsert(rows []ClientRow)
	// UpdateStats receives the counters of clients whose counters changed,
	// once per Config.StatsInterval.
	UpdateStats(updates []StatsUpdate)
	// Remove receives the ids of clients whose session ended.
	Remove(clientIDs []string)
}

// snapshot sends changed rows to the sink: lifecycle changes (also sent
// at the end of every batch, snapshotLife), counters every StatsInterval.
func (sh *shard) snapshot(now time.Time) {
	sink := sh.b.cfg.Sink
	if sink == nil {
		// Nobody listens: drop the marks without building rows.
		for _, s := range sh.lifeDirty {
			s.lifeDirty = false
		}
		for _, s := range sh.statDirty {
			s.statDirty = false
		}
		sh.lifeDirty, sh.statDirty, sh.removed = sh.lifeDirty[:0], sh.statDirty[:0], sh.removed[:0]
		return
	}
	sh.snapshotLife(now)
	if now.Sub(sh.lastStats) < sh.b.cfg.StatsInterval || len(sh.statDirty) == 0 {
		return
	}
	sh.lastStats = now
	// A session whose flag is clear was sent with a lifecycle row (or is
	// listed twice); its counters have not changed since. Count the rest
	// first so the batch the sink keeps is allocated once, at its size.
	n := 0
	for _, s := range sh.statDirty {
		if s.statDirty && !s.dead {
			n++
		}
	}
	var ups []StatsUpdate
	if n > 0 {
		ups = make([]StatsUpdate, 0, n)
	}
	for _, s := range sh.statDirty {
		if s.statDirty && !s.dead {
			ups = append(ups, StatsUpdate{ClientID: s.id, Counters: s.stats()})
		}
		s.statDirty = false
	}
	clear(sh.statDirty)
	sh.statDirty = sh.statDirty[:0]
	if len(ups) > 0 {
		sink.UpdateStats(ups)
	}
}

// snapshotLife sends the lifecycle changes (connects, disconnects, ended
// sessions, subscription counts) made since the last call. It runs at the
// end of every batch (OnFlush), before the batch's writes go out, and at
// the end of every API command, before the command answers: once a client
// has its CONNACK, or the API caller its answer, the sink holds the
// change (read your writes: catalog.List waits for what it was handed).
func (sh *shard) snapshotLife(now time.Time) {
	sink := sh.b.cfg.Sink
	if sink == nil || len(sh.removed) == 0 && len(sh.lifeDirty) == 0 {
		return
	}
	if len(sh.removed) > 0 {
		sink.Remove(sh.removed)
		sh.removed = nil
	}
	if len(sh.lifeDirty) > 0 {
		// Sized once: the sink keeps the batch, and growing it by
		// doubling would allocate about twice its size in a storm.
		rows := make([]ClientRow, 0, len(sh.lifeDirty))
		for _, s := range sh.lifeDirty {
			s.lifeDirty = false
			if !s.dead {
				rows = append(rows, s.row(now))
				// The row carries the current counters: no stats
				// update until they change again (a connect storm
				// would otherwise send every counter twice).
				s.statDirty = false
			}
		}
		sh.lifeDirty = sh.lifeDirty[:0]
		if len(rows) > 0 {
			sink.Upsert(rows)
		}
	}
}
