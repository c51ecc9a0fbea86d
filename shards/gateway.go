package shards

import (
	"github.com/shardmq/shardmq/mqtt"
	"github.com/shardmq/shardmq/netio"
	"github.com/shardmq/shardmq/shards/auth"
)

var (
	_ netio.WillUpdater = (*Broker)(nil)
	_ netio.AddrUpdater = (*Broker)(nil)
)

// UpdateWill implements netio.WillUpdater: the session of c takes w as
// its will, or has none when w is nil (MQTT-SN WILLTOPICUPD and
// WILLMSGUPD). The ACL decides as at CONNECT: a will it refuses is
// dropped, and UpdateWill reports false. It runs on c's loop.
func (b *Broker) UpdateWill(c *netio.Conn, w *mqtt.Will) bool {
	cs, _ := c.Data.(*connState)
	if cs == nil || cs.sess == nil {
		return false
	}
	s := cs.sess
	s.dropWill()
	defer s.markStore()
	if w == nil {
		return true
	}
	if !s.allowed(auth.Publish, w.Topic) {
		return false
	}
	p := &mqtt.Publish{QoS: w.QoS, Retain: w.Retain, Payload: w.Payload, Properties: w.Properties}
	s.will = &willMsg{msg: b.newMessage(p, w.Topic, s.idView(), s, c.Loop().Now()), delay: w.Properties.WillDelay}
	return true
}

// UpdateAddr implements netio.AddrUpdater: the session of c takes c's
// new address as its peer (its row's ip_address and port, the address
// bans and the ACL see). It runs on c's loop.
func (b *Broker) UpdateAddr(c *netio.Conn) {
	cs, _ := c.Data.(*connState)
	if cs == nil || cs.sess == nil {
		return
	}
	s := cs.sess
	a := c.ClientAddr()
	s.remoteIP, s.remotePort = a.Addr(), a.Port()
	s.markLife()
}
