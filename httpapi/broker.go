package httpapi

import (
	"context"

	"github.com/shardmq/shardmq/catalog"
)

// Broker is what the API needs from the broker: live single-client reads and
// every command, each answered by the session's owner. The broker (wired in
// cmd) implements it; httpapi never imports the broker.
//
// Every method must honour ctx: when ctx is done the method returns
// ctx.Err() (or an error wrapping ErrTimeout), and the handler answers 503.
// Errors for an unknown client wrap ErrClientNotFound (404); errors wrapping
// ErrRejected are a 400 with the error's text; any other error is a 500
// whose text is not shown to the caller. Methods are called concurrently
// from many request goroutines.
type Broker interface {
	// Client returns the live row of one client (connected or with an
	// offline session), reflecting everything that happened before the
	// call.
	Client(ctx context.Context, clientid string) (catalog.Row, error)
	// Kick closes the client's connection (MQTT 5: DISCONNECT 0x98) and
	// discards its session.
	Kick(ctx context.Context, clientid string) error
	// ClientMessages returns up to limit messages of the client's queue
	// (or, with inflight, its inflight window) after position after (0:
	// from the first), and the position of the first one there (0 when
	// there is none).
	ClientMessages(ctx context.Context, clientid string, inflight bool, after uint64, limit int) ([]QueuedMessage, uint64, error)
	// AuthzCache returns the authorization decisions the client's session
	// keeps (none without an ACL); ClearAuthzCache forgets them.
	AuthzCache(ctx context.Context, clientid string) ([]AuthzDecision, error)
	ClearAuthzCache(ctx context.Context, clientid string) error
	// SetKeepalive changes the keep alive of the client's connection to
	// secs seconds (0: none) and returns its row; an offline session is an
	// error wrapping ErrRejected.
	SetKeepalive(ctx context.Context, clientid string, secs uint16) (catalog.Row, error)
	// Subscribe applies subs to the client's session, all or nothing, before
	// it returns: a message published afterwards to a matching topic reaches
	// the client (or its offline queue). subs are already validated. It
	// returns one Subscription per request, in order.
	Subscribe(ctx context.Context, clientid string, subs []SubscribeRequest) ([]Subscription, error)
	// Unsubscribe removes topic filters from the client's session; filters
	// it does not hold are ignored.
	Unsubscribe(ctx context.Context, clientid string, topics []string) error
	// Subscriptions returns the client's subscriptions in any order.
	Subscriptions(ctx context.Context, clientid string) ([]Subscription, error)
	// ListSubscriptions calls yield for every subscription of every session
	// that matches f (it may also yield ones that do not: httpapi filters
	// again), in any order, one call at a time, and stops early when yield
	// returns false. yield must not be called after ListSubscriptions
	// returns.
	ListSubscriptions(ctx context.Context, f SubscriptionFilter, yield func(Subscription) bool) error
	// Publish publishes msgs in order, as the broker itself would on behalf
	// of a client; msgs are already validated. It returns one result per
	// message.
	Publish(ctx context.Context, msgs []PublishRequest) ([]PublishResult, error)
	// Stats returns the broker's current counts.
	Stats(ctx context.Context) (Stats, error)
	// Listeners returns the MQTT listeners, in the order they are
	// configured.
	Listeners(ctx context.Context) ([]ListenerInfo, error)
	// ListenerAction runs action (ActionStop, ActionStart or
	// ActionRestart) on this node's MQTT listener id (KIND:NAME), and
	// returns once it is done: ErrListenerNotFound when no listener has
	// the id, ErrRejected (its text shown) when the listener cannot do it
	// (a gateway's, a port taken on start).
	ListenerAction(ctx context.Context, id, action string) error
	// NodeInfo returns this node's information for GET /nodes.
	NodeInfo(ctx context.Context) (NodeInfo, error)
	// Monitor returns the current counts and per-second rates.
	Monitor(ctx context.Context) (Monitor, error)

	// Topics returns the topic filters subscribed to on this node, each
	// once, shared ones without their $share/{group}/ prefix.
	Topics(ctx context.Context) ([]string, error)
	// RetainedMessages returns the retained messages (not expired) whose
	// topic filter matches, or all of them for "", in any order.
	RetainedMessages(ctx context.Context, filter string) ([]RetainedMessage, error)
	// RetainedMessage returns the message retained at topic, if any.
	RetainedMessage(ctx context.Context, topic string) (RetainedMessage, bool, error)
	// DeleteRetained removes the message retained at topic and reports
	// whether there was one.
	DeleteRetained(ctx context.Context, topic string) (bool, error)

	// Bans returns the bans in force, ordered by As (in the order
	// clientid, username, peerhost, clientid_re, username_re,
	// peerhost_net), then Who.
	Bans(ctx context.Context) ([]Ban, error)
	// AddBan puts b on the ban list and applies it before it returns: a
	// CONNECT it bans is refused, and the connected clients it bans are
	// kicked. It returns the ban as kept (Who in canonical form, At and
	// By filled in when zero). An active ban of the same As and Who is a
	// *BanExistsError; a Who that does not parse for its As (an address,
	// a network, an expression) is an error wrapping ErrRejected whose
	// text says why.
	AddBan(ctx context.Context, b Ban) (Ban, error)
	// DeleteBan lifts the ban of as and who (in any form AddBan takes);
	// ErrBanNotFound when there is none in force.
	DeleteBan(ctx context.Context, as, who string) error
	// ClearBans lifts every ban.
	ClearBans(ctx context.Context) error
}

