// Package netio owns the broker's sockets: the gnet engine and its
// listeners, the framing of MQTT packets that arrive split across reads,
// batched writes, the per-connection outbound byte budget and the
// connection-level timers (CONNECT timeout, idle timeout, on a
// netio/deadline heap per loop).
//
// netio knows nothing of sessions or subscriptions. It hands every complete
// frame to a Handler, which the broker implements, on the event loop that
// owns the connection. Each event loop is a single goroutine; everything a
// Handler does with a Conn or a Loop happens on that goroutine unless a
// method says otherwise.
package netio
