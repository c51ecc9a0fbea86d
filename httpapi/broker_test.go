package httpapi

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/shardmq/shardmq/catalog"
	"github.com/shardmq/shardmq/shards/banned"
)

// fakeBroker is an in-memory Broker for handler tests: sessions are rows,
// subscriptions a map, publishing counts matches. It mirrors kicks and
// subscription counts into the catalog, as the real broker's snapshots do.
type fakeBroker struct {
	cat *catalog.Catalog

	// mu guards the following fields.
	mu        sync.Mutex
	clients   map[string]catalog.Row
	subs      map[string]map[string]Subscription // clientid → topic → sub
	published []PublishRequest
	kicked    []string
	// stopped holds the listeners stopped by ListenerAction.
	stopped map[string]bool
	// bans is a real ban list; AddBan kicks the connected rows it bans.
	bans *banned.List
	// mode: "" answers; "block" waits for ctx; "hang" ignores ctx until
	// release is closed; "panic" panics; "fail" returns an internal error.
	mode    string
	release chan struct{}
}

func newFakeBroker(cat *catalog.Catalog, rows []catalog.Row) *fakeBroker {
	b := &fakeBroker{cat: cat, clients: make(map[string]catalog.Row), subs: make(map[string]map[string]Subscription), release: make(chan struct{}), bans: banned.New()}
	for _, r := range rows {
		b.clients[r.ClientID] = r
	}
	return b
}

func (b *fakeBroker) setMode(m string) {
	b.mu.Lock()
	b.mode = m
	b.mu.Unlock()
}

// enter applies the failure mode; it returns with mu held on success.
func (b *fakeBroker) enter(ctx context.Context) error {
	b.mu.Lock()
	mode := b.mode
	switch mode {
	case "":
		return nil
	case "panic":
		b.mu.Unlock()
		panic("fakeBroker: internal state /secret/path at 0xdeadbeef")
	case "fail":
		b.mu.Unlock()
		return fmt.Errorf("fakeBroker: SELECT * FROM secret_table failed")
	}
	b.mu.Unlock()
	if mode == "block" {
		<-ctx.Done()
		return ctx.Err()
	}
	<-b.release
	return fmt.Errorf("fakeBroker: released")
}

func (b *fakeBroker) Client(ctx context.Context, id string) (catalog.Row, error) {
	if err := b.enter(ctx); err != nil {
		return catalog.Row{}, err
	}
	defer b.mu.Unlock()
	r, ok := b.clients[id]
	if !ok {
		return catalog.Row{}, fmt.Errorf("fakeBroker: %q: %w", id, ErrClientNotFound)
	}
	r.SubscriptionsCnt = int64(len(b.subs[id]))
	return r, nil
}

func (b *fakeBroker) Kick(ctx context.Context, id string) error {
	if err := b.enter(ctx); err != nil {
		return err
	}
	defer b.mu.Unlock()
	if _, ok := b.clients[id]; !ok {
		return ErrClientNotFound
	}
	delete(b.clients, id)
	delete(b.subs, id)
	b.kicked = append(b.kicked, id)
	b.cat.Remove([]string{id})
	return nil
}

func (b *fakeBroker) Subscribe(ctx context.Context, id string, reqs []SubscribeRequest) ([]Subscription, error) {
	if err := b.enter(ctx); err != nil {
		return nil, err
	}
	defer b.mu.Unlock()
	r, ok := b.clients[id]
	if !ok {
		return nil, ErrClientNotFound
	}
	// All or nothing: check the whole batch before applying any of it.
	for _, s := range reqs {
		if s.Topic == "quota/exceeded" {
			return nil, fmt.Errorf("%w: subscriptions_max reached", ErrRejected)
		}
	}
	if b.subs[id] == nil {
		b.subs[id] = make(map[string]Subscription)
	}
	out := make([]Subscription, len(reqs))
	for i, s := range reqs {
		sub := Subscription{Node: "test@node", ClientID: id, Topic: s.Topic, QoS: s.QoS, NL: s.NL, RAP: s.RAP, RH: s.RH}
		b.subs[id][s.Topic] = sub
		out[i] = sub
	}
	r.SubscriptionsCnt = int64(len(b.subs[id]))
	b.clients[id] = r
	b.cat.Upsert([]catalog.Row{r})
	return out, nil
}

func (b *fakeBroker) Unsubscribe(ctx context.Context, id string, topics []string) error {
	if err := b.enter(ctx); err != nil {
		return err
	}
	defer b.mu.Unlock()
	if _, ok := b.clients[id]; !ok {
		return ErrClientNotFound
	}
	for _, t := range topics {
		delete(b.subs[id], t)
	}
	return nil
}

func (b *fakeBroker) Subscriptions(ctx context.Context, id string) ([]Subscription, error) {
	if err := b.enter(ctx); err != nil {
		return nil, err
	}
	defer b.mu.Unlock()
	if _, ok := b.clients[id]; !ok {
		return nil, ErrClientNotFound
	}
	var out []Subscription
	for _, s := range b.subs[id] {
		out = append(out, s)
	}
	return out, nil
}