// SubscribeRequest is one subscription to make on behalf of a client. Topic
// is a valid topic filter, possibly "$share/{group}/{filter}".
type SubscribeRequest struct {
	Topic string
	// QoS is the maximum QoS, 0..2.
	QoS byte
	// NL is No Local, 0 or 1 (0 for a shared subscription).
	NL byte
	// RAP is Retain As Published, 0 or 1.
	RAP byte
	// RH is Retain Handling, 0..2.
	RH byte
}

// Subscription is one subscription of a session.
type Subscription struct {
	// Node is the node that owns the session.
	Node     string
	ClientID string
	// Topic is the topic filter as subscribed, including a "$share/{group}/"
	// prefix.
	Topic string
	QoS   byte
	NL    byte
	RAP   byte
	RH    byte
}

// SubscriptionFilter selects subscriptions for GET /subscriptions; every
// non-zero field must match (AND).
type SubscriptionFilter struct {
	// ClientID matches the owning client exactly.
	ClientID string
	// Topic matches the subscribed topic filter exactly (without the
	// "$share/{group}/" prefix for shared subscriptions).
	Topic string
	// QoS, when HasQoS, matches the subscription's maximum QoS.
	QoS    byte
	HasQoS bool
	// ShareGroup matches shared subscriptions of that group.
	ShareGroup string
	// MatchTopic is a topic name; it selects subscriptions whose filter
	// matches it.
	MatchTopic string
}

// Matches reports whether s passes f. A Broker may use it to filter, or
// filter better with its own index; httpapi applies it again to whatever
// the Broker yields.
func (f SubscriptionFilter) Matches(s Subscription) bool {
	if f.ClientID != "" && s.ClientID != f.ClientID {
		return false
	}
	if f.HasQoS && s.QoS != f.QoS {
		return false
	}
	group, filter, shared := splitShare(s.Topic)
	if f.Topic != "" && filter != f.Topic {
		return false
	}
	if f.ShareGroup != "" && (!shared || group != f.ShareGroup) {
		return false
	}
	if f.MatchTopic != "" && !topicMatch(filter, f.MatchTopic) {
		return false
	}
	return true
}

// PublishRequest is one message to publish, validated.
type PublishRequest struct {
	// ID is the message's unique id (32 hex digits), as returned to the
	// caller.
	ID      string
	Topic   string
	Payload []byte
	QoS     byte
	Retain  bool
	// Properties are the MQTT 5 properties the message carries.
	Properties PublishProperties
}

// PublishProperties are the MQTT 5 PUBLISH properties settable through the
// API. A nil pointer or empty value means absent.
type PublishProperties struct {
	PayloadFormatIndicator *byte
	MessageExpiryInterval  *uint32
	ResponseTopic          string
	CorrelationData        []byte
	ContentType            string
	// UserProperties are name/value pairs, sorted by name.
	UserProperties [][2]string
}

// PublishResult is the outcome of one published message.
type PublishResult struct {
	// Matched is the number of subscriptions the message matched; zero
	// means no matching subscribers (HTTP 202 with reason code 16, as EMQX
	// does).
	Matched int
}

// Stats are broker-wide counts for GET /stats, in EMQX's names; each Max is
// the highest value the count has reached since start.
type Stats struct {
	Connections, ConnectionsMax                 int64
	LiveConnections, LiveConnectionsMax         int64
	Sessions, SessionsMax                       int64
	Subscriptions, SubscriptionsMax             int64
	SubscriptionsShared, SubscriptionsSharedMax int64
	Topics, TopicsMax                           int64
	Retained, RetainedMax                       int64
}
