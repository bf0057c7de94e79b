//go:build unix

package orchestrator

import (
	"errors"
	"fmt"
	"os"
	"syscall"
)

// nodeLock is an exclusive lock on a file that every controller on a node shares (a volume of
// the node): the one that holds it keeps the file open, and the kernel drops the lock when the
// process ends, however it ends.
type nodeLock struct {
	f *os.File
}

// tryLock takes the lock without waiting, or says it is held elsewhere; once taken it is kept.
// An empty path means no lock (a controller run by hand, alone).
func (l *nodeLock) tryLock(path string) (bool, error) {
	if l.f != nil || path == "" {
		return true, nil
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return false, fmt.Errorf("open the node lock: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		_ = f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return false, nil
		}
		return false, fmt.Errorf("take the node lock %s: %w", path, err)
	}
	l.f = f
	return true, nil
}
