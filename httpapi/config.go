package httpapi

import (
	"fmt"
	"log/slog"
	"strings"
	"time"
)

// Config configures the API. A zero field means the documented default.
type Config struct {
	// Base is the path prefix of every route. If empty, "/api/v5" is used.
	// It must start with "/" and must not end with "/".
	Base string
	// Node is the broker's node name, reported in subscription objects and
	// in GET /stats. If empty, "shardmq@127.0.0.1" is used.
	Node string
	// MaxBodyBytes bounds a request body; a larger body is a 413. If zero,
	// 1 MiB is used.
	MaxBodyBytes int64
	// MaxBulk bounds the number of items in a bulk request (subscribe,
	// unsubscribe, kickout, publish). If zero, 1000 is used.
	MaxBulk int
	// CommandTimeout bounds one broker command; past it the request is a
	// 503. If zero, 5 s is used.
	CommandTimeout time.Duration
	// ListTimeout bounds one catalog query. If zero, 10 s is used.
	ListTimeout time.Duration
	// MaxSubscriptionsScan bounds page × limit of GET /subscriptions, which
	// holds that many subscriptions while it collects the page; a deeper
	// page is a 400 asking for a narrower filter. If zero, 1,000,000 is
	// used.
	MaxSubscriptionsScan int
	// Logger receives panics recovered from handlers. If nil,
	// slog.Default() is used.
	Logger *slog.Logger

	// ReadHeaderTimeout, ReadTimeout, WriteTimeout and IdleTimeout configure
	// the *http.Server returned by NewServer. If zero: 5 s, 30 s, 60 s and
	// 120 s.
	ReadHeaderTimeout time.Duration
	ReadTimeout       time.Duration
	WriteTimeout      time.Duration
	IdleTimeout       time.Duration
	// CORSOrigins are the origins (scheme://host[:port], as a browser sends
	// them in Origin) whose pages may call the API cross-origin, or "*" for
	// any. If empty, CORS is off: no Access-Control-* headers are sent.
	CORSOrigins []string
	// MaxHeaderBytes bounds the request line (with the query string) and
	// headers; a larger request is a 431. If zero, 64 KiB is used.
	MaxHeaderBytes int
}

// Defaults of Config.
const (
	// DefaultBase is the default Config.Base (EMQX 5's prefix).
	DefaultBase = "/api/v5"
	// DefaultNode is the default Config.Node.
	DefaultNode = "shardmq@127.0.0.1"
	// DefaultMaxBodyBytes is the default Config.MaxBodyBytes.
	DefaultMaxBodyBytes = 1 << 20
	// DefaultMaxBulk is the default Config.MaxBulk.
	DefaultMaxBulk = 1000
	// DefaultCommandTimeout is the default Config.CommandTimeout.
	DefaultCommandTimeout = 5 * time.Second
	// DefaultListTimeout is the default Config.ListTimeout.
	DefaultListTimeout = 10 * time.Second
	// DefaultMaxSubscriptionsScan is the default Config.MaxSubscriptionsScan.
	DefaultMaxSubscriptionsScan = 1_000_000
	// DefaultMaxHeaderBytes is the default Config.MaxHeaderBytes.
	DefaultMaxHeaderBytes = 64 << 10
)

// Validate reports the first invalid field.
func (c Config) Validate() error {
	if c.Base != "" {
		if !strings.HasPrefix(c.Base, "/") || strings.HasSuffix(c.Base, "/") ||
			strings.ContainsAny(c.Base, ":*?#%") {
			return fmt.Errorf("%w: Base %q must start with / and not end with /, without : * ? # %%", ErrInvalidConfig, c.Base)
		}
	}
	for _, o := range c.CORSOrigins {
		if err := validOrigin(o); err != nil {
			return err
		}
	}
	for _, f := range []struct {
		name string
		v    int64
	}{
		{"MaxBodyBytes", c.MaxBodyBytes},
		{"MaxBulk", int64(c.MaxBulk)},
		{"CommandTimeout", int64(c.CommandTimeout)},
		{"ListTimeout", int64(c.ListTimeout)},
		{"MaxSubscriptionsScan", int64(c.MaxSubscriptionsScan)},
		{"ReadHeaderTimeout", int64(c.ReadHeaderTimeout)},
		{"ReadTimeout", int64(c.ReadTimeout)},
		{"WriteTimeout", int64(c.WriteTimeout)},
		{"IdleTimeout", int64(c.IdleTimeout)},
		{"MaxHeaderBytes", int64(c.MaxHeaderBytes)},
	} {
		if f.v < 0 {
			return fmt.Errorf("%w: %s must not be negative", ErrInvalidConfig, f.name)
		}
	}
	return nil
}

// withDefaults returns c with every zero field replaced by its default.
func (c Config) withDefaults() Config {
	if c.Base == "" {
		c.Base = DefaultBase
	}
	if c.Node == "" {
		c.Node = DefaultNode
	}
	if c.MaxBodyBytes == 0 {
		c.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if c.MaxBulk == 0 {
		c.MaxBulk = DefaultMaxBulk
	}
	if c.CommandTimeout == 0 {
		c.CommandTimeout = DefaultCommandTimeout
	}
	if c.ListTimeout == 0 {
		c.ListTimeout = DefaultListTimeout
	}
	if c.MaxSubscriptionsScan == 0 {
		c.MaxSubscriptionsScan = DefaultMaxSubscriptionsScan
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.ReadHeaderTimeout == 0 {
		c.ReadHeaderTimeout = 5 * time.Second
	}
	if c.ReadTimeout == 0 {
		c.ReadTimeout = 30 * time.Second
	}
	if c.WriteTimeout == 0 {
		c.WriteTimeout = 60 * time.Second
	}
	if c.IdleTimeout == 0 {
		c.IdleTimeout = 120 * time.Second
	}
	if c.MaxHeaderBytes == 0 {
		c.MaxHeaderBytes = DefaultMaxHeaderBytes
	}
	return c
}
