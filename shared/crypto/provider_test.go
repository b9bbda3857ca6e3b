package crypto_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sh-preschool/preschool/shared/config"
	"github.com/sh-preschool/preschool/shared/crypto"
	"github.com/sh-preschool/preschool/shared/crypto/cloudapi"
	"github.com/sh-preschool/preschool/simulators/cryptoservice"
)

const testAPIKey = "test-api-key"

// newLocal returns a local provider with fresh keys: sealing key "k1" and
// signing key "s1".
func newLocal(t *testing.T) *crypto.LocalProvider {
	t.Helper()
	provider, err := cryptoservice.GenerateProvider("k1", "s1")
	if err != nil {
		t.Fatal(err)
	}
	return provider
}

// newCloud returns a cloud provider talking to a simulator over a fresh
// local provider, and that local provider.
func newCloud(t *testing.T) (*crypto.CloudProvider, *crypto.LocalProvider) {
	t.Helper()
	backing := newLocal(t)
	server := httptest.NewServer(cryptoservice.NewHandler(backing, testAPIKey))
	t.Cleanup(server.Close)
	cloud, err := crypto.NewCloudProvider(crypto.CloudConfig{
		URL: server.URL, APIKey: testAPIKey, Timeout: 5 * time.Second, SealingKeyID: "k1", SigningKeyID: "s1",
	})
	if err != nil {
		t.Fatal(err)
	}
	return cloud, backing
}

// TestProviderBehaviours runs one table of behaviours against both
// implementations, so callers can switch between them.
func TestProviderBehaviours(t *testing.T) {
	implementations := map[string]func(t *testing.T) crypto.Provider{
		"local": func(t *testing.T) crypto.Provider { return newLocal(t) },
		"cloud": func(t *testing.T) crypto.Provider { cloud, _ := newCloud(t); return cloud },
	}
	behaviours := map[string]func(t *testing.T, provider crypto.Provider){
		"seal open round trip":          sealOpenRoundTrip,
		"seal empty plaintext":          sealEmptyPlaintext,
		"open with wrong label fails":   openWrongLabelFails,
		"open changed ciphertext fails": openChangedCiphertextFails,
		"open malformed ciphertext":     openMalformedCiphertext,
		"open under unknown key":        openUnknownKey,
		"index is keyed and separated":  indexKeyedAndSeparated,
		"sign verify round trip":        signVerifyRoundTrip,
		"verify changed message fails":  verifyChangedMessageFails,
		"verify wrong user ID fails":    verifyWrongUserIDFails,
		"verify unknown key ID":         verifyUnknownKeyID,
		"active key ID":                 activeKeyID,
	}
	for implementation, build := range implementations {
		for behaviour, check := range behaviours {
			t.Run(implementation+"/"+behaviour, func(t *testing.T) {
				check(t, build(t))
			})
		}
	}
}

func sealOpenRoundTrip(t *testing.T, provider crypto.Provider) {
	ctx := context.Background()
	sealed, err := provider.Seal(ctx, []byte("张三𠀀"), "registration.child_name")
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(sealed, []byte("张三")) {
		t.Fatal("ciphertext contains the plaintext")
	}
	opened, err := provider.Open(ctx, sealed, "registration.child_name")
	if err != nil {
		t.Fatal(err)
	}
	if string(opened) != "张三𠀀" {
		t.Fatalf("Open = %q, want 张三𠀀", opened)
	}
}

func sealEmptyPlaintext(t *testing.T, provider crypto.Provider) {
	ctx := context.Background()
	sealed, err := provider.Seal(ctx, nil, "c")
	if err != nil {
		t.Fatal(err)
	}
	opened, err := provider.Open(ctx, sealed, "c")
	if err != nil {
		t.Fatal(err)
	}
	if len(opened) != 0 {
		t.Fatalf("Open = %q, want empty", opened)
	}
}

