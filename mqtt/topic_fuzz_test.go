package mqtt

import (
	"errors"
	"testing"
)

// FuzzMatch checks that Match never panics on arbitrary input and agrees
// with the reference implementation refMatch, and that the validators
// never panic and return only their documented errors.
func FuzzMatch(f *testing.F) {
	for _, tc := range matchTests {
		f.Add(tc.filter, tc.topic)
	}
	f.Add("", "")
	f.Add("#", "")
	f.Add("+", "")
	f.Add("+a/#b", "$x/y")
	f.Add("$share/g/a/+", "a/b")
	f.Fuzz(func(t *testing.T, filter, topic string) {
		fb, tb := []byte(filter), []byte(topic)
		got := Match(fb, tb)
		if want := refMatch(filter, topic); got != want {
			t.Fatalf("Match(%q, %q) = %v, reference says %v", filter, topic, got, want)
		}
		if err := ValidTopicName(tb); err != nil && !errors.Is(err, TopicNameInvalid) {
			t.Fatalf("ValidTopicName(%q) = %v", topic, err)
		}
		if err := ValidTopicFilter(fb); err != nil && !errors.Is(err, TopicFilterInvalid) {
			t.Fatalf("ValidTopicFilter(%q) = %v", filter, err)
		}
		if g, sf, ok := ParseShare(fb); ok && (len(g) == 0 || len(sf) == 0) {
			t.Fatalf("ParseShare(%q) = %q, %q, true: empty part", filter, g, sf)
		}
	})
}
