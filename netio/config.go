package netio

import (
	"fmt"
	"log/slog"
	"runtime"
	"time"
)

// Config configures a Server. A zero field means the documented default.
type Config struct {
	// Listeners are the addresses to accept MQTT connections on. At least
	// one of a kind the Server binds (tcp, ssl, ws, wss) is required; ids
	// and addresses must be unique.
	Listeners []Listener
	// ListenerControl makes the stream listeners sockets of the Server's
	// own, accepted by a goroutine each and enrolled on the loops, so
	// that StopListener, StartListener and RestartListener work.
	// Without it the gnet engine binds and accepts them itself, which
	// costs fewer hand-offs per connection (docs/architecture.md,
	// "Listeners"), and those methods answer ErrNoListenerControl.
	ListenerControl bool
	// Loops is the number of event loops. If zero, runtime.NumCPU() is used.
	Loops int
	// MaxPacketSize is the largest inbound MQTT packet accepted, whole frame
	// included. If zero, 1 MiB is used.
	MaxPacketSize int
	// ConnectTimeout is how long a new connection may take to be accepted by
	// the Handler (Conn.SetIdleTimeout). If zero, 10 s is used.
	ConnectTimeout time.Duration
	// OutboundSoftLimit is the number of unsent bytes above which
	// Conn.OverSoftLimit reports true (the broker drops QoS 0 then). If zero,
	// 1 MiB is used.
	OutboundSoftLimit int
	// OutboundHardLimit is the number of unsent bytes above which the
	// connection is closed with ErrSlowConsumer. If zero, 8 MiB is used.
	OutboundHardLimit int
	// MaxConnections caps open connections; further ones are closed at once.
	// If zero, 1,000,000 is used.
	MaxConnections int
	// TickInterval is how often each loop's timers run. If zero, 100 ms is
	// used.
	TickInterval time.Duration
	// MaxConnectRate caps new connections per second over all listeners
	// (a token bucket holding one second's worth); connections above it are
	// closed at once. If zero, there is no cap.
	MaxConnectRate int
	// Logger receives the transport's refusals (a failed TLS handshake, a
	// bad PROXY header, a bad WebSocket upgrade) at debug level. If nil,
	// slog.Default() is used.
	Logger *slog.Logger
}

// Validate reports whether c is usable.
func (c *Config) Validate() error {
	ls, err := resolveListeners(c.Listeners)
	if err != nil {
		return err
	}
	served := 0
	for _, l := range ls {
		if l.Stopped && !c.ListenerControl {
			return fmt.Errorf("%w: listener %s: only a Server with ListenerControl starts a listener stopped", ErrInvalidConfig, l.ID())
		}
		if bound(l.Kind) {
			served++
		}
	}
	switch {
	case served == 0:
		return fmt.Errorf("%w: no tcp, ssl, ws or wss listener", ErrInvalidConfig)
	case len(ls) > maxListeners:
		return fmt.Errorf("%w: %d listeners, at most %d", ErrInvalidConfig, len(ls), maxListeners)
	}
	switch {
	case c.Loops < 0:
		return fmt.Errorf("%w: Loops %d < 0", ErrInvalidConfig, c.Loops)
	case c.MaxPacketSize < 0 || c.MaxPacketSize > 268435460:
		return fmt.Errorf("%w: MaxPacketSize %d out of range", ErrInvalidConfig, c.MaxPacketSize)
	case c.ConnectTimeout < 0 || c.TickInterval < 0:
		return fmt.Errorf("%w: negative duration", ErrInvalidConfig)
	case c.OutboundSoftLimit < 0 || c.OutboundHardLimit < 0 || c.MaxConnections < 0 || c.MaxConnectRate < 0:
		return fmt.Errorf("%w: negative limit", ErrInvalidConfig)
	}
	d := c.withDefaults()
	if d.OutboundSoftLimit > d.OutboundHardLimit {
		return fmt.Errorf("%w: OutboundSoftLimit %d above OutboundHardLimit %d",
			ErrInvalidConfig, d.OutboundSoftLimit, d.OutboundHardLimit)
	}
	return nil
}

// maxListeners bounds Config.Listeners (a Conn keeps its listener's
// position in 16 bits).
const maxListeners = 1 << 16

func (c Config) withDefaults() Config {
	c.Listeners, _ = resolveListeners(c.Listeners) // checked by Validate
	if c.Loops == 0 {
		c.Loops = runtime.NumCPU()
	}
	if c.MaxPacketSize == 0 {
		c.MaxPacketSize = 1 << 20
	}
	if c.ConnectTimeout == 0 {
		c.ConnectTimeout = 10 * time.Second
	}
	if c.OutboundSoftLimit == 0 {
		c.OutboundSoftLimit = 1 << 20
	}
	if c.OutboundHardLimit == 0 {
		c.OutboundHardLimit = 8 << 20
	}
	if c.MaxConnections == 0 {
		c.MaxConnections = 1_000_000
	}
	if c.TickInterval == 0 {
		c.TickInterval = 100 * time.Millisecond
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	return c
}
