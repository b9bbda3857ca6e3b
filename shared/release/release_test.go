package release

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/sh-preschool/preschool/shared/crypto"
)

func mustSigner(t *testing.T) *crypto.Signer {
	t.Helper()
	signer, err := crypto.GenerateSigner("release-test")
	if err != nil {
		t.Fatal(err)
	}
	return signer
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func signFile(t *testing.T, signer *crypto.Signer, path string) {
	t.Helper()
	if _, err := SignFile(signer, path, crypto.DefaultUserID); err != nil {
		t.Fatal(err)
	}
}

func TestSignVerifyFile(t *testing.T) {
	signer := mustSigner(t)
	path := filepath.Join(t.TempDir(), "edge")
	writeFile(t, path, "\x7fELF binary")

	signaturePath, err := SignFile(signer, path, crypto.DefaultUserID)
	if err != nil {
		t.Fatal(err)
	}
	if signaturePath != path+".sig" {
		t.Errorf("signature written to %s, want %s.sig", signaturePath, path)
	}
	detached, err := VerifyFile(signer.PublicKey(), path)
	if err != nil {
		t.Fatal(err)
	}
	if detached.KeyID != "release-test" {
		t.Errorf("signature names key %q, want release-test", detached.KeyID)
	}
}

func TestVerifyFileFlippedByteFails(t *testing.T) {
	signer := mustSigner(t)
	path := filepath.Join(t.TempDir(), "edge")
	writeFile(t, path, "\x7fELF binary")
	signFile(t, signer, path)
	writeFile(t, path, "\x7fELF binarY")

	if _, err := VerifyFile(signer.PublicKey(), path); !errors.Is(err, crypto.ErrDigestMismatch) {
		t.Fatalf("VerifyFile of a changed file = %v, want ErrDigestMismatch", err)
	}
}

func TestVerifyFileOtherFilesSignatureFails(t *testing.T) {
	signer := mustSigner(t)
	dir := t.TempDir()
	edge, backoffice := filepath.Join(dir, "edge"), filepath.Join(dir, "backoffice")
	writeFile(t, edge, "edge binary")
	writeFile(t, backoffice, "backoffice binary")
	signFile(t, signer, edge)
	signature, err := os.ReadFile(edge + ".sig")
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, backoffice+".sig", string(signature))

	if _, err := VerifyFile(signer.PublicKey(), backoffice); !errors.Is(err, crypto.ErrDigestMismatch) {
		t.Fatalf("VerifyFile with another file's signature = %v, want ErrDigestMismatch", err)
	}
}

func TestVerifyFileOtherKeyFails(t *testing.T) {
	path := filepath.Join(t.TempDir(), "edge")
	writeFile(t, path, "edge binary")
	signFile(t, mustSigner(t), path)

	if _, err := VerifyFile(mustSigner(t).PublicKey(), path); !errors.Is(err, crypto.ErrInvalidSignature) {
		t.Fatalf("VerifyFile under another key = %v, want ErrInvalidSignature", err)
	}
}

func TestVerifyFileMissingSignature(t *testing.T) {
	path := filepath.Join(t.TempDir(), "edge")
	writeFile(t, path, "edge binary")

	_, err := VerifyFile(mustSigner(t).PublicKey(), path)
	if !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("VerifyFile without a signature = %v, want os.ErrNotExist", err)
	}
	if !strings.Contains(err.Error(), "edge.sig is missing") {
		t.Errorf("error %q does not name the missing file", err)
	}
}

func TestVerifyExecutableReadsContentPath(t *testing.T) {
	signer := mustSigner(t)
	dir := t.TempDir()
	executable, running := filepath.Join(dir, "backoffice"), filepath.Join(dir, "running-image")
	writeFile(t, executable, "new release on disk")
	writeFile(t, running, "new release on disk")
	signFile(t, signer, executable)

	if err := verifyExecutable(signer.PublicKey(), executable, running); err != nil {
		t.Fatalf("the running image matches the signature, yet: %v", err)
	}
	writeFile(t, running, "old release still running")
	if err := verifyExecutable(signer.PublicKey(), executable, running); !errors.Is(err, crypto.ErrDigestMismatch) {
		t.Fatalf("verifyExecutable of another running image = %v, want ErrDigestMismatch", err)
	}
}

