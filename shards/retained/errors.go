package retained

import "errors"

// Errors of the retained store.
var (
	// ErrFull reports a retained message refused because the store is at its configured message
	// count or byte limit.
	ErrFull = errors.New("retained: store full")
	// ErrTooLarge reports a retained message larger than the configured maximum payload.
	ErrTooLarge = errors.New("retained: payload too large")
	// ErrConfig reports a Config with a negative limit.
	ErrConfig = errors.New("retained: invalid configuration")
)
