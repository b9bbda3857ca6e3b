package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/tjfoc/gmsm/sm2"

	"github.com/sh-preschool/preschool/shared/crypto"
	"github.com/sh-preschool/preschool/shared/release"
)

// Verdicts of verify, one per file.
const (
	verdictOK       = "ok"
	verdictUnsigned = "UNSIGNED"
	verdictChanged  = "CHANGED"
	verdictInvalid  = "INVALID"
	verdictError    = "ERROR"
)

func runVerify(args []string, stdout, stderr io.Writer) error {
	flags := flag.NewFlagSet("logsigner verify", flag.ContinueOnError)
	flags.SetOutput(stderr)
	publicKeyPath := flags.String("public-key", "", "SM2 public key of the signer, PEM")
	keyID := flags.String("key-id", "", "require the signatures to name this key ID (default: accept the ID they name)")
	signaturesDir := flags.String("signatures-dir", "", "the -signatures-dir that sign was given, if any")
	var dirs, patterns stringList
	flags.Var(&dirs, "dir", "check every rotated log in this directory; may be repeated")
	flags.Var(&patterns, "pattern", "glob of rotated log file names with -dir (default "+defaultPattern+"); may be repeated")
	if err := parseFlags(flags, args); err != nil {
		return err
	}
	if len(patterns) == 0 {
		patterns = stringList{defaultPattern}
	}
	switch {
	case *publicKeyPath == "":
		return fmt.Errorf("%w: verify needs -public-key", errUsage)
	case len(dirs) == 0 && flags.NArg() == 0:
		return fmt.Errorf("%w: verify needs the log files to check, or -dir", errUsage)
	}
	if err := checkPatterns(patterns); err != nil {
		return err
	}
	key, err := crypto.LoadSM2PublicKeyFile(*publicKeyPath)
	if err != nil {
		return err
	}
	if *signaturesDir != "" {
		if *signaturesDir, err = filepath.Abs(*signaturesDir); err != nil {
			return err
		}
	}

	paths := make([]string, 0, flags.NArg())
	for _, path := range flags.Args() {
		absolute, err := filepath.Abs(path)
		if err != nil {
			return err
		}
		paths = append(paths, absolute)
	}
	if len(dirs) > 0 {
		found, err := matchingFiles(dirs, patterns)
		if err != nil {
			return err
		}
		paths = append(paths, found...)
	}

	failed := 0
	for _, path := range paths {
		verdict, detail := verifyLog(key, *keyID, path, signaturePath(*signaturesDir, path))
		if verdict != verdictOK {
			failed++
		}
		fmt.Fprintf(stdout, "%-8s %s: %s\n", verdict, path, detail)
	}
	if failed > 0 {
		return fmt.Errorf("%w: %d of %d log files failed verification", errProblems, failed, len(paths))
	}
	return nil
}

// verifyLog checks one log against its signature and returns a verdict and
// a line of detail.
func verifyLog(key *sm2.PublicKey, keyID, path, signaturePath string) (verdict, detail string) {
	detached, err := release.ReadSignatureFile(signaturePath)
	if errors.Is(err, os.ErrNotExist) {
		return verdictUnsigned, "no signature at " + signaturePath
	}
	if err != nil {
		return verdictInvalid, err.Error()
	}
	if keyID != "" && detached.KeyID != keyID {
		return verdictInvalid, fmt.Sprintf("the signature names key %q, not %q", detached.KeyID, keyID)
	}
	file, err := os.Open(path)
	if err != nil {
		return verdictError, err.Error()
	}
	defer file.Close()
	err = crypto.VerifyDetachedWithKey(key, file, detached)
	switch {
	case errors.Is(err, crypto.ErrDigestMismatch):
		return verdictChanged, "the log changed after it was signed: " + err.Error()
	case errors.Is(err, crypto.ErrInvalidSignature):
		return verdictInvalid, err.Error()
	case err != nil:
		return verdictError, err.Error()
	}
	return verdictOK, fmt.Sprintf("key %s, sm3:%x", detached.KeyID, detached.Digest)
}
