package index

import "errors"

// Errors of the subscription index and its shared subscriptions.
var (
	// ErrBadFilter reports a topic filter that breaks the rules of [MQTT-4.7] or a malformed
	// shared-subscription filter [MQTT-4.8.2]; the error also wraps mqtt.TopicFilterInvalid, which
	// the broker answers in SUBACK (0x8F on v5, 0x80 on v3).
	ErrBadFilter = errors.New("index: invalid topic filter")
	// ErrShareNoLocal reports No Local set on a shared subscription, a protocol error
	// [MQTT-3.8.3-4]; the broker disconnects with 0x82.
	ErrShareNoLocal = errors.New("index: no local on a shared subscription")
	// ErrUnknownShareStrategy reports a shared-subscription strategy name that is not one of
	// round_robin, random, hash_clientid or sticky.
	ErrUnknownShareStrategy = errors.New("index: unknown shared subscription strategy")
)
