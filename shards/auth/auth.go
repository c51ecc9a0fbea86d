package auth

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"fmt"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/shardmq/shardmq/mqtt"
	"golang.org/x/crypto/bcrypt"
)

// Auth authenticates clients and authorizes their requests. Its methods
// are safe for concurrent use; Authenticate and Authorize never lock (they
// read the current files through an atomic pointer).
type Auth struct {
	cfg   Config
	state atomic.Pointer[state]
	// reloadMu serializes Reload calls.
	reloadMu sync.Mutex

	authnOK, authnFailed, anonOK, anonRefused atomic.Int64
	pubDenied, subDenied, reloads             atomic.Int64
}

// state is one generation of the parsed files; never modified once
// published, except verified, which is itself concurrency-safe.
type state struct {
	gen     uint64
	users   map[string][]byte // nil: no password file
	rules   []Rule
	hasACL  bool
	noMatch Permission
	// verified remembers, per user, an HMAC of the last password bcrypt
	// accepted, so that a reconnecting client costs one HMAC instead of a
	// bcrypt verification (which takes milliseconds by design and would
	// stall the event loop). It dies with its generation: a reload forgets
	// it.
	verified sync.Map // username → [32]byte
	key      [32]byte
}

// Stats are an Auth's counters since New.
type Stats struct {
	// Authenticated counts clients whose password was verified.
	Authenticated int64
	// AuthnFailed counts clients refused for a bad user name or password.
	AuthnFailed int64
	// Anonymous counts clients accepted without authentication.
	Anonymous int64
	// AnonymousRefused counts clients refused because they did not
	// authenticate where anonymous clients are not allowed.
	AnonymousRefused int64
	// PublishDenied counts PUBLISHes (and wills) the ACL refused.
	PublishDenied int64
	// SubscribeDenied counts subscription filters the ACL refused.
	SubscribeDenied int64
	// Reloads counts successful reloads.
	Reloads int64
}

// dummyHash is compared against when the user is unknown, so that a wrong
// user name costs as long as a wrong password (no user enumeration by
// timing).
var dummyHash, _ = bcrypt.GenerateFromPassword([]byte("shardmq-dummy"), DefaultCost)

// New returns an Auth for cfg with both files loaded.
func New(cfg Config) (*Auth, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	a := &Auth{cfg: cfg.withDefaults()}
	st, err := a.load(0)
	if err != nil {
		return nil, err
	}
	a.state.Store(st)
	return a, nil
}

// Reload reads the password and ACL files again and, if both parse, makes
// them current: new CONNECTs and every later decision use them, and every
// client's Cache is cleared (lazily, at its next use). Connected clients
// stay connected. On error the current files stay in force.
func (a *Auth) Reload() error {
	a.reloadMu.Lock()
	defer a.reloadMu.Unlock()
	st, err := a.load(a.state.Load().gen + 1)
	if err != nil {
		return err
	}
	a.state.Store(st)
	a.reloads.Add(1)
	return nil
}

// load parses the configured files into a state of generation gen.
func (a *Auth) load(gen uint64) (*state, error) {
	st := &state{gen: gen, noMatch: a.cfg.NoMatch}
	if _, err := rand.Read(st.key[:]); err != nil {
		return nil, err
	}
	if p := a.cfg.PasswordFile; p != "" {
		f, err := os.Open(p)
		if err != nil {
			return nil, err
		}
		st.users, err = ParsePasswords(f)
		f.Close()
		if err != nil {
			return nil, fmt.Errorf("%s: %w", p, err)
		}
	}
	if p := a.cfg.ACLFile; p != "" {
		f, err := os.Open(p)
		if err != nil {
			return nil, err
		}
		st.rules, err = ParseACL(f)
		f.Close()
		if err != nil {
			return nil, fmt.Errorf("%s: %w", p, err)
		}
		st.hasACL = true
	}
	return st, nil
}

// Authenticate decides a CONNECT. A client that sent a user name is
// checked against the password file when there is one: a known user with
// the right password is authenticated (authenticated is true), anything
// else fails with ErrBadCredentials. A client without a user name, or any
// client when there is no password file, is anonymous: accepted (with
// authenticated false) if allowAnonymous, refused with ErrNotAuthorized
// otherwise.
//
// A user's first successful verification per generation of the files runs
// bcrypt on the caller's goroutine (milliseconds at DefaultCost); later
// ones with the same password cost one HMAC.
func (a *Auth) Authenticate(username, password []byte, hasUsername, allowAnonymous bool) (authenticated bool, err error) {
	st := a.state.Load()
	if hasUsername && st.users != nil {
		if st.verify(username, password) {
			a.authnOK.Add(1)
			return true, nil
		}
		a.authnFailed.Add(1)
		return false, ErrBadCredentials
	}
	if allowAnonymous {
		a.anonOK.Add(1)
		return false, nil
	}
	a.anonRefused.Add(1)
	return false, ErrNotAuthorized
}

// Expensive reports whether Authenticate with these arguments would run
// bcrypt (milliseconds): a user name checked against the password file
// whose password has not been verified since the files were loaded, a user
// not in the file, or a wrong password. A caller on an event loop runs
// those on another goroutine. Safe for concurrent use.
func (a *Auth) Expensive(username, password []byte, hasUsername bool) bool {
	st := a.state.Load()
	if !hasUsername || st.users == nil {
		return false
	}
	if _, ok := st.users[string(username)]; !ok {
		return true
	}
	v, ok := st.verified.Load(string(username))
	if !ok {
		return true
	}
	sum := st.mac(password)
	seen := v.([32]byte)
	return !hmac.Equal(seen[:], sum[:])
}

