package mqtt

import (
	"bytes"
	"unicode/utf8"
)

// maxTopicLen is the largest topic name or filter an MQTT UTF-8 encoded
// string can carry: its length prefix is a two-byte integer [MQTT-1.5.4].
const maxTopicLen = 65535

var (
	sharePrefix = []byte("$share/")
	queuePrefix = []byte("$queue/")
	queueGroup  = []byte("$queue")
)

// ValidTopicName reports whether t may be used as the topic name of a
// PUBLISH. It returns nil, or TopicNameInvalid when t is empty
// [MQTT-4.7.3-1], contains a wildcard character [MQTT-3.3.2-2], is not
// well-formed UTF-8 or contains U+0000 [MQTT-1.5.4-1] [MQTT-1.5.4-2], or is
// longer than 65535 bytes. It does not allocate.
func ValidTopicName(t []byte) error {
	if len(t) == 0 || len(t) > maxTopicLen {
		return TopicNameInvalid
	}
	for _, c := range t {
		if c == '+' || c == '#' || c == 0 {
			return TopicNameInvalid
		}
	}
	if !utf8.Valid(t) {
		return TopicNameInvalid
	}
	return nil
}

// ValidTopicFilter reports whether f may be used as the topic filter of a
// SUBSCRIBE or UNSUBSCRIBE. It returns nil, or TopicFilterInvalid when f is
// empty [MQTT-4.7.3-1], longer than 65535 bytes, not well-formed UTF-8 or
// contains U+0000 [MQTT-1.5.4-1] [MQTT-1.5.4-2], when a '+' does not occupy
// a whole level [MQTT-4.7.1-2], or when a '#' is not the whole last level
// [MQTT-4.7.1-1].
//
// A shared subscription "$share/{group}/{filter}" [MQTT-4.8.2-1] must have a
// non-empty group without '+', '#' or '/' [MQTT-4.8.2-2] and a non-empty,
// valid filter; EMQX's "$queue/{filter}" must have a non-empty, valid
// filter. It does not allocate.
func ValidTopicFilter(f []byte) error {
	if len(f) == 0 || len(f) > maxTopicLen || !utf8.Valid(f) {
		return TopicFilterInvalid
	}
	if bytes.HasPrefix(f, sharePrefix) || bytes.HasPrefix(f, queuePrefix) {
		group, filter, ok := ParseShare(f)
		if !ok || bytes.ContainsAny(group, "+#") {
			return TopicFilterInvalid
		}
		f = filter
	}
	return validFilterLevels(f)
}

// validFilterLevels checks the wildcard placement and the absence of U+0000
// in the non-empty, non-shared filter f.
func validFilterLevels(f []byte) error {
	for i, c := range f {
		switch c {
		case 0:
			return TopicFilterInvalid
		case '+':
			// [MQTT-4.7.1-2] the single-level wildcard fills its level.
			if (i > 0 && f[i-1] != '/') || (i+1 < len(f) && f[i+1] != '/') {
				return TopicFilterInvalid
			}
		case '#':
			// [MQTT-4.7.1-1] the multi-level wildcard is the whole last level.
			if (i > 0 && f[i-1] != '/') || i+1 != len(f) {
				return TopicFilterInvalid
			}
		}
	}
	return nil
}

// ParseShare splits a shared subscription filter. For "$share/{group}/{filter}"
// it returns group and filter; for EMQX's "$queue/{filter}" it returns the
// group "$queue" and filter. ok is false when f is not a shared subscription
// or when its group or filter is empty; it does not check wildcards, which
// is ValidTopicFilter's job. The returned slices alias f (group aliases a
// package-level value for "$queue" and must not be modified).
func ParseShare(f []byte) (group, filter []byte, ok bool) {
	switch {
	case bytes.HasPrefix(f, sharePrefix):
		rest := f[len(sharePrefix):]
		i := bytes.IndexByte(rest, '/')
		if i <= 0 || i+1 == len(rest) {
			return nil, nil, false
		}
		return rest[:i], rest[i+1:], true
	case bytes.HasPrefix(f, queuePrefix):
		rest := f[len(queuePrefix):]
		if len(rest) == 0 {
			return nil, nil, false
		}
		return queueGroup[:len(queueGroup):len(queueGroup)], rest, true
	}
	return nil, nil, false
}

// Match reports whether the topic name topic matches the topic filter
// filter (not a shared subscription; strip it with ParseShare first).
// '+' matches exactly one level, possibly empty; '#' matches the parent
// level and any number of levels below it, so "a/#" matches "a"
// [MQTT-4.7.1-2]. A filter whose first character is a wildcard never
// matches a topic that starts with '$' [MQTT-4.7.2-1]. Wildcard characters
// count as wildcards only where ValidTopicFilter allows them; elsewhere
// they are compared literally. Match does not allocate.
func Match(filter, topic []byte) bool {
	if len(topic) > 0 && topic[0] == '$' && startsWithWildcard(filter) {
		return false
	}
	fi, ti := 0, 0
	for {
		// Both fi and ti are at the start of a level here.
		if fi+1 == len(filter) && filter[fi] == '#' {
			return true
		}
		if fi < len(filter) && filter[fi] == '+' && (fi+1 == len(filter) || filter[fi+1] == '/') {
			for ti < len(topic) && topic[ti] != '/' {
				ti++
			}
			fi++
		} else {
			for fi < len(filter) && filter[fi] != '/' {
				if ti == len(topic) || topic[ti] != filter[fi] {
					return false
				}
				fi++
				ti++
			}
			if ti < len(topic) && topic[ti] != '/' {
				return false
			}
		}
		// Both are at the end of a level: a '/' or the end of the slice.
		filterDone, topicDone := fi == len(filter), ti == len(topic)
		switch {
		case filterDone:
			return topicDone
		case topicDone:
			// "a/#" matches "a" [MQTT-4.7.1-2].
			return len(filter)-fi == 2 && filter[fi+1] == '#'
		}
		fi++
		ti++
	}
}

// startsWithWildcard reports whether the first level of filter is "+" or
// the whole filter is "#".
func startsWithWildcard(filter []byte) bool {
	switch {
	case len(filter) == 0:
		return false
	case filter[0] == '#':
		return len(filter) == 1
	case filter[0] == '+':
		return len(filter) == 1 || filter[1] == '/'
	}
	return false
}
