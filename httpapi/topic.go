package httpapi

import (
	"errors"
	"fmt"

	"github.com/shardmq/shardmq/mqtt"
)

// maxTopicLen is the longest MQTT UTF-8 string.
const maxTopicLen = 65535

// validMQTTString checks the rules every MQTT UTF-8 string follows (client ids, user
// properties): well-formed UTF-8 without U+0000 or surrogates [MQTT-1.5.4-1]
// [MQTT-1.5.4-2], at most 65,535 bytes. The rules are the codec's, so the API accepts
// exactly what the broker would accept on the wire.
func validMQTTString(s string) error {
	if len(s) > maxTopicLen {
		return errors.New("longer than 65535 bytes")
	}
	if err := mqtt.ValidUTF8String([]byte(s)); err != nil {
		return fmt.Errorf("not a valid MQTT UTF-8 string: %w", err)
	}
	return nil
}

// validTopicName checks a topic name to publish to with the codec's rules: non-empty,
// no wildcard [MQTT-3.3.2-2], a valid MQTT string.
func validTopicName(s string) error {
	if err := mqtt.ValidTopicName([]byte(s)); err != nil {
		return fmt.Errorf("invalid topic name: %w", err)
	}
	return nil
}

// validTopicFilter checks a topic filter with the codec's rules, including the
// "$share/{group}/" and "$queue/" forms [MQTT-4.7.1] [MQTT-4.8.2].
func validTopicFilter(s string) error {
	if err := mqtt.ValidTopicFilter([]byte(s)); err != nil {
		return fmt.Errorf("invalid topic filter: %w", err)
	}
	return nil
}

// splitShare splits "$share/{group}/{filter}" (or "$queue/{filter}", group "$queue") into
// its group and filter; shared is false (and filter is s) for any other topic.
func splitShare(s string) (group, filter string, shared bool) {
	g, f, ok := mqtt.ParseShare([]byte(s))
	if !ok {
		return "", s, false
	}
	return string(g), string(f), true
}

// topicMatch reports whether topic name matches topic filter, with the rule that
// wildcards at the first level do not match names starting with '$' [MQTT-4.7.2-1].
func topicMatch(filter, name string) bool {
	return mqtt.Match([]byte(filter), []byte(name))
}