func (b *fakeBroker) ListSubscriptions(ctx context.Context, f SubscriptionFilter, yield func(Subscription) bool) error {
	if err := b.enter(ctx); err != nil {
		return err
	}
	var all []Subscription
	for _, m := range b.subs {
		for _, s := range m {
			all = append(all, s)
		}
	}
	b.mu.Unlock()
	// Yield in a scrambled order: the API must sort.
	sort.Slice(all, func(i, j int) bool { return all[i].Topic+all[i].ClientID > all[j].Topic+all[j].ClientID })
	for _, s := range all {
		if !yield(s) {
			break
		}
	}
	return nil
}

func (b *fakeBroker) Publish(ctx context.Context, msgs []PublishRequest) ([]PublishResult, error) {
	if err := b.enter(ctx); err != nil {
		return nil, err
	}
	defer b.mu.Unlock()
	out := make([]PublishResult, len(msgs))
	for i, m := range msgs {
		for _, subs := range b.subs {
			for _, s := range subs {
				_, filter, _ := splitShare(s.Topic)
				if topicMatch(filter, m.Topic) {
					out[i].Matched++
				}
			}
		}
		b.published = append(b.published, m)
	}
	return out, nil
}

func (b *fakeBroker) Stats(ctx context.Context) (Stats, error) {
	if err := b.enter(ctx); err != nil {
		return Stats{}, err
	}
	defer b.mu.Unlock()
	var s Stats
	for _, r := range b.clients {
		s.Sessions++
		if r.Connected {
			s.Connections++
			s.LiveConnections++
		}
	}
	for _, m := range b.subs {
		s.Subscriptions += int64(len(m))
	}
	s.ConnectionsMax, s.SessionsMax, s.SubscriptionsMax = s.Connections, s.Sessions, s.Subscriptions
	return s, nil
}

func fromBanEntry(e banned.Entry) Ban {
	return Ban{As: e.As.String(), Who: e.Who, By: e.By, Reason: e.Reason, At: e.At, Until: e.Until}
}

func (b *fakeBroker) Bans(ctx context.Context) ([]Ban, error) {
	if err := b.enter(ctx); err != nil {
		return nil, err
	}
	defer b.mu.Unlock()
	var out []Ban
	for _, e := range b.bans.Entries() {
		out = append(out, fromBanEntry(e))
	}
	return out, nil
}

func (b *fakeBroker) AddBan(ctx context.Context, ban Ban) (Ban, error) {
	if err := b.enter(ctx); err != nil {
		return Ban{}, err
	}
	defer b.mu.Unlock()
	as, ok := banned.ParseKind(ban.As)
	if !ok {
		return Ban{}, fmt.Errorf("%w: kind %q", ErrRejected, ban.As)
	}
	e, err := b.bans.Add(banned.Entry{As: as, Who: ban.Who, By: ban.By, Reason: ban.Reason, At: ban.At, Until: ban.Until})
	var ex *banned.ExistsError
	switch {
	case errors.As(err, &ex):
		return Ban{}, &BanExistsError{Existing: fromBanEntry(ex.Entry)}
	case errors.Is(err, banned.ErrInvalid):
		return Ban{}, fmt.Errorf("%w: %s", ErrRejected, strings.TrimPrefix(err.Error(), banned.ErrInvalid.Error()+": "))
	case err != nil:
		return Ban{}, err
	}
	for id, r := range b.clients {
		ip, _ := netip.ParseAddr(r.IPAddress)
		if r.Connected && e.Matches(id, r.Username, ip) {
			delete(b.clients, id)
			delete(b.subs, id)
			b.kicked = append(b.kicked, id)
			b.cat.Remove([]string{id})
		}
	}
	return fromBanEntry(e), nil
}

func (b *fakeBroker) DeleteBan(ctx context.Context, as, who string) error {
	if err := b.enter(ctx); err != nil {
		return err
	}
	defer b.mu.Unlock()
	k, _ := banned.ParseKind(as)
	if err := b.bans.Delete(k, who); err != nil {
		return fmt.Errorf("%w: %w", ErrBanNotFound, err)
	}
	return nil
}

func (b *fakeBroker) ClearBans(ctx context.Context) error {
	if err := b.enter(ctx); err != nil {
		return err
	}
	defer b.mu.Unlock()
	return b.bans.Clear()
}

func (b *fakeBroker) SetKeepalive(ctx context.Context, id string, secs uint16) (catalog.Row, error) {
	if err := b.enter(ctx); err != nil {
		return catalog.Row{}, err
	}
	defer b.mu.Unlock()
	r, ok := b.clients[id]
	if !ok {
		return catalog.Row{}, fmt.Errorf("fakeBroker: %q: %w", id, ErrClientNotFound)
	}
	if !r.Connected {
		return catalog.Row{}, fmt.Errorf("%w: the client is not connected", ErrRejected)
	}
	r.Keepalive = int64(secs)
	b.clients[id] = r
	return r, nil
}

