package httpapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/julienschmidt/httprouter"
)

// API keys as EMQX 5 manages them: GET/POST /api_key and
// GET/PUT/DELETE /api_key/{name}, with the same JSON shapes. The secret is
// shown once, in the answer to POST; the store keeps its salted hash only.
// EMQX lets only dashboard users (not API keys) manage keys; in shardmq
// administrator keys and administrator dashboard sessions do.

// apiKeyJSON is a key in EMQX 5's shape.
type apiKeyJSON struct {
	Name string `json:"name"`
	Key  string `json:"api_key"`
	// Secret is only in the answer to POST.
	Secret    string `json:"api_secret,omitempty"`
	ExpiredAt string `json:"expired_at"`
	CreatedAt string `json:"created_at"`
	Desc      string `json:"desc"`
	Enable    bool   `json:"enable"`
	Expired   bool   `json:"expired"`
	Role      string `json:"role"`
}

// keyTimeLayout is RFC 3339 in seconds, as EMQX 5 reports key times.
const keyTimeLayout = "2006-01-02T15:04:05-07:00"

func keyJSON(e *keyEntry, secret string, now int64) apiKeyJSON {
	j := apiKeyJSON{Name: e.name, Key: e.key, Secret: secret, ExpiredAt: "infinity",
		CreatedAt: time.Unix(e.createdAt, 0).UTC().Format(keyTimeLayout), Desc: e.desc,
		Enable: e.enable, Expired: e.expired(now), Role: e.role.String()}
	if e.expiresAt != 0 {
		j.ExpiredAt = time.Unix(e.expiresAt, 0).UTC().Format(keyTimeLayout)
	}
	return j
}

// apiKeyBody is the JSON of POST /api_key and PUT /api_key/{name}.
type apiKeyBody struct {
	Name      *string          `json:"name"`
	Desc      *string          `json:"desc"`
	Enable    *bool            `json:"enable"`
	ExpiredAt *json.RawMessage `json:"expired_at"`
	Role      *string          `json:"role"`
}

// UnmarshalJSON decodes strictly: exact field names, no unknown field.
func (b *apiKeyBody) UnmarshalJSON(data []byte) error {
	type plain apiKeyBody
	return strictObject(data, (*plain)(b))
}

// spec validates the settable fields of b.
func (b *apiKeyBody) spec() (keySpec, error) {
	spec := keySpec{enable: b.Enable}
	if b.Desc != nil {
		if len(*b.Desc) > maxDescLen {
			return spec, &fieldError{field: "desc", msg: fmt.Sprintf("longer than %d bytes", maxDescLen)}
		}
		if err := validMQTTString(*b.Desc); err != nil {
			return spec, &fieldError{field: "desc", msg: err.Error()}
		}
		spec.desc = b.Desc
	}
	if b.Role != nil {
		role, err := ParseRole(*b.Role)
		if err != nil {
			return spec, &fieldError{field: "role", msg: fmt.Sprintf("%s is not a role; want administrator, viewer or publisher", quoteShort(*b.Role))}
		}
		spec.role = &role
	}
	if b.ExpiredAt != nil {
		at, err := parseExpiredAt(*b.ExpiredAt)
		if err != nil {
			return spec, &fieldError{field: "expired_at", msg: err.Error()}
		}
		spec.expiresAt = &at
	}
	return spec, nil
}

