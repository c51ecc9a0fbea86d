package httpapi

import (
	"context"
	"encoding/base64"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/julienschmidt/httprouter"
	"github.com/shardmq/shardmq/catalog"
)

// GET /topics (the routes: filters subscribed to, by node) and the
// retained messages (GET /retainer/messages, GET and DELETE
// /retainer/message/{topic}), as EMQX 5 serves them.

// RetainedMessage is one retained message.
type RetainedMessage struct {
	Topic   string
	Payload []byte
	QoS     byte
	// From is the publisher's client id; empty for the API's messages.
	From string
	// Stored is when it was retained.
	Stored time.Time
}

// retainedJSON is a retained message in EMQX 5's shape; the payload is
// only in the single-message answer.
type retainedJSON struct {
	Topic        string  `json:"topic"`
	MsgID        string  `json:"msgid"`
	QoS          byte    `json:"qos"`
	PublishAt    string  `json:"publish_at"`
	FromClientID *string `json:"from_clientid"`
	FromUsername *string `json:"from_username"`
	Payload      *string `json:"payload,omitempty"`
}

func toRetainedJSON(m RetainedMessage, payload bool) retainedJSON {
	j := retainedJSON{Topic: m.Topic, MsgID: fmt.Sprintf("%016x", m.Stored.UnixNano()), QoS: m.QoS,
		PublishAt: m.Stored.UTC().Format("2006-01-02T15:04:05.000-07:00")}
	if m.From != "" {
		j.FromClientID = &m.From
	}
	if payload {
		p := base64.StdEncoding.EncodeToString(m.Payload)
		j.Payload = &p
	}
	return j
}

// pageParams parses page and limit (both spellings) and calls fn for
// every other parameter.
func pageParams(raw string, fn func(vals url.Values, key, name string) *apiError) (page, limit int, e *apiError) {
	paging, _, e := walkParams(raw, func(vals url.Values, key, name string, _ bool) *apiError {
		return fn(vals, key, name)
	})
	if e != nil {
		return 0, 0, e
	}
	page, limit = 1, catalog.DefaultLimit
	if paging.page > 0 {
		page = paging.page
	}
	if paging.limit > 0 {
		limit = paging.limit
	}
	return page, limit, nil
}

// writePage sends items[page] as {"data", "meta"}.
func writePage[T any](w http.ResponseWriter, items []T, page, limit int) {
	from := min((page-1)*limit, len(items))
	to := min(from+limit, len(items))
	data := items[from:to]
	if data == nil {
		data = []T{}
	}
	writeJSON(w, http.StatusOK, struct {
		Data []T      `json:"data"`
		Meta pageMeta `json:"meta"`
	}{data, pageMeta{Page: page, Limit: limit, HasNext: to < len(items), Count: len(items)}})
}

// topicJSON is a route in EMQX 5's shape.
type topicJSON struct {
	Topic string `json:"topic"`
	Node  string `json:"node"`
}

// listTopics serves GET /topics: the filters subscribed to on this node
// (shared ones without their $share/{group}/ prefix), each once, by
// filter, paged; topic (exact filter) and node filter them.
func (a *API) listTopics(w http.ResponseWriter, r *http.Request, _ httprouter.Params) *apiError {
	var topic, node string
	page, limit, e := pageParams(r.URL.RawQuery, func(vals url.Values, key, name string) *apiError {
		v, e := single(vals, key)
		if e != nil {
			return e
		}
		switch name {
		case "topic":
			if err := validTopicFilter(v); err != nil {
				return paramError(key, "%v", err)
			}
			if _, _, shared := splitShare(v); shared {
				return paramError(key, "give the filter without $share/{group}/: topics are routes")
			}
			topic = v
		case "node":
			if _, e := parseStringParam(key, v); e != nil {
				return e
			}
			node = v
		default:
			return unknownParam(key, "this endpoint takes page, limit, topic and node")
		}
		return nil
	})
	if e != nil {
		return e
	}
	var topics []string
	if err := a.command(r.Context(), func(ctx context.Context) (err error) {
		topics, err = a.broker.Topics(ctx)
		return err
	}); err != nil {
		return a.brokerError(r, err)
	}
	var out []topicJSON
	if node == "" || node == a.cfg.Node {
		for _, t := range topics {
			if topic == "" || t == topic {
				out = append(out, topicJSON{Topic: t, Node: a.cfg.Node})
			}
		}
	}
	writePage(w, out, page, limit)
	return nil
}

