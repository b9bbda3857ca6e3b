package crypto_test

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/sh-preschool/preschool/shared/config"
	"github.com/sh-preschool/preschool/shared/crypto"
	"github.com/sh-preschool/preschool/shared/crypto/cloudapi"
	"github.com/sh-preschool/preschool/simulators/cryptoservice"
)

// countingService is the simulator behind a handler that counts the calls
// per path and can be switched off.
type countingService struct {
	server *httptest.Server
	mu     sync.Mutex
	calls  map[string]int
	down   bool
}

func newCountingService(t *testing.T, masterKeyID string) *countingService {
	t.Helper()
	backing, err := cryptoservice.GenerateProvider(masterKeyID, "s1")
	if err != nil {
		t.Fatal(err)
	}
	simulator := cryptoservice.NewHandler(backing, testAPIKey)
	s := &countingService{calls: map[string]int{}}
	s.server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		s.calls[r.URL.Path]++
		down := s.down
		s.mu.Unlock()
		if down {
			http.Error(w, "down", http.StatusServiceUnavailable)
			return
		}
		simulator.ServeHTTP(w, r)
	}))
	t.Cleanup(s.server.Close)
	return s
}

func (s *countingService) count(path string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls[path]
}

func (s *countingService) setDown(down bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.down = down
}

func (s *countingService) provider(t *testing.T, masterKeyID string) *crypto.CloudProvider {
	t.Helper()
	cloud, err := crypto.NewCloudProvider(crypto.CloudConfig{URL: s.server.URL, APIKey: testAPIKey, SealingKeyID: masterKeyID})
	if err != nil {
		t.Fatal(err)
	}
	return cloud
}

// dataKeyring returns local over a new data key of service, as one process
// of the system would have it.
func (s *countingService) dataKeyring(t *testing.T, local *crypto.Keyring) *crypto.Keyring {
	t.Helper()
	keyring, err := local.WithDataKeys(context.Background(), s.provider(t, "cloud-1"), time.Second)
	if err != nil {
		t.Fatal(err)
	}
	return keyring
}

func localKeyring(t *testing.T) *crypto.Keyring {
	t.Helper()
	keyring, err := crypto.NewKeyring(crypto.GenerateKeyring("k1"))
	if err != nil {
		t.Fatal(err)
	}
	return keyring
}