// parseExpiredAt reads expired_at as EMQX 5 takes it: "infinity", Unix
// seconds, or an RFC 3339 time. It returns Unix seconds, 0 for infinity.
func parseExpiredAt(raw json.RawMessage) (int64, error) {
	bad := errors.New(`want "infinity", Unix seconds or an RFC 3339 time such as 2030-01-01T00:00:00Z`)
	raw = bytes.TrimSpace(raw)
	if len(raw) > 0 && raw[0] != '"' {
		n, err := strconv.ParseInt(string(raw), 10, 64)
		if err != nil || n < 1 || n > maxUnixSeconds {
			return 0, bad
		}
		return n, nil
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return 0, bad
	}
	if s == "infinity" {
		return 0, nil
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil || t.Unix() < 1 || t.Unix() > maxUnixSeconds {
		return 0, bad
	}
	return t.Unix(), nil
}

// readKeyBody reads the body of POST /api_key or PUT /api_key/{name}.
func (a *API) readKeyBody(w http.ResponseWriter, r *http.Request) (apiKeyBody, *apiError) {
	var b apiKeyBody
	if e := noQuery(r); e != nil {
		return b, e
	}
	body, e := readBody(w, r, a.cfg.MaxBodyBytes)
	if e != nil {
		return b, e
	}
	return b, decodeJSON(body, &b)
}

// keyNameParam returns the validated name of the route.
func keyNameParam(ps httprouter.Params) (string, *apiError) {
	raw := ps.ByName("name")
	name, err := url.PathUnescape(raw)
	if err != nil {
		return "", badRequest(fmt.Sprintf("API key name %s in the path: %v", quoteShort(raw), err))
	}
	if err := validName(name); err != nil {
		return "", badRequest("API key " + err.Error())
	}
	return name, nil
}

// keyError maps a key store error to the response.
func (a *API) keyError(r *http.Request, name string, err error) *apiError {
	switch {
	case errors.Is(err, errKeyNotFound):
		// EMQX 5: 404 NOT_FOUND.
		return &apiError{http.StatusNotFound, codeNotFound, fmt.Sprintf("no API key named %s", quoteShort(name))}
	case errors.Is(err, errKeyNameTaken):
		// EMQX 5 answers 400 here too.
		return badRequest(fmt.Sprintf("an API key named %s already exists", quoteShort(name)))
	case errors.Is(err, errTooManyKeys):
		return badRequest(fmt.Sprintf("at most %d API keys can be created; delete one first", maxManagedKeys))
	}
	a.cfg.Logger.Error("httpapi: API keys", "method", r.Method, "path", r.URL.Path, "err", err)
	return errInternal
}

// listKeys serves GET /api_key: every key, without secrets, by name.
func (a *API) listKeys(w http.ResponseWriter, r *http.Request, _ httprouter.Params) *apiError {
	if e := noQuery(r); e != nil {
		return e
	}
	now := time.Now().Unix()
	keys := a.keys.list()
	out := make([]apiKeyJSON, len(keys))
	for i, e := range keys {
		out[i] = keyJSON(e, "", now)
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// createKey serves POST /api_key: a key with a random api_key and
// api_secret, the secret shown in this answer only.
func (a *API) createKey(w http.ResponseWriter, r *http.Request, _ httprouter.Params) *apiError {
	b, e := a.readKeyBody(w, r)
	if e != nil {
		return e
	}
	if b.Name == nil {
		return badRequest(`field "name": required`)
	}
	if err := validName(*b.Name); err != nil {
		return badRequest(`field "name": ` + err.Error())
	}
	if strings.HasPrefix(*b.Name, bootstrapPrefix) {
		return badRequest(fmt.Sprintf(`field "name": names starting with %s are kept for the bootstrap file's keys`, bootstrapPrefix))
	}
	spec, err := b.spec()
	if err != nil {
		return badRequest(err.Error())
	}
	now := time.Now().Unix()
	k, secret, err := a.keys.create(*b.Name, spec, now)
	if err != nil {
		return a.keyError(r, *b.Name, err)
	}
	writeJSON(w, http.StatusOK, keyJSON(k, secret, now))
	return nil
}

// getKey serves GET /api_key/{name}.
func (a *API) getKey(w http.ResponseWriter, r *http.Request, ps httprouter.Params) *apiError {
	name, e := keyNameParam(ps)
	if e != nil {
		return e
	}
	if e := noQuery(r); e != nil {
		return e
	}
	k, ok := a.keys.get(name)
	if !ok {
		return a.keyError(r, name, errKeyNotFound)
	}
	writeJSON(w, http.StatusOK, keyJSON(k, "", time.Now().Unix()))
	return nil
}

// updateKey serves PUT /api_key/{name}: enable, expired_at, desc and role;
// a field left out keeps its value. In force for the next request.
func (a *API) updateKey(w http.ResponseWriter, r *http.Request, ps httprouter.Params) *apiError {
	name, e := keyNameParam(ps)
	if e != nil {
		return e
	}
	b, e := a.readKeyBody(w, r)
	if e != nil {
		return e
	}
	if b.Name != nil {
		return badRequest(`field "name": cannot be changed; the name is in the path`)
	}
	spec, err := b.spec()
	if err != nil {
		return badRequest(err.Error())
	}
	k, err := a.keys.update(name, spec)
	if err != nil {
		return a.keyError(r, name, err)
	}
	a.warnBootstrap(k, "changed")
	writeJSON(w, http.StatusOK, keyJSON(k, "", time.Now().Unix()))
	return nil
}

// deleteKey serves DELETE /api_key/{name}: the key authenticates nobody
// from the 204 on.
func (a *API) deleteKey(w http.ResponseWriter, r *http.Request, ps httprouter.Params) *apiError {
	name, e := keyNameParam(ps)
	if e != nil {
		return e
	}
	if e := noQuery(r); e != nil {
		return e
	}
	k, err := a.keys.remove(name)
	if err != nil {
		return a.keyError(r, name, err)
	}
	a.warnBootstrap(k, "deleted")
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// warnBootstrap logs that a change to a key of the bootstrap file lasts
// until the next start, when the file brings the key back as it is there
// (as in EMQX 5).
func (a *API) warnBootstrap(k *keyEntry, what string) {
	if k.bootstrap {
		a.cfg.Logger.Warn("httpapi: an API key of the bootstrap file was "+what+" through the API; "+
			"the file restores it at the next start unless it is edited there too", "name", k.name)
	}
}

// The key body decodes itself strictly.
var _ json.Unmarshaler = (*apiKeyBody)(nil)
