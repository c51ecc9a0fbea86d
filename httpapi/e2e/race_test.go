//go:build race

package e2e

// raceEnabled is true when the race detector is on: it slows bcrypt
// about tenfold, so tests pick a cheaper cost.
const raceEnabled = true
