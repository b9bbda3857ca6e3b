package main

import (
	"bytes"
	"errors"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sh-preschool/preschool/shared/crypto"
)

// fixture is a log directory, a key pair and a state file in a temporary
// directory.
type fixture struct {
	t         *testing.T
	logs      string
	key       string
	publicKey string
	state     string
	logOutput bytes.Buffer
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	root := t.TempDir()
	f := &fixture{
		t:         t,
		logs:      filepath.Join(root, "postgresql"),
		key:       filepath.Join(root, "logsigner.pem"),
		publicKey: filepath.Join(root, "logsigner.pub.pem"),
		state:     filepath.Join(root, "state", "logsigner.json"),
	}
	if err := os.Mkdir(f.logs, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := run([]string{"generate-key", "-key", f.key, "-public-key", f.publicKey}, io.Discard, io.Discard, slog.New(slog.DiscardHandler), time.Now); err != nil {
		t.Fatal(err)
	}
	return f
}

// writeLog writes a log file last modified an hour ago, past the minimum
// age.
func (f *fixture) writeLog(name, content string) string {
	f.t.Helper()
	path := filepath.Join(f.logs, name)
	if err := os.WriteFile(path, []byte(content), 0o640); err != nil {
		f.t.Fatal(err)
	}
	f.age(path, time.Hour)
	return path
}

func (f *fixture) age(path string, age time.Duration) {
	f.t.Helper()
	past := time.Now().Add(-age)
	if err := os.Chtimes(path, past, past); err != nil {
		f.t.Fatal(err)
	}
}

func (f *fixture) sign(extra ...string) error {
	args := append([]string{"sign", "-key", f.key, "-key-id", "logs-db1", "-dir", f.logs, "-state", f.state}, extra...)
	logger := slog.New(slog.NewTextHandler(&f.logOutput, &slog.HandlerOptions{Level: slog.LevelDebug}))
	return run(args, io.Discard, io.Discard, logger, time.Now)
}

func (f *fixture) mustSign(extra ...string) {
	f.t.Helper()
	if err := f.sign(extra...); err != nil {
		f.t.Fatalf("sign: %v\n%s", err, f.logOutput.String())
	}
}

func (f *fixture) verify(args ...string) (string, error) {
	var stdout bytes.Buffer
	err := run(append([]string{"verify", "-public-key", f.publicKey}, args...), &stdout, io.Discard, slog.New(slog.DiscardHandler), time.Now)
	return stdout.String(), err
}

func exists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

func TestSignOnlyRotatedFiles(t *testing.T) {
	f := newFixture(t)
	active := f.writeLog("postgresql-16-main.log", "active\n")
	rotated := f.writeLog("postgresql-16-main.log.1", "rotated once\n")
	compressed := f.writeLog("postgresql-16-main.log.2.gz", "\x1f\x8b compressed")
	other := f.writeLog("notes.txt", "not a log\n")

	f.mustSign()

	for _, path := range []string{rotated, compressed} {
		if !exists(path + ".sig") {
			t.Errorf("%s was not signed", filepath.Base(path))
		}
	}
	for _, path := range []string{active, other} {
		if exists(path + ".sig") {
			t.Errorf("%s was signed, but it is not a rotated log", filepath.Base(path))
		}
	}
	if output, err := f.verify(rotated, compressed); err != nil {
		t.Fatalf("verify: %v\n%s", err, output)
	}
}

func TestSignSkipsSignedFiles(t *testing.T) {
	f := newFixture(t)
	rotated := f.writeLog("postgresql-16-main.log.1", "rotated\n")
	f.mustSign()
	first := readFile(t, rotated+".sig")

	f.logOutput.Reset()
	f.mustSign()
	// SM2 signatures are randomised, so signing again would change the file.
	if readFile(t, rotated+".sig") != first {
		t.Error("a signed log was signed again")
	}
	if !strings.Contains(f.logOutput.String(), "signed=0 unchanged=1") {
		t.Errorf("second run's summary is not signed=0 unchanged=1:\n%s", f.logOutput.String())
	}
}

func TestSignDetectsChangedLog(t *testing.T) {
	f := newFixture(t)
	rotated := f.writeLog("postgresql-16-main.log.1", "2026-03-01 10:00 LOG: connection authorized: user=admin\n")
	f.mustSign()
	signature := readFile(t, rotated+".sig")

	file, err := os.OpenFile(rotated, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	file.WriteString("2026-03-01 10:01 LOG: inserted line\n")
	file.Close()
	f.age(rotated, time.Hour)

	f.logOutput.Reset()
	if err := f.sign(); !errors.Is(err, errProblems) {
		t.Fatalf("sign after a signed log changed = %v, want errProblems", err)
	}
	if !strings.Contains(f.logOutput.String(), "signed log file has changed since it was signed") {
		t.Errorf("the change is not logged:\n%s", f.logOutput.String())
	}
	if readFile(t, rotated+".sig") != signature {
		t.Error("the changed log was signed again, losing the evidence")
	}

	output, err := f.verify(rotated)
	if !errors.Is(err, errProblems) || !strings.HasPrefix(output, verdictChanged) {
		t.Errorf("verify of the changed log: err %v, output %q; want %s", err, output, verdictChanged)
	}
}

func TestSignChangedLogWithSameSizeAndTime(t *testing.T) {
	f := newFixture(t)
	rotated := f.writeLog("postgresql-16-main.log.1", "user=alice\n")
	f.mustSign()
	info, err := os.Stat(rotated)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(rotated, []byte("user=mallo\n"), 0o640); err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(rotated, info.ModTime(), info.ModTime()); err != nil {
		t.Fatal(err)
	}

	// NOTE: sign trusts an unchanged size and time and does not read the
	// file again, so only verify catches this edit.
	f.mustSign()
	output, err := f.verify(rotated)
	if !errors.Is(err, errProblems) || !strings.HasPrefix(output, verdictChanged) {
		t.Errorf("verify of a log edited in place: err %v, output %q; want %s", err, output, verdictChanged)
	}
}

func TestSignSkipsRecentFiles(t *testing.T) {
	f := newFixture(t)
	rotated := f.writeLog("postgresql-16-main.log.1", "just rotated\n")
	f.age(rotated, time.Minute)

	f.mustSign()
	if exists(rotated + ".sig") {
		t.Fatal("a file modified a minute ago was signed with the default minimum age of 10 minutes")
	}
	f.mustSign("-min-age", "30s")
	if !exists(rotated + ".sig") {
		t.Fatal("a file modified a minute ago was not signed with -min-age 30s")
	}
}

func TestSignIntoSignaturesDir(t *testing.T) {
	f := newFixture(t)
	rotated := f.writeLog("postgresql-16-main.log.1", "rotated\n")
	signatures := filepath.Join(t.TempDir(), "signatures")

	f.mustSign("-signatures-dir", signatures)

	if exists(rotated + ".sig") {
		t.Error("the signature was written beside the log despite -signatures-dir")
	}
	if want := filepath.Join(signatures, rotated) + ".sig"; !exists(want) {
		t.Errorf("no signature at %s", want)
	}
	if output, err := f.verify("-signatures-dir", signatures, "-dir", f.logs); err != nil {
		t.Fatalf("verify -signatures-dir: %v\n%s", err, output)
	}
}

func TestSignAfterNumberedRotation(t *testing.T) {
	f := newFixture(t)
	first := f.writeLog("postgresql-16-main.log.1", "week 1\n")
	f.mustSign()

	// logrotate shifts .1 to .2 and moves the active log to .1.
	second := filepath.Join(f.logs, "postgresql-16-main.log.2")
	if err := os.Rename(first, second); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(first+".sig", second+".sig"); err != nil {
		t.Fatal(err)
	}
	f.writeLog("postgresql-16-main.log.1", "week 2\n")

	f.mustSign()
	if output, err := f.verify("-dir", f.logs); err != nil {
		t.Fatalf("verify after rotation: %v\n%s", err, output)
	}
}

func TestSignReplacesMissingSignature(t *testing.T) {
	f := newFixture(t)
	rotated := f.writeLog("postgresql-16-main.log.1", "rotated\n")
	f.mustSign()
	if err := os.Remove(rotated + ".sig"); err != nil {
		t.Fatal(err)
	}

	f.mustSign()
	if output, err := f.verify(rotated); err != nil {
		t.Fatalf("verify after the signature was restored: %v\n%s", err, output)
	}
}

func TestSignReportsMismatchedSignatureWithoutState(t *testing.T) {
	f := newFixture(t)
	rotated := f.writeLog("postgresql-16-main.log.1", "original\n")
	f.mustSign()
	if err := os.Remove(f.state); err != nil {
		t.Fatal(err)
	}
	f.writeLog("postgresql-16-main.log.1", "replaced\n")

	if err := f.sign(); !errors.Is(err, errProblems) {
		t.Fatalf("sign with a signature that does not match = %v, want errProblems", err)
	}
	if output, _ := f.verify(rotated); !strings.HasPrefix(output, verdictChanged) {
		t.Errorf("verify = %q, want %s: the old signature must stay", output, verdictChanged)
	}
}

func TestSignAdoptsMatchingSignatureWithoutState(t *testing.T) {
	f := newFixture(t)
	rotated := f.writeLog("postgresql-16-main.log.1", "rotated\n")
	f.mustSign()
	signature := readFile(t, rotated+".sig")
	if err := os.Remove(f.state); err != nil {
		t.Fatal(err)
	}

	f.mustSign()
	if readFile(t, rotated+".sig") != signature {
		t.Error("a log whose signature matches was signed again")
	}
}

func TestVerifyReportsUnsignedAndOtherKey(t *testing.T) {
	f := newFixture(t)
	unsigned := f.writeLog("postgresql-16-main.log.3", "never signed\n")
	output, err := f.verify(unsigned)
	if !errors.Is(err, errProblems) || !strings.HasPrefix(output, verdictUnsigned) {
		t.Errorf("verify of an unsigned log: err %v, output %q; want %s", err, output, verdictUnsigned)
	}

	signed := f.writeLog("postgresql-16-main.log.1", "rotated\n")
	f.mustSign()
	otherKey, otherPublic := filepath.Join(t.TempDir(), "other.pem"), filepath.Join(t.TempDir(), "other.pub.pem")
	key, err := crypto.GenerateSM2Key()
	if err != nil {
		t.Fatal(err)
	}
	if err := crypto.WriteSM2PrivateKeyFile(otherKey, key); err != nil {
		t.Fatal(err)
	}
	if err := crypto.WriteSM2PublicKeyFile(otherPublic, &key.PublicKey); err != nil {
		t.Fatal(err)
	}
	var stdout bytes.Buffer
	err = run([]string{"verify", "-public-key", otherPublic, signed}, &stdout, io.Discard, slog.New(slog.DiscardHandler), time.Now)
	if !errors.Is(err, errProblems) || !strings.HasPrefix(stdout.String(), verdictInvalid) {
		t.Errorf("verify under another key: err %v, output %q; want %s", err, stdout.String(), verdictInvalid)
	}

	output, err = f.verify("-key-id", "logs-db2", signed)
	if !errors.Is(err, errProblems) || !strings.Contains(output, `names key "logs-db1", not "logs-db2"`) {
		t.Errorf("verify with another -key-id: err %v, output %q", err, output)
	}
}

func TestSignRejectsCorruptState(t *testing.T) {
	f := newFixture(t)
	f.writeLog("postgresql-16-main.log.1", "rotated\n")
	if err := os.MkdirAll(filepath.Dir(f.state), 0o750); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(f.state, []byte("{not json"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := f.sign(); err == nil || !strings.Contains(err.Error(), "move it aside") {
		t.Fatalf("sign with a corrupt state file = %v, want advice to move it aside", err)
	}
}

func TestUsageErrors(t *testing.T) {
	cases := map[string][]string{
		"no command":        nil,
		"unknown command":   {"rotate"},
		"sign without key":  {"sign", "-key-id", "k", "-dir", ".", "-state", "s.json"},
		"sign without dir":  {"sign", "-key", "k.pem", "-key-id", "k", "-state", "s.json"},
		"sign no state":     {"sign", "-key", "k.pem", "-key-id", "k", "-dir", "."},
		"sign bad pattern":  {"sign", "-key", "k.pem", "-key-id", "k", "-dir", ".", "-state", "s.json", "-pattern", "["},
		"verify no key":     {"verify", "file"},
		"verify no files":   {"verify", "-public-key", "k.pub.pem"},
		"generate no paths": {"generate-key"},
	}
	for name, args := range cases {
		if err := run(args, io.Discard, io.Discard, slog.New(slog.DiscardHandler), time.Now); !errors.Is(err, errUsage) {
			t.Errorf("%s: run = %v, want errUsage", name, err)
		}
	}
}
