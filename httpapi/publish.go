package httpapi

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"sort"

	"github.com/julienschmidt/httprouter"
)

// publishBody is the JSON of one message for POST /publish, in EMQX 5's
// shape.
type publishBody struct {
	Topic           *string                `json:"topic"`
	Payload         *string                `json:"payload"`
	PayloadEncoding *string                `json:"payload_encoding"`
	QoS             *int                   `json:"qos"`
	Retain          *bool                  `json:"retain"`
	Properties      *publishPropertiesBody `json:"properties"`
	// ClientID is accepted and ignored, as EMQX 5 does (deprecated since
	// 5.0.14).
	ClientID *string `json:"clientid"`
}

// UnmarshalJSON decodes strictly: exact field names, no unknown field.
func (b *publishBody) UnmarshalJSON(data []byte) error {
	type plain publishBody
	return strictObject(data, (*plain)(b))
}

// publishPropertiesBody are the MQTT 5 properties of a published message.
type publishPropertiesBody struct {
	PayloadFormatIndicator *int64            `json:"payload_format_indicator"`
	MessageExpiryInterval  *int64            `json:"message_expiry_interval"`
	ResponseTopic          *string           `json:"response_topic"`
	CorrelationData        *string           `json:"correlation_data"`
	UserProperties         map[string]string `json:"user_properties"`
	ContentType            *string           `json:"content_type"`
}

// UnmarshalJSON decodes strictly: exact field names, no unknown field.
func (b *publishPropertiesBody) UnmarshalJSON(data []byte) error {
	type plain publishPropertiesBody
	return strictObject(data, (*plain)(b))
}

// request validates b into a PublishRequest; errors name the field.
func (b *publishBody) request() (PublishRequest, error) {
	var m PublishRequest
	if b.Topic == nil {
		return m, &fieldError{field: "topic", msg: "required"}
	}
	if err := validTopicName(*b.Topic); err != nil {
		return m, &fieldError{field: "topic", msg: err.Error()}
	}
	m.Topic = *b.Topic
	if b.Payload == nil {
		return m, &fieldError{field: "payload", msg: "required"}
	}
	enc := "plain"
	if b.PayloadEncoding != nil {
		enc = *b.PayloadEncoding
	}
	switch enc {
	case "plain":
		m.Payload = []byte(*b.Payload)
	case "base64":
		p, err := base64.StdEncoding.DecodeString(*b.Payload)
		if err != nil {
			return m, &fieldError{field: "payload", msg: "not valid base64"}
		}
		m.Payload = p
	default:
		return m, &fieldError{field: "payload_encoding", msg: "want plain or base64"}
	}
	if b.QoS != nil {
		if *b.QoS < 0 || *b.QoS > 2 {
			return m, &fieldError{field: "qos", msg: "want 0..2"}
		}
		m.QoS = byte(*b.QoS)
	}
	if b.Retain != nil {
		m.Retain = *b.Retain
	}
	if p := b.Properties; p != nil {
		if err := p.into(&m.Properties); err != nil {
			return m, err
		}
	}
	return m, nil
}

