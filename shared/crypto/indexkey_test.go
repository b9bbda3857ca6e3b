package crypto_test

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sh-preschool/preschool/shared/config"
	"github.com/sh-preschool/preschool/shared/crypto"
)

// cloudSettings returns the environment of a process in cloud mode over
// service with the keyring file at keyringPath.
func cloudSettings(service *countingService, keyringPath string) map[string]string {
	return map[string]string{
		"CRYPTO_PROVIDER":        "cloud",
		"CRYPTO_KEYRING_FILE":    keyringPath,
		"CRYPTO_SERVICE_URL":     service.server.URL,
		"CRYPTO_SERVICE_API_KEY": testAPIKey,
		"CRYPTO_SEALING_KEY_ID":  "cloud-1",
	}
}

func readKeyringJSON(t *testing.T, path string) crypto.KeyringFile {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var file crypto.KeyringFile
	if err := json.Unmarshal(data, &file); err != nil {
		t.Fatal(err)
	}
	return file
}

func TestCloudKeyringRejectsPlaintextIndexKey(t *testing.T) {
	service := newCountingService(t, "cloud-1")
	keyringPath := filepath.Join(t.TempDir(), "keyring.json")
	if err := crypto.GenerateKeyringFile(keyringPath, "k1"); err != nil {
		t.Fatal(err)
	}
	_, err := crypto.LoadKeyring(context.Background(), crypto.LoadProviderConfig(config.FromMap(cloudSettings(service, keyringPath))))
	if err == nil {
		t.Fatal("LoadKeyring in cloud mode accepted a plaintext blind-index key")
	}
	if !strings.Contains(err.Error(), "backoffice keys wrap-index-key") {
		t.Errorf("error %q does not name the command that wraps the key", err)
	}
}

func TestWrappedIndexKeyKeepsIndexes(t *testing.T) {
	ctx := context.Background()
	service := newCountingService(t, "cloud-1")
	keyringPath := filepath.Join(t.TempDir(), "keyring.json")
	if err := crypto.GenerateKeyringFile(keyringPath, "k1"); err != nil {
		t.Fatal(err)
	}
	local, err := crypto.LoadKeyringFile(keyringPath)
	if err != nil {
		t.Fatal(err)
	}
	before := local.Index("child_document", []byte("310104202201010012"))

	wrapped, err := crypto.WrapIndexKey(ctx, keyringPath, service.provider(t, "cloud-1"))
	if err != nil || !wrapped {
		t.Fatalf("WrapIndexKey = %v, %v, want true", wrapped, err)
	}
	file := readKeyringJSON(t, keyringPath)
	if file.IndexKey != "" {
		t.Error("the keyring file still holds the index key in plaintext")
	}
	if file.WrappedIndexKey == "" {
		t.Error("the keyring file holds no wrapped index key")
	}
	info, err := os.Stat(keyringPath)
	if err != nil {
		t.Fatal(err)
	}
	if info.Mode().Perm() != 0o600 {
		t.Errorf("keyring file mode = %o, want 600", info.Mode().Perm())
	}
	if again, err := crypto.WrapIndexKey(ctx, keyringPath, service.provider(t, "cloud-1")); err != nil || again {
		t.Errorf("second WrapIndexKey = %v, %v, want false and no error", again, err)
	}

	// Two processes, such as an edge and the back office, each unwrap the
	// key and compute the indexes the local key computed.
	settings := crypto.LoadProviderConfig(config.FromMap(cloudSettings(service, keyringPath)))
	for process := range 2 {
		keyring, err := crypto.LoadKeyring(ctx, settings)
		if err != nil {
			t.Fatalf("process %d: LoadKeyring: %v", process, err)
		}
		if !bytes.Equal(keyring.Index("child_document", []byte("310104202201010012")), before) {
			t.Errorf("process %d computes another blind index than the local key did", process)
		}
	}

	// Switching back to local mode without the plaintext key fails at start
	// instead of computing other indexes.
	localSettings := cloudSettings(service, keyringPath)
	localSettings["CRYPTO_PROVIDER"] = "local"
	_, err = crypto.LoadKeyring(ctx, crypto.LoadProviderConfig(config.FromMap(localSettings)))
	if err == nil || !strings.Contains(err.Error(), "wrapped_index_key") {
		t.Errorf("LoadKeyring in local mode with only a wrapped index key = %v, want an error naming wrapped_index_key", err)
	}
}

func TestWrappedIndexKeyNeedsService(t *testing.T) {
	ctx := context.Background()
	service := newCountingService(t, "cloud-1")
	keyringPath := filepath.Join(t.TempDir(), "keyring.json")
	if err := crypto.GenerateKeyringFile(keyringPath, "k1"); err != nil {
		t.Fatal(err)
	}
	if _, err := crypto.WrapIndexKey(ctx, keyringPath, service.provider(t, "cloud-1")); err != nil {
		t.Fatal(err)
	}
	// Another service, whose master key has the same ID but other bytes,
	// cannot unwrap the key.
	other := newCountingService(t, "cloud-1")
	if _, err := crypto.LoadKeyring(ctx, crypto.LoadProviderConfig(config.FromMap(cloudSettings(other, keyringPath)))); err == nil {
		t.Error("LoadKeyring unwrapped the index key through a service without its master key")
	}
}

func TestKeyringWithBothIndexKeysRejected(t *testing.T) {
	service := newCountingService(t, "cloud-1")
	keyringPath := filepath.Join(t.TempDir(), "keyring.json")
	if err := crypto.GenerateKeyringFile(keyringPath, "k1"); err != nil {
		t.Fatal(err)
	}
	plaintext := readKeyringJSON(t, keyringPath).IndexKey
	if _, err := crypto.WrapIndexKey(context.Background(), keyringPath, service.provider(t, "cloud-1")); err != nil {
		t.Fatal(err)
	}
	file := readKeyringJSON(t, keyringPath)
	file.IndexKey = plaintext
	data, err := json.Marshal(file)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyringPath, data, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := crypto.LoadKeyring(context.Background(), crypto.LoadProviderConfig(config.FromMap(cloudSettings(service, keyringPath)))); err == nil {
		t.Error("LoadKeyring in cloud mode accepted a keyring file with the index key in plaintext beside the wrapped one")
	}
}

// BenchmarkIndexThroughService measures one blind index computed by the
// cryptography service simulator over loopback HTTP (POST /v1/index), the
// cost that computing indexes in the service would add to each look-up,
// to compare with BenchmarkIndex under a key in memory.
func BenchmarkIndexThroughService(b *testing.B) {
	service := benchmarkService(b)
	ctx := context.Background()
	for b.Loop() {
		if _, err := service.Index(ctx, "child_document", []byte("310104202201010012")); err != nil {
			b.Fatal(err)
		}
	}
}
