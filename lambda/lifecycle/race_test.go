//go:build race

package lifecycle

// raceEnabled: the race detector slows every request several times over.
const raceEnabled = true
