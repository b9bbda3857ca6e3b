package verify_test

import (
	"context"
	"database/sql"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/sh-preschool/preschool/backoffice/backofficetest"
	"github.com/sh-preschool/preschool/backoffice/verify"
	"github.com/sh-preschool/preschool/edge/precheck"
	enrol "github.com/sh-preschool/preschool/shared/enrolment"
	"github.com/sh-preschool/preschool/simulators"
	"github.com/sh-preschool/preschool/simulators/dataapi"
	"github.com/sh-preschool/preschool/simulators/fault"
)

const xuhui = backofficetest.Xuhui

const waitLimit = time.Minute

func startSimulators(t *testing.T, data fault.Config) *simulators.Running {
	t.Helper()
	running, err := simulators.Start(context.Background(), simulators.Config{
		Data: data, Seed: 1, Logger: slog.New(slog.DiscardHandler),
	})
	if err != nil {
		t.Fatalf("start simulators: %v", err)
	}
	t.Cleanup(func() {
		if err := running.Close(); err != nil {
			t.Errorf("close simulators: %v", err)
		}
	})
	return running
}

func verifyConfig(dataURL string) verify.Config {
	return verify.Config{
		DataAPIURL: dataURL, Timeout: 5 * time.Second, Interval: time.Hour, BatchSize: 100,
		MaxAttempts: 3, Deadline: time.Hour, BreakerOpenFor: time.Hour,
	}
}

// registerAndDrain registers the requests, waits until a drainer has
// stored and acknowledged every entry, and returns their numbers in order.
func registerAndDrain(t *testing.T, env *backofficetest.Env, first int, requests []*precheck.RegistrationRequest) []string {
	t.Helper()
	var numbers []string
	for i, request := range requests {
		numbers = append(numbers, env.Register(t, backofficetest.Subject(first+i), request))
	}
	running := backofficetest.Start(t, env.Drainer(backofficetest.DrainConfig("drainer-1")))
	for _, number := range numbers {
		env.WaitForRows(t, waitLimit, 1, `SELECT count(*) FROM registration WHERE registration_number = $1`, number)
	}
	backofficetest.WaitFor(t, waitLimit, "receipts recorded", func() (bool, error) {
		for _, number := range numbers {
			if env.Receipt(t, number)[enrol.FieldStatus] != enrol.StatusRecorded {
				return false, nil
			}
		}
		return true, nil
	})
	env.WaitForDrained(t, waitLimit)
	running.Stop(t)
	return numbers
}

type verification struct {
	Status     string         `db:"status"`
	Note       sql.NullString `db:"verification_note"`
	Attempts   int            `db:"verification_attempts"`
	VerifiedAt sql.NullTime   `db:"verified_at"`
}

func verificationOf(t *testing.T, env *backofficetest.Env, number string) verification {
	t.Helper()
	var row verification
	err := env.DB.DB.Get(&row, `SELECT status, verification_note, verification_attempts, verified_at
		FROM registration WHERE registration_number = $1`, number)
	if err != nil {
		t.Fatalf("select verification of %s: %v", number, err)
	}
	return row
}

