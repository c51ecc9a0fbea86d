package dashboard

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"sync"
	"time"

	"github.com/shardmq/shardmq/httpapi"
)

// session is one login. Its id is only in the browser's HttpOnly cookie;
// the store keys it by the id's SHA-256, so the map holds nothing a
// memory dump could replay.
type session struct {
	user string
	// apiKey is the API key the session logged in with; "" for a user of
	// the users file. Such a session ends when its key is disabled,
	// expires or is deleted, and follows the key's role.
	apiKey string
	role   Role
	csrf   string
	// created and seen bound the session's life (MaxAge, IdleTimeout).
	created, seen time.Time
}

// sessions holds the live sessions. Safe for concurrent use.
type sessions struct {
	keys    *httpapi.KeyStore
	idle    time.Duration
	maxAge  time.Duration
	maxSess int

	mu   sync.Mutex
	byID map[[sha256.Size]byte]*session
}

func newSessions(keys *httpapi.KeyStore, idle, maxAge time.Duration, max int) *sessions {
	return &sessions{keys: keys, idle: idle, maxAge: maxAge, maxSess: max, byID: make(map[[sha256.Size]byte]*session)}
}

// randomToken returns 32 random bytes in base64url.
func randomToken() string {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic("dashboard: crypto/rand failed: " + err.Error())
	}
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// open starts a session and returns its id (for the cookie).
func (s *sessions) open(user, apiKey string, role Role, now time.Time) (id string, sess session) {
	id = randomToken()
	sess = session{user: user, apiKey: apiKey, role: role, csrf: randomToken(), created: now, seen: now}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.expireLocked(now)
	if len(s.byID) >= s.maxSess {
		// Full of live sessions: the one idle the longest goes.
		var oldest [sha256.Size]byte
		var at time.Time
		for k, v := range s.byID {
			if at.IsZero() || v.seen.Before(at) {
				oldest, at = k, v.seen
			}
		}
		delete(s.byID, oldest)
	}
	cp := sess
	s.byID[sha256.Sum256([]byte(id))] = &cp
	return id, sess
}

// expireLocked drops the sessions past their idle timeout or age.
func (s *sessions) expireLocked(now time.Time) {
	for k, v := range s.byID {
		if !s.live(v, now) {
			delete(s.byID, k)
		}
	}
}

func (s *sessions) live(v *session, now time.Time) bool {
	return now.Sub(v.seen) < s.idle && now.Sub(v.created) < s.maxAge
}

// get returns a copy of the live session of id and marks it seen; ok is
// false when there is none. A session opened with an API key takes the
// key's current role, and ends when the key no longer authenticates.
func (s *sessions) get(id string, now time.Time) (session, bool) {
	h := sha256.Sum256([]byte(id))
	s.mu.Lock()
	defer s.mu.Unlock()
	v, ok := s.byID[h]
	if !ok {
		return session{}, false
	}
	if !s.live(v, now) {
		delete(s.byID, h)
		return session{}, false
	}
	if v.apiKey != "" {
		role, active := s.keys.Active(v.apiKey)
		if !active || role == httpapi.RolePublisher {
			delete(s.byID, h)
			return session{}, false
		}
		v.role = role
	}
	v.seen = now
	return *v, true
}

// close ends the session of id.
func (s *sessions) close(id string) {
	s.mu.Lock()
	delete(s.byID, sha256.Sum256([]byte(id)))
	s.mu.Unlock()
}

// csrfOK compares a request's token with the session's in constant time.
func csrfOK(sess session, token string) bool {
	return token != "" && subtle.ConstantTimeCompare([]byte(token), []byte(sess.csrf)) == 1
}
