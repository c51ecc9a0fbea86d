package bench

import "errors"

// Errors returned by the harness.
var (
	// ErrConfig reports an invalid Config field; it is wrapped with the
	// field's name.
	ErrConfig = errors.New("bench: invalid config")
	// ErrConnack reports a broker that refused a CONNECT.
	ErrConnack = errors.New("bench: connection refused by broker")
	// ErrSuback reports a broker that refused a subscription.
	ErrSuback = errors.New("bench: subscription refused by broker")
	// ErrUnexpectedPacket reports a packet the generator did not expect at
	// that point of the exchange.
	ErrUnexpectedPacket = errors.New("bench: unexpected packet")
	// ErrBrokerNotReady reports a broker that did not accept connections in
	// time after it was started.
	ErrBrokerNotReady = errors.New("bench: broker did not become ready")
	// ErrNotBuilt reports a broker whose binary could not be found or built.
	ErrNotBuilt = errors.New("bench: broker not built")
	// ErrAPIAuth reports a broker API that refused the harness's
	// credentials (401 or 403).
	ErrAPIAuth = errors.New("bench: API refused the credentials (set --api-key and --api-secret)")
	// ErrWorker reports a failed generator worker process.
	ErrWorker = errors.New("bench: worker failed")
	// errExited reports a broker process that exited while the harness
	// waited for it to listen.
	errExited = errors.New("bench: broker process exited")
)