// listRetained serves GET /retainer/messages: the retained messages by
// topic, paged, without payloads; topic (a filter, wildcards allowed)
// selects those it matches.
func (a *API) listRetained(w http.ResponseWriter, r *http.Request, _ httprouter.Params) *apiError {
	var filter string
	page, limit, e := pageParams(r.URL.RawQuery, func(vals url.Values, key, name string) *apiError {
		v, e := single(vals, key)
		if e != nil {
			return e
		}
		if name != "topic" {
			return unknownParam(key, "this endpoint takes page, limit and topic")
		}
		if err := validTopicFilter(v); err != nil {
			return paramError(key, "%v", err)
		}
		if _, _, shared := splitShare(v); shared {
			return paramError(key, "a $share filter matches no retained message")
		}
		filter = v
		return nil
	})
	if e != nil {
		return e
	}
	var msgs []RetainedMessage
	if err := a.command(r.Context(), func(ctx context.Context) (err error) {
		msgs, err = a.broker.RetainedMessages(ctx, filter)
		return err
	}); err != nil {
		return a.brokerError(r, err)
	}
	var out []retainedJSON
	slices.SortFunc(msgs, func(x, y RetainedMessage) int { return strings.Compare(x.Topic, y.Topic) })
	for _, m := range msgs {
		if filter == "" || topicMatch(filter, m.Topic) {
			out = append(out, toRetainedJSON(m, false))
		}
	}
	writePage(w, out, page, limit)
	return nil
}

// retainedTopicParam returns the unescaped, validated topic of the route.
func retainedTopicParam(ps httprouter.Params) (string, *apiError) {
	raw := ps.ByName("topic")
	topic, err := url.PathUnescape(raw)
	if err != nil {
		return "", badRequest(fmt.Sprintf("topic %s in the path: %v", quoteShort(raw), err))
	}
	if err := validTopicName(topic); err != nil {
		return "", badRequest(fmt.Sprintf("topic %s in the path (percent-encode its /): %v", quoteShort(topic), err))
	}
	return topic, nil
}

// retainedNotFound is the 404 of a topic without a retained message.
func retainedNotFound(topic string) *apiError {
	return &apiError{http.StatusNotFound, codeNotFound, "no message is retained at topic " + quoteShort(topic)}
}

// getRetained serves GET /retainer/message/{topic}: the message with its
// payload in base64.
func (a *API) getRetained(w http.ResponseWriter, r *http.Request, ps httprouter.Params) *apiError {
	topic, e := retainedTopicParam(ps)
	if e != nil {
		return e
	}
	if e := noQuery(r); e != nil {
		return e
	}
	var m RetainedMessage
	var found bool
	if err := a.command(r.Context(), func(ctx context.Context) (err error) {
		m, found, err = a.broker.RetainedMessage(ctx, topic)
		return err
	}); err != nil {
		return a.brokerError(r, err)
	}
	if !found {
		return retainedNotFound(topic)
	}
	writeJSON(w, http.StatusOK, toRetainedJSON(m, true))
	return nil
}

// deleteRetained serves DELETE /retainer/message/{topic}.
func (a *API) deleteRetained(w http.ResponseWriter, r *http.Request, ps httprouter.Params) *apiError {
	topic, e := retainedTopicParam(ps)
	if e != nil {
		return e
	}
	if e := noQuery(r); e != nil {
		return e
	}
	var found bool
	if err := a.command(r.Context(), func(ctx context.Context) (err error) {
		found, err = a.broker.DeleteRetained(ctx, topic)
		return err
	}); err != nil {
		return a.brokerError(r, err)
	}
	if !found {
		return retainedNotFound(topic)
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
