//go:build race

package templates

// The race detector allows 8128 live goroutines.
const raceEnabled = true
