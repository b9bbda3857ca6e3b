package upload

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
)

// FileSuffix ends the name of every sealed upload.
const FileSuffix = ".sealed"

// tempSuffix ends the name of a file being written by WriteFile. Such a file
// left behind by a crash is removed by the next Rotator run.
const tempSuffix = ".tmp"

// WriteFile stores data at path, readable only by its owner, so that no
// reader finds a partial file, even after a crash. It writes a temporary file in
// the same folder, flushes it to disk, renames it over path and flushes the
// folder. It creates the folder when needed.
func WriteFile(path string, data []byte) error {
	folder := filepath.Dir(path)
	if err := os.MkdirAll(folder, 0o700); err != nil {
		return fmt.Errorf("create upload folder: %w", err)
	}

	random := make([]byte, 8)
	if _, err := rand.Read(random); err != nil {
		return err
	}
	temp := filepath.Join(folder, "."+filepath.Base(path)+"."+hex.EncodeToString(random)+tempSuffix)
	file, err := os.OpenFile(temp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return fmt.Errorf("create temporary upload file: %w", err)
	}

	_, err = file.Write(data)
	if err == nil {
		err = file.Sync()
	}
	if closeErr := file.Close(); err == nil {
		err = closeErr
	}

	if err == nil && beforeRename != nil {
		beforeRename(path)
	}
	if err == nil {
		err = os.Rename(temp, path)
	}
	if err != nil {
		os.Remove(temp)
		return fmt.Errorf("write upload file %s: %w", path, err)
	}
	return syncFolder(folder)
}

// beforeRename, when set by a test, runs between writing a temporary file
// and renaming it, so a test can stop the process there.
var beforeRename func(path string)

func syncFolder(folder string) error {
	handle, err := os.Open(folder)
	if err != nil {
		return fmt.Errorf("open upload folder %s: %w", folder, err)
	}
	defer handle.Close()
	if err := handle.Sync(); err != nil {
		return fmt.Errorf("flush upload folder %s: %w", folder, err)
	}
	return nil
}
