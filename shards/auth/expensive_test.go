package auth

import "testing"

// TestExpensive checks which Authenticate calls would run bcrypt: a user
// whose password was not verified since the files were loaded, an unknown
// user, a wrong password; never an anonymous client or a verified one.
func TestExpensive(t *testing.T) {
	a, err := New(writeFiles(t, "", map[string]string{"alice": "wonderland"}))
	if err != nil {
		t.Fatal(err)
	}
	open, err := New(Config{})
	if err != nil {
		t.Fatal(err)
	}
	check := func(t *testing.T, a *Auth, user, pw string, has, want bool) {
		t.Helper()
		if got := a.Expensive([]byte(user), []byte(pw), has); got != want {
			t.Fatalf("Expensive(%q, %q, %v) = %v, want %v", user, pw, has, got, want)
		}
	}
	t.Run("before_verification", func(t *testing.T) {
		check(t, a, "alice", "wonderland", true, true)
		check(t, a, "nobody", "x", true, true)
		check(t, a, "", "", false, false)
		check(t, open, "alice", "wonderland", true, false)
	})
	if ok, err := a.Authenticate([]byte("alice"), []byte("wonderland"), true, false); !ok || err != nil {
		t.Fatalf("authenticate: %v %v", ok, err)
	}
	t.Run("after_verification", func(t *testing.T) {
		check(t, a, "alice", "wonderland", true, false)
		check(t, a, "alice", "wrong", true, true)
	})
	t.Run("after_reload", func(t *testing.T) {
		if err := a.Reload(); err != nil {
			t.Fatal(err)
		}
		check(t, a, "alice", "wonderland", true, true)
	})
}

// BenchmarkExpensive measures the check the loop runs before every
// password CONNECT: one HMAC for a verified user.
func BenchmarkExpensive(b *testing.B) {
	a, err := New(writeFiles(b, "", map[string]string{"alice": "wonderland"}))
	if err != nil {
		b.Fatal(err)
	}
	if ok, err := a.Authenticate([]byte("alice"), []byte("wonderland"), true, false); !ok || err != nil {
		b.Fatal(ok, err)
	}
	for _, bc := range []struct {
		name string
		user string
		has  bool
	}{{"user=verified", "alice", true}, {"user=anonymous", "", false}} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if a.Expensive([]byte(bc.user), []byte("wonderland"), bc.has) {
					b.Fatal("expensive")
				}
			}
		})
	}
}
