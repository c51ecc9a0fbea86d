package wire

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/shardmq/shardmq/catalog"
	"github.com/shardmq/shardmq/httpapi"
	"github.com/shardmq/shardmq/shards"
	"github.com/shardmq/shardmq/shards/cluster"
	"github.com/shardmq/shardmq/shards/store"
)

// Handler is this node's cluster.Handler: the broker's side
// (shards.NodeHandler: forwarded messages, takeovers, retained messages,
// status) and the two parts that need the catalog and the API's commands:
// this node's share of a cluster-wide listing (List) and the commands the
// API of another node routes to this node's clients (Call). Its fields are
// set before the cluster node starts.
type Handler struct {
	Broker  *shards.NodeHandler
	Local   Broker
	Catalog *catalog.Catalog
}

var _ cluster.Handler = (*Handler)(nil)

// Deliver hands forwarded messages to the broker.
func (h *Handler) Deliver(batch []cluster.Forwarded) { h.Broker.Deliver(batch) }

// Takeover ends a session another node took.
func (h *Handler) Takeover(ctx context.Context, id string, discard bool) (*cluster.Session, error) {
	return h.Broker.Takeover(ctx, id, discard)
}

// Retained follows the cluster's retained messages.
func (h *Handler) Retained(m *store.Message) { h.Broker.Retained(m) }

// Status reports this node's figures.
func (h *Handler) Status() cluster.Status { return h.Broker.Status() }

// The kinds of command Call answers, each on one client of this node.
const (
	callClient        = "client"
	callKick          = "kick"
	callSubscribe     = "subscribe"
	callUnsubscribe   = "unsubscribe"
	callSubscriptions = "subscriptions"
	callStats         = "stats"
	callListSubs      = "listsubs"
)

// callRequest and callReply are a routed command and its answer, in JSON.
type callRequest struct {
	ClientID string                      `json:"clientid"`
	SubsOf   *httpapi.SubscriptionFilter `json:"subs_of,omitempty"`
	Subs     []httpapi.SubscribeRequest  `json:"subs,omitempty"`
	Topics   []string                    `json:"topics,omitempty"`
}

type callReply struct {
	NotFound bool                   `json:"notfound,omitempty"`
	Rejected string                 `json:"rejected,omitempty"`
	Row      *catalog.Row           `json:"row,omitempty"`
	Subs     []httpapi.Subscription `json:"subs,omitempty"`
	Stats    *httpapi.Stats         `json:"stats,omitempty"`
}

// Call runs a command another node's API routed here.
func (h *Handler) Call(ctx context.Context, kind string, body []byte) ([]byte, error) {
	var req callRequest
	if err := json.Unmarshal(body, &req); err != nil {
		return nil, fmt.Errorf("wire: call %s: %w", kind, err)
	}
	var rep callReply
	var err error
	switch kind {
	case callClient:
		var row catalog.Row
		if row, err = h.Local.Client(ctx, req.ClientID); err == nil {
			rep.Row = &row
		}
	case callKick:
		err = h.Local.Kick(ctx, req.ClientID)
	case callSubscribe:
		rep.Subs, err = h.Local.Subscribe(ctx, req.ClientID, req.Subs)
	case callUnsubscribe:
		err = h.Local.Unsubscribe(ctx, req.ClientID, req.Topics)
	case callSubscriptions:
		rep.Subs, err = h.Local.Subscriptions(ctx, req.ClientID)
	case callListSubs:
		if req.SubsOf == nil {
			return nil, fmt.Errorf("wire: call %s without a filter", kind)
		}
		rep.Subs = []httpapi.Subscription{}
		err = h.Local.ListSubscriptions(ctx, *req.SubsOf, func(sub httpapi.Subscription) bool {
			rep.Subs = append(rep.Subs, sub)
			return true
		})
	case callStats:
		var st httpapi.Stats
		if st, err = h.Local.Stats(ctx); err == nil {
			rep.Stats = &st
		}
	default:
		return nil, fmt.Errorf("wire: unknown call %q", kind)
	}
	switch {
	case errors.Is(err, httpapi.ErrClientNotFound):
		rep.NotFound = true
	case errors.Is(err, httpapi.ErrRejected):
		rep.Rejected = strings.TrimPrefix(err.Error(), httpapi.ErrRejected.Error()+": ")
	case err != nil:
		return nil, err
	}
	return json.Marshal(&rep)
}

