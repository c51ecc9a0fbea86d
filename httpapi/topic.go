package httpapi

import (
	"errors"
	"fmt"
	"strings"

	"github.com/shardmq/shardmq/mqtt"
)

// maxTopicLen is the longest MQTT UTF-8 string.
const maxTopicLen = 65535

// validMQTTString checks the rules every MQTT UTF-8 string follows (client ids, user
// properties): well-formed UTF-8 without U+0000 or surrogates [MQTT-1.5.4-1]
// [MQTT-1.5.4-2], at most 65,535 bytes. The rules are the codec's, so the API accepts
// exactly what the broker would accept on the wire; the error says which rule s breaks.
func validMQTTString(s string) error {
	if len(s) > maxTopicLen {
		return errors.New("longer than 65535 bytes")
	}
	if mqtt.ValidUTF8String([]byte(s)) == nil {
		return nil
	}
	if strings.IndexByte(s, 0) >= 0 {
		return errors.New("contains U+0000")
	}
	return errors.New("not valid UTF-8")
}

// validTopicName checks a topic name to publish to with the codec's rules: non-empty,
// no wildcard [MQTT-3.3.2-2], a valid MQTT string. The error quotes the name and says
// what is wrong with it.
func validTopicName(s string) error {
	if mqtt.ValidTopicName([]byte(s)) == nil {
		return nil
	}
	var why string
	switch {
	case s == "":
		why = "must not be empty"
	case strings.ContainsAny(s, "+#"):
		why = "wildcards '+' and '#' are allowed only in topic filters"
	default:
		if err := validMQTTString(s); err != nil {
			why = err.Error()
		} else {
			why = "not a valid topic name"
		}
	}
	return fmt.Errorf("topic name %s: %s", quoteShort(s), why)
}

// validTopicFilter checks a topic filter with the codec's rules, including the
// "$share/{group}/" and "$queue/" forms [MQTT-4.7.1] [MQTT-4.8.2]. The codec decides;
// the error quotes the filter and names the rule it breaks, e.g.
// topic filter "a/#/b": '#' must be the last level.
func validTopicFilter(s string) error {
	if mqtt.ValidTopicFilter([]byte(s)) == nil {
		return nil
	}
	return fmt.Errorf("topic filter %s: %s", quoteShort(s), filterProblem(s))
}

// filterProblem says which rule the invalid topic filter s breaks.
func filterProblem(s string) string {
	if s == "" {
		return "must not be empty"
	}
	if err := validMQTTString(s); err != nil {
		return err.Error()
	}
	f := s
	switch {
	case strings.HasPrefix(s, "$share/"):
		group, filter, ok := mqtt.ParseShare([]byte(s))
		if !ok {
			return "want $share/{group}/{filter} with a non-empty group and filter"
		}
		if strings.ContainsAny(string(group), "+#") {
			return "a share group must not contain '+' or '#'"
		}
		f = string(filter)
	case strings.HasPrefix(s, "$queue/"):
		if len(s) == len("$queue/") {
			return "want $queue/{filter} with a non-empty filter"
		}
		f = s[len("$queue/"):]
	}
	for level := range strings.SplitSeq(f, "/") {
		if strings.Contains(level, "+") && level != "+" {
			return "'+' must be a whole level"
		}
	}
	if i := strings.IndexByte(f, '#'); i >= 0 {
		if i > 0 && f[i-1] != '/' {
			return "'#' must be a whole level"
		}
		if i+1 != len(f) {
			return "'#' must be the last level"
		}
	}
	return "not a valid topic filter"
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
