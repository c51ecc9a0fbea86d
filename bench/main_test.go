package bench

import (
	"fmt"
	"os"
	"os/exec"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"
)

// testBins holds the brokers the tests build (testBinDir), shared by the
// tests of one run and removed after them.
var testBins struct {
	once sync.Once
	dir  string
	err  error
}

// testBinDir returns testBins' directory, creating it on first use.
func testBinDir(t *testing.T) string {
	t.Helper()
	testBins.once.Do(func() { testBins.dir, testBins.err = os.MkdirTemp("", "shardmq-bench-test-") })
	if testBins.err != nil {
		t.Fatal(testBins.err)
	}
	return testBins.dir
}

// TestMain lets the test binary act as a worker (the harness re-executes
// its own binary), checks that no test leaks goroutines, and removes the
// brokers the tests built.
func TestMain(m *testing.M) {
	MaybeRunWorker()
	code := m.Run()
	if code == 0 {
		if err := goleak.Find(); err != nil {
			fmt.Fprintln(os.Stderr, "goleak:", err)
			code = 1
		}
	}
	if testBins.dir != "" {
		os.RemoveAll(testBins.dir)
	}
	os.Exit(code)
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