// List answers this node's part of a cluster-wide listing from the
// catalog: the number of its rows matching q.Filter and the first q.Limit
// above q.After in key order (catalog.Filter.RowKey), fetched in pages of
// at most catalog.MaxLimit.
func (h *Handler) List(ctx context.Context, q cluster.Query) (cluster.Page, error) {
	var f catalog.Filter
	if err := json.Unmarshal(q.Filter, &f); err != nil {
		return cluster.Page{}, fmt.Errorf("wire: list filter: %w", err)
	}
	if q.KeysOnly {
		f.Fields = []string{"clientid"} // and the order column, always filled
	}
	var out cluster.Page
	after := q.After
	first := true
	for left := q.Limit; left > 0 || first; {
		f.Limit = max(1, min(left, catalog.MaxLimit))
		f.Cursor = ""
		if after != nil {
			cur, err := h.Catalog.CursorAfterKey(&f, after, 0)
			if err != nil {
				return cluster.Page{}, err
			}
			f.Cursor = cur
		}
		p, err := h.Catalog.List(ctx, f)
		if err != nil {
			return cluster.Page{}, err
		}
		if first {
			out.Count, first = p.Count, false
		}
		for i := range p.Rows {
			if left == 0 {
				break
			}
			r := &p.Rows[i]
			row := cluster.Row{Key: f.RowKey(r)}
			if !q.KeysOnly {
				row.Data = catalog.AppendRow(nil, r)
			}
			out.Rows = append(out.Rows, row)
			left--
		}
		if len(p.Rows) < f.Limit || len(out.Rows) == 0 {
			break
		}
		after = out.Rows[len(out.Rows)-1].Key
	}
	return out, nil
}

// Lister lists the clients of every node of the cluster (httpapi.Lister):
// a scatter-gather over the nodes' catalogs merged by key
// (cluster.Cluster.List), with exact counts and cursors that any node
// continues.
type Lister struct{ Cluster cluster.Cluster }

var _ httpapi.Lister = Lister{}

// errPartial is returned when a running node did not answer: the count
// would not be exact.
var errPartial = errors.New("wire: nodes did not answer the listing")

// List returns one page of the cluster-wide listing of f.
func (l Lister) List(ctx context.Context, f catalog.Filter) (catalog.Page, error) {
	if err := f.Validate(); err != nil {
		return catalog.Page{}, err
	}
	limit, number := f.Limit, f.Page
	if limit == 0 {
		limit = catalog.DefaultLimit
	}
	if number == 0 {
		number = 1
	}
	base := f
	base.Page, base.Limit, base.Cursor, base.Fields = 0, 0, "", nil
	fj, err := json.Marshal(&base)
	if err != nil {
		return catalog.Page{}, err
	}
	q := cluster.Query{Filter: fj, Limit: limit}
	if f.Cursor != "" {
		page, key, err := openCursor(fj, f.Cursor)
		if err != nil {
			return catalog.Page{}, err
		}
		if f.Page != 0 && f.Page != page {
			return catalog.Page{}, &catalog.FieldError{Field: "_page", Reason: "the cursor leads to another page"}
		}
		number, q.After = page, key
	} else {
		q.Skip = (number - 1) * limit
	}
	p, err := l.Cluster.List(ctx, q)
	if err != nil {
		return catalog.Page{}, err
	}
	if len(p.Missing) > 0 {
		return catalog.Page{}, fmt.Errorf("%w (%s): %w", errPartial, strings.Join(p.Missing, ", "), context.DeadlineExceeded)
	}
	out := catalog.Page{Fields: f.Fields, Count: p.Count, Number: number, Rows: make([]catalog.Row, len(p.Rows))}
	for i, r := range p.Rows {
		if err := catalog.DecodeRow(r.Data, &out.Rows[i]); err != nil {
			return catalog.Page{}, fmt.Errorf("wire: listing row: %w", err)
		}
	}
	out.HasNext = len(p.Rows) == limit && int64(number)*int64(limit) < p.Count
	if out.HasNext {
		out.NextCursor = sealCursor(fj, number+1, p.Rows[len(p.Rows)-1].Key)
	}
	return out, nil
}

// A cluster cursor is base64url(version ‖ the first 8 bytes of the
// SHA-256 of the filter ‖ uvarint page ‖ key): any node continues it, so
// it carries no node's secret; a changed key only moves the page.
const clusterCursorVersion = 0xC1

