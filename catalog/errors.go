package catalog

import "errors"

// Sentinel errors returned by the catalog. Validation errors wrap
// ErrInvalidFilter together with a *FieldError naming the offending field.
var (
	// ErrInvalidFilter is wrapped by every error from Filter.Validate.
	ErrInvalidFilter = errors.New("catalog: invalid filter")
	// ErrInvalidCursor means a cursor token was malformed, tampered with,
	// or issued for a different filter or order.
	ErrInvalidCursor = errors.New("catalog: invalid cursor")
	// ErrInvalidConfig is wrapped by every error from Config.Validate.
	ErrInvalidConfig = errors.New("catalog: invalid config")
	// ErrClosed is returned by calls made after Close.
	ErrClosed = errors.New("catalog: closed")
	// ErrNotFound is returned by Get for an unknown client id.
	ErrNotFound = errors.New("catalog: client not found")
)

// FieldError names the filter field (in the API's spelling, e.g.
// "conn_state" or "order_by") whose value was rejected.
type FieldError struct {
	// Field is the API name of the offending field.
	Field string
	// Reason says what is wrong with its value.
	Reason string
}

// Error implements error.
func (e *FieldError) Error() string {
	return "catalog: invalid filter field " + e.Field + ": " + e.Reason
}

// Unwrap makes errors.Is(err, ErrInvalidFilter) true for every FieldError.
func (e *FieldError) Unwrap() error { return ErrInvalidFilter }
