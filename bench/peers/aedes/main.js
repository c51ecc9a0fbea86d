// main.js runs aedes as a peer broker for shardmq-bench: one TCP listener
// (node:net, aedes.handle), anonymous access, aedes' in-memory persistence,
// and delivery concurrency as generous as the other brokers' limits.
//
//   node main.js --addr 127.0.0.1:1883
//
// It prints "listening HOST:PORT" once the listener is up and exits on
// SIGTERM or SIGINT after closing the broker.
import net from 'node:net'
import { parseArgs } from 'node:util'
import { Aedes } from 'aedes'

const { values } = parseArgs({ options: { addr: { type: 'string', default: '127.0.0.1:1883' } } })
const i = values.addr.lastIndexOf(':')
const host = values.addr.slice(0, i)
const port = Number(values.addr.slice(i + 1))

const broker = await Aedes.createBroker({
  // Messages in flight through the broker at once (default 100): the
  // generator keeps up to 64 QoS 0 messages per publisher undelivered.
  concurrency: 65535,
  // No $SYS heartbeat publications during a run.
  heartbeatInterval: 3600 * 1000
})
const server = net.createServer(broker.handle)
server.maxConnections = 1 << 20
server.listen({ host, port, backlog: 4096 }, () => {
  console.log(`listening ${host}:${port}`)
})

const stop = () => {
  server.close()
  broker.close(() => process.exit(0))
  setTimeout(() => process.exit(0), 2000).unref()
}
process.on('SIGTERM', stop)
process.on('SIGINT', stop)
