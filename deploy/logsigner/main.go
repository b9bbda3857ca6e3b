// Command logsigner signs rotated log files with detached SM2 signatures and
// checks them, so that a log changed after rotation is detected. A systemd
// timer runs `logsigner sign` hourly (deploy/systemd/logsigner.timer); it is
// no daemon.
//
//	logsigner sign -key KEY.pem -key-id ID -dir DIR [-dir DIR...] [-pattern GLOB...]
//	               -state STATE.json [-signatures-dir DIR] [-min-age 10m] [-user-id UID]
//	logsigner verify -public-key KEY.pub.pem [-key-id ID] [-signatures-dir DIR]
//	                 [-dir DIR -pattern GLOB...] [FILE...]
//	logsigner generate-key -key KEY.pem -public-key KEY.pub.pem
//
// sign considers the files of each -dir whose names match a -pattern
// (default "*.log.*", the names logrotate gives rotated files), so the
// active log, which does not match, is never signed. It skips files
// modified less than -min-age ago, which may still be written to, and files
// it has signed before. It writes FILE.sig beside each log, or, with
// -signatures-dir, under that directory at the log's absolute path.
//
// Exit status: 0 when all is well, 1 when a signed log changed, a signature
// does not match or a file could not be signed or checked, 2 for an invalid
// command line.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/sh-preschool/preschool/shared/crypto"
	"github.com/sh-preschool/preschool/shared/logging"
)

const (
	exitProblems = 1
	exitUsage    = 2
)

// defaultPattern matches the names logrotate gives rotated files
// (postgresql-16-main.log.1, postgresql-16-main.log.2.gz) but not the
// active log.
const defaultPattern = "*.log.*"

// defaultMinAge leaves a just-rotated file alone while the program that
// wrote it may not yet have reopened its log.
const defaultMinAge = 10 * time.Minute

// errUsage marks an invalid command line.
var errUsage = errors.New("usage")

// errProblems is returned when a run found problems it has logged.
var errProblems = errors.New("problems found")

func main() {
	logger := logging.Setup("logsigner")
	err := run(os.Args[1:], os.Stdout, os.Stderr, logger, time.Now)
	switch {
	case err == nil, errors.Is(err, flag.ErrHelp):
		return
	case errors.Is(err, errUsage):
		fmt.Fprintln(os.Stderr, "logsigner:", err)
		os.Exit(exitUsage)
	default:
		fmt.Fprintln(os.Stderr, "logsigner:", err)
		os.Exit(exitProblems)
	}
}

// run runs one command; stdout receives verify's report, logger the rest.
func run(args []string, stdout, stderr io.Writer, logger *slog.Logger, now func() time.Time) error {
	if len(args) == 0 {
		return fmt.Errorf("%w: name a command: sign, verify or generate-key", errUsage)
	}
	switch args[0] {
	case "sign":
		return runSign(args[1:], stderr, logger, now)
	case "verify":
		return runVerify(args[1:], stdout, stderr)
	case "generate-key":
		return runGenerateKey(args[1:], stdout, stderr)
	}
	return fmt.Errorf("%w: unknown command %q: use sign, verify or generate-key", errUsage, args[0])
}

// stringList is a flag that may be given several times.
type stringList []string

func (l *stringList) String() string         { return strings.Join(*l, ",") }
func (l *stringList) Set(value string) error { *l = append(*l, value); return nil }

func parseFlags(flags *flag.FlagSet, args []string) error {
	if err := flags.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	return nil
}

func checkPatterns(patterns []string) error {
	for _, pattern := range patterns {
		if _, err := filepath.Match(pattern, ""); err != nil {
			return fmt.Errorf("%w: -pattern %q is not a valid glob: %v", errUsage, pattern, err)
		}
	}
	return nil
}