func TestVerifyHealthyDataAPI(t *testing.T) {
	env := backofficetest.New(t)
	simulator := startSimulators(t, fault.Config{})

	var requests []*precheck.RegistrationRequest
	for i := range 10 {
		requests = append(requests, env.ShanghaiChild(t, i, xuhui, xuhui))
	}
	mismatch := env.ShanghaiChild(t, 10, xuhui, xuhui)
	mismatch.Child.Name = "王" + dataapi.MismatchMarker
	requests = append(requests, mismatch, env.NoDocumentChild(t, 11, xuhui))
	numbers := registerAndDrain(t, env, 0, requests)
	mismatchNumber, noDocumentNumber := numbers[10], numbers[11]

	verifier := verify.New(env.DB.DB, env.Redis.Client, env.Keys, env.Keyring, verifyConfig(simulator.DataURL), nil)
	finished, err := verifier.VerifyBatch(context.Background())
	if err != nil {
		t.Fatalf("VerifyBatch: %v", err)
	}
	if finished != len(numbers) {
		t.Errorf("VerifyBatch finished %d registrations, want %d", finished, len(numbers))
	}

	t.Run("matching documents", func(t *testing.T) {
		for i, number := range numbers[:10] {
			want := dataapi.Verify(dataapi.VerifyRequest{
				DocumentType: requests[i].Child.Document.Type, DocumentNumber: requests[i].Child.Document.Number, Name: requests[i].Child.Name,
			})
			wantStatus := enrol.StatusVerified
			if !want.Match {
				wantStatus = enrol.StatusNeedsManualVerification
			}
			row := verificationOf(t, env, number)
			if row.Status != wantStatus {
				t.Errorf("%s status = %q, want %q", number, row.Status, wantStatus)
			}
			if !row.VerifiedAt.Valid {
				t.Errorf("%s has no verified_at", number)
			}
			if want.Match && row.Note.Valid {
				t.Errorf("%s note = %q, want none for a match", number, row.Note.String)
			}
			if status := env.Receipt(t, number)[enrol.FieldStatus]; status != wantStatus {
				t.Errorf("receipt %s status = %q, want %q", number, status, wantStatus)
			}
		}
	})

	t.Run("name mismatch", func(t *testing.T) {
		row := verificationOf(t, env, mismatchNumber)
		if row.Status != enrol.StatusNeedsManualVerification {
			t.Errorf("status = %q, want %q", row.Status, enrol.StatusNeedsManualVerification)
		}
		if !strings.Contains(row.Note.String, "不一致") {
			t.Errorf("note = %q, want it to say the data do not match", row.Note.String)
		}
		receipt := env.Receipt(t, mismatchNumber)
		if receipt[enrol.FieldStatus] != enrol.StatusNeedsManualVerification {
			t.Errorf("receipt status = %q, want %q", receipt[enrol.FieldStatus], enrol.StatusNeedsManualVerification)
		}
		if receipt[enrol.FieldNote] != row.Note.String {
			t.Errorf("receipt note = %q, want the database note %q", receipt[enrol.FieldNote], row.Note.String)
		}
	})

	t.Run("no document", func(t *testing.T) {
		row := verificationOf(t, env, noDocumentNumber)
		if row.Status != enrol.StatusNeedsManualVerification {
			t.Errorf("status = %q, want %q", row.Status, enrol.StatusNeedsManualVerification)
		}
		if !strings.Contains(row.Note.String, "无证件") {
			t.Errorf("note = %q, want it to say the child has no document", row.Note.String)
		}
		if status := env.Receipt(t, noDocumentNumber)[enrol.FieldStatus]; status != enrol.StatusNeedsManualVerification {
			t.Errorf("receipt status = %q, want %q", status, enrol.StatusNeedsManualVerification)
		}
	})

	t.Run("nothing left", func(t *testing.T) {
		finished, err := verifier.VerifyBatch(context.Background())
		if err != nil {
			t.Fatalf("VerifyBatch: %v", err)
		}
		if finished != 0 {
			t.Errorf("second VerifyBatch finished %d, want 0", finished)
		}
	})

	t.Run("late redelivery", func(t *testing.T) {
		var verified string
		for _, number := range numbers[:10] {
			if verificationOf(t, env, number).Status == enrol.StatusVerified {
				verified = number
				break
			}
		}
		if verified == "" {
			t.Fatal("no registration was verified")
		}
		entry := env.EntryOf(t, verified)
		env.AddEntry(t, enrol.StreamFieldKind, enrol.KindRegistration, enrol.StreamFieldNumber, verified,
			enrol.StreamFieldBody, entry.FieldValues[enrol.StreamFieldBody])
		sentinel := registerAndDrain(t, env, 100, []*precheck.RegistrationRequest{env.ShanghaiChild(t, 100, xuhui, xuhui)})
		if len(sentinel) != 1 {
			t.Fatalf("sentinel registrations = %d, want 1", len(sentinel))
		}
		if pending := env.Pending(t); pending != 0 {
			t.Errorf("pending entries = %d, want 0", pending)
		}
		if status := env.Receipt(t, verified)[enrol.FieldStatus]; status != enrol.StatusVerified {
			t.Errorf("receipt status after the redelivery = %q, want %q", status, enrol.StatusVerified)
		}
		if row := verificationOf(t, env, verified); row.Status != enrol.StatusVerified {
			t.Errorf("database status after the redelivery = %q, want %q", row.Status, enrol.StatusVerified)
		}
	})
}

