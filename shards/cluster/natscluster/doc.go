// Package natscluster is the cluster of shardmq nodes on NATS: each node
// embeds a nats-server (routes between the nodes, JetStream clustered over
// them) or uses an external NATS cluster, and talks to the others through
// it with nats.go. Node implements cluster.Cluster; the broker implements
// cluster.Handler.
//
// What goes over NATS (docs/cluster.md has the whole design):
//   - heartbeats ({name}.hb.{node}, every Config.Heartbeat): membership,
//     versions, uptimes, connections; a node that misses them for
//     Config.DeadAfter is marked stopped and its interest dropped;
//   - interest: each node publishes its numbered filter changes
//     ({name}.int.{node}) and answers snapshot requests ({name}.snap.{node});
//     every node keeps a table of the others' filters (a lock-free trie with
//     a 64-bit node mask per filter and per shared group) that answers
//     Remote and Route without allocating;
//   - forwarded messages ({name}.fwd.{node}): one batch per remote node per
//     Outbox.Flush; a batch with QoS 1/2 messages is acknowledged once the
//     remote Handler.Deliver returned, sent again after Config.AckTimeout,
//     and never delivered twice;
//   - retained messages: the JetStream key-value bucket {name}_retained,
//     watched by every node;
//   - client id ownership: the bucket {name}_sessions (client id → node),
//     claimed by compare-and-set; a takeover is a request to the owner
//     ({name}.takeover.{node});
//   - commands for a session on another node ({name}.call.{node}) and the
//     cluster-wide listing, a scatter-gather with a merged keyset cursor
//     ({name}.list.{node}).
package natscluster