// mac returns the keyed digest of password that stands for a verified one.
func (st *state) mac(password []byte) [32]byte {
	m := hmac.New(sha256.New, st.key[:])
	m.Write(password)
	var sum [32]byte
	m.Sum(sum[:0])
	return sum
}

// verify checks password against user's hash.
func (st *state) verify(user, password []byte) bool {
	hash, ok := st.users[string(user)]
	if !ok {
		_ = bcrypt.CompareHashAndPassword(dummyHash, password)
		return false
	}
	sum := st.mac(password)
	if v, ok := st.verified.Load(string(user)); ok {
		seen := v.([32]byte)
		if hmac.Equal(seen[:], sum[:]) {
			return true
		}
	}
	if bcrypt.CompareHashAndPassword(hash, password) != nil {
		return false
	}
	st.verified.Store(string(user), sum)
	return true
}

// Authorize reports whether client c may do act (Publish or Subscribe) on
// topic: a topic name for Publish, a topic filter for Subscribe (a
// "$share/group/" or "$queue/" prefix is stripped: the rules see the
// filter the messages come from). Without an ACL file everything is
// allowed. cache, if not nil, holds c's earlier decisions; it must belong
// to c alone and be used by one goroutine at a time.
func (a *Auth) Authorize(c *Client, cache *Cache, act Action, topic []byte) bool {
	st := a.state.Load()
	if !st.hasACL {
		return true
	}
	if act == Subscribe {
		if _, f, ok := mqtt.ParseShare(topic); ok {
			topic = f
		}
	}
	var m map[string]cached
	if cache != nil && a.cfg.CacheMax > 0 {
		m = cache.forAction(st.gen, act)
		if d, ok := m[string(topic)]; ok {
			return a.count(act, d.allow)
		}
	}
	allow := st.decide(c, act, topic)
	if m != nil {
		if len(m) >= a.cfg.CacheMax {
			clear(m)
		}
		m[string(topic)] = cached{allow: allow, at: time.Now().UnixMilli()}
	}
	return a.count(act, allow)
}

// count records a decision and returns it.
func (a *Auth) count(act Action, allow bool) bool {
	if !allow {
		if act == Publish {
			a.pubDenied.Add(1)
		} else {
			a.subDenied.Add(1)
		}
	}
	return allow
}

// decide runs the rules: the first match decides, else the no-match
// policy.
func (st *state) decide(c *Client, act Action, topic []byte) bool {
	var buf [128]byte
	scratch := buf[:0]
	for i := range st.rules {
		r := &st.rules[i]
		var ok bool
		if ok, scratch = r.matches(c, act, topic, scratch); ok {
			return r.Permission == Allow
		}
	}
	return st.noMatch == Allow
}

// Rules returns the rules in force, in order; nil without an ACL file.
func (a *Auth) Rules() []Rule { return append([]Rule(nil), a.state.Load().rules...) }

// HasUser reports whether user is in the password file in force.
func (a *Auth) HasUser(user string) bool {
	_, ok := a.state.Load().users[user]
	return ok
}

// Stats returns the counters.
func (a *Auth) Stats() Stats {
	return Stats{
		Authenticated:    a.authnOK.Load(),
		AuthnFailed:      a.authnFailed.Load(),
		Anonymous:        a.anonOK.Load(),
		AnonymousRefused: a.anonRefused.Load(),
		PublishDenied:    a.pubDenied.Load(),
		SubscribeDenied:  a.subDenied.Load(),
		Reloads:          a.reloads.Load(),
	}
}

// Cache remembers one client's authorization decisions, per action and
// topic, for the generation of the files they were made with: after a
// Reload its first use empties it. The zero Cache is ready. A Cache is
// not safe for concurrent use; it belongs to one client (in shardmq, to
// the session, owned by its shard goroutine).
type Cache struct {
	gen      uint64
	pub, sub map[string]cached
}

// cached is one decision and when it was made (Unix milliseconds).
type cached struct {
	allow bool
	at    int64
}

// CacheEntry is one decision a Cache holds.
type CacheEntry struct {
	Action Action
	// Topic is the topic name (Publish) or filter (Subscribe, without a
	// $share/{group}/ prefix).
	Topic string
	Allow bool
	// At is when the decision was made, Unix milliseconds.
	At int64
}

// CacheEntries returns the decisions c holds that are still in force (a
// Reload voids the older ones), publish first, each by topic. It must run
// where c is used.
func (a *Auth) CacheEntries(c *Cache) []CacheEntry {
	if c == nil || c.gen != a.state.Load().gen {
		return nil
	}
	var out []CacheEntry
	for _, part := range []struct {
		act Action
		m   map[string]cached
	}{{Publish, c.pub}, {Subscribe, c.sub}} {
		start := len(out)
		for t, d := range part.m {
			out = append(out, CacheEntry{Action: part.act, Topic: t, Allow: d.allow, At: d.at})
		}
		slices.SortFunc(out[start:], func(x, y CacheEntry) int { return strings.Compare(x.Topic, y.Topic) })
	}
	return out
}

// Reset forgets every decision (the client's identity changed: a new
// connection resumed the session).
func (c *Cache) Reset() {
	clear(c.pub)
	clear(c.sub)
}

// Len returns the number of decisions held.
func (c *Cache) Len() int { return len(c.pub) + len(c.sub) }

// forAction returns the map for act, emptied first if gen is newer.
func (c *Cache) forAction(gen uint64, act Action) map[string]cached {
	if c.gen != gen {
		c.gen = gen
		c.Reset()
	}
	if act == Publish {
		if c.pub == nil {
			c.pub = make(map[string]cached)
		}
		return c.pub
	}
	if c.sub == nil {
		c.sub = make(map[string]cached)
	}
	return c.sub
}