func dataRequests(t *testing.T, simulator *simulators.Running) int64 {
	t.Helper()
	stats, err := simulator.Stats(simulators.ServiceData)
	if err != nil {
		t.Fatal(err)
	}
	return stats.Requests
}

func TestVerifyMaxAttempts(t *testing.T) {
	env := backofficetest.New(t)
	simulator := startSimulators(t, fault.Config{FailureRate: 1})
	var requests []*precheck.RegistrationRequest
	for i := range 5 {
		requests = append(requests, env.ShanghaiChild(t, i, xuhui, xuhui))
	}
	numbers := registerAndDrain(t, env, 0, requests)

	verifier := verify.New(env.DB.DB, env.Redis.Client, env.Keys, env.Keyring, verifyConfig(simulator.DataURL), nil)
	for attempt := 1; attempt <= 3; attempt++ {
		finished, err := verifier.VerifyBatch(context.Background())
		if err != nil {
			t.Fatalf("VerifyBatch %d: %v", attempt, err)
		}
		wantStatus, wantFinished := enrol.StatusRecorded, 0
		if attempt == 3 {
			wantStatus, wantFinished = enrol.StatusNeedsManualVerification, len(numbers)
		}
		if finished != wantFinished {
			t.Errorf("VerifyBatch %d finished %d, want %d", attempt, finished, wantFinished)
		}
		for _, number := range numbers {
			row := verificationOf(t, env, number)
			if row.Attempts != attempt {
				t.Errorf("after call %d, %s attempts = %d, want %d", attempt, number, row.Attempts, attempt)
			}
			if row.Status != wantStatus {
				t.Errorf("after call %d, %s status = %q, want %q", attempt, number, row.Status, wantStatus)
			}
			if status := env.Receipt(t, number)[enrol.FieldStatus]; status != wantStatus {
				t.Errorf("after call %d, receipt %s status = %q, want %q", attempt, number, status, wantStatus)
			}
		}
	}
	if state := verifier.State(); state != "open" {
		t.Errorf("breaker state after three failed calls = %q, want open", state)
	}
	if calls := dataRequests(t, simulator); calls != 3 {
		t.Errorf("data API calls = %d, want 3", calls)
	}
	for _, number := range numbers {
		if row := verificationOf(t, env, number); !strings.Contains(row.Note.String, "核验服务暂不可用") {
			t.Errorf("%s note = %q, want it to say the verification service is unavailable", number, row.Note.String)
		}
	}

	t.Run("open breaker counts no attempt", func(t *testing.T) {
		later := registerAndDrain(t, env, 10, []*precheck.RegistrationRequest{env.ShanghaiChild(t, 10, xuhui, xuhui)})
		finished, err := verifier.VerifyBatch(context.Background())
		if err != nil {
			t.Fatalf("VerifyBatch: %v", err)
		}
		if finished != 0 {
			t.Errorf("VerifyBatch finished %d with the breaker open and the deadline ahead, want 0", finished)
		}
		row := verificationOf(t, env, later[0])
		if row.Attempts != 0 {
			t.Errorf("attempts = %d with the breaker open, want 0", row.Attempts)
		}
		if row.Status != enrol.StatusRecorded {
			t.Errorf("status = %q, want %q", row.Status, enrol.StatusRecorded)
		}
		if calls := dataRequests(t, simulator); calls != 3 {
			t.Errorf("data API calls = %d with the breaker open, want still 3", calls)
		}
	})
}

