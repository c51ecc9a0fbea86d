package httpapi

import (
	"fmt"
	"net/http"
	"net/url"
	"slices"
)

// CORS (the Fetch standard's cross-origin resource sharing) is off unless
// Config.CORSOrigins names the origins whose pages may call the API from a
// browser. The API authenticates with the Authorization header, never with
// cookies, so responses do not allow credentials: a page sends its key
// explicitly, which preflight allows.

// corsAllowHeaders are the request headers a cross-origin page may send.
const corsAllowHeaders = "Authorization, Content-Type"

// corsMaxAge is how long, in seconds, a browser may reuse a preflight.
const corsMaxAge = "600"

// validOrigin checks one Config.CORSOrigins entry: "*" or an origin as
// browsers send it, scheme://host[:port] without a path.
func validOrigin(o string) error {
	if o == "*" {
		return nil
	}
	u, err := url.Parse(o)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" ||
		u.Path != "" || u.RawQuery != "" || u.Fragment != "" || u.User != nil || u.Opaque != "" {
		return fmt.Errorf("%w: CORSOrigins entry %q must be * or scheme://host[:port], such as https://dashboard.example.com", ErrInvalidConfig, o)
	}
	return nil
}

// allowOrigin adds Access-Control-Allow-Origin to the response when the
// request comes from an allowed origin, whatever the response turns out
// to be (a page may read the API's JSON errors too).
func (a *API) allowOrigin(w http.ResponseWriter, r *http.Request) {
	if len(a.cfg.CORSOrigins) == 0 {
		return
	}
	h := w.Header()
	if a.corsAny {
		h.Set("Access-Control-Allow-Origin", "*")
		return
	}
	// The answer depends on Origin: caches must key on it.
	h.Add("Vary", "Origin")
	if o := r.Header.Get("Origin"); o != "" && slices.Contains(a.cfg.CORSOrigins, o) {
		h.Set("Access-Control-Allow-Origin", o)
	}
}

// options answers OPTIONS on an endpoint whose Allow header is set: 204,
// with a CORS preflight's answer when the origin is allowed (allowOrigin
// ran first).
func (a *API) options(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	if h.Get("Access-Control-Allow-Origin") != "" && r.Header.Get("Access-Control-Request-Method") != "" {
		h.Set("Access-Control-Allow-Methods", h.Get("Allow"))
		h.Set("Access-Control-Allow-Headers", corsAllowHeaders)
		h.Set("Access-Control-Max-Age", corsMaxAge)
	}
	w.WriteHeader(http.StatusNoContent)
}
