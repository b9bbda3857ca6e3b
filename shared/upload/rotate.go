package upload

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/sh-preschool/preschool/shared/crypto"
)

// staleTempAge is the minimum age of a temporary file that Rotate removes
// as left behind by a crash. A WriteFile call takes well under a second, so
// an hour leaves a running writer alone.
const staleTempAge = time.Hour

// headerSize covers a ciphertext's format version, key ID length and the
// longest key ID, which is all Rotate reads to find a file's key.
const headerSize = 2 + 255

// Rotator re-encrypts the sealed upload files under Dir with the keyring's
// active key. Each file is replaced by WriteFile only after its new
// ciphertext has been opened again. A run stopped at any point therefore
// leaves every file readable under its old or its new key, and a rerun
// carries on with the files still under an old key.
type Rotator struct {
	Dir     string
	Keyring *crypto.Keyring
	// BatchSize is the number of files between progress log lines and
	// checks of the context; zero means 500.
	BatchSize int
}

// Result counts what one Rotate run did.
type Result struct {
	// Files is the number of files re-encrypted.
	Files int
	// Current is the number of files that were already under the active
	// key.
	Current int
	// TempRemoved is the number of temporary files of crashed writes
	// removed.
	TempRemoved int
	// Failed lists the files that could not be re-encrypted, each with
	// its error. They are left as they were.
	Failed []string
}

// Rotate walks Dir and re-encrypts every sealed upload that names another
// key than the active one. It returns an error when Dir cannot be read or
// the context ends, and a Result whose Failed lists the files it skipped.
func (r *Rotator) Rotate(ctx context.Context) (Result, error) {
	var result Result
	batchSize := r.BatchSize
	if batchSize <= 0 {
		batchSize = 500
	}
	active := r.Keyring.ActiveKeyID()
	owners, err := os.ReadDir(r.Dir)
	if err != nil {
		return result, fmt.Errorf("read upload folder: %w", err)
	}
	var batch []string
	flush := func() error {
		for _, path := range batch {
			if err := r.rotateFile(path, active); err != nil {
				slog.Error("upload file not re-encrypted", "path", path, "error", err)
				result.Failed = append(result.Failed, path+": "+err.Error())
				continue
			}
			result.Files++
		}
		if len(batch) > 0 {
			slog.Info("upload files re-encrypted", "files", result.Files, "failed", len(result.Failed), "key_id", active)
		}
		batch = batch[:0]
		return ctx.Err()
	}

	for _, owner := range owners {
		if !owner.IsDir() || !isOwnerFolder(owner.Name()) {
			continue
		}
		folder := filepath.Join(r.Dir, owner.Name())
		entries, err := os.ReadDir(folder)
		if err != nil {
			return result, fmt.Errorf("read upload folder: %w", err)
		}
		for _, entry := range entries {
			path := filepath.Join(folder, entry.Name())
			switch {
			case !entry.Type().IsRegular():
				continue
			case strings.HasSuffix(entry.Name(), tempSuffix):
				if removeStaleTemp(path, entry) {
					result.TempRemoved++
				}
				continue
			case !strings.HasSuffix(entry.Name(), FileSuffix):
				continue
			}
			keyID, err := fileKeyID(path)
			if err != nil {
				result.Failed = append(result.Failed, path+": "+err.Error())
				continue
			}
			if keyID == active {
				result.Current++
				continue
			}
			batch = append(batch, path)
			if len(batch) == batchSize {
				if err := flush(); err != nil {
					return result, err
				}
			}
		}
	}
	return result, flush()
}

// rotateFile re-encrypts one file, unless it is under the active key by
// now.
func (r *Rotator) rotateFile(path, active string) error {
	sealed, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	keyID, err := crypto.SealedKeyID(sealed)
	if err != nil {
		return err
	}
	if keyID == active {
		return nil
	}
	sealingContext := ownerContext(filepath.Base(filepath.Dir(path)))
	plaintext, err := r.Keyring.Open(sealed, sealingContext)
	if err != nil {
		return err
	}
	resealed := r.Keyring.Seal(plaintext, sealingContext)
	check, err := r.Keyring.Open(resealed, sealingContext)
	if err != nil || !bytes.Equal(check, plaintext) {
		return fmt.Errorf("the new ciphertext does not open to the file's content (%v)", err)
	}
	return WriteFile(path, resealed)
}

// fileKeyID reads the key ID at the start of a sealed file.
func fileKeyID(path string) (string, error) {
	file, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer file.Close()
	header := make([]byte, headerSize)
	n, err := io.ReadFull(file, header)
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) {
		return "", err
	}
	return crypto.SealedKeyID(header[:n])
}

// removeStaleTemp removes a temporary file older than staleTempAge and
// reports whether it did.
func removeStaleTemp(path string, entry fs.DirEntry) bool {
	info, err := entry.Info()
	if err != nil || time.Since(info.ModTime()) < staleTempAge {
		return false
	}
	if err := os.Remove(path); err != nil {
		slog.Error("temporary upload file not removed", "path", path, "error", err)
		return false
	}
	slog.Info("temporary upload file of a crashed write removed", "path", path)
	return true
}

// isOwnerFolder reports whether name is an owner index in hex, as Path
// writes it.
func isOwnerFolder(name string) bool {
	decoded, err := hex.DecodeString(name)
	return err == nil && len(decoded) == 32
}