func openWrongLabelFails(t *testing.T, provider crypto.Provider) {
	ctx := context.Background()
	sealed, err := provider.Seal(ctx, []byte("13900000000"), "guardian.phone")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := provider.Open(ctx, sealed, "registration.child_name"); !errors.Is(err, crypto.ErrAuthenticationFailed) {
		t.Fatalf("Open with another label = %v, want ErrAuthenticationFailed", err)
	}
}

func openChangedCiphertextFails(t *testing.T, provider crypto.Provider) {
	ctx := context.Background()
	sealed, err := provider.Seal(ctx, []byte("secret"), "c")
	if err != nil {
		t.Fatal(err)
	}
	sealed[len(sealed)-1] ^= 1
	if _, err := provider.Open(ctx, sealed, "c"); !errors.Is(err, crypto.ErrAuthenticationFailed) {
		t.Fatalf("Open of a changed ciphertext = %v, want ErrAuthenticationFailed", err)
	}
}

func openMalformedCiphertext(t *testing.T, provider crypto.Provider) {
	for _, sealed := range [][]byte{nil, {1}, {9, 2, 'k', '1'}} {
		if _, err := provider.Open(context.Background(), sealed, "c"); !errors.Is(err, crypto.ErrMalformed) {
			t.Errorf("Open(%x) = %v, want ErrMalformed", sealed, err)
		}
	}
}

func openUnknownKey(t *testing.T, provider crypto.Provider) {
	other, err := crypto.NewKeyring(crypto.GenerateKeyring("k-other"))
	if err != nil {
		t.Fatal(err)
	}
	sealed := other.Seal([]byte("x"), "c")
	if _, err := provider.Open(context.Background(), sealed, "c"); !errors.Is(err, crypto.ErrUnknownKey) {
		t.Fatalf("Open under a key the provider lacks = %v, want ErrUnknownKey", err)
	}
}

func indexKeyedAndSeparated(t *testing.T, provider crypto.Provider) {
	ctx := context.Background()
	first, err := provider.Index(ctx, "child_document", []byte("310101202001011234"))
	if err != nil {
		t.Fatal(err)
	}
	again, err := provider.Index(ctx, "child_document", []byte("310101202001011234"))
	if err != nil {
		t.Fatal(err)
	}
	otherDomain, err := provider.Index(ctx, "guardian_document", []byte("310101202001011234"))
	if err != nil {
		t.Fatal(err)
	}
	if len(first) != 32 {
		t.Errorf("index is %d bytes, want 32", len(first))
	}
	if !bytes.Equal(first, again) {
		t.Error("the index of one value differs between calls")
	}
	if bytes.Equal(first, otherDomain) {
		t.Error("one value has the same index in two domains")
	}
}

func signVerifyRoundTrip(t *testing.T, provider crypto.Provider) {
	ctx := context.Background()
	signature, err := provider.Sign(ctx, []byte("audit checkpoint 7"))
	if err != nil {
		t.Fatal(err)
	}
	if signature.KeyID != "s1" || signature.UserID != crypto.DefaultUserID {
		t.Errorf("signature names key %q and user ID %q, want s1 and the default", signature.KeyID, signature.UserID)
	}
	if err := provider.Verify(ctx, []byte("audit checkpoint 7"), signature); err != nil {
		t.Fatal(err)
	}
}

func verifyChangedMessageFails(t *testing.T, provider crypto.Provider) {
	ctx := context.Background()
	signature, err := provider.Sign(ctx, []byte("role list v3"))
	if err != nil {
		t.Fatal(err)
	}
	if err := provider.Verify(ctx, []byte("role list v4"), signature); !errors.Is(err, crypto.ErrInvalidSignature) {
		t.Fatalf("Verify of a changed message = %v, want ErrInvalidSignature", err)
	}
}

func verifyWrongUserIDFails(t *testing.T, provider crypto.Provider) {
	ctx := context.Background()
	signature, err := provider.Sign(ctx, []byte("m"))
	if err != nil {
		t.Fatal(err)
	}
	signature.UserID = "ALICE123@YAHOO.COM"
	if err := provider.Verify(ctx, []byte("m"), signature); !errors.Is(err, crypto.ErrInvalidSignature) {
		t.Fatalf("Verify with another user ID = %v, want ErrInvalidSignature", err)
	}
}

