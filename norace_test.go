//go:build !race

package nfgo_test

const raceDetector = false
