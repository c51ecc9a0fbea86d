//go:build !race

package index

// raceEnabled is true when the race detector is on; its instrumentation allocates inside map
// operations, so allocation budgets are asserted only without it.
const raceEnabled = false
