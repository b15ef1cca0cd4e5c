package daemon

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"
)

// TestLock: a second daemon on the same lock file is refused with who
// holds it; once released, the lock can be taken again.
func TestLock(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ledger.db.lock")
	first, err := AcquireLock(path)
	if err != nil {
		t.Fatal(err)
	}
	second, err := AcquireLock(path)
	if !errors.Is(err, ErrLocked) || second != nil {
		t.Fatalf("second AcquireLock: %v, %v; want ErrLocked", second, err)
	}
	if msg := err.Error(); !strings.Contains(msg, Holder()) || !strings.Contains(msg, path) {
		t.Fatalf("the message %q does not name the holder %s and the file", msg, Holder())
	}
	if err := first.Release(); err != nil {
		t.Fatal(err)
	}
	if err := first.Release(); err != nil {
		t.Fatalf("a second Release: %v", err)
	}
	again, err := AcquireLock(path)
	if err != nil {
		t.Fatalf("AcquireLock after Release: %v", err)
	}
	if err := again.Release(); err != nil {
		t.Fatal(err)
	}
}

// TestLockFolderMissing: a lock file that cannot be created is an error
// that is not ErrLocked.
func TestLockFolderMissing(t *testing.T) {
	_, err := AcquireLock(filepath.Join(t.TempDir(), "no", "such", "folder", "x.lock"))
	if err == nil || errors.Is(err, ErrLocked) {
		t.Fatalf("AcquireLock: %v", err)
	}
}
