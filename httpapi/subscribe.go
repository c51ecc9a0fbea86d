package httpapi

import (
	"context"
	"fmt"
	"net/http"

	"github.com/julienschmidt/httprouter"
)

// subscribeBody is the JSON of one subscription request.
type subscribeBody struct {
	Topic *string `json:"topic"`
	QoS   *int    `json:"qos"`
	NL    *int    `json:"nl"`
	RAP   *int    `json:"rap"`
	RH    *int    `json:"rh"`
}

// UnmarshalJSON decodes strictly: exact field names, no unknown field.
func (b *subscribeBody) UnmarshalJSON(data []byte) error {
	type plain subscribeBody
	return strictObject(data, (*plain)(b))
}

// request validates b (CLIENTS_API.md decision 9).
func (b *subscribeBody) request() (SubscribeRequest, error) {
	if b.Topic == nil {
		return SubscribeRequest{}, &fieldError{field: "topic", msg: "required"}
	}
	if err := validTopicFilter(*b.Topic); err != nil {
		return SubscribeRequest{}, &fieldError{field: "topic", msg: err.Error()}
	}
	s := SubscribeRequest{Topic: *b.Topic}
	for _, o := range []struct {
		name string
		v    *int
		max  int
		dst  *byte
	}{
		{"qos", b.QoS, 2, &s.QoS},
		{"nl", b.NL, 1, &s.NL},
		{"rap", b.RAP, 1, &s.RAP},
		{"rh", b.RH, 2, &s.RH},
	} {
		if o.v == nil {
			continue
		}
		if *o.v < 0 || *o.v > o.max {
			return SubscribeRequest{}, &fieldError{field: o.name, msg: fmt.Sprintf("want 0..%d", o.max)}
		}
		*o.dst = byte(*o.v)
	}
	if _, _, shared := splitShare(s.Topic); shared && s.NL == 1 {
		// [MQTT-3.8.3-4]: No Local on a shared subscription is a protocol error.
		return SubscribeRequest{}, &fieldError{field: "nl", msg: "must be 0 on a $share subscription"}
	}
	return s, nil
}

// unsubscribeBody is the JSON of one unsubscription request.
type unsubscribeBody struct {
	Topic *string `json:"topic"`
}

// UnmarshalJSON decodes strictly: exact field names, no unknown field.
func (b *unsubscribeBody) UnmarshalJSON(data []byte) error {
	type plain unsubscribeBody
	return strictObject(data, (*plain)(b))
}

func (b *unsubscribeBody) topic() (string, error) {
	if b.Topic == nil {
		return "", &fieldError{field: "topic", msg: "required"}
	}
	if err := validTopicFilter(*b.Topic); err != nil {
		return "", &fieldError{field: "topic", msg: err.Error()}
	}
	return *b.Topic, nil
}

// subscriptionJSON is a subscription in the seed's response shape.
type subscriptionJSON struct {
	ClientID string `json:"clientid"`
	Topic    string `json:"topic"`
	QoS      byte   `json:"qos"`
	NL       byte   `json:"nl"`
	RAP      byte   `json:"rap"`
	RH       byte   `json:"rh"`
	Node     string `json:"node"`
}

func (a *API) subscriptionJSON(s Subscription) subscriptionJSON {
	node := s.Node
	if node == "" {
		node = a.cfg.Node
	}
	return subscriptionJSON{ClientID: s.ClientID, Topic: s.Topic, QoS: s.QoS, NL: s.NL, RAP: s.RAP, RH: s.RH, Node: node}
}

// commandItems reads the body of a per-client command: one JSON object, or with bulk an
// array of at most MaxBulk objects, each converted by conv (see decodeItems).
func commandItems[B, T any](a *API, w http.ResponseWriter, r *http.Request, bulk bool, conv func(*B) (T, error)) ([]T, *apiError) {
	if e := noQuery(r); e != nil {
		return nil, e
	}
	body, e := readBody(w, r, a.cfg.MaxBodyBytes)
	if e != nil {
		return nil, e
	}
	return decodeItems(a, body, bulk, conv)
}

// subscribe serves POST /clients/{clientid}/subscribe.
func (a *API) subscribe(w http.ResponseWriter, r *http.Request, ps httprouter.Params) *apiError {
	return a.doSubscribe(w, r, ps, false)
}

// subscribeBulk serves POST /clients/{clientid}/subscribe/bulk.
func (a *API) subscribeBulk(w http.ResponseWriter, r *http.Request, ps httprouter.Params) *apiError {
	return a.doSubscribe(w, r, ps, true)
}

func (a *API) doSubscribe(w http.ResponseWriter, r *http.Request, ps httprouter.Params, bulk bool) *apiError {
	id, e := clientIDParam(ps)
	if e != nil {
		return e
	}
	reqs, e := commandItems(a, w, r, bulk, func(b *subscribeBody) (SubscribeRequest, error) { return b.request() })
	if e != nil {
		return e
	}
	var subs []Subscription
	err := a.command(r.Context(), func(ctx context.Context) (err error) {
		subs, err = a.broker.Subscribe(ctx, id, reqs)
		return err
	})
	if err != nil {
		return a.brokerError(r, err)
	}
	out := make([]subscriptionJSON, len(subs))
	for i, s := range subs {
		out[i] = a.subscriptionJSON(s)
	}
	if !bulk {
		if len(out) != 1 {
			a.cfg.Logger.Error("httpapi: broker returned a wrong number of subscriptions", "want", 1, "got", len(out))
			return errInternal
		}
		writeJSON(w, http.StatusOK, out[0])
		return nil
	}
	writeJSON(w, http.StatusOK, struct {
		Data []subscriptionJSON `json:"data"`
	}{out})
	return nil
}

// unsubscribe serves POST /clients/{clientid}/unsubscribe.
func (a *API) unsubscribe(w http.ResponseWriter, r *http.Request, ps httprouter.Params) *apiError {
	return a.doUnsubscribe(w, r, ps, false)
}

// unsubscribeBulk serves POST /clients/{clientid}/unsubscribe/bulk.
func (a *API) unsubscribeBulk(w http.ResponseWriter, r *http.Request, ps httprouter.Params) *apiError {
	return a.doUnsubscribe(w, r, ps, true)
}

func (a *API) doUnsubscribe(w http.ResponseWriter, r *http.Request, ps httprouter.Params, bulk bool) *apiError {
	id, e := clientIDParam(ps)
	if e != nil {
		return e
	}
	topics, e := commandItems(a, w, r, bulk, func(b *unsubscribeBody) (string, error) { return b.topic() })
	if e != nil {
		return e
	}
	// Unsubscribing a topic the client does not hold is still 204
	// (CLIENTS_API.md decision 9).
	err := a.command(r.Context(), func(ctx context.Context) error { return a.broker.Unsubscribe(ctx, id, topics) })
	if err != nil {
		return a.brokerError(r, err)
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
