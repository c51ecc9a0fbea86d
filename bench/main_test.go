package bench

import (
	"os/exec"
	"testing"
	"time"

	"go.uber.org/goleak"
)

// TestMain lets the test binary act as a storm worker (the harness
// re-executes its own binary) and checks that no test leaks goroutines.
func TestMain(m *testing.M) {
	MaybeRunWorker()
	goleak.VerifyTestMain(m)
}

// mosquittoOrSkip returns the mosquitto binary, or skips the test when it
// is not installed (make deps installs it).
func mosquittoOrSkip(t *testing.T) string {
	t.Helper()
	p, err := findBinary("", "mosquitto", "/usr/sbin/mosquitto")
	if err != nil {
		t.Skip("mosquitto not installed (make deps): ", err)
	}
	return p
}

// haveGo reports whether the go tool is available for builds.
func haveGo() bool {
	_, err := exec.LookPath("go")
	return err == nil
}

// tinyConfig is a configuration small enough for unit tests.
func tinyConfig() Config {
	return Config{
		Repeats: 1, Warmup: 50e6, Duration: 300e6, FanInPublishers: 3, FanOutSubscribers: 3, Pairs: 2,
		FixedRate: 2000, FixedRatePairs: 2, StormConns: 20, StormConcurrency: 5, Window: 4,
		QoS0Window: 8, IdleHold: 100 * time.Millisecond,
	}.withDefaults()
}
