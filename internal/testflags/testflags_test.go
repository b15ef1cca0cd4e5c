package testflags

import "testing"

func TestSeedAndLong(t *testing.T) {
	t.Setenv(SeedEnv, "")
	if got := Seed(t, 42); got != 42 {
		t.Fatalf("Seed without the variable = %d; want the default 42", got)
	}
	t.Setenv(SeedEnv, "7")
	if got := Seed(t, 42); got != 7 {
		t.Fatalf("Seed with %s=7 = %d", SeedEnv, got)
	}
	for v, want := range map[string]bool{"": false, "0": false, "false": false, "1": true, "yes": true} {
		t.Setenv(LongEnv, v)
		if Long() != want || Pick(1, 2) != map[bool]int{false: 1, true: 2}[want] {
			t.Fatalf("%s=%q: Long() = %v; want %v", LongEnv, v, Long(), want)
		}
	}
}
