package userfile

import "testing"

// TestSet: a user's line is replaced in place, a new user is appended, a
// comment naming the user and a last line without newline are kept.
func TestSet(t *testing.T) {
	old := "# alice:commented\nalice:old\nbob:x"
	out, added := Set([]byte(old), "alice", "alice:new")
	if added || string(out) != "# alice:commented\nalice:new\nbob:x\n" {
		t.Fatalf("replace: %q added=%v", out, added)
	}
	out, added = Set(out, "carol", "carol:c")
	if !added || string(out) != "# alice:commented\nalice:new\nbob:x\ncarol:c\n" {
		t.Fatalf("append: %q added=%v", out, added)
	}
}
