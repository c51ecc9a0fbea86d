package auth

import (
	"fmt"

	"golang.org/x/crypto/bcrypt"
)

// Permission is what a rule, or the no-match policy, decides.
type Permission uint8

// Permissions. The zero Permission is Deny.
const (
	// Deny refuses the request.
	Deny Permission = iota
	// Allow grants the request.
	Allow
)

// String returns "allow" or "deny".
func (p Permission) String() string {
	if p == Allow {
		return "allow"
	}
	return "deny"
}

// ParsePermission parses "allow" or "deny".
func ParsePermission(s string) (Permission, error) {
	switch s {
	case "allow":
		return Allow, nil
	case "deny":
		return Deny, nil
	}
	return Deny, fmt.Errorf("%w: permission %q is neither allow nor deny", ErrInvalidConfig, s)
}

// DefaultCacheMax is the number of decisions a client's Cache keeps (per
// action) when Config.CacheMax is zero; EMQX's authorization cache keeps
// 32 too.
const DefaultCacheMax = 32

// DefaultCost is the bcrypt cost SetPassword uses when given zero.
const DefaultCost = bcrypt.DefaultCost

// Config configures an Auth. A zero field means the documented default.
type Config struct {
	// PasswordFile is the path of the "username:bcrypt-hash" file. If
	// empty, no client can authenticate: every client is anonymous and
	// accepted only where anonymous clients are allowed.
	PasswordFile string
	// ACLFile is the path of the rules file. If empty, every PUBLISH and
	// SUBSCRIBE is allowed.
	ACLFile string
	// NoMatch decides a request no rule matches. The zero value is Deny
	// (as Mosquitto does once an ACL file is set).
	NoMatch Permission
	// CacheMax bounds each client's cached decisions per action; when full
	// the cache is emptied. If zero, DefaultCacheMax is used; negative
	// disables caching.
	CacheMax int
}

// Validate reports whether c is usable.
func (c *Config) Validate() error {
	if c.NoMatch != Allow && c.NoMatch != Deny {
		return fmt.Errorf("%w: NoMatch %d", ErrInvalidConfig, c.NoMatch)
	}
	return nil
}

func (c Config) withDefaults() Config {
	if c.CacheMax == 0 {
		c.CacheMax = DefaultCacheMax
	}
	return c
}
