package prefill_test

import (
	"context"
	"encoding/hex"
	"net/http"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/sh-preschool/preschool/edge/edgetest"
	"github.com/sh-preschool/preschool/edge/prefill"
	"github.com/sh-preschool/preschool/shared/enrolment"
	"github.com/sh-preschool/preschool/shared/testenv"
)

// countingHandlers returns prefill handlers that count into a fresh Redis
// prefix and accept the districts 310104 and 310105.
func countingHandlers(t *testing.T, certificateAPI *certificateAPI, now time.Time) (*prefill.Handlers, *testenv.Redis, enrolment.Keys) {
	t.Helper()
	redis := testenv.NewRedis(t)
	keys := enrolment.Keys{Prefix: redis.Prefix}
	handlers := &prefill.Handlers{
		Client:        prefill.NewClient(certificateAPI.URL, time.Second, time.Minute, 0, nil),
		Keyring:       handlerKeyring,
		Now:           func() time.Time { return now },
		Counter:       &prefill.CallCounter{Redis: redis.Client, Keys: keys, Timeout: 5 * time.Second},
		DistrictKnown: func(code string) bool { return code == "310104" || code == "310105" },
	}
	return handlers, redis, keys
}

func TestPrefillCountsCalls(t *testing.T) {
	certificateAPI := newCertificateAPI(t, http.StatusOK, oneCertificate)
	// 23:30 UTC is 07:30 the next day in Shanghai, which names the day.
	now := time.Date(2027, 4, 22, 23, 30, 0, 0, time.UTC)
	handlers, redis, keys := countingHandlers(t, certificateAPI, now)
	both := `"certificateTypes": ["birth_certificate", "household_register"]`
	calls := []struct{ subject, body string }{
		{"parent-1", `{"documentType": "resident_id", "documentNumber": "11010519491231002X", ` + both + `, "districtCode": "310104"}`},
		{"parent-2", `{"documentType": "resident_id", "documentNumber": "11010519491231002X", ` + both + `, "districtCode": "310104"}`},
		{"parent-1", `{"documentType": "resident_id", "documentNumber": "11010519491231002X", ` + both + `, "districtCode": "310104"}`},
		{"parent-3", `{"documentType": "resident_id", "documentNumber": "11010519491231002X", "certificateTypes": ["birth_certificate"]}`},
	}
	for _, call := range calls {
		if err := handlers.PostPrefill(post(call.subject, call.body)); err != nil {
			t.Fatalf("PostPrefill returned %v", err)
		}
	}
	certificateAPI.status.Store(http.StatusInternalServerError)
	failing := `{"documentType": "resident_id", "documentNumber": "11010519491231002X", "certificateTypes": ["birth_certificate"], "districtCode": "310105"}`
	if err := handlers.PostPrefill(post("parent-4", failing)); err != nil {
		t.Fatalf("PostPrefill returned %v", err)
	}

	handlers.Counter.Wait()
	ctx := context.Background()
	day := "2027-04-23"
	counts, err := redis.Client.Do(ctx, redis.Client.B().Hgetall().Key(keys.CertificateCalls(day)).Build()).AsStrMap()
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"310104:birth_certificate:success":    "3",
		"310104:household_register:not_found": "3",
		"unknown:birth_certificate:success":   "1",
		"310105:birth_certificate:failure":    "1",
	}
	if diff := cmp.Diff(want, counts); diff != "" {
		t.Errorf("counters (-want +got):\n%s", diff)
	}
	days, err := redis.Client.Do(ctx, redis.Client.B().Smembers().Key(keys.CertificateCallDays()).Build()).AsStrSlice()
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{day}, days); diff != "" {
		t.Errorf("days (-want +got):\n%s", diff)
	}

	callers := map[string]int64{"310104": 2, "310105": 1, enrolment.UnknownDistrict: 1}
	for district, want := range callers {
		got, err := redis.Client.Do(ctx, redis.Client.B().Pfcount().Key(keys.CertificateCallers(day, district)).Build()).AsInt64()
		if err != nil {
			t.Fatal(err)
		}
		if got != want {
			t.Errorf("callers of %s = %d, want %d", district, got, want)
		}
	}
	// The HyperLogLog contains owner blind indexes, not the subjects.
	owner := hex.EncodeToString(handlerKeyring.Index("owner", []byte("parent-1")))
	added, err := redis.Client.Do(ctx, redis.Client.B().Pfadd().Key(keys.CertificateCallers(day, "310104")).Element(owner).Build()).AsInt64()
	if err != nil {
		t.Fatal(err)
	}
	if added != 0 {
		t.Errorf("PFADD of parent-1's owner index changed the HyperLogLog, so the edge stored something else")
	}
	ttl, err := redis.Client.Do(ctx, redis.Client.B().Ttl().Key(keys.CertificateCalls(day)).Build()).AsInt64()
	if err != nil {
		t.Fatal(err)
	}
	if ttl <= 0 {
		t.Errorf("TTL of the day's counters = %d, want a retention", ttl)
	}
}

func TestPrefillRejectsUnknownDistrict(t *testing.T) {
	certificateAPI := newCertificateAPI(t, http.StatusOK, oneCertificate)
	handlers, redis, keys := countingHandlers(t, certificateAPI, time.Now())
	body := `{"documentType": "resident_id", "documentNumber": "11010519491231002X", "certificateTypes": ["birth_certificate"], "districtCode": "310199"}`

	err := handlers.PostPrefill(post("parent-1", body))
	handlers.Counter.Wait()

	edgetest.CheckError(t, err, http.StatusBadRequest, "unknown_district", "districtCode")
	if got := certificateAPI.calls.Load(); got != 0 {
		t.Errorf("the rejected request made %d calls to the API, want 0", got)
	}
	checkNothingCounted(t, redis, keys)
}

// checkNothingCounted fails the test when any call was counted.
func checkNothingCounted(t *testing.T, redis *testenv.Redis, keys enrolment.Keys) {
	t.Helper()
	exists, err := redis.Client.Do(context.Background(), redis.Client.B().Exists().Key(keys.CertificateCallDays()).Build()).AsInt64()
	if err != nil {
		t.Fatal(err)
	}
	if exists != 0 {
		t.Errorf("a request that never reached the certificate API was counted")
	}
}

func TestPrefillNotSupportedIsNotCounted(t *testing.T) {
	certificateAPI := newCertificateAPI(t, http.StatusOK, oneCertificate)
	handlers, redis, keys := countingHandlers(t, certificateAPI, time.Now())
	body := `{"documentType": "none", "documentNumber": "", "certificateTypes": ["birth_certificate"], "districtCode": "310104"}`

	err := handlers.PostPrefill(post("parent-1", body))
	handlers.Counter.Wait()

	edgetest.CheckError(t, err, http.StatusBadRequest, "prefill_not_supported", "documentType")
	checkNothingCounted(t, redis, keys)
}
