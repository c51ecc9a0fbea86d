package shards

import "errors"

// Errors of the broker's sessions and commands, and of the subscription
// index, shared subscriptions and retained store.
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
	// ErrProtocol reports a packet that breaks the protocol in a way the
	// codec cannot see (a second CONNECT, a packet before CONNECT).
	ErrProtocol = errors.New("shards: protocol violation")
	// ErrKicked is the close reason of a connection kicked by command.
	ErrKicked = errors.New("shards: kicked by administrator")
	// ErrTakenOver is the close reason of a connection whose client id
	// connected again.
	ErrTakenOver = errors.New("shards: session taken over")
	// ErrShuttingDown is the close reason of connections at broker shutdown.
	ErrShuttingDown = errors.New("shards: broker shutting down")

	// ErrBadFilter reports a topic filter that breaks the rules of [MQTT-4.7] or a malformed
	// shared-subscription filter [MQTT-4.8.2]; the error also wraps mqtt.TopicFilterInvalid, which
	// the broker answers in SUBACK (0x8F on v5, 0x80 on v3).
	ErrBadFilter = errors.New("shards: invalid topic filter")
	// ErrShareNoLocal reports No Local set on a shared subscription, a protocol error
	// [MQTT-3.8.3-4]; the broker disconnects with 0x82.
	ErrShareNoLocal = errors.New("shards: no local on a shared subscription")
	// ErrUnknownShareStrategy reports a shared-subscription strategy name that is not one of
	// round_robin, random, hash_clientid or sticky.
	ErrUnknownShareStrategy = errors.New("shards: unknown shared subscription strategy")
	// ErrRetainedFull reports a retained message refused because the store is at its configured
	// message count or byte limit.
	ErrRetainedFull = errors.New("shards: retained store full")
	// ErrRetainedTooLarge reports a retained message larger than the configured maximum payload.
	ErrRetainedTooLarge = errors.New("shards: retained payload too large")
	// ErrRetainConfig reports a RetainConfig with a negative limit.
	ErrRetainConfig = errors.New("shards: invalid retained store configuration")

	// The message lifetime's programming errors (message.go), which panic:
	// a message used or referenced after its last release, released once
	// more, or written to after release (found under checkMessages).
	errMessageReleased = errors.New("shards: message used after release")
	errMessageTwice    = errors.New("shards: message released twice")
	errMessagePoisoned = errors.New("shards: released message written to")
)
