package httpapi

import (
	"context"
	"encoding/base64"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/julienschmidt/httprouter"
)

// GET /clients/{clientid}/mqueue_messages and /inflight_messages, EMQX
// 5's endpoints: a session's queued messages (waiting for the inflight
// window or for the client to come back) and its inflight window (sent,
// not yet acknowledged), paged by position.

// QueuedMessage is one message of a session's queue or inflight window.
type QueuedMessage struct {
	// Pos is its position: in the queue, a number that grows with every
	// message queued (never used twice by the session); in the inflight
	// window, its packet id.
	Pos     uint64
	Topic   string
	Payload []byte
	QoS     byte
	// From is the publisher's client id; empty for the API's messages.
	From string
	// PublishedAt is when it was published.
	PublishedAt time.Time
}

// Limits of the message listing.
const (
	maxMsgLimit           = 1000
	defaultMaxPayloadSize = 1 << 20
)

// clientMsgsQuery is the parsed query of the message listings.
type clientMsgsQuery struct {
	after      uint64
	limit      int
	payload    string // base64, plain or none
	maxPayload int64
}

// parseClientMsgsQuery parses position, limit, payload and
// max_payload_bytes.
func parseClientMsgsQuery(raw string, inflight bool) (clientMsgsQuery, *apiError) {
	q := clientMsgsQuery{limit: 100, payload: "base64", maxPayload: defaultMaxPayloadSize}
	vals, keys, e := parseQuery(raw)
	if e != nil {
		return q, e
	}
	for _, k := range keys {
		v, e := single(vals, k)
		if e != nil {
			return q, e
		}
		switch k {
		case "position":
			num := v
			if !inflight {
				num, _, _ = strings.Cut(v, "_") // EMQX's "{position}_{priority}"
			}
			n, err := strconv.ParseUint(num, 10, 64)
			if err != nil {
				return q, paramError(k, "%s is not a position this endpoint gave (meta.position)", quoteShort(v))
			}
			q.after = n
		case "limit":
			n, e := parseIntParam(k, v, 1, maxMsgLimit)
			if e != nil {
				return q, e
			}
			q.limit = int(n)
		case "payload":
			if v != "base64" && v != "plain" && v != "none" {
				return q, paramError(k, "want base64, plain or none")
			}
			q.payload = v
		case "max_payload_bytes":
			n, ok := parseByteSize(v)
			if !ok {
				return q, paramError(k, "want a positive size in bytes (1048576) or with a unit (64KB, 1MB)")
			}
			q.maxPayload = n
		default:
			return q, unknownParam(k, "this endpoint takes position, limit, payload and max_payload_bytes")
		}
	}
	return q, nil
}

// parseByteSize reads a positive size: bytes, or a number with KB, MB or
// GB (powers of 1024, as EMQX's bytesize).
func parseByteSize(v string) (int64, bool) {
	mult := int64(1)
	u := strings.ToUpper(v)
	for _, s := range []struct {
		suffix string
		m      int64
	}{{"GB", 1 << 30}, {"MB", 1 << 20}, {"KB", 1 << 10}, {"B", 1}} {
		if strings.HasSuffix(u, s.suffix) {
			u, mult = strings.TrimSuffix(u, s.suffix), s.m
			break
		}
	}
	n, err := strconv.ParseInt(u, 10, 64)
	if err != nil || n < 1 || n > (1<<40)/mult {
		return 0, false
	}
	return n * mult, true
}

// msgJSON is a message in EMQX 5's shape.
type msgJSON struct {
	MsgID          string  `json:"msgid"`
	Topic          string  `json:"topic"`
	QoS            byte    `json:"qos"`
	PublishAt      int64   `json:"publish_at"`
	FromClientID   *string `json:"from_clientid"`
	FromUsername   *string `json:"from_username"`
	Payload        *string `json:"payload,omitempty"`
	MqueuePriority *int    `json:"mqueue_priority,omitempty"`
}

// clientMessages serves both listings.
func (a *API) clientMessages(inflight bool) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request, ps httprouter.Params) *apiError {
		id, e := clientIDParam(ps)
		if e != nil {
			return e
		}
		q, e := parseClientMsgsQuery(r.URL.RawQuery, inflight)
		if e != nil {
			return e
		}
		var msgs []QueuedMessage
		var first uint64
		err := a.command(r.Context(), func(ctx context.Context) (err error) {
			msgs, first, err = a.broker.ClientMessages(ctx, id, inflight, q.after, q.limit)
			return err
		})
		if err != nil {
			return a.brokerError(r, err)
		}
		pos := func(p uint64) string {
			if inflight {
				return strconv.FormatUint(p, 10)
			}
			return strconv.FormatUint(p, 10) + "_0"
		}
		data := []msgJSON{}
		var size int64
		for i, m := range msgs {
			j := msgJSON{MsgID: fmt.Sprintf("%016x%016x", uint64(m.PublishedAt.UnixNano()), m.Pos), Topic: m.Topic,
				QoS: m.QoS, PublishAt: m.PublishedAt.UnixMilli()}
			if m.From != "" {
				j.FromClientID = &m.From
			}
			if !inflight {
				prio := 0
				j.MqueuePriority = &prio
			}
			var p string
			switch q.payload {
			case "base64":
				p = base64.StdEncoding.EncodeToString(m.Payload)
			case "plain":
				if !utf8.Valid(m.Payload) {
					return badRequest(fmt.Sprintf("parameter \"payload\": the payload of the message at position %s is not UTF-8; use payload=base64", pos(m.Pos)))
				}
				p = string(m.Payload)
			}
			if q.payload != "none" {
				// At least one message, then as many as fit (EMQX).
				if i > 0 && size+int64(len(p)) > q.maxPayload {
					break
				}
				size += int64(len(p))
				j.Payload = &p
			}
			data = append(data, j)
		}
		meta := map[string]any{"start": "none", "position": "none"}
		if first != 0 {
			meta["start"] = pos(first)
		}
		if len(data) > 0 {
			meta["position"] = pos(msgs[len(data)-1].Pos)
		} else if q.after != 0 {
			meta["position"] = pos(q.after)
		}
		writeJSON(w, http.StatusOK, map[string]any{"data": data, "meta": meta})
		return nil
	}
}
