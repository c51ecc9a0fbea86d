//go:build race

package shards

// raceEnabled is true when the race detector is on: its instrumentation
// allocates inside map operations and its sync.Pool drops items at random,
// so allocation budgets are looser under it.
const raceEnabled = true
