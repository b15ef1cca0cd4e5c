// Package atomicfile writes a file whole or not at all: under a hidden
// temporary name in the same folder, synced, then renamed over the old
// one, and the folder synced so that the rename survives a power cut.
//
// A process killed between the temporary's creation and the rename leaves
// the temporary behind. Write removes the leftovers of the same file first,
// so that a daemon killed again and again does not fill its folders with
// them. Two processes writing the same file at the same moment may thus
// remove each other's temporary: the loser's rename fails and it reports
// the error (each of pointsync's files has one writer: the daemon's job,
// or the connector's Ack, one at a time).
package atomicfile

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
)

// Write writes path with write, then calls before (when not nil) right
// before the rename: an error from either leaves the old file as it was.
func Write(path string, perm os.FileMode, write func(io.Writer) error, before func() error) (err error) {
	dir, prefix := filepath.Dir(path), "."+filepath.Base(path)+"."
	removeLeftovers(dir, prefix)
	f, err := os.CreateTemp(dir, prefix+"*.tmp")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	if err = write(f); err != nil {
		return err
	}
	if err = f.Sync(); err != nil {
		return err
	}
	if err = f.Close(); err != nil {
		return err
	}
	if err = os.Chmod(f.Name(), perm); err != nil {
		return err
	}
	if before != nil {
		if err = before(); err != nil {
			return err
		}
	}
	if err = os.Rename(f.Name(), path); err != nil {
		return err
	}
	return syncDir(dir)
}

// removeLeftovers removes the regular files of dir named prefix*.tmp. A
// folder that cannot be read is left to the write that follows to report.
func removeLeftovers(dir, prefix string) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return
	}
	for _, e := range entries {
		n := e.Name()
		if !e.Type().IsRegular() || !strings.HasPrefix(n, prefix) || !strings.HasSuffix(n, ".tmp") {
			continue
		}
		_ = os.Remove(filepath.Join(dir, n))
	}
}

// syncDir makes a rename in dir durable. File systems that cannot sync a
// folder (EINVAL) are not an error.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	if err := d.Sync(); err != nil && !errors.Is(err, os.ErrInvalid) && !isEINVAL(err) {
		return err
	}
	return nil
}
