package crypto

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"
)

// IndexKeyContext is the context under which the cryptography service
// seals the blind-index key, so the wrapped key does not open as data and
// data does not open as the key.
const IndexKeyContext = "crypto.index_key"

// errIndexKeyNotWrapped is returned by LoadKeyring in cloud mode for a
// keyring file whose index key is in plaintext.
var errIndexKeyNotWrapped = errors.New("with CRYPTO_PROVIDER=cloud the blind-index key must come from the cryptography service, " +
	"but the keyring file (CRYPTO_KEYRING_FILE) holds it in plaintext (index_key): run \"backoffice keys wrap-index-key\" once, " +
	"which wraps that same key under the service's master key so existing blind indexes keep matching, " +
	"and copy the file it writes to every edge and back-office host")

// readKeyringFile reads the JSON form of a keyring without building it.
func readKeyringFile(path string) (KeyringFile, error) {
	var file KeyringFile
	data, err := os.ReadFile(path)
	if err != nil {
		return file, fmt.Errorf("crypto: read keyring: %w", err)
	}
	if err := json.Unmarshal(data, &file); err != nil {
		return file, fmt.Errorf("crypto: parse keyring: %w", err)
	}
	return file, nil
}

// unwrapIndexKey opens the file's wrapped index key through service and
// returns the file with the key in IndexKey, ready for NewKeyring. It
// rejects a file without a wrapped key or with a plaintext key beside it,
// because in cloud mode the indexes must come from the service's key.
func unwrapIndexKey(ctx context.Context, file KeyringFile, service Provider, timeout time.Duration) (KeyringFile, error) {
	if file.WrappedIndexKey == "" {
		if file.IndexKey == "" {
			return file, errors.New("crypto: the keyring file has neither index_key nor wrapped_index_key")
		}
		return file, errIndexKeyNotWrapped
	}
	if file.IndexKey != "" {
		return file, errors.New("crypto: the keyring file contains the blind-index key both in plaintext (index_key) and wrapped (wrapped_index_key): " +
			"remove index_key, since with CRYPTO_PROVIDER=cloud the key comes from the cryptography service")
	}
	wrapped, err := hex.DecodeString(file.WrappedIndexKey)
	if err != nil || len(wrapped) == 0 {
		return file, errors.New("crypto: wrapped_index_key must be the service's ciphertext in hex")
	}
	callCtx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	key, err := service.Open(callCtx, wrapped, IndexKeyContext)
	if err != nil {
		return file, fmt.Errorf("crypto: unwrap the blind-index key (wrapped_index_key) through the cryptography service: %w", err)
	}
	if len(key) < 32 {
		return file, fmt.Errorf("crypto: the unwrapped blind-index key has %d bytes, want at least 32", len(key))
	}
	file.IndexKey = hex.EncodeToString(key)
	return file, nil
}

// WrapIndexKey replaces the plaintext blind-index key of the keyring file
// at path with the same key sealed by service under its sealing key. A
// process in cloud mode then gets the key from the service and computes the
// same indexes as before. The file is replaced, by writing a new file and
// renaming it over the old one, only after the wrapped key opened to the
// original. It returns false when the file's key is wrapped already.
func WrapIndexKey(ctx context.Context, path string, service Provider) (bool, error) {
	file, err := readKeyringFile(path)
	if err != nil {
		return false, err
	}
	if file.IndexKey == "" && file.WrappedIndexKey != "" {
		return false, nil
	}
	if file.WrappedIndexKey != "" {
		return false, errors.New("crypto: the keyring file contains the blind-index key both in plaintext and wrapped: keep only the one the existing indexes were computed with")
	}
	key, err := decodeMACKey("index_key", file.IndexKey)
	if err != nil {
		return false, err
	}
	wrapped, err := service.Seal(ctx, key, IndexKeyContext)
	if err != nil {
		return false, fmt.Errorf("crypto: wrap the blind-index key: %w", err)
	}
	opened, err := service.Open(ctx, wrapped, IndexKeyContext)
	if err != nil {
		return false, fmt.Errorf("crypto: open the just wrapped blind-index key: %w", err)
	}
	if !bytes.Equal(opened, key) {
		return false, errors.New("crypto: the cryptography service opened the wrapped blind-index key to another key")
	}

	file.IndexKey = ""
	file.WrappedIndexKey = hex.EncodeToString(wrapped)
	data, err := json.MarshalIndent(file, "", "  ")
	if err != nil {
		return false, err
	}
	return true, replaceFile(path, data)
}

// replaceFile writes data to a new file beside path, readable only by its
// owner, and renames it over path, so a crash leaves the old or the new
// content.
func replaceFile(path string, data []byte) error {
	temporary, err := os.CreateTemp(filepath.Dir(path), filepath.Base(path)+".*.tmp")
	if err != nil {
		return fmt.Errorf("crypto: create a file beside %s: %w", path, err)
	}
	defer os.Remove(temporary.Name())
	if err := temporary.Chmod(0o600); err != nil {
		temporary.Close()
		return err
	}
	if _, err := temporary.Write(data); err != nil {
		temporary.Close()
		return err
	}
	if err := temporary.Sync(); err != nil {
		temporary.Close()
		return err
	}
	if err := temporary.Close(); err != nil {
		return err
	}
	if err := os.Rename(temporary.Name(), path); err != nil {
		return fmt.Errorf("crypto: replace %s: %w", path, err)
	}
	return nil
}
