package catalog

// ConnState is a client's connection state as the API reports it.
type ConnState string

// The connection states of CLIENTS_API.md decision 12.
const (
	// Connected means CONNECT was accepted and the socket is open.
	Connected ConnState = "connected"
	// Idle means the socket is open and CONNECT is being processed.
	Idle ConnState = "idle"
	// Disconnected means an offline session is kept (no socket).
	Disconnected ConnState = "disconnected"
)

// Valid reports whether s is one of the three defined states.
func (s ConnState) Valid() bool {
	return s == Connected || s == Idle || s == Disconnected
}

// Row is one client (connected, or offline with a kept session) with every
// field of the API's client object. It is a plain value: the catalog copies
// what it is given and never retains a caller's Row.
//
// Times are Unix milliseconds (UTC). Pointer fields are null in the API when
// nil. Username is the empty string when the client sent none (MQTT forbids
// neither, but the catalog treats an empty username as absent). The db tags
// are the SQL column names; JSON names are in Columns.
type Row struct {
	Node         string    `db:"node"`
	ClientID     string    `db:"clientid"`
	Username     string    `db:"username"`
	ProtoName    string    `db:"proto_name"`
	ProtoVer     int64     `db:"proto_ver"`
	IPAddress    string    `db:"ip_address"`
	Port         int64     `db:"port"`
	Listener     string    `db:"listener"`
	IsBridge     bool      `db:"is_bridge"`
	IsPersistent bool      `db:"is_persistent"`
	EnableAuthn  bool      `db:"enable_authn"`
	PeerSNI      *string   `db:"peersni"`
	CN           *string   `db:"cn"`
	DN           *string   `db:"dn"`
	TenantIDFrom *string   `db:"tenant_id_from"`
	Zone         string    `db:"zone"`
	Connected    bool      `db:"connected"`
	ConnState    ConnState `db:"conn_state"`
	// ConnectedAt is when the current (or last) connection was made.
	ConnectedAt int64 `db:"connected_at"`
	// DisconnectedAt is set only when the client is not connected.
	DisconnectedAt *int64 `db:"disconnected_at"`
	// CreatedAt is when the session was created.
	CreatedAt      int64 `db:"created_at"`
	Keepalive      int64 `db:"keepalive"`
	CleanStart     bool  `db:"clean_start"`
	ExpiryInterval int64 `db:"expiry_interval"`

	Counters
}

// Counters are the numeric columns that change while a client is connected.
// UpdateStats writes only these, and only the ones that changed.
type Counters struct {
	SubscriptionsCnt                 int64 `db:"subscriptions_cnt"`
	SubscriptionsMax                 int64 `db:"subscriptions_max"`
	InflightCnt                      int64 `db:"inflight_cnt"`
	InflightMax                      int64 `db:"inflight_max"`
	MqueueLen                        int64 `db:"mqueue_len"`
	MqueueMax                        int64 `db:"mqueue_max"`
	MqueueDropped                    int64 `db:"mqueue_dropped"`
	AwaitingRelCnt                   int64 `db:"awaiting_rel_cnt"`
	AwaitingRelMax                   int64 `db:"awaiting_rel_max"`
	RecvOct                          int64 `db:"recv_oct"`
	RecvCnt                          int64 `db:"recv_cnt"`
	RecvPkt                          int64 `db:"recv_pkt"`
	RecvMsg                          int64 `db:"recv_msg"`
	RecvMsgQoS0                      int64 `db:"recv_msg_qos0"`
	RecvMsgQoS1                      int64 `db:"recv_msg_qos1"`
	RecvMsgQoS2                      int64 `db:"recv_msg_qos2"`
	RecvMsgDropped                   int64 `db:"recv_msg_dropped"`
	RecvMsgDroppedAwaitPubrelTimeout int64 `db:"recv_msg_dropped_await_pubrel_timeout"`
	SendOct                          int64 `db:"send_oct"`
	SendCnt                          int64 `db:"send_cnt"`
	SendPkt                          int64 `db:"send_pkt"`
	SendMsg                          int64 `db:"send_msg"`
	SendMsgQoS0                      int64 `db:"send_msg_qos0"`
	SendMsgQoS1                      int64 `db:"send_msg_qos1"`
	SendMsgQoS2                      int64 `db:"send_msg_qos2"`
	SendMsgDropped                   int64 `db:"send_msg_dropped"`
	SendMsgDroppedExpired            int64 `db:"send_msg_dropped_expired"`
	SendMsgDroppedQueueFull          int64 `db:"send_msg_dropped_queue_full"`
	SendMsgDroppedTooLarge           int64 `db:"send_msg_dropped_too_large"`
	MailboxLen                       int64 `db:"mailbox_len"`
	HeapSize                         int64 `db:"heap_size"`
	Reductions                       int64 `db:"reductions"`
}

// StatsUpdate carries the current Counters of one client for UpdateStats.
type StatsUpdate struct {
	// ClientID names the row; updates for unknown ids are dropped.
	ClientID string
	// Counters are the client's current counters.
	Counters Counters
}
