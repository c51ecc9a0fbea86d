// Package wire connects the broker (shards) to the catalog and the HTTP API (httpapi)
// without either knowing the other: it converts the broker's client rows into catalog rows
// (the snapshot sink the shards define) and adapts *shards.Broker to httpapi.Broker. Only
// cmd/shardmq and end-to-end tests import it.
package wire

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/shardmq/shardmq/catalog"
	"github.com/shardmq/shardmq/httpapi"
	"github.com/shardmq/shardmq/mqtt"
	"github.com/shardmq/shardmq/shards"
	"github.com/shardmq/shardmq/shards/auth"
	"github.com/shardmq/shardmq/shards/banned"
	"github.com/shardmq/shardmq/shards/retained"
)

// ConvertRow turns a broker row into a catalog row; the two mirror each
// other field for field.
func ConvertRow(r *shards.ClientRow) catalog.Row {
	return catalog.Row{
		Node: r.Node, ClientID: r.ClientID, Username: r.Username, ProtoName: r.ProtoName, ProtoVer: r.ProtoVer,
		IPAddress: r.IPAddress, Port: r.Port, Listener: r.Listener, IsBridge: r.IsBridge,
		IsPersistent: r.IsPersistent, EnableAuthn: r.EnableAuthn, PeerSNI: r.PeerSNI, CN: r.CN, DN: r.DN,
		TenantIDFrom: r.TenantIDFrom, Zone: r.Zone, Connected: r.Connected, ConnState: catalog.ConnState(r.ConnState),
		ConnectedAt: r.ConnectedAt, DisconnectedAt: r.DisconnectedAt, CreatedAt: r.CreatedAt,
		Keepalive: r.Keepalive, CleanStart: r.CleanStart, ExpiryInterval: r.ExpiryInterval,
		Counters: catalog.Counters(r.Counters),
	}
}

// Sink feeds the broker's snapshots into the catalog; it implements shards.SnapshotSink.
type Sink struct{ Catalog *catalog.Catalog }

var _ shards.SnapshotSink = Sink{}

// Upsert writes whole rows: lifecycle changes (connect, disconnect, subscriptions).
func (s Sink) Upsert(rows []shards.ClientRow) {
	out := make([]catalog.Row, len(rows))
	for i := range rows {
		out[i] = ConvertRow(&rows[i])
	}
	s.Catalog.Upsert(out)
}

// UpdateStats writes changed counters.
func (s Sink) UpdateStats(updates []shards.StatsUpdate) {
	out := make([]catalog.StatsUpdate, len(updates))
	for i, u := range updates {
		out[i] = catalog.StatsUpdate{ClientID: u.ClientID, Counters: catalog.Counters(u.Counters)}
	}
	s.Catalog.UpdateStats(out)
}

// Remove deletes the rows of discarded or expired sessions.
func (s Sink) Remove(ids []string) { s.Catalog.Remove(ids) }

// Broker adapts *shards.Broker to httpapi.Broker (and httpapi.NodeView,
// for a node alone). Node names this node on subscription objects and in
// GET /nodes, with Version. BanList is the ban list the broker consults
// (shards.Config.Banned); without one, the API lists no bans and refuses
// to add any.
type Broker struct {
	Broker  *shards.Broker
	Node    string
	Version string
	BanList *banned.List
	// ListenerList returns the MQTT listeners (cmd knows them and their
	// bound addresses); nil lists none.
	ListenerList func() []httpapi.ListenerInfo
	// ListenerControl runs an httpapi listener action (ActionStop,
	// ActionStart, ActionRestart) on a listener of this node, answering
	// httpapi's errors; nil knows no listener.
	ListenerControl func(id, action string) error
}

var (
	_ httpapi.Broker   = Broker{}
	_ httpapi.NodeView = Broker{}
)

// Nodes lists this node, the only one.
func (a Broker) Nodes(ctx context.Context) ([]httpapi.Node, error) {
	st, err := a.Broker.Stats(ctx)
	if err != nil {
		return nil, mapErr(err)
	}
	return []httpapi.Node{{Name: a.Node, Version: a.Version, Running: true,
		UptimeMillis: a.Broker.Uptime().Milliseconds(), Connections: st.LiveConnections}}, nil
}

// NodeStats returns this node's counts, the only node's.
func (a Broker) NodeStats(ctx context.Context) ([]httpapi.NodeStats, error) {
	st, err := a.Stats(ctx)
	if err != nil {
		return nil, err
	}
	return []httpapi.NodeStats{{Node: a.Node, Stats: st}}, nil
}

