package httpapi

import (
	"strconv"
	"time"

	"github.com/shardmq/shardmq/catalog"
)

// clientField is one key of the client info object and how to append its
// value.
type clientField struct {
	name string
	// appendValue appends the JSON value; it is not called for
	// disconnected_at of a connected client (the key is left out).
	appendValue func(b []byte, r *catalog.Row) []byte
}

// clientFields are the keys of the client object in CLIENTS_API.md's order.
var clientFields = []clientField{
	{"node", func(b []byte, r *catalog.Row) []byte { return appendJSONString(b, r.Node) }},
	{"clientid", func(b []byte, r *catalog.Row) []byte { return appendJSONString(b, r.ClientID) }},
	{"username", func(b []byte, r *catalog.Row) []byte {
		// The catalog stores an absent username as "": EMQX reports null.
		if r.Username == "" {
			return append(b, "null"...)
		}
		return appendJSONString(b, r.Username)
	}},
	{"proto_name", func(b []byte, r *catalog.Row) []byte { return appendJSONString(b, r.ProtoName) }},
	{"proto_ver", intField(func(r *catalog.Row) int64 { return r.ProtoVer })},
	{"ip_address", func(b []byte, r *catalog.Row) []byte { return appendJSONString(b, r.IPAddress) }},
	{"port", intField(func(r *catalog.Row) int64 { return r.Port })},
	{"listener", func(b []byte, r *catalog.Row) []byte { return appendJSONString(b, r.Listener) }},
	{"is_bridge", boolField(func(r *catalog.Row) bool { return r.IsBridge })},
	{"is_persistent", boolField(func(r *catalog.Row) bool { return r.IsPersistent })},
	{"enable_authn", boolField(func(r *catalog.Row) bool { return r.EnableAuthn })},
	{"peersni", nullStringField(func(r *catalog.Row) *string { return r.PeerSNI })},
	{"cn", nullStringField(func(r *catalog.Row) *string { return r.CN })},
	{"dn", nullStringField(func(r *catalog.Row) *string { return r.DN })},
	{"tenant_id_from", nullStringField(func(r *catalog.Row) *string { return r.TenantIDFrom })},
	{"zone", func(b []byte, r *catalog.Row) []byte { return appendJSONString(b, r.Zone) }},
	{"connected", boolField(func(r *catalog.Row) bool { return r.Connected })},
	{"connected_at", timeField(func(r *catalog.Row) int64 { return r.ConnectedAt })},
	{"disconnected_at", func(b []byte, r *catalog.Row) []byte {
		if r.DisconnectedAt == nil {
			return append(b, "null"...)
		}
		return appendTime(b, *r.DisconnectedAt)
	}},
	{"created_at", timeField(func(r *catalog.Row) int64 { return r.CreatedAt })},
	{"keepalive", intField(func(r *catalog.Row) int64 { return r.Keepalive })},
	{"clean_start", boolField(func(r *catalog.Row) bool { return r.CleanStart })},
	{"expiry_interval", intField(func(r *catalog.Row) int64 { return r.ExpiryInterval })},
	{"subscriptions_cnt", intField(func(r *catalog.Row) int64 { return r.SubscriptionsCnt })},
	{"subscriptions_max", limitField(func(r *catalog.Row) int64 { return r.SubscriptionsMax })},
	{"inflight_cnt", intField(func(r *catalog.Row) int64 { return r.InflightCnt })},
	{"inflight_max", intField(func(r *catalog.Row) int64 { return r.InflightMax })},
	{"mqueue_len", intField(func(r *catalog.Row) int64 { return r.MqueueLen })},
	{"mqueue_max", intField(func(r *catalog.Row) int64 { return r.MqueueMax })},
	{"mqueue_dropped", intField(func(r *catalog.Row) int64 { return r.MqueueDropped })},
	{"awaiting_rel_cnt", intField(func(r *catalog.Row) int64 { return r.AwaitingRelCnt })},
	{"awaiting_rel_max", intField(func(r *catalog.Row) int64 { return r.AwaitingRelMax })},
	{"recv_oct", intField(func(r *catalog.Row) int64 { return r.RecvOct })},
	{"recv_cnt", intField(func(r *catalog.Row) int64 { return r.RecvCnt })},
	{"recv_pkt", intField(func(r *catalog.Row) int64 { return r.RecvPkt })},
	{"recv_msg", intField(func(r *catalog.Row) int64 { return r.RecvMsg })},
	{"recv_msg.qos0", intField(func(r *catalog.Row) int64 { return r.RecvMsgQoS0 })},
	{"recv_msg.qos1", intField(func(r *catalog.Row) int64 { return r.RecvMsgQoS1 })},
	{"recv_msg.qos2", intField(func(r *catalog.Row) int64 { return r.RecvMsgQoS2 })},
	{"recv_msg.dropped", intField(func(r *catalog.Row) int64 { return r.RecvMsgDropped })},
	{"recv_msg.dropped.await_pubrel_timeout", intField(func(r *catalog.Row) int64 { return r.RecvMsgDroppedAwaitPubrelTimeout })},
	{"send_oct", intField(func(r *catalog.Row) int64 { return r.SendOct })},
	{"send_cnt", intField(func(r *catalog.Row) int64 { return r.SendCnt })},
	{"send_pkt", intField(func(r *catalog.Row) int64 { return r.SendPkt })},
	{"send_msg", intField(func(r *catalog.Row) int64 { return r.SendMsg })},
	{"send_msg.qos0", intField(func(r *catalog.Row) int64 { return r.SendMsgQoS0 })},
	{"send_msg.qos1", intField(func(r *catalog.Row) int64 { return r.SendMsgQoS1 })},
	{"send_msg.qos2", intField(func(r *catalog.Row) int64 { return r.SendMsgQoS2 })},
	{"send_msg.dropped", intField(func(r *catalog.Row) int64 { return r.SendMsgDropped })},
	{"send_msg.dropped.expired", intField(func(r *catalog.Row) int64 { return r.SendMsgDroppedExpired })},
	{"send_msg.dropped.queue_full", intField(func(r *catalog.Row) int64 { return r.SendMsgDroppedQueueFull })},
	{"send_msg.dropped.too_large", intField(func(r *catalog.Row) int64 { return r.SendMsgDroppedTooLarge })},
	{"mailbox_len", intField(func(r *catalog.Row) int64 { return r.MailboxLen })},
	{"heap_size", intField(func(r *catalog.Row) int64 { return r.HeapSize })},
	{"reductions", intField(func(r *catalog.Row) int64 { return r.Reductions })},
}

