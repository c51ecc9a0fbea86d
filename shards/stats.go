package shards

import (
	"time"

	"github.com/shardmq/shardmq/mqtt"
)

// stats returns s's counters now, the live connection's socket counters
// included. It runs on s's shard.
func (s *session) stats() Counters {
	var c Counters
	s.readCounters(&c)
	cfg := s.cfg
	c.SubscriptionsCnt = int64(s.subs.Len())
	c.SubscriptionsMax = int64(cfg.SubscriptionsMax)
	c.InflightCnt = int64(s.inflightLen())
	c.InflightMax = int64(s.window)
	c.MqueueLen = int64(s.queueLen())
	c.MqueueMax = int64(cfg.MqueueMax)
	c.AwaitingRelCnt = int64(s.awaitRelLen())
	c.AwaitingRelMax = int64(cfg.AwaitingRelMax)
	if conn := s.conn; conn != nil {
		c.RecvOct += int64(conn.BytesIn())
		c.RecvCnt += int64(conn.Reads())
		c.SendOct += int64(conn.BytesOut())
		c.SendCnt += int64(conn.Writes())
	}
	c.MailboxLen = int64(s.mailbox.Load())
	c.HeapSize = s.heapSize()
	return c
}

// row returns s as a client row.
func (s *session) row(now time.Time) ClientRow {
	cfg := s.cfg
	r := ClientRow{
		Node:           cfg.Node,
		ClientID:       s.id,
		Username:       s.username,
		ProtoName:      "MQTT",
		ProtoVer:       int64(s.version),
		IPAddress:      s.remoteIP.Unmap().String(),
		Port:           int64(s.remotePort),
		Listener:       cfg.Listener,
		IsBridge:       s.bridge,
		IsPersistent:   s.persistent(),
		EnableAuthn:    s.authn,
		Zone:           cfg.Zone,
		Connected:      s.conn != nil,
		ConnState:      "connected",
		ConnectedAt:    s.connectedAt,
		CreatedAt:      s.createdAt,
		Keepalive:      int64(s.keepalive),
		CleanStart:     s.cleanStart,
		ExpiryInterval: int64(s.expiry),
		Counters:       s.stats(),
	}
	if s.version == mqtt.V31 {
		r.ProtoName = "MQIsdp"
	}
	if cfg.protoName != "" {
		r.ProtoName, r.ProtoVer = cfg.protoName, int64(cfg.protoVer)
	}
	s.rowIdentity(&r)
	if s.conn == nil {
		r.ConnState = "disconnected"
		at := s.disconnectedAt
		r.DisconnectedAt = &at
	}
	return r
}