// mapErr maps the broker's errors onto the API's sentinels.
func mapErr(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, shards.ErrClientNotFound):
		return fmt.Errorf("%w: %w", httpapi.ErrClientNotFound, err)
	case errors.Is(err, shards.ErrTooManySubscriptions):
		return fmt.Errorf("%w: subscriptions_max reached", httpapi.ErrRejected)
	case errors.Is(err, shards.ErrNotConnected):
		return fmt.Errorf("%w: the client is not connected; keep alive belongs to a connection", httpapi.ErrRejected)
	case errors.Is(err, shards.ErrNotServing):
		return fmt.Errorf("%w: %w", httpapi.ErrTimeout, err)
	}
	return err
}

// Client reads one client live from its owning shard.
func (a Broker) Client(ctx context.Context, id string) (catalog.Row, error) {
	r, err := a.Broker.ClientInfo(ctx, id)
	if err != nil {
		return catalog.Row{}, mapErr(err)
	}
	return ConvertRow(&r), nil
}

// Kick disconnects a client (v5 DISCONNECT 0x98) and discards its session.
func (a Broker) Kick(ctx context.Context, id string) error { return mapErr(a.Broker.Kick(ctx, id)) }

func toSubscription(node string, s shards.Subscription) httpapi.Subscription {
	o := s.Options
	return httpapi.Subscription{Node: node, ClientID: s.ClientID, Topic: s.Topic, QoS: o.QoS,
		NL: b2u(o.NoLocal), RAP: b2u(o.RetainAsPublished), RH: o.RetainHandling}
}

// toSubscriptions converts a client's subscriptions for the API.
func toSubscriptions(node string, subs []shards.Subscription) []httpapi.Subscription {
	out := make([]httpapi.Subscription, len(subs))
	for i, s := range subs {
		out[i] = toSubscription(node, s)
	}
	return out
}

func b2u(b bool) byte {
	if b {
		return 1
	}
	return 0
}

// Subscribe subscribes a client, all or nothing, before it returns.
func (a Broker) Subscribe(ctx context.Context, id string, reqs []httpapi.SubscribeRequest) ([]httpapi.Subscription, error) {
	in := make([]shards.SubscribeRequest, len(reqs))
	for i, r := range reqs {
		in[i] = shards.SubscribeRequest{Topic: r.Topic, Options: shards.SubOptions{
			QoS: r.QoS, NoLocal: r.NL == 1, RetainAsPublished: r.RAP == 1, RetainHandling: r.RH}}
	}
	subs, err := a.Broker.Subscribe(ctx, id, in)
	if err != nil {
		return nil, mapErr(err)
	}
	return toSubscriptions(a.Node, subs), nil
}

// Unsubscribe removes a client's subscriptions to topics.
func (a Broker) Unsubscribe(ctx context.Context, id string, topics []string) error {
	return mapErr(a.Broker.Unsubscribe(ctx, id, topics))
}

// Subscriptions lists one client's subscriptions.
func (a Broker) Subscriptions(ctx context.Context, id string) ([]httpapi.Subscription, error) {
	subs, err := a.Broker.Subscriptions(ctx, id)
	if err != nil {
		return nil, mapErr(err)
	}
	return toSubscriptions(a.Node, subs), nil
}

// ListSubscriptions lists the subscriptions f may select in one call to
// the broker: with a client id, that client's from its owning shard (an
// unknown client has none); otherwise every session's, which
// shards.Broker.ListSubscriptions collects shard by shard. httpapi applies
// the rest of f.
func (a Broker) ListSubscriptions(ctx context.Context, f httpapi.SubscriptionFilter, yield func(httpapi.Subscription) bool) error {
	if f.ClientID != "" {
		subs, err := a.Broker.Subscriptions(ctx, f.ClientID)
		if errors.Is(err, shards.ErrClientNotFound) {
			return nil
		}
		if err != nil {
			return mapErr(err)
		}
		for _, s := range subs {
			if !yield(toSubscription(a.Node, s)) {
				return nil
			}
		}
		return nil
	}
	return mapErr(a.Broker.ListSubscriptions(ctx, func(s shards.Subscription) bool {
		return yield(toSubscription(a.Node, s))
	}))
}