func TestDataKeysSealThroughService(t *testing.T) {
	ctx := context.Background()
	service := newCountingService(t, "cloud-1")
	local := localKeyring(t)
	before := local.Seal([]byte("sealed locally"), "registration.child_name")

	keyring, err := local.WithDataKeys(ctx, service.provider(t, "cloud-1"), time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if keyring.ActiveKeyID() != "cloud-1" {
		t.Errorf("ActiveKeyID = %q, want the master key cloud-1", keyring.ActiveKeyID())
	}
	if n := service.count(cloudapi.PathGenerateDataKey); n != 1 {
		t.Errorf("data keys generated = %d, want 1", n)
	}

	sealed := keyring.Seal([]byte("张小明"), "registration.child_name")
	if keyID, err := crypto.SealedKeyID(sealed); err != nil || keyID != "cloud-1" {
		t.Errorf("SealedKeyID = %q, %v, want cloud-1", keyID, err)
	}
	for i := range 100 {
		keyring.Seal([]byte{byte(i)}, "registration.child_name")
	}
	if n := service.count(cloudapi.PathSeal) + service.count(cloudapi.PathGenerateDataKey); n != 1 {
		t.Errorf("service calls for 101 seals = %d, want only the one data key", n)
	}

	opened, err := keyring.Open(sealed, "registration.child_name")
	if err != nil || string(opened) != "张小明" {
		t.Errorf("Open = %q, %v, want the plaintext", opened, err)
	}
	if n := service.count(cloudapi.PathUnwrapDataKey); n != 0 {
		t.Errorf("unwrap calls for the process's own data key = %d, want 0", n)
	}
	if _, err := keyring.Open(sealed, "registration.guardians"); err == nil {
		t.Error("a data-key ciphertext opened with another context")
	}
	if opened, err := keyring.Open(before, "registration.child_name"); err != nil || string(opened) != "sealed locally" {
		t.Errorf("Open of a local ciphertext = %q, %v, want it to still open", opened, err)
	}
	if _, err := local.Open(sealed, "registration.child_name"); !errors.Is(err, crypto.ErrUnknownKey) {
		t.Errorf("local keyring opening a data-key ciphertext = %v, want ErrUnknownKey", err)
	}
	if !bytes.Equal(keyring.Index("owner", []byte("p")), local.Index("owner", []byte("p"))) {
		t.Error("the blind index changed with data keys")
	}
}

func TestDataKeyUnwrappedOnceInOtherProcess(t *testing.T) {
	ctx := context.Background()
	service := newCountingService(t, "cloud-1")
	local := localKeyring(t)
	sealed := service.dataKeyring(t, local).Seal([]byte("guardian"), "registration.guardians")

	// Another host or a restart has a data key of its own.
	reader := service.dataKeyring(t, local)
	var wait sync.WaitGroup
	for range 8 {
		wait.Add(1)
		go func() {
			defer wait.Done()
			if opened, err := reader.Open(sealed, "registration.guardians"); err != nil || string(opened) != "guardian" {
				t.Errorf("Open in the other process = %q, %v", opened, err)
			}
		}()
	}
	wait.Wait()
	if _, err := reader.Open(sealed, "registration.guardians"); err != nil {
		t.Fatal(err)
	}
	if n := service.count(cloudapi.PathUnwrapDataKey); n != 1 {
		t.Errorf("unwrap calls = %d for nine opens of one data key, want 1", n)
	}

	// A cached key opens without the service; an uncached one needs it.
	service.setDown(true)
	if _, err := reader.Open(sealed, "registration.guardians"); err != nil {
		t.Errorf("Open with the cached key while the service is down = %v", err)
	}
	fresh, err := local.WithDataKeys(ctx, service.provider(t, "cloud-1"), time.Second)
	if err == nil {
		t.Fatal("WithDataKeys succeeded while the service is down")
	}
	if fresh != nil {
		t.Error("WithDataKeys returned a keyring with its error")
	}
	service.setDown(false)
	third := service.dataKeyring(t, local)
	service.setDown(true)
	if _, err := third.Open(sealed, "registration.guardians"); !errors.Is(err, crypto.ErrServiceUnavailable) {
		t.Errorf("Open of an uncached data key while the service is down = %v, want ErrServiceUnavailable", err)
	}
}

func TestDataKeyCiphertextTampering(t *testing.T) {
	service := newCountingService(t, "cloud-1")
	local := localKeyring(t)
	reader := service.dataKeyring(t, local)
	sealed := service.dataKeyring(t, local).Seal([]byte("secret"), "staff.phone")
	header := 2 + len("cloud-1") + 2

	cases := map[string]func([]byte){
		"wrapped key byte": func(c []byte) { c[header+5] ^= 1 },
		"ciphertext byte":  func(c []byte) { c[len(c)-1] ^= 1 },
		"master key ID":    func(c []byte) { c[2] = 'X' },
	}
	for name, change := range cases {
		changed := append([]byte(nil), sealed...)
		change(changed)
		if _, err := reader.Open(changed, "staff.phone"); err == nil {
			t.Errorf("a ciphertext with a changed %s opened", name)
		}
	}
	if _, err := reader.Open(sealed[:header+3], "staff.phone"); !errors.Is(err, crypto.ErrMalformed) {
		t.Errorf("a truncated ciphertext = %v, want ErrMalformed", err)
	}
}

func TestDataKeysRejectLocalKeyID(t *testing.T) {
	service := newCountingService(t, "k1")
	if _, err := localKeyring(t).WithDataKeys(context.Background(), service.provider(t, "k1"), time.Second); err == nil {
		t.Error("WithDataKeys accepted a master key ID that is also a local key ID")
	}
}

func TestLoadKeyringCloudFromEnvironment(t *testing.T) {
	service := newCountingService(t, "cloud-1")
	keyringPath := filepath.Join(t.TempDir(), "keyring.json")
	if err := crypto.GenerateKeyringFile(keyringPath, "k1"); err != nil {
		t.Fatal(err)
	}
	settings := map[string]string{
		"CRYPTO_KEYRING_FILE":    keyringPath,
		"CRYPTO_SERVICE_URL":     service.server.URL,
		"CRYPTO_SERVICE_API_KEY": testAPIKey,
		"CRYPTO_SEALING_KEY_ID":  "cloud-1",
	}
	local, err := crypto.LoadKeyring(context.Background(), crypto.LoadProviderConfig(config.FromMap(settings)))
	if err != nil {
		t.Fatal(err)
	}
	if local.ActiveKeyID() != "k1" {
		t.Errorf("local keyring's active key = %q, want k1", local.ActiveKeyID())
	}

	settings["CRYPTO_PROVIDER"] = "cloud"
	if _, err := crypto.WrapIndexKey(context.Background(), keyringPath, service.provider(t, "cloud-1")); err != nil {
		t.Fatal(err)
	}
	cloud, err := crypto.LoadKeyring(context.Background(), crypto.LoadProviderConfig(config.FromMap(settings)))
	if err != nil {
		t.Fatal(err)
	}
	if cloud.ActiveKeyID() != "cloud-1" {
		t.Errorf("cloud keyring's active key = %q, want cloud-1", cloud.ActiveKeyID())
	}
	if opened, err := cloud.Open(local.Seal([]byte("x"), "c"), "c"); err != nil || string(opened) != "x" {
		t.Errorf("cloud keyring opening a local ciphertext = %q, %v", opened, err)
	}

	settings["CRYPTO_SEALING_KEY_ID"] = "cloud-2"
	if _, err := crypto.LoadKeyring(context.Background(), crypto.LoadProviderConfig(config.FromMap(settings))); err == nil {
		t.Error("LoadKeyring accepted a master key the service does not have")
	}
}

// BenchmarkSealWithDataKey measures sealing under a cached data key, to
// compare with BenchmarkSeal under a key of the keyring file.
func BenchmarkSealWithDataKey(b *testing.B) {
	service := benchmarkService(b)
	local, err := crypto.NewKeyring(crypto.GenerateKeyring("k1"))
	if err != nil {
		b.Fatal(err)
	}
	keyring, err := local.WithDataKeys(context.Background(), service, time.Second)
	if err != nil {
		b.Fatal(err)
	}
	plaintext := []byte("上海市徐汇区漕溪北路100弄3号502室")
	for b.Loop() {
		keyring.Seal(plaintext, "registration.residence_address")
	}
}

// waitForNewDataKey waits until keyring seals with another data key than
// old and returns the new one's wrapped form.
func waitForNewDataKey(t *testing.T, keyring *crypto.Keyring, old []byte) []byte {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if current := crypto.ActiveWrappedDataKey(keyring); !bytes.Equal(current, old) {
			return current
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Fatal("the keyring still seals with the old data key after 10 seconds")
	return nil
}

// wrappedKeyOf returns the wrapped data key that a ciphertext names.
func wrappedKeyOf(t *testing.T, sealed []byte, masterKeyID string) []byte {
	t.Helper()
	offset := 2 + len(masterKeyID)
	size := int(sealed[offset])<<8 | int(sealed[offset+1])
	return sealed[offset+2 : offset+2+size]
}

func TestDataKeyReplacedAtSealLimit(t *testing.T) {
	ctx := context.Background()
	service := newCountingService(t, "cloud-1")
	local := localKeyring(t)
	keyring, err := local.WithDataKeysLimit(ctx, service.provider(t, "cloud-1"), time.Second, 4)
	if err != nil {
		t.Fatal(err)
	}
	first := crypto.ActiveWrappedDataKey(keyring)

	var sealed [][]byte
	for i := range 2 {
		sealed = append(sealed, keyring.Seal([]byte{'a', byte(i)}, "staff.phone"))
	}
	second := waitForNewDataKey(t, keyring, first)
	// One value, below the half of the limit that starts the next renewal.
	sealed = append(sealed, keyring.Seal([]byte{'b', 0}, "staff.phone"))

	if n := service.count(cloudapi.PathGenerateDataKey); n != 2 {
		t.Errorf("data keys generated = %d, want 2", n)
	}
	for i, ciphertext := range sealed {
		want := first
		if i >= 2 {
			want = second
		}
		if !bytes.Equal(wrappedKeyOf(t, ciphertext, "cloud-1"), want) {
			t.Errorf("value %d is sealed with another data key than expected", i)
		}
	}
	// Both keys open their values, in this process and in another one.
	reader := service.dataKeyring(t, local)
	for i, ciphertext := range sealed {
		for name, opener := range map[string]*crypto.Keyring{"same process": keyring, "other process": reader} {
			want := []byte{"aab"[i], byte(i % 2)}
			if opened, err := opener.Open(ciphertext, "staff.phone"); err != nil || !bytes.Equal(opened, want) {
				t.Errorf("%s: Open of value %d = %v, %v, want %v", name, i, opened, err, want)
			}
		}
	}
}

func TestDataKeyRenewalFailureKeepsSealing(t *testing.T) {
	defer crypto.SetDataKeyRetryDelay(time.Millisecond)()
	ctx := context.Background()
	service := newCountingService(t, "cloud-1")
	keyring, err := localKeyring(t).WithDataKeysLimit(ctx, service.provider(t, "cloud-1"), time.Second, 2)
	if err != nil {
		t.Fatal(err)
	}
	first := crypto.ActiveWrappedDataKey(keyring)

	service.setDown(true)
	for i := range 10 {
		sealed := keyring.Seal([]byte{byte(i)}, "staff.phone")
		if opened, err := keyring.Open(sealed, "staff.phone"); err != nil || !bytes.Equal(opened, []byte{byte(i)}) {
			t.Errorf("Open of value %d sealed while the service is down = %v, %v", i, opened, err)
		}
	}
	if !bytes.Equal(crypto.ActiveWrappedDataKey(keyring), first) {
		t.Error("the data key changed while the service was down")
	}

	// Once the service is back, a later seal starts a renewal that works.
	service.setDown(false)
	deadline := time.Now().Add(10 * time.Second)
	for bytes.Equal(crypto.ActiveWrappedDataKey(keyring), first) && time.Now().Before(deadline) {
		keyring.Seal([]byte("x"), "staff.phone")
		time.Sleep(5 * time.Millisecond)
	}
	if bytes.Equal(crypto.ActiveWrappedDataKey(keyring), first) {
		t.Error("no new data key 10 seconds after the service came back")
	}
}

func TestDataKeySealLimitRange(t *testing.T) {
	service := newCountingService(t, "cloud-1")
	for _, limit := range []uint64{0, 1, crypto.MaxSealsPerDataKeyLimit + 1} {
		if _, err := localKeyring(t).WithDataKeysLimit(context.Background(), service.provider(t, "cloud-1"), time.Second, limit); err == nil {
			t.Errorf("WithDataKeysLimit accepted the limit %d", limit)
		}
	}
}

// benchmarkService returns a client of a new cryptography service
// simulator on loopback, with master key cloud-1.
func benchmarkService(b *testing.B) *crypto.CloudProvider {
	b.Helper()
	backing, err := cryptoservice.GenerateProvider("cloud-1", "s1")
	if err != nil {
		b.Fatal(err)
	}
	server := httptest.NewServer(cryptoservice.NewHandler(backing, testAPIKey))
	b.Cleanup(server.Close)
	service, err := crypto.NewCloudProvider(crypto.CloudConfig{URL: server.URL, APIKey: testAPIKey, SealingKeyID: "cloud-1"})
	if err != nil {
		b.Fatal(err)
	}
	return service
}
