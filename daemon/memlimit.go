package daemon

import (
	"math"
	"os"
	"runtime/debug"

	"github.com/pointsync/pointsync/configs"
)

// SetMemoryLimit makes daemon.memory_limit_mib the Go runtime's soft
// memory limit, for a process that runs for years: without one the heap
// may grow to twice what is live before the collector runs, which over a
// long drop file is most of the daemon's memory. It is soft: live data
// past it is kept, and the collector then spends at most about half the
// CPU. GOMEMLIMIT in the environment, which the runtime read at start,
// wins. It returns the limit in force (0: none) and where it came from
// ("GOMEMLIMIT", "daemon.memory_limit_mib" or "" for none), for the log.
func SetMemoryLimit(c configs.Daemon) (limit int64, from string) {
	if _, set := os.LookupEnv("GOMEMLIMIT"); set {
		if l := debug.SetMemoryLimit(-1); l != math.MaxInt64 {
			return l, "GOMEMLIMIT"
		}
		return 0, "GOMEMLIMIT"
	}
	if c.MemoryLimitMiB <= 0 {
		return 0, ""
	}
	l := int64(c.MemoryLimitMiB) << 20
	debug.SetMemoryLimit(l)
	return l, "daemon.memory_limit_mib"
}
