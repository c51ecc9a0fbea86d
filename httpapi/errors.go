package httpapi

import "errors"

// Sentinel errors of the package. A [Broker] implementation wraps these (with
// %w) so that the handlers map them to HTTP status codes.
var (
	// ErrClientNotFound means no session exists for the client id: 404
	// CLIENTID_NOT_FOUND.
	ErrClientNotFound = errors.New("httpapi: client not found")
	// ErrTimeout means the broker could not complete a command in time: 503
	// SERVICE_UNAVAILABLE. A context deadline is treated the same way.
	ErrTimeout = errors.New("httpapi: broker command timed out")
	// ErrRejected means the broker refused a well-formed request (for
	// example a subscription quota): 400 BAD_REQUEST whose message is the
	// error's text, so a Broker must keep internals out of it.
	ErrRejected = errors.New("httpapi: request rejected")
	// ErrBanExists means an active ban of the same kind and who exists:
	// 400 ALREADY_EXISTS. A Broker returns it wrapped in *BanExistsError.
	ErrBanExists = errors.New("httpapi: already banned")
	// ErrBanNotFound means DeleteBan found no such ban: 404 NOT_FOUND.
	ErrBanNotFound = errors.New("httpapi: ban not found")
	// ErrListenerNotFound means ListenerAction found no listener with the
	// id: 404 BAD_LISTENER_ID.
	ErrListenerNotFound = errors.New("httpapi: listener not found")
	// ErrBadKeyFile reports a malformed API key file; the error names the
	// line.
	ErrBadKeyFile = errors.New("httpapi: bad API key file")
	// ErrKeyFileExists is returned by CreateKeyFile when the file exists.
	ErrKeyFileExists = errors.New("httpapi: API key file already exists")
	// ErrNoKeys is returned by New when the key store holds no key.
	ErrNoKeys = errors.New("httpapi: no API key configured")
	// ErrInvalidConfig reports an invalid Config field; the error names it.
	ErrInvalidConfig = errors.New("httpapi: invalid config")

	// errBrokerPanic wraps a panic recovered from a Broker call; it is
	// logged and answered with a 500.
	errBrokerPanic = errors.New("httpapi: broker call panicked")
)
