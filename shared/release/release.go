// Package release signs release files, the binaries above all, with
// detached SM2 signatures (see crypto.DetachedSignature) and checks them,
// including a binary checking its own signature when it starts.
package release

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"

	"github.com/tjfoc/gmsm/sm2"

	"github.com/sh-preschool/preschool/shared/crypto"
)

// Version is the release version, set at build time by
// -ldflags "-X github.com/sh-preschool/preschool/shared/release.Version=…"
// (make release does). It stays "dev" in other builds, and in binaries that
// do not import this package the linker ignores the flag.
var Version = "dev"

// SignatureSuffix is appended to a file's path to name its detached
// signature.
const SignatureSuffix = ".sig"

// SignFile signs the file at path for userID and writes the signature to
// path+SignatureSuffix, replacing an older one. It returns the signature's
// path.
func SignFile(signer *crypto.Signer, path, userID string) (string, error) {
	file, err := os.Open(path)
	if err != nil {
		return "", fmt.Errorf("release: %w", err)
	}
	defer file.Close()
	detached, err := signer.SignDetached(file, userID)
	if err != nil {
		return "", fmt.Errorf("release: sign %s: %w", path, err)
	}
	text, err := detached.MarshalText()
	if err != nil {
		return "", err
	}
	signaturePath := path + SignatureSuffix
	if err := WriteFileAtomic(signaturePath, text, 0o644); err != nil {
		return "", fmt.Errorf("release: write signature of %s: %w", path, err)
	}
	return signaturePath, nil
}

// VerifyFile checks the file at path against its signature at
// path+SignatureSuffix under key, and returns the signature. Its errors
// wrap os.ErrNotExist for a missing signature, crypto.ErrInvalidSignature or
// crypto.ErrDigestMismatch.
func VerifyFile(key *sm2.PublicKey, path string) (*crypto.DetachedSignature, error) {
	file, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("release: %w", err)
	}
	defer file.Close()
	return verifyContent(key, file, path+SignatureSuffix)
}

// VerifySelf checks the running executable against its signature file
// beside it (the executable's path, after symbolic links, plus
// SignatureSuffix) under the SM2 public key in the PEM file at
// publicKeyPath. A binary calls it at start-up and refuses to start when it
// returns an error.
//
// On Linux it reads the bytes through /proc/self/exe, which is the file the
// process was started from even if a deployment has since replaced the file
// at that path.
func VerifySelf(publicKeyPath string) error {
	key, err := crypto.LoadSM2PublicKeyFile(publicKeyPath)
	if err != nil {
		return fmt.Errorf("release: self-check: %w", err)
	}
	executable, err := os.Executable()
	if err != nil {
		return fmt.Errorf("release: self-check: find the executable: %w", err)
	}
	if resolved, err := filepath.EvalSymlinks(executable); err == nil {
		executable = resolved
	}
	contentPath := executable
	if runtime.GOOS == "linux" {
		contentPath = "/proc/self/exe"
	}
	return verifyExecutable(key, executable, contentPath)
}

// verifyExecutable checks the bytes at contentPath against the signature of
// the executable at executablePath.
func verifyExecutable(key *sm2.PublicKey, executablePath, contentPath string) error {
	content, err := os.Open(contentPath)
	if err != nil {
		return fmt.Errorf("release: self-check: %w", err)
	}
	defer content.Close()
	if _, err := verifyContent(key, content, executablePath+SignatureSuffix); err != nil {
		return fmt.Errorf("release: self-check of %s failed: %w", executablePath, err)
	}
	return nil
}

func verifyContent(key *sm2.PublicKey, content io.Reader, signaturePath string) (*crypto.DetachedSignature, error) {
	detached, err := ReadSignatureFile(signaturePath)
	if err != nil {
		return nil, err
	}
	if err := crypto.VerifyDetachedWithKey(key, content, detached); err != nil {
		return nil, fmt.Errorf("release: %s: %w", signaturePath, err)
	}
	return detached, nil
}

// ReadSignatureFile reads and parses a detached signature file.
func ReadSignatureFile(path string) (*crypto.DetachedSignature, error) {
	file, err := os.Open(path)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("release: signature file %s is missing: %w", path, err)
		}
		return nil, fmt.Errorf("release: %w", err)
	}
	defer file.Close()
	data, err := io.ReadAll(io.LimitReader(file, crypto.MaxDetachedSignatureBytes+1))
	if err != nil {
		return nil, fmt.Errorf("release: read %s: %w", path, err)
	}
	detached, err := crypto.ParseDetachedSignature(data)
	if err != nil {
		return nil, fmt.Errorf("release: %s: %w", path, err)
	}
	return detached, nil
}

// WriteFileAtomic writes data to a temporary file in path's directory and
// renames it over path, so a reader never sees a partly written file.
func WriteFileAtomic(path string, data []byte, mode os.FileMode) error {
	temporary, err := os.CreateTemp(filepath.Dir(path), filepath.Base(path)+".tmp-*")
	if err != nil {
		return err
	}
	_, writeErr := io.Copy(temporary, bytes.NewReader(data))
	syncErr := temporary.Sync()
	closeErr := temporary.Close()
	if err := errors.Join(writeErr, syncErr, closeErr, os.Chmod(temporary.Name(), mode)); err != nil {
		os.Remove(temporary.Name())
		return err
	}
	if err := os.Rename(temporary.Name(), path); err != nil {
		os.Remove(temporary.Name())
		return err
	}
	return nil
}

// PublicKeyVariable names the environment variable that holds the path of
// the release public key. When it is set, a binary checks its own signature
// before it starts (StartupCheck).
const PublicKeyVariable = "RELEASE_PUBLIC_KEY"

// StartupCheck verifies the running executable when publicKeyPath is not
// empty and returns an error saying why the binary refuses to start. An
// empty publicKeyPath (development builds) checks nothing.
func StartupCheck(publicKeyPath string) error {
	if publicKeyPath == "" {
		return nil
	}
	if err := VerifySelf(publicKeyPath); err != nil {
		return fmt.Errorf("refusing to start an executable whose release signature does not verify (%s=%s): %w",
			PublicKeyVariable, publicKeyPath, err)
	}
	return nil
}