func sealCursor(filter []byte, page int, key []byte) string {
	sum := sha256.Sum256(filter)
	b := append([]byte{clusterCursorVersion}, sum[:8]...)
	b = binary.AppendUvarint(b, uint64(page))
	return base64.RawURLEncoding.EncodeToString(append(b, key...))
}

func openCursor(filter []byte, tok string) (int, []byte, error) {
	bad := func(reason string) error {
		return fmt.Errorf("%w: %w", catalog.ErrInvalidCursor, &catalog.FieldError{Field: "cursor", Reason: reason})
	}
	b, err := base64.RawURLEncoding.DecodeString(tok)
	if err != nil || len(b) < 10 || b[0] != clusterCursorVersion {
		return 0, nil, bad("malformed; pass meta.cursor back unchanged")
	}
	sum := sha256.Sum256(filter)
	if !bytes.Equal(b[1:9], sum[:8]) {
		return 0, nil, bad("issued for another filter or order")
	}
	page, n := binary.Uvarint(b[9:])
	if n <= 0 || page < 2 || page > 1<<31 {
		return 0, nil, bad("malformed; pass meta.cursor back unchanged")
	}
	return int(page), b[9+n:], nil
}

// ClusterBroker is httpapi.Broker for a node of a cluster: a command on
// one client runs where the client's session is, this node or the owner
// the cluster names (cluster.Cluster.Call); the rest is this node's.
type ClusterBroker struct {
	Broker
	Cluster cluster.Cluster
}

var _ httpapi.Broker = ClusterBroker{}

// remote runs kind for id on the node that owns its session when this
// node has none: ErrClientNotFound when no node has it.
func (c ClusterBroker) remote(ctx context.Context, kind string, req callRequest) (callReply, error) {
	owner, err := c.Cluster.Owner(ctx, req.ClientID)
	if err != nil {
		// The registry did not answer (a node restarting, the
		// cluster regaining its quorum): the API says 503, not 500.
		return callReply{}, fmt.Errorf("%w: who owns %s: %w", httpapi.ErrTimeout, req.ClientID, err)
	}
	if owner == "" || owner == c.Node {
		return callReply{}, fmt.Errorf("%w: %s", httpapi.ErrClientNotFound, req.ClientID)
	}
	body, err := json.Marshal(&req)
	if err != nil {
		return callReply{}, err
	}
	out, err := c.Cluster.Call(ctx, owner, kind, body)
	if errors.Is(err, cluster.ErrNodeStopped) || errors.Is(err, cluster.ErrUnknownNode) {
		return callReply{}, fmt.Errorf("%w: %s (its node %s is stopped)", httpapi.ErrClientNotFound, req.ClientID, owner)
	}
	if err != nil {
		return callReply{}, fmt.Errorf("%w: %s on node %s: %w", httpapi.ErrTimeout, kind, owner, err)
	}
	var rep callReply
	if err := json.Unmarshal(out, &rep); err != nil {
		return callReply{}, err
	}
	switch {
	case rep.NotFound:
		return rep, fmt.Errorf("%w: %s", httpapi.ErrClientNotFound, req.ClientID)
	case rep.Rejected != "":
		return rep, fmt.Errorf("%w: %s", httpapi.ErrRejected, rep.Rejected)
	}
	return rep, nil
}

// Client reads one client live where its session is.
func (c ClusterBroker) Client(ctx context.Context, id string) (catalog.Row, error) {
	row, err := c.Broker.Client(ctx, id)
	if !errors.Is(err, httpapi.ErrClientNotFound) {
		return row, err
	}
	rep, err := c.remote(ctx, callClient, callRequest{ClientID: id})
	if err != nil || rep.Row == nil {
		return catalog.Row{}, cmpErr(err, id)
	}
	return *rep.Row, nil
}

// Kick kicks the client where its session is.
func (c ClusterBroker) Kick(ctx context.Context, id string) error {
	err := c.Broker.Kick(ctx, id)
	if !errors.Is(err, httpapi.ErrClientNotFound) {
		return err
	}
	_, err = c.remote(ctx, callKick, callRequest{ClientID: id})
	return err
}

// Subscribe subscribes the client where its session is.
func (c ClusterBroker) Subscribe(ctx context.Context, id string, reqs []httpapi.SubscribeRequest) ([]httpapi.Subscription, error) {
	subs, err := c.Broker.Subscribe(ctx, id, reqs)
	if !errors.Is(err, httpapi.ErrClientNotFound) {
		return subs, err
	}
	rep, err := c.remote(ctx, callSubscribe, callRequest{ClientID: id, Subs: reqs})
	return rep.Subs, err
}

