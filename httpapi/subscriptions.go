package httpapi

import (
	"cmp"
	"container/heap"
	"context"
	"encoding/base64"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/julienschmidt/httprouter"
	"github.com/shardmq/shardmq/catalog"
)

// compareSubscriptions orders subscriptions by client id, then topic: the
// stable order of every subscription listing.
func compareSubscriptions(a, b Subscription) int {
	if c := cmp.Compare(a.ClientID, b.ClientID); c != 0 {
		return c
	}
	return cmp.Compare(a.Topic, b.Topic)
}

// clientSubscriptions serves GET /clients/{clientid}/subscriptions: the
// client's subscriptions as a JSON array ordered by topic, as EMQX 5 does.
func (a *API) clientSubscriptions(w http.ResponseWriter, r *http.Request, ps httprouter.Params) *apiError {
	id, e := clientIDParam(ps)
	if e != nil {
		return e
	}
	if e := noQuery(r); e != nil {
		return e
	}
	var subs []Subscription
	err := a.command(r.Context(), func(ctx context.Context) (err error) {
		subs, err = a.broker.Subscriptions(ctx, id)
		return err
	})
	if err != nil {
		return a.brokerError(r, err)
	}
	slices.SortFunc(subs, compareSubscriptions)
	out := make([]subscriptionJSON, len(subs))
	for i, s := range subs {
		out[i] = a.subscriptionJSON(s)
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// subscriptionsQuery is a parsed GET /subscriptions query.
type subscriptionsQuery struct {
	filter      SubscriptionFilter
	page, limit int
	// after, when set, is the position of a cursor: the page starts right
	// after this subscription.
	after *Subscription
}

// parseSubscriptionsQuery parses GET /subscriptions parameters: page,
// limit (both spellings), cursor, clientid, topic, qos, share_group,
// match_topic.
func parseSubscriptionsQuery(raw string) (subscriptionsQuery, *apiError) {
	q := subscriptionsQuery{page: 1, limit: catalog.DefaultLimit}
	f := &q.filter
	param := func(vals url.Values, key, name string, _ bool) *apiError {
		v, e := single(vals, key)
		if e != nil {
			return e
		}
		if _, e := parseStringParam(key, v); e != nil {
			return e
		}
		switch name {
		case "cursor":
			after, ok := decodeSubCursor(v)
			if !ok {
				return paramError(key, "not a cursor this endpoint issued")
			}
			q.after = &after
		case "clientid":
			f.ClientID = v
		case "topic":
			if err := validTopicFilter(v); err != nil {
				return paramError(key, "%v", err)
			}
			if _, _, shared := splitShare(v); shared {
				return paramError(key, "give the filter without $share/{group}/ and the group in share_group")
			}
			f.Topic = v
		case "qos":
			n, e := parseIntParam(key, v, 0, 2)
			if e != nil {
				return e
			}
			f.QoS, f.HasQoS = byte(n), true
		case "share_group":
			if strings.ContainsAny(v, "+#/") {
				return paramError(key, "share group %s must not contain '+', '#' or '/'", quoteShort(v))
			}
			f.ShareGroup = v
		case "match_topic":
			if err := validTopicName(v); err != nil {
				return paramError(key, "%v", err)
			}
			f.MatchTopic = v
		default:
			return unknownParam(key, "see /api-docs or docs/api.md for the parameters of GET /subscriptions")
		}
		return nil
	}
	paging, seen, e := walkParams(raw, param)
	if e != nil {
		return q, e
	}
	if q.after != nil && paging.page > 1 {
		return q, paramError(seen["cursor"], "cannot be combined with a page number above 1")
	}
	if paging.page > 0 {
		q.page = paging.page
	}
	if paging.limit > 0 {
		q.limit = paging.limit
	}
	return q, nil
}

// subHeap is a max-heap of subscriptions by compareSubscriptions: it keeps
// the first k of a stream.
type subHeap []Subscription

func (h subHeap) Len() int           { return len(h) }
func (h subHeap) Less(i, j int) bool { return compareSubscriptions(h[i], h[j]) > 0 }
func (h subHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *subHeap) Push(x any)        { *h = append(*h, x.(Subscription)) }
func (h *subHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}

// encodeSubCursor makes the cursor of a position in the subscription
// order. It is not secret: it only says where the next page starts.
func encodeSubCursor(s Subscription) string {
	return base64.RawURLEncoding.EncodeToString([]byte(s.ClientID + "\x00" + s.Topic))
}

func decodeSubCursor(c string) (Subscription, bool) {
	b, err := base64.RawURLEncoding.DecodeString(c)
	if err != nil {
		return Subscription{}, false
	}
	id, topic, ok := strings.Cut(string(b), "\x00")
	return Subscription{ClientID: id, Topic: topic}, ok
}

// listSubscriptions serves GET /subscriptions: every matching subscription
// of every session, ordered by client id and topic, paged with an exact
// count. Only the first page × limit matches (limit with a cursor) are
// held in memory.
func (a *API) listSubscriptions(w http.ResponseWriter, r *http.Request, _ httprouter.Params) *apiError {
	q, e := parseSubscriptionsQuery(r.URL.RawQuery)
	if e != nil {
		return e
	}
	keep := int64(q.page) * int64(q.limit)
	if q.after != nil {
		keep = int64(q.limit)
	}
	if keep > int64(a.cfg.MaxSubscriptionsScan) {
		return badRequest(fmt.Sprintf("page × limit is %d, above %d, the deepest listing served; narrow the filter or page with the cursor", keep, a.cfg.MaxSubscriptionsScan))
	}
	var (
		count  int // every match
		beyond int // matches after the cursor
		h      subHeap
	)
	err := a.command(r.Context(), func(ctx context.Context) error {
		h = make(subHeap, 0, min(keep, 1024))
		err := a.broker.ListSubscriptions(ctx, q.filter, func(s Subscription) bool {
			if !q.filter.Matches(s) {
				return true
			}
			count++
			if q.after != nil && compareSubscriptions(s, *q.after) <= 0 {
				return true
			}
			beyond++
			switch {
			case int64(len(h)) < keep:
				heap.Push(&h, s)
			case compareSubscriptions(s, h[0]) < 0:
				h[0] = s
				heap.Fix(&h, 0)
			}
			return ctx.Err() == nil
		})
		if err == nil {
			// A listing cut short by the deadline is not a complete answer.
			err = ctx.Err()
		}
		return err
	})
	if err != nil {
		return a.brokerError(r, err)
	}
	slices.SortFunc(h, compareSubscriptions)
	from := 0
	if q.after == nil {
		from = min(len(h), (q.page-1)*q.limit)
	}
	data := make([]subscriptionJSON, 0, len(h)-from)
	for _, s := range h[from:] {
		data = append(data, a.subscriptionJSON(s))
	}
	m := pageMeta{Page: q.page, Limit: q.limit, HasNext: int64(beyond) > keep, Count: count}
	if m.HasNext && len(h) > 0 {
		m.Cursor = encodeSubCursor(h[len(h)-1])
	}
	writeJSON(w, http.StatusOK, struct {
		Meta pageMeta           `json:"meta"`
		Data []subscriptionJSON `json:"data"`
	}{m, data})
	return nil
}
