package daemon

import (
	"math"
	"runtime/debug"
	"testing"

	"github.com/pointsync/pointsync/configs"
)

func TestSetMemoryLimit(t *testing.T) {
	old := debug.SetMemoryLimit(-1)
	t.Cleanup(func() { debug.SetMemoryLimit(old) })
	tests := []struct {
		name      string
		env       string // "" leaves GOMEMLIMIT unset
		mib       int
		wantLimit int64 // the runtime's limit after; -1: unchanged
		wantFrom  string
	}{
		{"configured", "", 64, 64 << 20, "daemon.memory_limit_mib"},
		{"zero leaves the runtime alone", "", 0, -1, ""},
		{"the environment wins", "1GiB", 64, -1, "GOMEMLIMIT"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			debug.SetMemoryLimit(math.MaxInt64)
			if tt.env != "" {
				t.Setenv("GOMEMLIMIT", tt.env)
			}
			limit, from := SetMemoryLimit(configs.Daemon{MemoryLimitMiB: tt.mib})
			if from != tt.wantFrom {
				t.Errorf("from = %q, want %q", from, tt.wantFrom)
			}
			got := debug.SetMemoryLimit(-1)
			want := tt.wantLimit
			if want == -1 {
				want = math.MaxInt64
			}
			if got != want {
				t.Errorf("runtime limit = %d, want %d", got, want)
			}
			if tt.wantFrom == "daemon.memory_limit_mib" && limit != want {
				t.Errorf("returned limit %d, want %d", limit, want)
			}
		})
	}
}
