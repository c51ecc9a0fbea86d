package httpapi

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Error codes of the JSON error body {"code", "message"}.
const (
	codeBadRequest       = "BAD_REQUEST"
	codeClientNotFound   = "CLIENTID_NOT_FOUND"
	codeBadKey           = "BAD_API_KEY_OR_SECRET"
	codeUnauthorizedRole = "UNAUTHORIZED_ROLE"
	codeNotFound         = "NOT_FOUND"
	codeAlreadyExists    = "ALREADY_EXISTS"
	codeBadListenerID    = "BAD_LISTENER_ID"
	codeMethodNotAllowed = "METHOD_NOT_ALLOWED"
	codeTooLarge         = "PAYLOAD_TOO_LARGE"
	codeUnsupportedMedia = "UNSUPPORTED_MEDIA_TYPE"
	codeHeadersTooLarge  = "REQUEST_HEADERS_TOO_LARGE"
	codeNotImplemented   = "NOT_IMPLEMENTED"
	codeHTTPVersion      = "HTTP_VERSION_NOT_SUPPORTED"
	codeUnavailable      = "SERVICE_UNAVAILABLE"
	codeInternal         = "INTERNAL_ERROR"
)

// apiError is a handler's failure: the status and the JSON body to send.
type apiError struct {
	status  int
	code    string
	message string
}

func badRequest(msg string) *apiError {
	return &apiError{http.StatusBadRequest, codeBadRequest, msg}
}

var (
	errNotFoundClient = &apiError{http.StatusNotFound, codeClientNotFound, "Client ID not found"}
	errUnavailable    = &apiError{http.StatusServiceUnavailable, codeUnavailable, "the broker did not answer in time"}
	errInternal       = &apiError{http.StatusInternalServerError, codeInternal, "internal error"}
)

// noEndpoint is the 404 for a path no route serves.
func noEndpoint(r *http.Request) *apiError {
	return &apiError{http.StatusNotFound, codeNotFound, fmt.Sprintf("no endpoint at %s; /api-docs lists them", quoteShort(r.URL.Path))}
}

// methodNotAllowed is the 405 for a path served under other methods, allow
// being the Allow header's value.
func methodNotAllowed(r *http.Request, allow string) *apiError {
	return &apiError{http.StatusMethodNotAllowed, codeMethodNotAllowed,
		fmt.Sprintf("%s is not allowed on %s; allowed: %s", r.Method, quoteShort(r.URL.Path), allow)}
}

// forbidden is the 403 for a key whose role may not make request r.
func forbidden(role Role, r *http.Request) *apiError {
	var may string
	switch role {
	case RoleViewer:
		may = "may only read (GET, HEAD)"
	case RolePublisher:
		may = "may only call POST /publish and POST /publish/bulk"
	default:
		may = "may not call this endpoint"
	}
	return &apiError{http.StatusForbidden, codeUnauthorizedRole,
		fmt.Sprintf("the API key's role %s %s; %s %s needs an administrator key", role, may, r.Method, quoteShort(r.URL.Path))}
}

// rejectedMessage is the text of a Broker error wrapping ErrRejected, without
// the sentinel's own words, for the 400 it becomes.
func rejectedMessage(err error) string {
	text := err.Error()
	if i := strings.Index(text, ErrRejected.Error()); i >= 0 {
		text = strings.TrimLeft(text[i+len(ErrRejected.Error()):], ": ")
	}
	if text == "" {
		return "the broker refused the request"
	}
	return "the broker refused the request: " + text
}

// pageMeta is the meta object of a paged list (EMQX 5's shape, with an
// exact count and, where the endpoint has one, a cursor).
type pageMeta struct {
	Page    int    `json:"page"`
	Limit   int    `json:"limit"`
	HasNext bool   `json:"hasnext"`
	Count   int    `json:"count"`
	Cursor  string `json:"cursor,omitempty"`
}

// writeError sends e as the JSON error body.
func writeError(w http.ResponseWriter, e *apiError) {
	b := make([]byte, 0, 64+len(e.message))
	b = append(b, `{"code":`...)
	b = appendJSONString(b, e.code)
	b = append(b, `,"message":`...)
	b = appendJSONString(b, e.message)
	b = append(b, '}')
	writeBody(w, e.status, b)
}

// writeBody sends b as a JSON response with status.
func writeBody(w http.ResponseWriter, status int, b []byte) {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(status)
	w.Write(b)
}

// writeJSON marshals v and sends it with status.
func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		writeError(w, errInternal)
		return
	}
	writeBody(w, status, b)
}

const hexDigits = "0123456789abcdef"

// appendJSONString appends s as a JSON string. Invalid UTF-8 becomes U+FFFD
// as in encoding/json; <, > and & are kept as they are (no HTML escaping).
func appendJSONString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < 0x80 {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		// U+2028 and U+2029 are escaped as encoding/json does, so the output
		// is valid JavaScript too.
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hexDigits[r&0xf])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}
