package upload

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sh-preschool/preschool/shared/crypto"
)

// helperEnv names the variable that turns TestRotateHelperProcess into a
// rotation run in a child process, with the upload folder and the keyring
// file separated by a newline.
const helperEnv = "UPLOADS_ROTATE_HELPER"

// keyrings returns a keyring with key k1 active and one with k1 and k2 and
// k2 active, and writes the second to a file.
func keyrings(t *testing.T) (old, rotated *crypto.Keyring, rotatedPath string) {
	t.Helper()
	file := crypto.GenerateKeyring("k1")
	old, err := crypto.NewKeyring(file)
	if err != nil {
		t.Fatal(err)
	}
	file.SealingKeys["k2"] = "00112233445566778899aabbccddeeff"
	file.ActiveKeyID = "k2"
	if rotated, err = crypto.NewKeyring(file); err != nil {
		t.Fatal(err)
	}
	data, err := json.Marshal(file)
	if err != nil {
		t.Fatal(err)
	}
	rotatedPath = filepath.Join(t.TempDir(), "keyring.json")
	if err := os.WriteFile(rotatedPath, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return old, rotated, rotatedPath
}

// storeUploads seals count files of three owners with keyring under dir and
// returns their contents by path.
func storeUploads(t *testing.T, dir string, keyring *crypto.Keyring, count int) map[string][]byte {
	t.Helper()
	contents := map[string][]byte{}
	for i := range count {
		owner := keyring.Index("owner", []byte("parent-"+strconv.Itoa(i%3)))
		content := make([]byte, 1000+i)
		if _, err := rand.Read(content); err != nil {
			t.Fatal(err)
		}
		path := Path(dir, owner, "upload"+strconv.Itoa(i))
		if err := WriteFile(path, keyring.Seal(content, Context(owner))); err != nil {
			t.Fatal(err)
		}
		contents[path] = content
	}
	return contents
}

// checkUploads opens every file with keyring and counts those under keyID.
// It fails the test for a file that does not open to its content.
func checkUploads(t *testing.T, keyring *crypto.Keyring, contents map[string][]byte, keyID string) int {
	t.Helper()
	under := 0
	for path, content := range contents {
		sealed, err := os.ReadFile(path)
		if err != nil {
			t.Fatalf("read %s: %v", path, err)
		}
		opened, err := keyring.Open(sealed, ownerContext(filepath.Base(filepath.Dir(path))))
		if err != nil {
			t.Errorf("%s does not open: %v", path, err)
			continue
		}
		if !bytes.Equal(opened, content) {
			t.Errorf("%s opens to other content", path)
		}
		if id, _ := crypto.SealedKeyID(sealed); id == keyID {
			under++
		}
	}
	return under
}

// tempFiles returns the temporary files under dir.
func tempFiles(t *testing.T, dir string) []string {
	t.Helper()
	found, err := filepath.Glob(filepath.Join(dir, "*", "*"+tempSuffix))
	if err != nil {
		t.Fatal(err)
	}
	return found
}

func TestRotateReencryptsUploads(t *testing.T) {
	dir := t.TempDir()
	old, rotated, _ := keyrings(t)
	contents := storeUploads(t, dir, old, 7)
	// A file under a key the keyring no longer has, and entries that are
	// not uploads, which the rotation leaves alone.
	lostOwner := old.Index("owner", []byte("parent-lost"))
	lostKeyring, err := crypto.NewKeyring(crypto.GenerateKeyring("lost"))
	if err != nil {
		t.Fatal(err)
	}
	lostPath := Path(dir, lostOwner, "lost")
	lostSealed := lostKeyring.Seal([]byte("lost"), Context(lostOwner))
	if err := WriteFile(lostPath, lostSealed); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(dir, "not-an-owner"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "not-an-owner", "x.sealed"), []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}

	rotator := &Rotator{Dir: dir, Keyring: rotated, BatchSize: 3}
	result, err := rotator.Rotate(context.Background())
	if err != nil {
		t.Fatalf("Rotate: %v", err)
	}
	if result.Files != 7 || result.Current != 0 {
		t.Errorf("result = %+v, want 7 files re-encrypted and none current", result)
	}
	if len(result.Failed) != 1 || !strings.HasPrefix(result.Failed[0], lostPath+": ") {
		t.Errorf("failed = %q, want only %s", result.Failed, lostPath)
	}
	if n := checkUploads(t, rotated, contents, "k2"); n != 7 {
		t.Errorf("%d of 7 files under k2 after the rotation", n)
	}
	if data, err := os.ReadFile(lostPath); err != nil || !bytes.Equal(data, lostSealed) {
		t.Errorf("the file under an unknown key changed (%v)", err)
	}
	if found := tempFiles(t, dir); len(found) != 0 {
		t.Errorf("temporary files left: %v", found)
	}
	info, err := os.Stat(lostPath)
	if err != nil {
		t.Fatal(err)
	}
	if info.Mode().Perm() != 0o600 {
		t.Errorf("upload file mode = %v, want 0600", info.Mode().Perm())
	}

	again, err := rotator.Rotate(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if again.Files != 0 || again.Current != 7 {
		t.Errorf("second run = %+v, want 0 files re-encrypted and 7 current", again)
	}
}

// TestRotateHelperProcess is the child process of
// TestRotateKilledMidwayThenRerun: it rotates slowly until it is killed.
func TestRotateHelperProcess(t *testing.T) {
	arguments := os.Getenv(helperEnv)
	if arguments == "" {
		t.Skip("runs only as the child process of TestRotateKilledMidwayThenRerun")
	}
	dir, keyringPath, _ := strings.Cut(arguments, "\n")
	keyring, err := crypto.LoadKeyringFile(keyringPath)
	if err != nil {
		t.Fatal(err)
	}
	// The pause between writing the new ciphertext and renaming it makes
	// the kill likely to land while a temporary file exists.
	beforeRename = func(string) { time.Sleep(30 * time.Millisecond) }
	if _, err := (&Rotator{Dir: dir, Keyring: keyring, BatchSize: 1}).Rotate(context.Background()); err != nil {
		t.Fatal(err)
	}
}

func TestRotateKilledMidwayThenRerun(t *testing.T) {
	dir := t.TempDir()
	old, rotated, rotatedPath := keyrings(t)
	const count = 40
	contents := storeUploads(t, dir, old, count)

	child := exec.Command(os.Args[0], "-test.run=^TestRotateHelperProcess$")
	child.Env = append(os.Environ(), helperEnv+"="+dir+"\n"+rotatedPath)
	if err := child.Start(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for checkUploads(t, rotated, contents, "k2") < 5 {
		if time.Now().After(deadline) {
			child.Process.Kill()
			t.Fatal("the child process re-encrypted fewer than 5 files in 30 s")
		}
		time.Sleep(5 * time.Millisecond)
	}
	if err := child.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	child.Wait()

	// Every file opens, under k1 or k2, right after the kill.
	done := checkUploads(t, rotated, contents, "k2")
	if done == count {
		t.Fatalf("the child process finished all %d files before the kill, so the test proves nothing", count)
	}
	t.Logf("killed after %d of %d files", done, count)
	leftover := tempFiles(t, dir)
	past := time.Now().Add(-2 * staleTempAge)
	for _, path := range leftover {
		if err := os.Chtimes(path, past, past); err != nil {
			t.Fatal(err)
		}
	}

	result, err := (&Rotator{Dir: dir, Keyring: rotated}).Rotate(context.Background())
	if err != nil {
		t.Fatalf("rerun: %v", err)
	}
	if result.Files != count-done || result.Current != done || len(result.Failed) != 0 {
		t.Errorf("rerun = %+v, want %d files re-encrypted, %d current, none failed", result, count-done, done)
	}
	if result.TempRemoved != len(leftover) {
		t.Errorf("rerun removed %d temporary files, want the %d the kill left", result.TempRemoved, len(leftover))
	}
	if n := checkUploads(t, rotated, contents, "k2"); n != count {
		t.Errorf("%d of %d files under k2 after the rerun", n, count)
	}
	if found := tempFiles(t, dir); len(found) != 0 {
		t.Errorf("temporary files after the rerun: %v", found)
	}
}

func TestRotateLeavesRecentTempFiles(t *testing.T) {
	dir := t.TempDir()
	_, rotated, _ := keyrings(t)
	owner := rotated.Index("owner", []byte("parent-1"))
	folder := filepath.Dir(Path(dir, owner, "x"))
	if err := os.MkdirAll(folder, 0o700); err != nil {
		t.Fatal(err)
	}
	// A write in progress on another edge.
	temp := filepath.Join(folder, ".x.sealed.0011223344556677"+tempSuffix)
	if err := os.WriteFile(temp, []byte("partial"), 0o600); err != nil {
		t.Fatal(err)
	}
	result, err := (&Rotator{Dir: dir, Keyring: rotated}).Rotate(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if result.TempRemoved != 0 {
		t.Errorf("removed %d temporary files, want 0", result.TempRemoved)
	}
	if _, err := os.Stat(temp); err != nil {
		t.Errorf("the recent temporary file is gone: %v", err)
	}
}
