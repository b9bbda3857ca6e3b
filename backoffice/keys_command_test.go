package main_test

import (
	"bytes"
	"context"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sh-preschool/preschool/backoffice/audit"
	"github.com/sh-preschool/preschool/shared/crypto"
	"github.com/sh-preschool/preschool/shared/testenv"
	"github.com/sh-preschool/preschool/simulators/cryptoservice"
)

// runCommand runs the back-office binary with args and settings as its
// only environment besides PATH and HOME, and returns its output and
// whether it succeeded.
func runCommand(t *testing.T, binary string, settings map[string]string, args ...string) (string, bool) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	command := exec.CommandContext(ctx, binary, args...)
	command.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME")}
	for key, value := range settings {
		command.Env = append(command.Env, key+"="+value)
	}
	var output bytes.Buffer
	command.Stdout, command.Stderr = &output, &output
	err := command.Run()
	return output.String(), err == nil
}

func TestSwitchToCloudCommands(t *testing.T) {
	binary := buildBackOffice(t)
	database := testenv.NewDatabase(t)
	directory := t.TempDir()
	keyringPath := filepath.Join(directory, "keyring.json")
	if err := crypto.GenerateKeyringFile(keyringPath, "k1"); err != nil {
		t.Fatal(err)
	}
	signingKey, err := crypto.GenerateSM2Key()
	if err != nil {
		t.Fatal(err)
	}
	signingKeyPath := filepath.Join(directory, "signing-key.pem")
	publicKeyPath := filepath.Join(directory, "signing-key.pub.pem")
	if err := crypto.WriteSM2PrivateKeyFile(signingKeyPath, signingKey); err != nil {
		t.Fatal(err)
	}
	if err := crypto.WriteSM2PublicKeyFile(publicKeyPath, &signingKey.PublicKey); err != nil {
		t.Fatal(err)
	}
	backing, err := cryptoservice.GenerateProvider("cloud-master", "cloud-signing")
	if err != nil {
		t.Fatal(err)
	}
	service := httptest.NewServer(cryptoservice.NewHandler(backing, "command-test-key"))
	t.Cleanup(service.Close)

	local := map[string]string{
		"DATABASE_URL":            database.URL,
		"CRYPTO_KEYRING_FILE":     keyringPath,
		"CRYPTO_SIGNING_KEY_FILE": signingKeyPath,
		"CRYPTO_SIGNING_KEY_ID":   "local-2026",
	}
	// The first run signs the built-in roles with the local key.
	if output, ok := runCommand(t, binary, local, "acl", "verify"); !ok {
		t.Fatalf("acl verify in local mode failed:\n%s", output)
	}
	// The audit trail keeps a checkpoint signed with the local key.
	trail := &audit.Trail{DB: database.DB, Now: time.Now}
	event := audit.Event{Action: "test.before_switch", Resource: "keys", Outcome: audit.OutcomeSuccess}
	if err := trail.Record(context.Background(), nil, nil, event); err != nil {
		t.Fatal(err)
	}
	if output, ok := runCommand(t, binary, local, "audit", "checkpoint"); !ok || !strings.Contains(output, "signed audit checkpoint") {
		t.Fatalf("audit checkpoint in local mode = %v, want a signed checkpoint:\n%s", ok, output)
	}

	cloud := map[string]string{
		"DATABASE_URL":           database.URL,
		"CRYPTO_KEYRING_FILE":    keyringPath,
		"CRYPTO_PROVIDER":        "cloud",
		"CRYPTO_SERVICE_URL":     service.URL,
		"CRYPTO_SERVICE_API_KEY": "command-test-key",
		"CRYPTO_SEALING_KEY_ID":  "cloud-master",
		"CRYPTO_SIGNING_KEY_ID":  "cloud-signing",
	}
	output, ok := runCommand(t, binary, cloud, "acl", "verify")
	if ok {
		t.Fatalf("acl verify in cloud mode passed before the re-sign:\n%s", output)
	}
	if !strings.Contains(output, "backoffice keys resign") {
		t.Errorf("acl verify in cloud mode before the re-sign does not name backoffice keys resign:\n%s", output)
	}
	if output, ok := runCommand(t, binary, cloud, "keys", "rotate", "-uploads", ""); ok || !strings.Contains(output, "backoffice keys wrap-index-key") {
		t.Errorf("a command that loads the keyring with a plaintext index key in cloud mode = %v, want a failure naming wrap-index-key:\n%s", ok, output)
	}

	if output, ok := runCommand(t, binary, cloud, "keys", "wrap-index-key"); !ok {
		t.Fatalf("keys wrap-index-key failed:\n%s", output)
	}
	if output, ok := runCommand(t, binary, cloud, "keys", "resign", "-old-keys", "local-2026="+publicKeyPath); !ok {
		t.Fatalf("keys resign failed:\n%s", output)
	}
	if output, ok := runCommand(t, binary, cloud, "acl", "verify"); !ok {
		t.Fatalf("acl verify in cloud mode failed after the re-sign:\n%s", output)
	}
	if output, ok := runCommand(t, binary, cloud, "keys", "rotate", "-uploads", ""); !ok {
		t.Errorf("keys rotate in cloud mode failed after wrap-index-key:\n%s", output)
	}

	// The local key's checkpoint verifies in cloud mode once its public
	// key is in CRYPTO_VERIFY_KEYS, and not before.
	output, ok = runCommand(t, binary, cloud, "audit", "verify")
	if ok {
		t.Errorf("audit verify in cloud mode without CRYPTO_VERIFY_KEYS passed, want the local key's checkpoint rejected:\n%s", output)
	}
	if !strings.Contains(output, "CRYPTO_VERIFY_KEYS") || strings.Contains(output, "forged") {
		t.Errorf("audit verify in cloud mode without CRYPTO_VERIFY_KEYS does not name the missing key as the cause:\n%s", output)
	}
	cloud["CRYPTO_VERIFY_KEYS"] = "local-2026=" + publicKeyPath
	if output, ok := runCommand(t, binary, cloud, "audit", "verify"); !ok {
		t.Errorf("audit verify in cloud mode with the retired local key failed:\n%s", output)
	}
}

// TestRestoreReceiptsRefusesUnknownPrefix runs restore-receipts against a
// key prefix where no back office published a configuration snapshot: a
// mistyped REDIS_PREFIX. It stops with the reason unless -force is given.
func TestRestoreReceiptsRefusesUnknownPrefix(t *testing.T) {
	binary := buildBackOffice(t)
	database := testenv.NewDatabase(t)
	redis := testenv.NewRedis(t)
	settings := map[string]string{"DATABASE_URL": database.URL, "REDIS_ADDR": redis.Address, "REDIS_PREFIX": redis.Prefix}

	output, ok := runCommand(t, binary, settings, "restore-receipts")
	if ok {
		t.Errorf("restore-receipts under a prefix without a snapshot succeeded:\n%s", output)
	}
	if !strings.Contains(output, "no configuration snapshot") || !strings.Contains(output, "-force") {
		t.Errorf("restore-receipts said:\n%s\nwant the missing snapshot named and -force offered", output)
	}

	output, ok = runCommand(t, binary, settings, "restore-receipts", "-force")
	if !ok {
		t.Fatalf("restore-receipts -force failed:\n%s", output)
	}
	if !strings.Contains(output, "checked 0 stored records") {
		t.Errorf("restore-receipts -force said:\n%s\nwant the count of records checked", output)
	}
}