func TestVerifyDeadline(t *testing.T) {
	env := backofficetest.New(t)
	simulator := startSimulators(t, fault.Config{FailureRate: 1})
	var requests []*precheck.RegistrationRequest
	for i := range 4 {
		requests = append(requests, env.ShanghaiChild(t, i, xuhui, xuhui))
	}
	numbers := registerAndDrain(t, env, 0, requests)

	config := verifyConfig(simulator.DataURL)
	config.BatchSize = 1
	config.MaxAttempts = 100
	config.Deadline = time.Nanosecond // every stored registration is past it
	verifier := verify.New(env.DB.DB, env.Redis.Client, env.Keys, env.Keyring, config, nil)
	for call := 1; call <= len(numbers); call++ {
		finished, err := verifier.VerifyBatch(context.Background())
		if err != nil {
			t.Fatalf("VerifyBatch %d: %v", call, err)
		}
		if finished != 1 {
			t.Errorf("VerifyBatch %d finished %d, want 1", call, finished)
		}
	}
	if state := verifier.State(); state != "open" {
		t.Errorf("breaker state = %q, want open", state)
	}
	if calls := dataRequests(t, simulator); calls != 3 {
		t.Errorf("data API calls = %d, want 3 before the breaker opened", calls)
	}
	var attempts []int
	for _, number := range numbers {
		row := verificationOf(t, env, number)
		if row.Status != enrol.StatusNeedsManualVerification {
			t.Errorf("%s status = %q, want %q", number, row.Status, enrol.StatusNeedsManualVerification)
		}
		if status := env.Receipt(t, number)[enrol.FieldStatus]; status != enrol.StatusNeedsManualVerification {
			t.Errorf("receipt %s status = %q, want %q", number, status, enrol.StatusNeedsManualVerification)
		}
		attempts = append(attempts, row.Attempts)
	}
	zero := 0
	for _, n := range attempts {
		if n == 0 {
			zero++
		}
	}
	if zero != 1 {
		t.Errorf("attempts = %v, want exactly one registration finished by the deadline without a call", attempts)
	}
}

func TestVerifyLostReceipt(t *testing.T) {
	env := backofficetest.New(t)
	simulator := startSimulators(t, fault.Config{})
	numbers := registerAndDrain(t, env, 0, []*precheck.RegistrationRequest{env.NoDocumentChild(t, 0, xuhui)})
	if err := env.Do(env.Redis.Client.B().Del().Key(env.Keys.Receipt(numbers[0])).Build()).Error(); err != nil {
		t.Fatal(err)
	}

	verifier := verify.New(env.DB.DB, env.Redis.Client, env.Keys, env.Keyring, verifyConfig(simulator.DataURL), nil)
	if _, err := verifier.VerifyBatch(context.Background()); err != nil {
		t.Fatalf("VerifyBatch: %v", err)
	}
	ttl, err := env.Do(env.Redis.Client.B().Ttl().Key(env.Keys.Receipt(numbers[0])).Build()).AsInt64()
	if err != nil {
		t.Fatal(err)
	}
	if ttl == -1 {
		t.Errorf("the receipt written for a lost one has no expiry")
	}
}

// TestVerifyLetsApplicationsThrough holds a verification inside its data API
// call and checks that the registration can still be locked FOR KEY SHARE,
// as the drainer and the foreign-key check of an application do.
func TestVerifyLetsApplicationsThrough(t *testing.T) {
	env := backofficetest.New(t)
	numbers := registerAndDrain(t, env, 0, []*precheck.RegistrationRequest{env.ShanghaiChild(t, 0, xuhui, xuhui)})

	entered, release := make(chan struct{}, 1), make(chan struct{})
	dataAPI := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		entered <- struct{}{}
		<-release
		http.Error(w, "unavailable", http.StatusServiceUnavailable)
	}))
	defer dataAPI.Close()
	verifier := verify.New(env.DB.DB, env.Redis.Client, env.Keys, env.Keyring, verifyConfig(dataAPI.URL), nil)
	done := make(chan error, 1)
	go func() {
		_, err := verifier.VerifyBatch(context.Background())
		done <- err
	}()
	released := false
	defer func() {
		if !released {
			close(release)
		}
	}()
	select {
	case <-entered:
	case <-time.After(waitLimit):
		t.Fatal("the verifier did not call the data API")
	}

	tx, err := env.DB.DB.Beginx()
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	if _, err := tx.Exec(`SET LOCAL lock_timeout = '2s'`); err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec(`SELECT 1 FROM registration WHERE registration_number = $1 FOR KEY SHARE`, numbers[0]); err != nil {
		t.Errorf("FOR KEY SHARE during verification: %v, want it granted at once", err)
	}
	tx.Rollback()

	close(release)
	released = true
	if err := <-done; err != nil {
		t.Fatalf("VerifyBatch: %v", err)
	}
}