func verifyUnknownKeyID(t *testing.T, provider crypto.Provider) {
	ctx := context.Background()
	signature, err := provider.Sign(ctx, []byte("m"))
	if err != nil {
		t.Fatal(err)
	}
	signature.KeyID = "s-retired"
	if err := provider.Verify(ctx, []byte("m"), signature); !errors.Is(err, crypto.ErrUnknownKey) {
		t.Fatalf("Verify under an unknown key ID = %v, want ErrUnknownKey", err)
	}
}

func activeKeyID(t *testing.T, provider crypto.Provider) {
	if got := provider.ActiveKeyID(); got != "k1" {
		t.Fatalf("ActiveKeyID = %q, want k1", got)
	}
}

func TestCloudSealsWithServiceKeys(t *testing.T) {
	cloud, backing := newCloud(t)
	sealed, err := cloud.Seal(context.Background(), []byte("x"), "c")
	if err != nil {
		t.Fatal(err)
	}
	opened, err := backing.Open(context.Background(), sealed, "c")
	if err != nil || string(opened) != "x" {
		t.Fatalf("the service's own keys open the cloud ciphertext as %q, %v", opened, err)
	}
}

func TestCloudServiceDown(t *testing.T) {
	server := httptest.NewServer(http.NotFoundHandler())
	url := server.URL
	server.Close()
	cloud, err := crypto.NewCloudProvider(crypto.CloudConfig{URL: url, APIKey: testAPIKey, SealingKeyID: "k1"})
	if err != nil {
		t.Fatal(err)
	}

	_, err = cloud.Seal(context.Background(), []byte("x"), "c")
	if !errors.Is(err, crypto.ErrServiceUnavailable) {
		t.Fatalf("Seal with the service down = %v, want ErrServiceUnavailable", err)
	}
	for _, want := range []string{url + cloudapi.PathSeal, "connection refused"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not contain %q", err, want)
		}
	}
}

// newHangingServer returns a server that does not respond to any request
// until the test ends.
func newHangingServer(t *testing.T) *httptest.Server {
	release := make(chan struct{})
	server := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	t.Cleanup(server.Close)
	t.Cleanup(func() { close(release) }) // runs first, so Close does not wait
	return server
}

func TestCloudServiceTimeout(t *testing.T) {
	server := newHangingServer(t)
	cloud, err := crypto.NewCloudProvider(crypto.CloudConfig{URL: server.URL, APIKey: testAPIKey, SealingKeyID: "k1", Timeout: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}

	_, err = cloud.Index(context.Background(), "d", []byte("v"))
	if !errors.Is(err, crypto.ErrServiceUnavailable) {
		t.Fatalf("Index against a hanging service = %v, want ErrServiceUnavailable", err)
	}
	if !strings.Contains(err.Error(), "timed out after 50ms") {
		t.Errorf("error %q does not name the timeout", err)
	}
}

func TestCloudCallerCancelled(t *testing.T) {
	server := newHangingServer(t)
	cloud, err := crypto.NewCloudProvider(crypto.CloudConfig{URL: server.URL, APIKey: testAPIKey, SealingKeyID: "k1"})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()

	_, err = cloud.Seal(ctx, []byte("x"), "c")
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Seal with the caller's deadline passed = %v, want context.DeadlineExceeded", err)
	}
	if errors.Is(err, crypto.ErrServiceUnavailable) {
		t.Error("the caller's own deadline is reported as the service being unavailable")
	}
}

func TestCloudServerError(t *testing.T) {
	server := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusServiceUnavailable)
		json.NewEncoder(w).Encode(cloudapi.ErrorBody{Error: "overloaded", Message: "try later"})
	}))
	t.Cleanup(server.Close)
	cloud, err := crypto.NewCloudProvider(crypto.CloudConfig{URL: server.URL, APIKey: testAPIKey, SealingKeyID: "k1"})
	if err != nil {
		t.Fatal(err)
	}
	_, err = cloud.Open(context.Background(), []byte("x"), "c")
	if !errors.Is(err, crypto.ErrServiceUnavailable) {
		t.Fatalf("Open answered 503 = %v, want ErrServiceUnavailable", err)
	}
	if !strings.Contains(err.Error(), "503 overloaded: try later") {
		t.Errorf("error %q does not carry the service's answer", err)
	}
}

