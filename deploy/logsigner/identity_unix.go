//go:build unix

package main

import (
	"fmt"
	"os"
	"syscall"
)

// fileIdentity returns the device and inode of a file, which stay the same
// while the file is renamed and change when another file takes its name.
func fileIdentity(info os.FileInfo) (device, inode uint64) {
	stat, ok := info.Sys().(*syscall.Stat_t)
	if !ok {
		return 0, 0
	}
	return uint64(stat.Dev), uint64(stat.Ino)
}

// lockFile takes an exclusive advisory lock on path, creating it, so that
// two runs sharing a state file do not overlap. The lock ends with the
// process even when it crashes.
func lockFile(path string) (unlock func(), err error) {
	file, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, err
	}
	if err := syscall.Flock(int(file.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		file.Close()
		return nil, fmt.Errorf("lock %s is taken by another logsigner run: %w", path, err)
	}
	return func() { file.Close() }, nil
}
