package index

import (
	"fmt"
	"strings"

	"github.com/shardmq/shardmq/mqtt"
)

// splitShare validates the topic filter f with mqtt.ValidTopicFilter and separates a shared
// filter ($share/{group}/{filter} [MQTT-4.8.2], or EMQX's $queue/{filter}, which is the group
// "$queue") into its group and inner filter. shared is false for an ordinary filter, whose inner
// filter is f itself. err wraps both ErrBadFilter and the mqtt reason code (TopicFilterInvalid), so
// the broker can answer SUBACK/UNSUBACK with it.
func splitShare(f string) (group, filter string, shared bool, err error) {
	b := []byte(f)
	if rc := mqtt.ValidTopicFilter(b); rc != nil {
		shared = strings.HasPrefix(f, "$share/") || strings.HasPrefix(f, "$queue/")
		return "", "", shared, fmt.Errorf("%w %q: %w", ErrBadFilter, f, rc)
	}
	g, inner, ok := mqtt.ParseShare(b)
	if !ok {
		return "", f, false, nil
	}
	return string(g), f[len(f)-len(inner):], true, nil
}

// nextLevel returns the first level of s and what follows its separator; last is true when s held no
// separator, so level is the final level of the topic or filter.
func nextLevel[B ~string | ~[]byte](s B) (level, rest B, last bool) {
	for i := 0; i < len(s); i++ {
		if s[i] == '/' {
			return s[:i], s[i+1:], false
		}
	}
	return s, s[len(s):], true
}