// Publish publishes messages as the API (no client), reporting how many subscribers matched.
func (a Broker) Publish(ctx context.Context, msgs []httpapi.PublishRequest) ([]httpapi.PublishResult, error) {
	out := make([]httpapi.PublishResult, len(msgs))
	for i, m := range msgs {
		req := shards.PublishRequest{Topic: m.Topic, Payload: m.Payload, QoS: m.QoS, Retain: m.Retain}
		p := &req.Properties
		if v := m.Properties.PayloadFormatIndicator; v != nil {
			p.Present.Add(mqtt.PropPayloadFormat)
			p.PayloadFormat = *v
		}
		if v := m.Properties.MessageExpiryInterval; v != nil {
			p.Present.Add(mqtt.PropMessageExpiry)
			p.MessageExpiry = *v
		}
		if v := m.Properties.ContentType; v != "" {
			p.Present.Add(mqtt.PropContentType)
			p.ContentType = []byte(v)
		}
		if v := m.Properties.ResponseTopic; v != "" {
			p.Present.Add(mqtt.PropResponseTopic)
			p.ResponseTopic = []byte(v)
		}
		if v := m.Properties.CorrelationData; v != nil {
			p.Present.Add(mqtt.PropCorrelationData)
			p.CorrelationData = v
		}
		for _, kv := range m.Properties.UserProperties {
			p.User = append(p.User, mqtt.UserProperty{Key: []byte(kv[0]), Value: []byte(kv[1])})
		}
		n, err := a.Broker.Publish(ctx, req)
		if err != nil {
			return nil, mapErr(err)
		}
		out[i].Matched = n
	}
	return out, nil
}

// Stats reports the broker's counts and their high-water marks since the
// broker started (tracked by the broker as the counts change).
func (a Broker) Stats(ctx context.Context) (httpapi.Stats, error) {
	bs, err := a.Broker.Stats(ctx)
	if err != nil {
		return httpapi.Stats{}, mapErr(err)
	}
	return httpapi.Stats{
		Connections: bs.Connections, ConnectionsMax: bs.ConnectionsMax,
		LiveConnections: bs.LiveConnections, LiveConnectionsMax: bs.LiveConnectionsMax,
		Sessions: bs.Sessions, SessionsMax: bs.SessionsMax,
		Subscriptions: bs.Subscriptions, SubscriptionsMax: bs.SubscriptionsMax,
		SubscriptionsShared: bs.SubscriptionsShared, SubscriptionsSharedMax: bs.SubscriptionsSharedMax,
		Topics: bs.Topics, TopicsMax: bs.TopicsMax,
		Retained: bs.Retained, RetainedMax: bs.RetainedMax,
	}, nil
}

// fromBanEntry converts a ban list entry to the API's.
func fromBanEntry(e banned.Entry) httpapi.Ban {
	return httpapi.Ban{As: e.As.String(), Who: e.Who, By: e.By, Reason: e.Reason, At: e.At, Until: e.Until}
}

// errNoBanList is AddBan's error when the broker runs without a list.
var errNoBanList = fmt.Errorf("%w: the broker runs without a ban list", httpapi.ErrRejected)

// Bans implements httpapi.Broker.
func (b Broker) Bans(ctx context.Context) ([]httpapi.Ban, error) {
	if b.BanList == nil {
		return nil, nil
	}
	entries := b.BanList.Entries()
	out := make([]httpapi.Ban, len(entries))
	for i, e := range entries {
		out[i] = fromBanEntry(e)
	}
	return out, nil
}

// AddBan implements httpapi.Broker: the entry goes on the list (and into
// its file) first, so that no CONNECT it bans gets through from then on,
// then the clients it bans that are connected are kicked.
func (b Broker) AddBan(ctx context.Context, ban httpapi.Ban) (httpapi.Ban, error) {
	if b.BanList == nil {
		return httpapi.Ban{}, errNoBanList
	}
	as, ok := banned.ParseKind(ban.As)
	if !ok {
		return httpapi.Ban{}, fmt.Errorf("%w: %q is not a kind of ban", httpapi.ErrRejected, ban.As)
	}
	e, err := b.BanList.Add(banned.Entry{As: as, Who: ban.Who, By: ban.By, Reason: ban.Reason, At: ban.At, Until: ban.Until})
	var ex *banned.ExistsError
	switch {
	case errors.As(err, &ex):
		return httpapi.Ban{}, &httpapi.BanExistsError{Existing: fromBanEntry(ex.Entry)}
	case errors.Is(err, banned.ErrInvalid):
		return httpapi.Ban{}, fmt.Errorf("%w: %s", httpapi.ErrRejected, strings.TrimPrefix(err.Error(), banned.ErrInvalid.Error()+": "))
	case err != nil:
		return httpapi.Ban{}, err
	}
	if _, err := b.Broker.KickMatching(ctx, e.Matches); err != nil {
		return httpapi.Ban{}, mapErr(err)
	}
	return fromBanEntry(e), nil
}