func runSign(args []string, stderr io.Writer, logger *slog.Logger, now func() time.Time) error {
	flags := flag.NewFlagSet("logsigner sign", flag.ContinueOnError)
	flags.SetOutput(stderr)
	keyPath := flags.String("key", "", "SM2 private key, PEM (PKCS#8 or RFC 5915)")
	keyID := flags.String("key-id", "", "ID of the key, written into each signature")
	userID := flags.String("user-id", crypto.DefaultUserID, "SM2 signer identity")
	var dirs, patterns stringList
	flags.Var(&dirs, "dir", "log directory to sign rotated files in; may be repeated")
	flags.Var(&patterns, "pattern", "glob of rotated log file names (default "+defaultPattern+"); may be repeated")
	statePath := flags.String("state", "", "JSON file recording the files signed so far")
	signaturesDir := flags.String("signatures-dir", "", "write signatures under this directory instead of beside the logs, for log directories this user cannot write")
	minAge := flags.Duration("min-age", defaultMinAge, "skip files modified less than this long ago")
	if err := parseFlags(flags, args); err != nil {
		return err
	}
	if len(patterns) == 0 {
		patterns = stringList{defaultPattern}
	}
	switch {
	case *keyPath == "" || *keyID == "":
		return fmt.Errorf("%w: sign needs -key and -key-id", errUsage)
	case len(dirs) == 0:
		return fmt.Errorf("%w: sign needs at least one -dir", errUsage)
	case *statePath == "":
		return fmt.Errorf("%w: sign needs -state, the file that records what was signed", errUsage)
	case flags.NArg() > 0:
		return fmt.Errorf("%w: sign takes no file arguments; name directories with -dir", errUsage)
	}
	if err := checkPatterns(patterns); err != nil {
		return err
	}

	signer, err := crypto.LoadSigner(*keyID, *keyPath)
	if err != nil {
		return err
	}
	if *signaturesDir == "" {
		for _, dir := range dirs {
			if err := checkWritable(dir); err != nil {
				return err
			}
		}
	} else if *signaturesDir, err = filepath.Abs(*signaturesDir); err != nil {
		return err
	}

	if err := os.MkdirAll(filepath.Dir(*statePath), 0o750); err != nil {
		return fmt.Errorf("create state directory: %w", err)
	}
	unlock, err := lockFile(*statePath + ".lock")
	if err != nil {
		return err
	}
	defer unlock()
	loaded, err := loadState(*statePath)
	if err != nil {
		return err
	}

	paths, err := matchingFiles(dirs, patterns)
	if err != nil {
		return err
	}
	job := &logSigner{
		signer: signer, userID: *userID, signaturesDir: *signaturesDir, minAge: *minAge,
		now: now, logger: logger, state: loaded,
	}
	logger.Info("signing rotated log files", "dirs", []string(dirs), "patterns", []string(patterns), "files", len(paths), "key_id", *keyID)
	for _, path := range paths {
		job.process(path)
	}
	job.prune()
	if err := loaded.save(*statePath); err != nil {
		return err
	}

	logger.Info("log signing finished", "signed", job.summary.Signed, "unchanged", job.summary.Unchanged,
		"recent", job.summary.Recent, "problems", job.summary.Problems, "errors", job.summary.Errors)
	if job.summary.Problems > 0 || job.summary.Errors > 0 {
		return fmt.Errorf("%w: %d changed or mismatched logs and %d errors; see the log above", errProblems, job.summary.Problems, job.summary.Errors)
	}
	return nil
}

// checkWritable fails with advice when signatures cannot be written into
// dir.
func checkWritable(dir string) error {
	probe, err := os.CreateTemp(dir, ".logsigner-probe-*")
	if err != nil {
		return fmt.Errorf("cannot write signatures beside the logs in %s (%v): pass -signatures-dir", dir, err)
	}
	probe.Close()
	return os.Remove(probe.Name())
}

func runGenerateKey(args []string, stdout, stderr io.Writer) error {
	flags := flag.NewFlagSet("logsigner generate-key", flag.ContinueOnError)
	flags.SetOutput(stderr)
	keyPath := flags.String("key", "", "file to write the private key to (mode 0600); it must not exist")
	publicKeyPath := flags.String("public-key", "", "file to write the public key to; it must not exist")
	if err := parseFlags(flags, args); err != nil {
		return err
	}
	if *keyPath == "" || *publicKeyPath == "" || flags.NArg() > 0 {
		return fmt.Errorf("%w: generate-key needs -key and -public-key and no other arguments", errUsage)
	}
	key, err := crypto.GenerateSM2Key()
	if err != nil {
		return err
	}
	if err := crypto.WriteSM2PrivateKeyFile(*keyPath, key); err != nil {
		return err
	}
	if err := crypto.WriteSM2PublicKeyFile(*publicKeyPath, &key.PublicKey); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "wrote SM2 private key %s and public key %s\n", *keyPath, *publicKeyPath)
	return nil
}
