package main

import (
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/sh-preschool/preschool/shared/crypto"
	"github.com/sh-preschool/preschool/shared/release"
)

// errChangedWhileReading means a file was written to while it was being
// digested, so it is probably still in use and is left for a later run.
var errChangedWhileReading = errors.New("the file changed while it was being read")

// logSigner signs the rotated log files of one run.
type logSigner struct {
	signer        *crypto.Signer
	userID        string
	signaturesDir string
	minAge        time.Duration
	now           func() time.Time
	logger        *slog.Logger
	state         *state
	summary       summary
}

// summary counts what a run did with the files it looked at.
type summary struct {
	Signed    int // signed in this run
	Unchanged int // signed before and unchanged since
	Recent    int // modified less than the minimum age ago, left for later
	Problems  int // changed after signing, or a signature that does not match
	Errors    int // could not be read or signed
}

func (s *logSigner) signaturePath(path string) string {
	return signaturePath(s.signaturesDir, path)
}

// signaturePath returns where the signature of the log at the absolute path
// goes: beside it, or under signaturesDir at the log's absolute path. The
// absolute path keeps logs of different directories with one name apart.
func signaturePath(signaturesDir, path string) string {
	if signaturesDir == "" {
		return path + release.SignatureSuffix
	}
	return filepath.Join(signaturesDir, path) + release.SignatureSuffix
}

// isOwnFile reports whether name is a signature or a temporary file of
// this program, which the log patterns may match when signatures are
// written beside the logs.
func isOwnFile(name string) bool {
	return strings.HasSuffix(name, release.SignatureSuffix) || strings.Contains(name, release.SignatureSuffix+".tmp-")
}

// matchingFiles returns the absolute paths of the regular files in dirs
// whose names match one of patterns, sorted.
func matchingFiles(dirs, patterns []string) ([]string, error) {
	var paths []string
	for _, dir := range dirs {
		absolute, err := filepath.Abs(dir)
		if err != nil {
			return nil, err
		}
		entries, err := os.ReadDir(absolute)
		if err != nil {
			return nil, fmt.Errorf("list log directory: %w", err)
		}
		for _, entry := range entries {
			if !entry.Type().IsRegular() || isOwnFile(entry.Name()) {
				continue
			}
			for _, pattern := range patterns {
				if matched, _ := filepath.Match(pattern, entry.Name()); matched {
					paths = append(paths, filepath.Join(absolute, entry.Name()))
					break
				}
			}
		}
	}
	slices.Sort(paths)
	return slices.Compact(paths), nil
}

// process signs the file at path if it needs a signature, and reports a
// signed file that has changed since.
func (s *logSigner) process(path string) {
	logger := s.logger.With("file", path)
	info, err := os.Lstat(path)
	if err != nil {
		s.fail(logger, "cannot read the log file", err)
		return
	}
	if age := s.now().Sub(info.ModTime()); age < s.minAge {
		s.summary.Recent++
		logger.Debug("log file modified recently, left for a later run", "age", age.Round(time.Second), "min_age", s.minAge)
		return
	}

	record := s.state.Files[path]
	signaturePath := s.signaturePath(path)
	switch {
	case record != nil && record.sameFile(info) && record.unchanged(info):
		if _, err := os.Stat(signaturePath); err == nil {
			s.summary.Unchanged++
			return
		}
		s.checkAndResign(logger, path, info, record, "its signature file is missing")
	case record != nil && record.sameFile(info):
		s.checkAndResign(logger, path, info, record, "")
	case record != nil:
		logger.Info("another file has taken the name of a signed log, as numbered rotation does; signing it")
		s.sign(logger, path, info)
	default:
		s.signNew(logger, path, info, signaturePath)
	}
}

// checkAndResign reads a signed file again when its size or time differs
// from the record, or when missing names why its signature file is gone.
// Unchanged content is recorded again, and signed again if the signature is
// missing. Changed content is a problem and keeps its old signature as
// evidence.
func (s *logSigner) checkAndResign(logger *slog.Logger, path string, info os.FileInfo, record *fileRecord, missing string) {
	digest, info, err := digestFile(path, info)
	if err != nil {
		s.fail(logger, "cannot digest the log file", err)
		return
	}
	if hex.EncodeToString(digest) != record.SM3 {
		s.summary.Problems++
		logger.Error("signed log file has changed since it was signed",
			"signed_sm3", record.SM3, "current_sm3", hex.EncodeToString(digest), "signed_at", record.SignedAt, "signature", record.Signature)
		return
	}
	if missing != "" {
		logger.Warn("signing a log file again because "+missing, "sm3", record.SM3)
		s.signDigest(logger, path, info, digest)
		return
	}
	// Only the time or size seen changed, e.g. a touch; the content is
	// the one signed.
	record.Size, record.Modified = info.Size(), info.ModTime()
	s.summary.Unchanged++
}

