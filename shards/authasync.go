package shards

import (
	"bytes"

	"github.com/shardmq/shardmq/mqtt"
	"github.com/shardmq/shardmq/netio"
)

// pwdResult is the outcome of a password check done off the loop.
type pwdResult struct {
	authn  bool
	refuse mqtt.ReasonCode
}

// authenticateAsync checks the password of CONNECT p on a goroutine of its
// own, so that bcrypt (tens of milliseconds) never stalls the other
// connections of the loop. The connection's input is held (netio.Conn.Hold):
// when the result is back on the loop, the same CONNECT is handed over
// again, finds the result in cs.pwd, and the packets the client pipelined
// behind it follow in order. A connection closed meanwhile, or a server
// shutting down, drops the result. It runs on sh's loop.
func (sh *shard) authenticateAsync(c *netio.Conn, cs *connState, l *listener, p *mqtt.Connect) {
	c.Hold()
	creds := &mqtt.Connect{HasUsername: p.HasUsername, Username: bytes.Clone(p.Username),
		Password: bytes.Clone(p.Password)}
	b, loop := sh.b, sh.loop
	b.pwdChecks.Add(1)
	go func() {
		authn, refuse := b.authenticate(l, creds)
		b.pwdChecks.Add(-1)
		_ = loop.Execute(func() {
			if c.Closing() {
				return
			}
			cs.pwd = &pwdResult{authn: authn, refuse: refuse}
			c.Resume()
		})
	}()
}