// Unsubscribe unsubscribes the client where its session is.
func (c ClusterBroker) Unsubscribe(ctx context.Context, id string, topics []string) error {
	err := c.Broker.Unsubscribe(ctx, id, topics)
	if !errors.Is(err, httpapi.ErrClientNotFound) {
		return err
	}
	_, err = c.remote(ctx, callUnsubscribe, callRequest{ClientID: id, Topics: topics})
	return err
}

// Subscriptions lists the client's subscriptions where its session is.
func (c ClusterBroker) Subscriptions(ctx context.Context, id string) ([]httpapi.Subscription, error) {
	subs, err := c.Broker.Subscriptions(ctx, id)
	if !errors.Is(err, httpapi.ErrClientNotFound) {
		return subs, err
	}
	rep, err := c.remote(ctx, callSubscriptions, callRequest{ClientID: id})
	return rep.Subs, err
}

// ListSubscriptions lists the subscriptions f selects on every running
// node: this node's, then each other node's in turn (its whole answer in
// one reply); with a client id, only the node that holds the session.
func (c ClusterBroker) ListSubscriptions(ctx context.Context, f httpapi.SubscriptionFilter, yield func(httpapi.Subscription) bool) error {
	if f.ClientID != "" {
		subs, err := c.Subscriptions(ctx, f.ClientID)
		if errors.Is(err, httpapi.ErrClientNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		for _, s := range subs {
			if !yield(s) {
				return nil
			}
		}
		return nil
	}
	more := true
	if err := c.Broker.ListSubscriptions(ctx, f, func(s httpapi.Subscription) bool {
		more = yield(s)
		return more
	}); err != nil || !more {
		return err
	}
	body, err := json.Marshal(&callRequest{SubsOf: &f})
	if err != nil {
		return err
	}
	for _, n := range c.Cluster.Nodes() {
		if !n.Running || n.Name == c.Node {
			continue
		}
		out, err := c.Cluster.Call(ctx, n.Name, callListSubs, body)
		if errors.Is(err, cluster.ErrNodeStopped) {
			continue // its subscriptions went with it
		}
		if err != nil {
			return err
		}
		var rep callReply
		if err := json.Unmarshal(out, &rep); err != nil {
			return err
		}
		for _, s := range rep.Subs {
			if !yield(s) {
				return nil
			}
		}
	}
	return nil
}

// Nodes lists every node the cluster has seen, this one first.
func (c ClusterBroker) Nodes(context.Context) ([]httpapi.Node, error) {
	var out []httpapi.Node
	for _, n := range c.Cluster.Nodes() {
		out = append(out, httpapi.Node{Name: n.Name, Version: n.Version, Running: n.Running,
			UptimeMillis: n.Uptime * 1000, Connections: n.Connections})
	}
	return out, nil
}

// NodeStats asks every running node for its counts, this one included,
// at once.
func (c ClusterBroker) NodeStats(ctx context.Context) ([]httpapi.NodeStats, error) {
	var names []string
	for _, n := range c.Cluster.Nodes() {
		if n.Running && n.Name != c.Node {
			names = append(names, n.Name)
		}
	}
	out := make([]httpapi.NodeStats, 1+len(names))
	errs := make([]error, len(names))
	var wg sync.WaitGroup
	for i, name := range names {
		wg.Add(1)
		go func() {
			defer wg.Done()
			out[i+1].Node = name
			b, err := c.Cluster.Call(ctx, name, callStats, []byte("{}"))
			var rep callReply
			if err == nil {
				err = json.Unmarshal(b, &rep)
			}
			if err == nil && rep.Stats == nil {
				err = fmt.Errorf("wire: node %s sent no stats", name)
			}
			if err == nil {
				out[i+1].Stats = *rep.Stats
			}
			errs[i] = err
		}()
	}
	st, err := c.Broker.Stats(ctx)
	wg.Wait()
	if err != nil {
		return nil, err
	}
	out[0] = httpapi.NodeStats{Node: c.Node, Stats: st}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return out, nil
}

// cmpErr returns err, or ErrClientNotFound for id when err is nil.
func cmpErr(err error, id string) error {
	if err != nil {
		return err
	}
	return fmt.Errorf("%w: %s", httpapi.ErrClientNotFound, id)
}
