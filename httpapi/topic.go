package httpapi

import (
	"errors"
	"strings"
	"unicode/utf8"
)

// maxTopicLen is the longest MQTT UTF-8 string.
const maxTopicLen = 65535

// validMQTTString checks the rules every MQTT UTF-8 string follows: valid
// UTF-8 without U+0000 [MQTT-1.5.4-1] [MQTT-1.5.4-2], at most 65,535 bytes.
func validMQTTString(s string) error {
	if len(s) > maxTopicLen {
		return errors.New("longer than 65535 bytes")
	}
	if !utf8.ValidString(s) {
		return errors.New("not valid UTF-8")
	}
	if strings.IndexByte(s, 0) >= 0 {
		return errors.New("contains U+0000")
	}
	return nil
}

// validTopicName checks a topic name to publish to: non-empty, no wildcard
// [MQTT-3.3.2-2].
func validTopicName(s string) error {
	if s == "" {
		return errors.New("empty topic")
	}
	if err := validMQTTString(s); err != nil {
		return err
	}
	if strings.ContainsAny(s, "+#") {
		return errors.New("wildcard in a topic name")
	}
	return nil
}

// validTopicFilter checks a topic filter, with an optional
// "$share/{group}/" prefix [MQTT-4.8.2-1] [MQTT-4.8.2-2].
func validTopicFilter(s string) error {
	if err := validMQTTString(s); err != nil {
		return err
	}
	group, filter, shared := splitShare(s)
	if shared {
		if group == "" || strings.ContainsAny(group, "+#/") {
			return errors.New("bad share group name")
		}
	} else if strings.HasPrefix(s, "$share/") || s == "$share" {
		return errors.New("$share without a group and a filter")
	}
	if filter == "" {
		return errors.New("empty topic filter")
	}
	levels := strings.Split(filter, "/")
	for i, l := range levels {
		switch {
		case l == "#":
			if i != len(levels)-1 {
				return errors.New("'#' not the last level") // [MQTT-4.7.1-1]
			}
		case l == "+":
		case strings.ContainsAny(l, "+#"):
			return errors.New("wildcard not alone in its level") // [MQTT-4.7.1-2]
		}
	}
	return nil
}

// splitShare splits "$share/{group}/{filter}" into its group and filter;
// shared is false (and filter is s) for any other topic.
func splitShare(s string) (group, filter string, shared bool) {
	rest, ok := strings.CutPrefix(s, "$share/")
	if !ok {
		return "", s, false
	}
	group, filter, ok = strings.Cut(rest, "/")
	if !ok {
		return "", s, false
	}
	return group, filter, true
}

// topicMatch reports whether topic name matches topic filter, with the rule
// that wildcards at the first level do not match names starting with '$'
// [MQTT-4.7.2-1].
func topicMatch(filter, name string) bool {
	if strings.HasPrefix(name, "$") && (strings.HasPrefix(filter, "+") || strings.HasPrefix(filter, "#")) {
		return false
	}
	for {
		fl, frest, fmore := strings.Cut(filter, "/")
		if fl == "#" {
			return true
		}
		nl, nrest, nmore := strings.Cut(name, "/")
		if fl != "+" && fl != nl {
			return false
		}
		if !fmore || !nmore {
			// "a/#" matches "a" too [MQTT-4.7.1-2].
			return fmore == nmore || (fmore && frest == "#")
		}
		filter, name = frest, nrest
	}
}
