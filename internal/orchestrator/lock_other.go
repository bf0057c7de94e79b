//go:build !unix

package orchestrator

import "errors"

// nodeLock: the controller runs on Linux nodes only; elsewhere there is no lock to take.
type nodeLock struct{}

func (l *nodeLock) tryLock(path string) (bool, error) {
	if path == "" {
		return true, nil
	}
	return false, errors.New("the node lock needs a Unix system")
}