func (b *fakeBroker) NodeInfo(ctx context.Context) (NodeInfo, error) {
	if err := b.enter(ctx); err != nil {
		return NodeInfo{}, err
	}
	defer b.mu.Unlock()
	n := NodeInfo{Version: "test", Uptime: time.Minute, GoVersion: "go-test"}
	for _, r := range b.clients {
		if r.Connected {
			n.Connections++
			n.LiveConnections++
		}
	}
	return n, nil
}

func (b *fakeBroker) Monitor(ctx context.Context) (Monitor, error) {
	s, err := b.Stats(ctx)
	if err != nil {
		return Monitor{}, err
	}
	return Monitor{Connections: s.Connections, LiveConnections: s.LiveConnections, Sessions: s.Sessions,
		ReceivedMsgRate: int64(len(b.published))}, nil
}

func (b *fakeBroker) Topics(ctx context.Context) ([]string, error) {
	if err := b.enter(ctx); err != nil {
		return nil, err
	}
	defer b.mu.Unlock()
	seen := map[string]bool{}
	var out []string
	for _, subs := range b.subs {
		for t := range subs {
			if _, f, _ := splitShare(t); !seen[f] {
				seen[f] = true
				out = append(out, f)
			}
		}
	}
	sort.Strings(out)
	return out, nil
}

func (b *fakeBroker) RetainedMessages(ctx context.Context, filter string) ([]RetainedMessage, error) {
	if err := b.enter(ctx); err != nil {
		return nil, err
	}
	defer b.mu.Unlock()
	var out []RetainedMessage
	for _, p := range b.published {
		if p.Retain && len(p.Payload) > 0 && (filter == "" || topicMatch(filter, p.Topic)) {
			out = append(out, RetainedMessage{Topic: p.Topic, Payload: p.Payload, QoS: p.QoS})
		}
	}
	return out, nil
}

func (b *fakeBroker) RetainedMessage(ctx context.Context, topic string) (RetainedMessage, bool, error) {
	ms, err := b.RetainedMessages(ctx, topic)
	if err != nil || len(ms) == 0 {
		return RetainedMessage{}, false, err
	}
	return ms[len(ms)-1], true, nil
}

func (b *fakeBroker) DeleteRetained(ctx context.Context, topic string) (bool, error) {
	if err := b.enter(ctx); err != nil {
		return false, err
	}
	defer b.mu.Unlock()
	found := false
	for i, p := range b.published {
		if p.Retain && p.Topic == topic {
			b.published[i].Retain, found = false, true
		}
	}
	return found, nil
}

func (b *fakeBroker) ClientMessages(ctx context.Context, id string, inflight bool, after uint64, limit int) ([]QueuedMessage, uint64, error) {
	if err := b.enter(ctx); err != nil {
		return nil, 0, err
	}
	defer b.mu.Unlock()
	if _, ok := b.clients[id]; !ok {
		return nil, 0, fmt.Errorf("fakeBroker: %q: %w", id, ErrClientNotFound)
	}
	if inflight {
		return nil, 0, nil
	}
	var out []QueuedMessage
	for i, p := range b.published {
		if pos := uint64(i + 1); pos > after && len(out) < limit {
			out = append(out, QueuedMessage{Pos: pos, Topic: p.Topic, Payload: p.Payload, QoS: p.QoS, PublishedAt: time.Unix(1, 0)})
		}
	}
	if len(b.published) == 0 {
		return out, 0, nil
	}
	return out, 1, nil
}

func (b *fakeBroker) AuthzCache(ctx context.Context, id string) ([]AuthzDecision, error) {
	if err := b.enter(ctx); err != nil {
		return nil, err
	}
	defer b.mu.Unlock()
	if _, ok := b.clients[id]; !ok {
		return nil, fmt.Errorf("fakeBroker: %q: %w", id, ErrClientNotFound)
	}
	return []AuthzDecision{{Action: "publish", Topic: "t/1", Allow: true, At: time.Unix(1, 0)}}, nil
}

func (b *fakeBroker) ClearAuthzCache(ctx context.Context, id string) error {
	_, err := b.AuthzCache(ctx, id)
	return err
}

func (b *fakeBroker) Listeners(ctx context.Context) ([]ListenerInfo, error) {
	if err := b.enter(ctx); err != nil {
		return nil, err
	}
	defer b.mu.Unlock()
	return []ListenerInfo{{ID: "tcp:default", Kind: "tcp", Name: "default", Bind: "127.0.0.1:1883", Zone: "default",
		Running: !b.stopped["tcp:default"]}}, nil
}

// ListenerAction knows tcp:default, which it stops and starts, and
// udp:mqttsn, a gateway's listener it refuses to.
func (b *fakeBroker) ListenerAction(ctx context.Context, id, action string) error {
	if err := b.enter(ctx); err != nil {
		return err
	}
	defer b.mu.Unlock()
	switch id {
	case "tcp:default":
	case "udp:mqttsn":
		return fmt.Errorf("%w: udp:mqttsn is a gateway's listener", ErrRejected)
	default:
		return fmt.Errorf("%w: %s", ErrListenerNotFound, id)
	}
	if b.stopped == nil {
		b.stopped = map[string]bool{}
	}
	b.stopped[id] = action == ActionStop
	return nil
}
