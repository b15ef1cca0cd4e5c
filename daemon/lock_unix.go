//go:build unix

package daemon

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"syscall"
)

// Lock keeps a second daemon off the same SQLite ledger: an exclusive
// flock on path, released by the kernel when the process dies, so a crash
// never leaves a stale lock. The file holds the holder's host:pid for the
// message the next one prints.
type Lock struct{ f *os.File }

// ErrLocked is returned when another process holds the lock.
var ErrLocked = errors.New("another pointsync daemon is running on this ledger")

// AcquireLock takes the lock or reports who holds it.
func AcquireLock(path string) (*Lock, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("lock file: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		holder := make([]byte, 256)
		n, _ := f.ReadAt(holder, 0)
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			who := strings.TrimSpace(string(holder[:n]))
			if who == "" {
				who = "unknown"
			}
			return nil, fmt.Errorf("%w (%s holds %s); stop it first, or give this one another ledger", ErrLocked, who, path)
		}
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	if err := f.Truncate(0); err == nil {
		_, _ = f.WriteAt([]byte(Holder()+"\n"), 0)
	}
	return &Lock{f: f}, nil
}

// Release gives the lock up.
func (l *Lock) Release() error {
	if l == nil || l.f == nil {
		return nil
	}
	err := l.f.Close()
	l.f = nil
	return err
}
