package httpapi

import (
	"strings"
	"testing"
)

func TestValidTopicFilter(t *testing.T) {
	tests := []struct {
		filter string
		ok     bool
	}{
		{"t/a", true}, {"#", true}, {"+", true}, {"a/+/b", true}, {"a/#", true}, {"/", true},
		{"$SYS/#", true}, {"$share/g/t/#", true}, {"$share/g/+", true}, {"$queue/t", true},
		{"", false}, {"a/#/b", false}, {"a#", false}, {"a/b+", false}, {"+a", false},
		{"$share/g", false}, {"$share//t", false}, {"$share/g+/t", false}, {"$share/g/", false},
		{"$share/", false}, {"a\x00b", false}, {"a\xffb", false}, {strings.Repeat("a", 65536), false},
		{strings.Repeat("a", 65535), true},
	}
	for _, tc := range tests {
		name := tc.filter
		if len(name) > 20 {
			name = name[:20]
		}
		t.Run(name, func(t *testing.T) {
			if err := validTopicFilter(tc.filter); (err == nil) != tc.ok {
				t.Fatalf("validTopicFilter(%q) = %v, want ok=%v", tc.filter, err, tc.ok)
			}
		})
	}
}

func TestValidTopicName(t *testing.T) {
	tests := []struct {
		name string
		ok   bool
	}{
		{"t/a", true}, {"/", true}, {"$SYS/x", true}, {"a b/é", true},
		{"", false}, {"t/+", false}, {"t/#", false}, {"a\x00", false}, {"\xc3", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if err := validTopicName(tc.name); (err == nil) != tc.ok {
				t.Fatalf("validTopicName(%q) = %v, want ok=%v", tc.name, err, tc.ok)
			}
		})
	}
}

func TestTopicMatch(t *testing.T) {
	tests := []struct {
		filter, name string
		match        bool
	}{
		{"a/b", "a/b", true}, {"a/b", "a/c", false}, {"a/+", "a/b", true}, {"a/+", "a/b/c", false},
		{"a/#", "a", true}, {"a/#", "a/b/c", true}, {"#", "a/b", true}, {"+/+", "a/b", true},
		{"+", "/", false}, {"+/+", "/", true}, {"a/+/c", "a//c", true}, {"#", "$SYS/x", false},
		{"+/x", "$SYS/x", false}, {"$SYS/#", "$SYS/x", true}, {"a", "a/b", false}, {"a/b", "a", false},
		{"a/+/#", "a/b", true},
	}
	for _, tc := range tests {
		t.Run(tc.filter+" "+tc.name, func(t *testing.T) {
			if got := topicMatch(tc.filter, tc.name); got != tc.match {
				t.Fatalf("topicMatch(%q, %q) = %v", tc.filter, tc.name, got)
			}
		})
	}
}

func TestSubscriptionFilterMatches(t *testing.T) {
	sub := Subscription{ClientID: "c1", Topic: "$share/g1/a/+", QoS: 1}
	plain := Subscription{ClientID: "c2", Topic: "a/b", QoS: 0}
	tests := []struct {
		name string
		f    SubscriptionFilter
		s    Subscription
		want bool
	}{
		{"empty", SubscriptionFilter{}, sub, true},
		{"clientid", SubscriptionFilter{ClientID: "c1"}, sub, true},
		{"clientid other", SubscriptionFilter{ClientID: "c2"}, sub, false},
		{"topic without share prefix", SubscriptionFilter{Topic: "a/+"}, sub, true},
		{"topic exact not match", SubscriptionFilter{Topic: "a/b"}, sub, false},
		{"qos", SubscriptionFilter{QoS: 1, HasQoS: true}, sub, true},
		{"qos 0", SubscriptionFilter{QoS: 0, HasQoS: true}, sub, false},
		{"share group", SubscriptionFilter{ShareGroup: "g1"}, sub, true},
		{"share group other", SubscriptionFilter{ShareGroup: "g2"}, sub, false},
		{"share group on plain", SubscriptionFilter{ShareGroup: "g1"}, plain, false},
		{"match_topic", SubscriptionFilter{MatchTopic: "a/x"}, sub, true},
		{"match_topic no", SubscriptionFilter{MatchTopic: "b/x"}, sub, false},
		{"match_topic plain", SubscriptionFilter{MatchTopic: "a/b"}, plain, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.f.Matches(tc.s); got != tc.want {
				t.Fatalf("Matches = %v, want %v", got, tc.want)
			}
		})
	}
}