// TestVerifySelfOfBuiltProgram builds a small program that calls
// VerifySelf, then runs it unsigned, signed, changed and through a
// symbolic link.
func TestVerifySelfOfBuiltProgram(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a program with the go command")
	}
	goCommand := filepath.Join(runtime.GOROOT(), "bin", "go")
	if _, err := os.Stat(goCommand); err != nil {
		t.Skipf("the go command is not at %s", goCommand)
	}
	dir := t.TempDir()
	program := filepath.Join(dir, "selfcheck")
	build := exec.Command(goCommand, "build", "-o", program, "./testdata/selfcheck")
	build.Env = append(os.Environ(), "GOFLAGS=-buildvcs=false", "CGO_ENABLED=0")
	if output, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, output)
	}

	signer := mustSigner(t)
	publicKey := filepath.Join(dir, "release.pub.pem")
	if err := crypto.WriteSM2PublicKeyFile(publicKey, signer.PublicKey()); err != nil {
		t.Fatal(err)
	}
	run := func(path string) (string, error) {
		output, err := exec.Command(path, publicKey).CombinedOutput()
		return string(output), err
	}

	if output, err := run(program); err == nil || !strings.Contains(output, "selfcheck.sig is missing") {
		t.Errorf("unsigned program: err %v, output %q; want a failure naming the missing signature", err, output)
	}

	signFile(t, signer, program)
	if output, err := run(program); err != nil || !strings.Contains(output, "self-check passed") {
		t.Errorf("signed program: err %v, output %q; want it to pass", err, output)
	}

	link := filepath.Join(t.TempDir(), "selfcheck-link")
	if err := os.Symlink(program, link); err != nil {
		t.Fatal(err)
	}
	if output, err := run(link); err != nil {
		t.Errorf("signed program run through a symbolic link: err %v, output %q; want it to pass", err, output)
	}

	// A byte appended to an executable leaves it runnable but changes its
	// digest.
	binary, err := os.ReadFile(program)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(program, append(binary, 0), 0o755); err != nil {
		t.Fatal(err)
	}
	if output, err := run(program); err == nil || !strings.Contains(output, "does not match") {
		t.Errorf("changed program: err %v, output %q; want a failure naming the digest mismatch", err, output)
	}
}

func TestRunCommand(t *testing.T) {
	dir := t.TempDir()
	key, publicKey := filepath.Join(dir, "release.pem"), filepath.Join(dir, "release.pub.pem")
	edge, simulators := filepath.Join(dir, "edge"), filepath.Join(dir, "simulators")
	writeFile(t, edge, "edge binary")
	writeFile(t, simulators, "simulators binary")
	var stdout, stderr bytes.Buffer

	if err := Run([]string{"generate-key", "-key", key, "-public-key", publicKey}, &stdout, &stderr); err != nil {
		t.Fatal(err)
	}
	if err := Run([]string{"sign", "-key", key, "-key-id", "release-2026", edge, simulators}, &stdout, &stderr); err != nil {
		t.Fatal(err)
	}
	if err := Run([]string{"verify", "-public-key", publicKey, "-key-id", "release-2026", edge, simulators}, &stdout, &stderr); err != nil {
		t.Fatalf("verify: %v\n%s", err, stdout.String())
	}

	stdout.Reset()
	err := Run([]string{"verify", "-public-key", publicKey, "-key-id", "release-2027", edge}, &stdout, &stderr)
	if err == nil || !strings.Contains(stdout.String(), `names key "release-2026", not "release-2027"`) {
		t.Errorf("verify with another -key-id: err %v, output %q; want the key ID mismatch reported", err, stdout.String())
	}

	writeFile(t, simulators, "changed simulators binary")
	stdout.Reset()
	err = Run([]string{"verify", "-public-key", publicKey, edge, simulators}, &stdout, &stderr)
	if err == nil || !strings.Contains(err.Error(), "1 of 2 files") {
		t.Errorf("verify of a changed file = %v, want 1 of 2 files failed", err)
	}
	if !strings.Contains(stdout.String(), "FAILED "+simulators) {
		t.Errorf("output %q does not name the changed file", stdout.String())
	}
}

func TestRunCommandUsageErrors(t *testing.T) {
	cases := map[string][]string{
		"no command":        nil,
		"unknown command":   {"publish"},
		"sign without key":  {"sign", "-key-id", "k", "file"},
		"sign without ID":   {"sign", "-key", "k.pem", "file"},
		"sign without file": {"sign", "-key", "k.pem", "-key-id", "k"},
		"verify no key":     {"verify", "file"},
		"unknown flag":      {"verify", "-public", "k.pem", "file"},
	}
	for name, args := range cases {
		var stdout, stderr bytes.Buffer
		if err := Run(args, &stdout, &stderr); !errors.Is(err, ErrUsage) {
			t.Errorf("%s: Run = %v, want ErrUsage", name, err)
		}
	}
}
