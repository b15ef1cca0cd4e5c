//go:build !unix

package daemon

import (
	"errors"
	"fmt"
	"os"
)

// Lock keeps a second daemon off the same SQLite ledger. Without flock it
// is a file created exclusively and removed on release; a crash leaves it
// behind, and the message says to remove it.
type Lock struct{ path string }

// ErrLocked is returned when another process holds the lock.
var ErrLocked = errors.New("another pointsync daemon is running on this ledger")

// AcquireLock takes the lock or reports who holds it.
func AcquireLock(path string) (*Lock, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		if errors.Is(err, os.ErrExist) {
			return nil, fmt.Errorf("%w (%s exists); if no daemon runs, remove the file", ErrLocked, path)
		}
		return nil, fmt.Errorf("lock file: %w", err)
	}
	_, _ = f.WriteString(Holder() + "\n")
	f.Close()
	return &Lock{path: path}, nil
}

// Release gives the lock up.
func (l *Lock) Release() error {
	if l == nil || l.path == "" {
		return nil
	}
	err := os.Remove(l.path)
	l.path = ""
	return err
}
