//go:build race

package nfgo_test

// raceDetector is set in a race-detector build, whose sync.Pool drops
// items on purpose: allocation counts there say nothing about the code.
const raceDetector = true