// into validates p into dst.
func (p *publishPropertiesBody) into(dst *PublishProperties) error {
	if v := p.PayloadFormatIndicator; v != nil {
		if *v != 0 && *v != 1 {
			return &fieldError{field: "properties.payload_format_indicator", msg: "want 0 or 1"}
		}
		dst.PayloadFormatIndicator = new(byte(*v))
	}
	if v := p.MessageExpiryInterval; v != nil {
		if *v < 0 || *v > math.MaxUint32 {
			return &fieldError{field: "properties.message_expiry_interval", msg: fmt.Sprintf("want 0..%d seconds", uint32(math.MaxUint32))}
		}
		dst.MessageExpiryInterval = new(uint32(*v))
	}
	if v := p.ResponseTopic; v != nil {
		if err := validTopicName(*v); err != nil {
			return &fieldError{field: "properties.response_topic", msg: err.Error()}
		}
		dst.ResponseTopic = *v
	}
	if v := p.CorrelationData; v != nil {
		if len(*v) > maxTopicLen {
			return &fieldError{field: "properties.correlation_data", msg: "longer than 65535 bytes"}
		}
		dst.CorrelationData = []byte(*v)
	}
	if v := p.ContentType; v != nil {
		if err := validMQTTString(*v); err != nil {
			return &fieldError{field: "properties.content_type", msg: err.Error()}
		}
		dst.ContentType = *v
	}
	if len(p.UserProperties) > 0 {
		names := make([]string, 0, len(p.UserProperties))
		for k, v := range p.UserProperties {
			if err := validMQTTString(k); err != nil {
				return &fieldError{field: "properties.user_properties", msg: fmt.Sprintf("name %s: %v", quoteShort(k), err)}
			}
			if err := validMQTTString(v); err != nil {
				return &fieldError{field: "properties.user_properties", msg: fmt.Sprintf("value of %s: %v", quoteShort(k), err)}
			}
			names = append(names, k)
		}
		sort.Strings(names)
		dst.UserProperties = make([][2]string, len(names))
		for i, k := range names {
			dst.UserProperties[i] = [2]string{k, p.UserProperties[k]}
		}
	}
	return nil
}

// publishReply is one message's outcome in EMQX 5's shape: {"id"} when the
// message matched a subscriber, {"reason_code": 16, "message":
// "no_matching_subscribers"} with the id otherwise.
type publishReply struct {
	ID         string `json:"id"`
	ReasonCode *int   `json:"reason_code,omitempty"`
	Message    string `json:"message,omitempty"`
}

// reasonNoMatchingSubscribers is the MQTT 5 reason code 0x10.
const reasonNoMatchingSubscribers = 16

func makeReply(m PublishRequest, res PublishResult) (publishReply, int) {
	if res.Matched > 0 {
		return publishReply{ID: m.ID}, http.StatusOK
	}
	return publishReply{ID: m.ID, ReasonCode: new(reasonNoMatchingSubscribers), Message: "no_matching_subscribers"}, http.StatusAccepted
}

// publish serves POST /publish.
func (a *API) publish(w http.ResponseWriter, r *http.Request, _ httprouter.Params) *apiError {
	return a.doPublish(w, r, false)
}

// publishBulk serves POST /publish/bulk: 200 when every message matched a
// subscriber, 202 when one did not, as EMQX 5 does.
func (a *API) publishBulk(w http.ResponseWriter, r *http.Request, _ httprouter.Params) *apiError {
	return a.doPublish(w, r, true)
}

func (a *API) doPublish(w http.ResponseWriter, r *http.Request, bulk bool) *apiError {
	if e := noQuery(r); e != nil {
		return e
	}
	body, e := readBody(w, r, a.cfg.MaxBodyBytes)
	if e != nil {
		return e
	}
	msgs, e := decodeItems(a, body, bulk, func(b *publishBody) (PublishRequest, error) { return b.request() })
	if e != nil {
		return e
	}
	for i := range msgs {
		msgs[i].ID = a.newMessageID()
	}
	var results []PublishResult
	err := a.command(r.Context(), func(ctx context.Context) (err error) {
		results, err = a.broker.Publish(ctx, msgs)
		return err
	})
	if err != nil {
		return a.brokerError(r, err)
	}
	if len(results) != len(msgs) {
		a.cfg.Logger.Error("httpapi: broker returned a wrong number of publish results", "want", len(msgs), "got", len(results))
		return errInternal
	}
	if !bulk {
		reply, status := makeReply(msgs[0], results[0])
		writeJSON(w, status, reply)
		return nil
	}
	replies := make([]publishReply, len(msgs))
	status := http.StatusOK
	for i := range msgs {
		var s int
		replies[i], s = makeReply(msgs[i], results[i])
		if s != http.StatusOK {
			status = s
		}
	}
	writeJSON(w, status, replies)
	return nil
}

// The message and its properties decode themselves strictly.
var (
	_ json.Unmarshaler = (*publishBody)(nil)
	_ json.Unmarshaler = (*publishPropertiesBody)(nil)
)
