// Package testflags holds the switches the reliability tests share: the
// long variants and the seed of the randomised ones.
//
//	POINTSYNC_TEST_LONG=1     runs the long variants (more kills, longer
//	                          outages, larger workloads); CI runs the short
//	                          ones.
//	POINTSYNC_TEST_SEED=N     replays a randomised test with the seed it
//	                          logged when it failed.
package testflags

import (
	"os"
	"strconv"
	"testing"
)

// LongEnv and SeedEnv name the variables.
const (
	LongEnv = "POINTSYNC_TEST_LONG"
	SeedEnv = "POINTSYNC_TEST_SEED"
)

// Long reports whether the long variants were asked for.
func Long() bool {
	v := os.Getenv(LongEnv)
	return v != "" && v != "0" && v != "false"
}

// Pick returns long when the long variants were asked for, else short.
func Pick[T any](short, long T) T {
	if Long() {
		return long
	}
	return short
}

// Seed returns the seed of a randomised test: POINTSYNC_TEST_SEED when
// set, else def, so that a CI run is reproducible. It logs the seed and how
// to replay it; a malformed variable fails the test.
func Seed(t testing.TB, def uint64) uint64 {
	t.Helper()
	seed := def
	if v := os.Getenv(SeedEnv); v != "" {
		n, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			t.Fatalf("%s=%q: want a whole number (%v)", SeedEnv, v, err)
		}
		seed = n
	}
	t.Logf("seed %d (replay with %s=%d)", seed, SeedEnv, seed)
	return seed
}
