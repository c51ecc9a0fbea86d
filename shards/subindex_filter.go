package shards

import (
	"strings"
	"unicode/utf8"
)

// maxTopicLen is the longest topic filter the wire format can carry (a two-byte length prefix).
const maxTopicLen = 65535

// Prefixes of shared-subscription filters. [MQTT-4.8.2] defines $share/{ShareName}/{filter};
// $queue/{filter} is EMQX's older form and means the group named "$queue".
const (
	sharePrefix = "$share/"
	queuePrefix = "$queue/"
	queueGroup  = "$queue"
)

// validFilter reports whether f is a well-formed topic filter: non-empty, at most 65535 bytes, valid
// UTF-8 without U+0000 [MQTT-4.7.3-1] [MQTT-4.7.3-2], '+' only as a whole level [MQTT-4.7.1-2], and
// '#' only as the whole last level [MQTT-4.7.1-1].
func validFilter(f string) bool {
	if f == "" || len(f) > maxTopicLen || !utf8.ValidString(f) || strings.IndexByte(f, 0) >= 0 {
		return false
	}
	start := 0
	for i := 0; i <= len(f); i++ {
		if i < len(f) && f[i] != '/' {
			continue
		}
		level := f[start:i]
		if strings.IndexByte(level, '+') >= 0 && level != "+" {
			return false
		}
		if strings.IndexByte(level, '#') >= 0 && (level != "#" || i != len(f)) {
			return false
		}
		start = i + 1
	}
	return true
}

// splitShare separates a shared-subscription filter into its group and inner filter. ok is false for
// a filter that is not shared; err is ErrBadFilter for a shared filter that is malformed: an empty
// group, a group containing '+' or '#' [MQTT-4.8.2-2], or a missing or invalid inner filter.
func splitShare(f string) (group, filter string, shared bool, err error) {
	switch {
	case strings.HasPrefix(f, sharePrefix):
		rest := f[len(sharePrefix):]
		slash := strings.IndexByte(rest, '/')
		if slash <= 0 {
			return "", "", true, ErrBadFilter
		}
		group, filter = rest[:slash], rest[slash+1:]
		if strings.ContainsAny(group, "+#") {
			return "", "", true, ErrBadFilter
		}
	case strings.HasPrefix(f, queuePrefix):
		group, filter = queueGroup, f[len(queuePrefix):]
	default:
		return "", f, false, nil
	}
	if !validFilter(filter) {
		return "", "", true, ErrBadFilter
	}
	return group, filter, true, nil
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