// clientFieldIndex maps a key of the client object to its index in
// clientFields.
var clientFieldIndex = func() map[string]int {
	m := make(map[string]int, len(clientFields))
	for i, f := range clientFields {
		m[f.name] = i
	}
	return m
}()

// Indexes of the fields the encoder treats specially.
var (
	fieldConnected      = clientFieldIndex["connected"]
	fieldDisconnectedAt = clientFieldIndex["disconnected_at"]
)

func intField(get func(*catalog.Row) int64) func([]byte, *catalog.Row) []byte {
	return func(b []byte, r *catalog.Row) []byte { return strconv.AppendInt(b, get(r), 10) }
}

// limitField appends a limit whose zero means unlimited as EMQX 5 reports
// one: the string "infinity" (its default max_subscriptions).
func limitField(get func(*catalog.Row) int64) func([]byte, *catalog.Row) []byte {
	return func(b []byte, r *catalog.Row) []byte {
		if v := get(r); v != 0 {
			return strconv.AppendInt(b, v, 10)
		}
		return append(b, `"infinity"`...)
	}
}

// limitFields are the keys of the client object written by limitField.
var limitFields = map[string]bool{"subscriptions_max": true}

func boolField(get func(*catalog.Row) bool) func([]byte, *catalog.Row) []byte {
	return func(b []byte, r *catalog.Row) []byte { return strconv.AppendBool(b, get(r)) }
}

func nullStringField(get func(*catalog.Row) *string) func([]byte, *catalog.Row) []byte {
	return func(b []byte, r *catalog.Row) []byte {
		if p := get(r); p != nil {
			return appendJSONString(b, *p)
		}
		return append(b, "null"...)
	}
}

func timeField(get func(*catalog.Row) int64) func([]byte, *catalog.Row) []byte {
	return func(b []byte, r *catalog.Row) []byte { return appendTime(b, get(r)) }
}

// timeLayout is RFC 3339 with milliseconds and a numeric offset, as in the
// seed's example "2023-09-15T09:36:20.871+00:00" (CLIENTS_API.md decision 7).
const timeLayout = "2006-01-02T15:04:05.000-07:00"

// appendTime appends Unix milliseconds as a quoted RFC 3339 UTC time.
func appendTime(b []byte, ms int64) []byte {
	b = append(b, '"')
	b = time.UnixMilli(ms).UTC().AppendFormat(b, timeLayout)
	return append(b, '"')
}

// appendClient appends r as a JSON object with the fields fields (indexes
// into clientFields in ascending order; nil means all). disconnected_at is
// left out while the client is connected, as the seed specifies.
func appendClient(b []byte, r *catalog.Row, fields []int) []byte {
	b = append(b, '{')
	first := true
	emit := func(i int) {
		if i == fieldDisconnectedAt && r.Connected {
			return
		}
		if !first {
			b = append(b, ',')
		}
		first = false
		b = append(b, '"')
		b = append(b, clientFields[i].name...)
		b = append(b, '"', ':')
		b = clientFields[i].appendValue(b, r)
	}
	if fields == nil {
		for i := range clientFields {
			emit(i)
		}
	} else {
		for _, i := range fields {
			emit(i)
		}
	}
	return append(b, '}')
}