// DeleteBan implements httpapi.Broker.
func (b Broker) DeleteBan(ctx context.Context, as, who string) error {
	k, ok := banned.ParseKind(as)
	if b.BanList == nil || !ok {
		return httpapi.ErrBanNotFound
	}
	if err := b.BanList.Delete(k, who); err != nil {
		if errors.Is(err, banned.ErrNotFound) {
			return fmt.Errorf("%w: %w", httpapi.ErrBanNotFound, err)
		}
		return err
	}
	return nil
}

// ClearBans implements httpapi.Broker.
func (b Broker) ClearBans(ctx context.Context) error {
	if b.BanList == nil {
		return nil
	}
	return b.BanList.Clear()
}

// SetKeepalive implements httpapi.Broker.
func (a Broker) SetKeepalive(ctx context.Context, id string, secs uint16) (catalog.Row, error) {
	r, err := a.Broker.SetKeepalive(ctx, id, secs)
	if err != nil {
		return catalog.Row{}, mapErr(err)
	}
	return ConvertRow(&r), nil
}

// Topics implements httpapi.Broker.
func (b Broker) Topics(ctx context.Context) ([]string, error) {
	t, err := b.Broker.Topics(ctx)
	return t, mapErr(err)
}

func toRetained(m *retained.Message) httpapi.RetainedMessage {
	return httpapi.RetainedMessage{Topic: m.Topic, Payload: m.Payload, QoS: m.QoS, From: m.From, Stored: m.Stored}
}

// RetainedMessages implements httpapi.Broker: the store's matches of
// filter (every message for "").
func (b Broker) RetainedMessages(ctx context.Context, filter string) ([]httpapi.RetainedMessage, error) {
	var ms []*retained.Message
	if filter == "" {
		ms = b.Broker.Retained().All(time.Now(), nil)
	} else {
		ms = b.Broker.Retained().Match(filter, time.Now(), nil)
	}
	out := make([]httpapi.RetainedMessage, len(ms))
	for i, m := range ms {
		out[i] = toRetained(m)
	}
	return out, nil
}

// RetainedMessage implements httpapi.Broker.
func (b Broker) RetainedMessage(ctx context.Context, topic string) (httpapi.RetainedMessage, bool, error) {
	m := b.Broker.Retained().Get(topic)
	if m == nil || m.Expired(time.Now()) {
		return httpapi.RetainedMessage{}, false, nil
	}
	return toRetained(m), true, nil
}

// DeleteRetained implements httpapi.Broker.
func (b Broker) DeleteRetained(ctx context.Context, topic string) (bool, error) {
	found, err := b.Broker.DeleteRetained(ctx, topic)
	return found, mapErr(err)
}

// ClientMessages implements httpapi.Broker.
func (a Broker) ClientMessages(ctx context.Context, id string, inflight bool, after uint64, limit int) ([]httpapi.QueuedMessage, uint64, error) {
	ms, first, err := a.Broker.QueuedMessages(ctx, id, after, limit, inflight)
	if err != nil {
		return nil, 0, mapErr(err)
	}
	out := make([]httpapi.QueuedMessage, len(ms))
	for i, m := range ms {
		out[i] = httpapi.QueuedMessage{Pos: m.Pos, Topic: m.Topic, Payload: m.Payload, QoS: m.QoS, From: m.From,
			PublishedAt: time.Unix(0, m.PublishedAt)}
	}
	return out, first, nil
}

// AuthzCache implements httpapi.Broker.
func (a Broker) AuthzCache(ctx context.Context, id string) ([]httpapi.AuthzDecision, error) {
	es, err := a.Broker.AuthzCache(ctx, id)
	if err != nil {
		return nil, mapErr(err)
	}
	out := make([]httpapi.AuthzDecision, len(es))
	for i, e := range es {
		act := "subscribe"
		if e.Action == auth.Publish {
			act = "publish"
		}
		out[i] = httpapi.AuthzDecision{Action: act, Topic: e.Topic, Allow: e.Allow, At: time.UnixMilli(e.At)}
	}
	return out, nil
}

// ClearAuthzCache implements httpapi.Broker.
func (a Broker) ClearAuthzCache(ctx context.Context, id string) error {
	return mapErr(a.Broker.ClearAuthzCache(ctx, id))
}

// ListenerAction implements httpapi.Broker: on this node only, as GET
// /listeners lists this node's listeners.
func (a Broker) ListenerAction(_ context.Context, id, action string) error {
	if a.ListenerControl == nil {
		return fmt.Errorf("%w: %s", httpapi.ErrListenerNotFound, id)
	}
	return a.ListenerControl(id, action)
}

// Listeners implements httpapi.Broker.
func (a Broker) Listeners(ctx context.Context) ([]httpapi.ListenerInfo, error) {
	if a.ListenerList == nil {
		return nil, nil
	}
	return a.ListenerList(), nil
}
