package main

import (
	"github.com/shardmq/shardmq/shards"
	"github.com/shardmq/shardmq/shards/auth"
	"github.com/shardmq/shardmq/shards/index"
)

// brokerConfig is the broker's configuration from o: its listeners (from
// o.mqttListeners), zones, authorizer az and the sink of its client rows.
// o has been validated.
func brokerConfig(o *Options, listeners []Listener, az *auth.Auth, sink shards.SnapshotSink) shards.Config {
	st, _ := index.ParseShareStrategy(o.SharedSubscriptionStrategy)
	c := shards.Config{
		Node:                o.Node,
		Version:             version(),
		Zones:               o.Zones,
		Auth:                az,
		Sink:                sink,
		StatsInterval:       o.StatsInterval,
		SysInterval:         o.SysInterval,
		ResponseInformation: o.ResponseInformation,
		Index:               index.Config{ShareStrategy: st},
		Durability:          o.durability(),
		FlushInterval:       o.FlushInterval,
	}
	if c.SysInterval == 0 {
		c.SysInterval = -1 // shards: negative turns $SYS off
	}
	for _, l := range listeners {
		c.Listeners = append(c.Listeners, shards.ListenerConfig{Addr: l.Addr, Name: l.rowName(), Zone: l.Zone,
			AllowAnonymous: o.AllowAnonymous, PeerCertAsUsername: l.PeerCertAsUsername,
			PeerCertAsClientID: l.PeerCertAsClientID, TenantFrom: l.TenantFrom, Protocol: l.protocol, ProtoVer: l.protoVer})
	}
	return c
}
