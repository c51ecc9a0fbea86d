package shards

import "errors"

// Errors of the broker's sessions and commands (the subscription index and
// the retained store have theirs in their packages).
var (
	// ErrClientNotFound reports a command for a client id that has neither a
	// connection nor a kept session.
	ErrClientNotFound = errors.New("shards: client not found")
	// ErrNotServing reports a command sent before the broker serves or after
	// it stopped.
	ErrNotServing = errors.New("shards: broker not serving")
	// ErrInvalidConfig reports a Config that failed Validate.
	ErrInvalidConfig = errors.New("shards: invalid config")
	// ErrTooManySubscriptions reports a subscription beyond
	// Config.SubscriptionsMax.
	ErrTooManySubscriptions = errors.New("shards: too many subscriptions")
	// ErrNotConnected reports a command that needs the client's
	// connection (SetKeepalive) for an offline session.
	ErrNotConnected = errors.New("shards: client not connected")
	// ErrProtocol reports a packet that breaks the protocol in a way the
	// codec cannot see (a second CONNECT, a packet before CONNECT).
	ErrProtocol = errors.New("shards: protocol violation")
	// ErrKicked is the close reason of a connection kicked by command.
	ErrKicked = errors.New("shards: kicked by administrator")
	// ErrBanned is the close reason of a CONNECT refused by Config.Banned.
	ErrBanned = errors.New("shards: client banned")
	// ErrTakenOver is the close reason of a connection whose client id
	// connected again.
	ErrTakenOver = errors.New("shards: session taken over")
	// ErrShuttingDown is the close reason of connections at broker shutdown.
	ErrShuttingDown = errors.New("shards: broker shutting down")

	// The message lifetime's programming errors (message.go), which panic:
	// a message used or referenced after its last release, released once
	// more, or written to after release (found under checkMessages).
	errMessageReleased = errors.New("shards: message used after release")
	errMessageTwice    = errors.New("shards: message released twice")
	errMessagePoisoned = errors.New("shards: released message written to")
)
