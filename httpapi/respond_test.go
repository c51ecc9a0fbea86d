package httpapi

import (
	"encoding/json"
	"strings"
	"testing"
	"unicode/utf8"
)

// checkJSONString checks that appendJSONString(s) is valid JSON decoding to
// what encoding/json would decode its own encoding of s to.
func checkJSONString(t testing.TB, s string) {
	got := appendJSONString(nil, s)
	var back string
	if err := json.Unmarshal(got, &back); err != nil {
		t.Fatalf("appendJSONString(%q) = %s: not JSON: %v", s, got, err)
	}
	ref, _ := json.Marshal(s)
	var want string
	if err := json.Unmarshal(ref, &want); err != nil {
		t.Fatal(err)
	}
	if back != want {
		t.Fatalf("appendJSONString(%q) decodes to %q, encoding/json to %q", s, back, want)
	}
	if utf8.ValidString(s) && back != s {
		t.Fatalf("valid UTF-8 %q did not round-trip: %q", s, back)
	}
}

func TestAppendJSONString(t *testing.T) {
	for _, s := range []string{
		"", "plain", `quote " and \ backslash`, "\n\r\t\x00\x01\x1f\x7f", "<>&", "é中文🙂",
		"\u2028\u2029", "bad \xff utf8", "\xc3", "truncated \xe4\xb8", "' OR 1=1 --", strings.Repeat("x", 1000),
	} {
		t.Run(s[:min(len(s), 10)], func(t *testing.T) { checkJSONString(t, s) })
	}
}

func FuzzAppendJSONString(f *testing.F) {
	for _, s := range []string{"", "a\"b", "\x00", "\xff", "é", "\u2028"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) { checkJSONString(t, s) })
}

func TestAppendTime(t *testing.T) {
	// The seed's example: 2023-09-15T09:36:20.871+00:00.
	got := string(appendTime(nil, 1694770580871))
	if got != `"2023-09-15T09:36:20.871+00:00"` {
		t.Fatalf("appendTime = %s", got)
	}
	if got := string(appendTime(nil, 0)); got != `"1970-01-01T00:00:00.000+00:00"` {
		t.Fatalf("appendTime(0) = %s", got)
	}
}
