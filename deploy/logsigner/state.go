package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/sh-preschool/preschool/shared/release"
)

const stateVersion = 1

// state records the files signed so far by absolute path, so that a run
// skips them without reading them again and notices a signed file that
// changed.
type state struct {
	Version int                    `json:"version"`
	Files   map[string]*fileRecord `json:"files"`
}

// fileRecord is the state of a file when it was signed: its identity, size,
// time and SM3 digest, and the signature written.
type fileRecord struct {
	Device    uint64    `json:"device"`
	Inode     uint64    `json:"inode"`
	Size      int64     `json:"size"`
	Modified  time.Time `json:"modified"`
	SM3       string    `json:"sm3"`
	KeyID     string    `json:"keyId"`
	Signature string    `json:"signature"`
	SignedAt  time.Time `json:"signedAt"`
}

// sameFile reports whether info is the file that was signed, judged by
// device and inode.
func (r *fileRecord) sameFile(info os.FileInfo) bool {
	device, inode := fileIdentity(info)
	return r.Device == device && r.Inode == inode
}

// unchanged reports whether info has the size and modification time the
// file had when it was signed.
func (r *fileRecord) unchanged(info os.FileInfo) bool {
	return r.Size == info.Size() && r.Modified.Equal(info.ModTime())
}

func newRecord(info os.FileInfo, sm3Hex, keyID, signaturePath string, signedAt time.Time) *fileRecord {
	device, inode := fileIdentity(info)
	return &fileRecord{
		Device: device, Inode: inode, Size: info.Size(), Modified: info.ModTime(),
		SM3: sm3Hex, KeyID: keyID, Signature: signaturePath, SignedAt: signedAt.UTC(),
	}
}

// loadState reads the state file; a missing file is an empty state.
func loadState(path string) (*state, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return &state{Version: stateVersion, Files: map[string]*fileRecord{}}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read state: %w", err)
	}
	var loaded state
	if err := json.Unmarshal(data, &loaded); err != nil {
		return nil, fmt.Errorf("state file %s is not valid JSON (%v): move it aside to start over; "+
			"files that already have signatures are then checked against them", path, err)
	}
	if loaded.Version != stateVersion {
		return nil, fmt.Errorf("state file %s has version %d, want %d", path, loaded.Version, stateVersion)
	}
	if loaded.Files == nil {
		loaded.Files = map[string]*fileRecord{}
	}
	return &loaded, nil
}

// save writes the state atomically, readable by its owner only.
func (s *state) save(path string) error {
	data, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
		return fmt.Errorf("create state directory: %w", err)
	}
	if err := release.WriteFileAtomic(path, append(data, '\n'), 0o600); err != nil {
		return fmt.Errorf("write state: %w", err)
	}
	return nil
}