func TestCloudWrongAPIKey(t *testing.T) {
	server := httptest.NewServer(cryptoservice.NewHandler(newLocal(t), testAPIKey))
	t.Cleanup(server.Close)
	cloud, err := crypto.NewCloudProvider(crypto.CloudConfig{URL: server.URL, APIKey: "wrong", SealingKeyID: "k1"})
	if err != nil {
		t.Fatal(err)
	}
	_, err = cloud.Seal(context.Background(), []byte("x"), "c")
	if err == nil || !strings.Contains(err.Error(), "rejected the API key") {
		t.Fatalf("Seal with a wrong API key = %v, want an error naming the API key", err)
	}
	if errors.Is(err, crypto.ErrServiceUnavailable) {
		t.Error("a wrong API key is reported as the service being unavailable")
	}
}

func TestCloudSealUnknownKeyID(t *testing.T) {
	server := httptest.NewServer(cryptoservice.NewHandler(newLocal(t), testAPIKey))
	t.Cleanup(server.Close)
	cloud, err := crypto.NewCloudProvider(crypto.CloudConfig{URL: server.URL, APIKey: testAPIKey, SealingKeyID: "k9"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cloud.Seal(context.Background(), []byte("x"), "c"); !errors.Is(err, crypto.ErrUnknownKey) {
		t.Fatalf("Seal under a key the service lacks = %v, want ErrUnknownKey", err)
	}
}

func TestCloudConfigRejected(t *testing.T) {
	cases := map[string]crypto.CloudConfig{
		"plain http to another host": {URL: "http://kms.example.com", APIKey: "a", SealingKeyID: "k1"},
		"relative URL":               {URL: "/v1", APIKey: "a", SealingKeyID: "k1"},
		"missing API key":            {URL: "https://kms.example.com", SealingKeyID: "k1"},
		"missing sealing key ID":     {URL: "https://kms.example.com", APIKey: "a"},
	}
	for name, cfg := range cases {
		if _, err := crypto.NewCloudProvider(cfg); err == nil {
			t.Errorf("NewCloudProvider accepted a config with %s", name)
		}
	}
}

func TestCloudWithoutSigningKey(t *testing.T) {
	cloud, err := crypto.NewCloudProvider(crypto.CloudConfig{URL: "https://kms.example.com", APIKey: "a", SealingKeyID: "k1"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cloud.Sign(context.Background(), []byte("m")); !errors.Is(err, crypto.ErrSigningUnavailable) {
		t.Fatalf("Sign without a signing key ID = %v, want ErrSigningUnavailable", err)
	}
}

func TestNewProviderLocalFromFiles(t *testing.T) {
	dir := t.TempDir()
	keyringPath := filepath.Join(dir, "keyring.json")
	if err := crypto.GenerateKeyringFile(keyringPath, "k1"); err != nil {
		t.Fatal(err)
	}
	current, err := crypto.GenerateSM2Key()
	if err != nil {
		t.Fatal(err)
	}
	retired, err := crypto.GenerateSigner("audit-2025")
	if err != nil {
		t.Fatal(err)
	}
	signingKeyPath := filepath.Join(dir, "audit-2026.pem")
	retiredPublicPath := filepath.Join(dir, "audit-2025.pub.pem")
	if err := crypto.WriteSM2PrivateKeyFile(signingKeyPath, current); err != nil {
		t.Fatal(err)
	}
	if err := crypto.WriteSM2PublicKeyFile(retiredPublicPath, retired.PublicKey()); err != nil {
		t.Fatal(err)
	}

	cfg := crypto.LoadProviderConfig(config.FromMap(map[string]string{
		"CRYPTO_KEYRING_FILE":     keyringPath,
		"CRYPTO_SIGNING_KEY_FILE": signingKeyPath,
		"CRYPTO_SIGNING_KEY_ID":   "audit-2026",
		"CRYPTO_VERIFY_KEYS":      "audit-2025=" + retiredPublicPath,
	}))
	provider, err := crypto.NewProvider(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := provider.(*crypto.LocalProvider); !ok {
		t.Fatalf("NewProvider without CRYPTO_PROVIDER built a %T, want the local provider", provider)
	}

	ctx := context.Background()
	signature, err := provider.Sign(ctx, []byte("m"))
	if err != nil {
		t.Fatal(err)
	}
	if signature.KeyID != "audit-2026" {
		t.Errorf("signature names key %q, want audit-2026", signature.KeyID)
	}
	if err := provider.Verify(ctx, []byte("m"), signature); err != nil {
		t.Fatal(err)
	}
	oldValue, err := retired.Sign([]byte("old"), crypto.DefaultUserID)
	if err != nil {
		t.Fatal(err)
	}
	oldSignature := crypto.Signature{KeyID: "audit-2025", UserID: crypto.DefaultUserID, Value: oldValue}
	if err := provider.Verify(ctx, []byte("old"), oldSignature); err != nil {
		t.Fatalf("a signature of the retired key does not verify: %v", err)
	}
}

func TestNewProviderCloudFromEnvironment(t *testing.T) {
	cfg := crypto.LoadProviderConfig(config.FromMap(map[string]string{
		"CRYPTO_PROVIDER":        "cloud",
		"CRYPTO_SERVICE_URL":     "https://kms.example.com/",
		"CRYPTO_SERVICE_API_KEY": "a",
		"CRYPTO_SEALING_KEY_ID":  "k7",
		"CRYPTO_SERVICE_TIMEOUT": "1500ms",
	}))
	if cfg.ServiceTimeout != 1500*time.Millisecond {
		t.Errorf("ServiceTimeout = %s, want 1.5s", cfg.ServiceTimeout)
	}
	provider, err := crypto.NewProvider(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := provider.(*crypto.CloudProvider); !ok {
		t.Fatalf("NewProvider with CRYPTO_PROVIDER=cloud built a %T", provider)
	}
	if provider.ActiveKeyID() != "k7" {
		t.Errorf("ActiveKeyID = %q, want k7", provider.ActiveKeyID())
	}
}

func TestNewProviderRejectsConfig(t *testing.T) {
	dir := t.TempDir()
	keyringPath := filepath.Join(dir, "keyring.json")
	if err := crypto.GenerateKeyringFile(keyringPath, "k1"); err != nil {
		t.Fatal(err)
	}
	missingKey := filepath.Join(dir, "missing.pem")
	if err := os.WriteFile(filepath.Join(dir, "empty.pem"), nil, 0o600); err != nil {
		t.Fatal(err)
	}

	cases := map[string]crypto.ProviderConfig{
		"unknown kind":           {Kind: "hsm", KeyringFile: keyringPath},
		"no keyring file":        {Kind: "local"},
		"key file without ID":    {KeyringFile: keyringPath, SigningKeyFile: missingKey},
		"key ID without file":    {KeyringFile: keyringPath, SigningKeyID: "s1"},
		"missing key file":       {KeyringFile: keyringPath, SigningKeyFile: missingKey, SigningKeyID: "s1"},
		"malformed verify keys":  {KeyringFile: keyringPath, VerifyKeys: "audit-2025"},
		"empty verify key file":  {KeyringFile: keyringPath, VerifyKeys: "old=" + filepath.Join(dir, "empty.pem")},
		"cloud without settings": {Kind: "cloud"},
	}
	for name, cfg := range cases {
		if _, err := crypto.NewProvider(cfg); err == nil {
			t.Errorf("NewProvider accepted a config with %s", name)
		}
	}
}

// TestCloudVerifiesRetiredLocalKeys switches to the cloud provider with the
// former local signing key in CRYPTO_VERIFY_KEYS: its old signatures (such
// as audit checkpoints) still verify, without a call to the service, and a
// changed message still fails. Without the setting they do not verify.
func TestCloudVerifiesRetiredLocalKeys(t *testing.T) {
	dir := t.TempDir()
	retired, err := crypto.GenerateSigner("local-2026")
	if err != nil {
		t.Fatal(err)
	}
	retiredPublicPath := filepath.Join(dir, "local-2026.pub.pem")
	if err := crypto.WriteSM2PublicKeyFile(retiredPublicPath, retired.PublicKey()); err != nil {
		t.Fatal(err)
	}
	value, err := retired.Sign([]byte("checkpoint"), crypto.DefaultUserID)
	if err != nil {
		t.Fatal(err)
	}
	signature := crypto.Signature{KeyID: "local-2026", UserID: crypto.DefaultUserID, Value: value}

	backing := newLocal(t)
	calls := 0
	handler := cryptoservice.NewHandler(backing, testAPIKey)
	server := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls++
		handler.ServeHTTP(w, r)
	}))
	t.Cleanup(server.Close)
	build := func(verifyKeys string) crypto.Provider {
		provider, err := crypto.NewProvider(crypto.LoadProviderConfig(config.FromMap(map[string]string{
			"CRYPTO_PROVIDER":        "cloud",
			"CRYPTO_SERVICE_URL":     server.URL,
			"CRYPTO_SERVICE_API_KEY": testAPIKey,
			"CRYPTO_SEALING_KEY_ID":  "k1",
			"CRYPTO_SIGNING_KEY_ID":  "s1",
			"CRYPTO_VERIFY_KEYS":     verifyKeys,
		})))
		if err != nil {
			t.Fatal(err)
		}
		return provider
	}
	ctx := context.Background()

	withRetired := build("local-2026=" + retiredPublicPath)
	if err := withRetired.Verify(ctx, []byte("checkpoint"), signature); err != nil {
		t.Errorf("the retired local key's signature does not verify: %v", err)
	}
	if calls != 0 {
		t.Errorf("verifying a retired local key's signature called the service %d times, want 0", calls)
	}
	if err := withRetired.Verify(ctx, []byte("changed"), signature); !errors.Is(err, crypto.ErrInvalidSignature) {
		t.Errorf("Verify of a changed message = %v, want ErrInvalidSignature", err)
	}
	current, err := withRetired.Sign(ctx, []byte("new"))
	if err != nil {
		t.Fatal(err)
	}
	if err := withRetired.Verify(ctx, []byte("new"), current); err != nil || calls == 0 {
		t.Errorf("the service key's signature: Verify = %v after %d calls, want it verified by the service", err, calls)
	}

	if err := build("").Verify(ctx, []byte("checkpoint"), signature); err == nil {
		t.Error("without CRYPTO_VERIFY_KEYS the retired key's signature verifies, want an error")
	}
	if err := build(" local-2026 = "+retiredPublicPath+" ").Verify(ctx, []byte("checkpoint"), signature); err != nil {
		t.Errorf("CRYPTO_VERIFY_KEYS with spaces around the ID and path: Verify = %v, want the signature verified", err)
	}

	// A retired key may not take a service key's ID, or it would verify
	// that key's signatures locally.
	for _, id := range []string{"s1", "k1"} {
		_, err := crypto.NewProvider(crypto.LoadProviderConfig(config.FromMap(map[string]string{
			"CRYPTO_PROVIDER":        "cloud",
			"CRYPTO_SERVICE_URL":     server.URL,
			"CRYPTO_SERVICE_API_KEY": testAPIKey,
			"CRYPTO_SEALING_KEY_ID":  "k1",
			"CRYPTO_SIGNING_KEY_ID":  "s1",
			"CRYPTO_VERIFY_KEYS":     id + "=" + retiredPublicPath,
		})))
		if err == nil || !strings.Contains(err.Error(), id) {
			t.Errorf("CRYPTO_VERIFY_KEYS naming the service key %s: NewProvider error = %v, want one naming it", id, err)
		}
	}
}