// signNew signs a file this state has not seen. A signature file already
// there (from a run whose state was lost) is kept when it matches and
// reported when it does not.
func (s *logSigner) signNew(logger *slog.Logger, path string, info os.FileInfo, signaturePath string) {
	existing, err := release.ReadSignatureFile(signaturePath)
	if errors.Is(err, os.ErrNotExist) {
		s.sign(logger, path, info)
		return
	}
	if err != nil {
		s.summary.Problems++
		logger.Error("existing signature file is unreadable; it is left in place and the log is not signed", "signature", signaturePath, "error", err)
		return
	}

	digest, info, err := digestFile(path, info)
	if err != nil {
		s.fail(logger, "cannot digest the log file", err)
		return
	}
	err = existing.Verify(s.signer.PublicKey())
	if err == nil {
		err = existing.MatchesDigest(digest)
	}
	if err != nil {
		s.summary.Problems++
		logger.Error("existing signature does not match the log file; it is left in place and the log is not signed",
			"signature", signaturePath, "error", err)
		return
	}
	s.state.Files[path] = newRecord(info, hex.EncodeToString(digest), existing.KeyID, signaturePath, s.now())
	s.summary.Unchanged++
	logger.Info("log file was already signed; recorded it", "signature", signaturePath)
}

func (s *logSigner) sign(logger *slog.Logger, path string, info os.FileInfo) {
	digest, info, err := digestFile(path, info)
	if err != nil {
		s.fail(logger, "cannot digest the log file", err)
		return
	}
	s.signDigest(logger, path, info, digest)
}

func (s *logSigner) signDigest(logger *slog.Logger, path string, info os.FileInfo, digest []byte) {
	detached, err := s.signer.SignDigest(digest, s.userID)
	if err != nil {
		s.fail(logger, "cannot sign the log file", err)
		return
	}
	text, err := detached.MarshalText()
	if err != nil {
		s.fail(logger, "cannot sign the log file", err)
		return
	}
	signaturePath := s.signaturePath(path)
	if err := os.MkdirAll(filepath.Dir(signaturePath), 0o755); err != nil {
		s.fail(logger, "cannot create the signature directory", err)
		return
	}
	if err := release.WriteFileAtomic(signaturePath, text, 0o644); err != nil {
		s.fail(logger, "cannot write the signature file", err)
		return
	}
	s.state.Files[path] = newRecord(info, hex.EncodeToString(digest), s.signer.KeyID(), signaturePath, s.now())
	s.summary.Signed++
	logger.Info("signed log file", "signature", signaturePath, "sm3", hex.EncodeToString(digest), "size", info.Size())
}

func (s *logSigner) fail(logger *slog.Logger, message string, err error) {
	if errors.Is(err, errChangedWhileReading) {
		s.summary.Recent++
		logger.Info("log file is still being written, left for a later run")
		return
	}
	s.summary.Errors++
	logger.Error(message, "error", err)
}

// prune drops the records of files that no longer exist, such as logs
// that rotation has deleted. Their signature files stay.
func (s *logSigner) prune() {
	for path := range s.state.Files {
		if _, err := os.Lstat(path); errors.Is(err, os.ErrNotExist) {
			delete(s.state.Files, path)
			s.logger.Debug("signed log file is gone; dropped it from the state", "file", path)
		}
	}
}

// digestFile returns the SM3 digest of the file at path and its
// information, or errChangedWhileReading when it is not the file seen as
// before, or changed while being read.
func digestFile(path string, before os.FileInfo) ([]byte, os.FileInfo, error) {
	file, err := os.Open(path)
	if err != nil {
		return nil, nil, err
	}
	defer file.Close()
	opened, err := file.Stat()
	if err != nil {
		return nil, nil, err
	}
	if !os.SameFile(before, opened) {
		return nil, nil, errChangedWhileReading
	}
	digest, err := crypto.DigestSM3(file)
	if err != nil {
		return nil, nil, err
	}
	after, err := file.Stat()
	if err != nil {
		return nil, nil, err
	}
	if after.Size() != opened.Size() || !after.ModTime().Equal(opened.ModTime()) {
		return nil, nil, errChangedWhileReading
	}
	return digest, after, nil
}
