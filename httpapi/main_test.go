package httpapi

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the package's tests when a goroutine outlives them: a
// broker call abandoned at its timeout must still end once the broker
// answers, and servers and catalogs must stop.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
