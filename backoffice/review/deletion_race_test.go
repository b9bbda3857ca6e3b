package review_test

import (
	"context"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/sh-preschool/preschool/backoffice/backofficetest"
	"github.com/sh-preschool/preschool/backoffice/review"
	"github.com/sh-preschool/preschool/backoffice/verify"
	enrol "github.com/sh-preschool/preschool/shared/enrolment"
	"github.com/sh-preschool/preschool/simulators"
)

// requestRegistrationDeletion files a Xuhui admin's deletion request for a
// registration and returns the path that approves it.
func (f *fixture) requestRegistrationDeletion(t *testing.T, registration string) string {
	t.Helper()
	response := f.xuhui.Send(t, http.MethodPost, "/api/v1/deletion-requests", map[string]string{
		"recordKind": "registration", "recordNumber": registration, "reason": "家长重复登记，申请删除",
		"confirmation": review.DeleteConfirmation,
	})
	if response.Status != http.StatusCreated {
		t.Fatalf("deletion request: HTTP %d %s", response.Status, response.Body)
	}
	var created review.DeletionRequest
	response.Decode(t, &created)
	return "/api/v1/deletion-requests/" + itoa(created.ID) + "/approve"
}

// TestDeletionWithApplicationInStream deletes a registration while its
// application waits in the stream, then drains the stream.
func TestDeletionWithApplicationInStream(t *testing.T) {
	f := newFixture(t)
	subject := backofficetest.Subject(5)
	registration := f.env.Register(t, subject, f.env.ShanghaiChild(t, 5, xuhui, xuhui))
	f.env.WaitForRows(t, time.Minute, 1, `SELECT count(*) FROM registration WHERE registration_number = $1`, registration)
	f.env.WaitForDrained(t, time.Minute)
	if err := f.drainer.Stop(t); err != nil {
		t.Fatalf("stop the drainer: %v", err)
	}

	application := f.env.Apply(t, subject, registration, xuhui)
	record := f.env.ApplicationOf(t, application)
	f.city.Send(t, http.MethodPost, f.requestRegistrationDeletion(t, registration), map[string]any{}).Expect(t, http.StatusOK, "")

	// One delivery is all an entry gets here, so an entry that the database
	// rejects goes to the dead-letter stream at once.
	config := backofficetest.DrainConfig("review-race")
	config.MaxDeliveries = 1
	backofficetest.Start(t, f.env.Drainer(config))
	backofficetest.WaitFor(t, time.Minute, "stream drained", func() (bool, error) {
		return f.env.Pending(t) == 0 && f.env.Receipt(t, application)[enrol.FieldStatus] != enrol.StatusAccepted, nil
	})

	for _, letter := range f.env.DeadLetters(t) {
		t.Errorf("dead letter of %s: %s, want none", letter.FieldValues["number"], letter.FieldValues["reason"])
	}
	if n := f.env.Count(t, `SELECT count(*) FROM application WHERE application_number = $1`, application); n != 0 {
		t.Errorf("application rows = %d, want 0", n)
	}
	receipt := f.env.Receipt(t, application)
	if receipt[enrol.FieldStatus] != enrol.StatusDeleted {
		t.Errorf("application receipt status = %q, want deleted", receipt[enrol.FieldStatus])
	}
	if !strings.Contains(receipt[enrol.FieldNote], "登记已按区招生部门的申请删除") {
		t.Errorf("application receipt note = %q, want the deleted registration explained", receipt[enrol.FieldNote])
	}
	claim := f.env.Keys.ApplicationClaim(record.Year, record.ChildIndex)
	if exists, err := f.env.Do(f.env.Redis.Client.B().Exists().Key(claim).Build()).AsInt64(); err != nil || exists != 0 {
		t.Errorf("application claim exists = %d (%v), want released", exists, err)
	}

	// The family registers again and applies with the new registration.
	again := f.env.Register(t, subject, f.env.ShanghaiChild(t, 5, xuhui, xuhui))
	f.env.WaitForRows(t, time.Minute, 1, `SELECT count(*) FROM registration WHERE registration_number = $1`, again)
	reapplied := f.env.Apply(t, subject, again, xuhui)
	f.env.WaitForRows(t, time.Minute, 1, `SELECT count(*) FROM application WHERE application_number = $1`, reapplied)
}

// TestDeletionDuringVerification approves a registration's deletion after
// the verifier committed its outcome and before it wrote the outcome to
// the receipt in Redis.
func TestDeletionDuringVerification(t *testing.T) {
	f := newFixture(t)
	running, err := simulators.Start(context.Background(), simulators.Config{Seed: 1, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatalf("start simulators: %v", err)
	}
	t.Cleanup(func() {
		if err := running.Close(); err != nil {
			t.Errorf("close simulators: %v", err)
		}
	})

	registration := f.env.Register(t, backofficetest.Subject(6), f.env.ShanghaiChild(t, 6, xuhui, xuhui))
	f.env.WaitForRows(t, time.Minute, 1, `SELECT count(*) FROM registration WHERE registration_number = $1 AND status = 'recorded'`, registration)
	approvePath := f.requestRegistrationDeletion(t, registration)

	verifier := verify.New(f.env.DB.DB, f.env.Redis.Client, f.env.Keys, f.env.Keyring, verify.Config{
		DataAPIURL: running.DataURL, Timeout: 5 * time.Second, Interval: time.Hour, BatchSize: 100,
		MaxAttempts: 3, Deadline: time.Hour, BreakerOpenFor: time.Hour,
	}, nil)
	approved := false
	verifier.BeforeStatusWrite = func(numbers []string) {
		if len(numbers) != 1 || numbers[0] != registration {
			t.Errorf("verified registrations = %v, want [%s]", numbers, registration)
		}
		f.city.Send(t, http.MethodPost, approvePath, map[string]any{}).Expect(t, http.StatusOK, "")
		approved = true
	}
	finished, err := verifier.VerifyBatch(context.Background())
	if err != nil {
		t.Fatalf("VerifyBatch: %v", err)
	}
	if finished != 1 || !approved {
		t.Fatalf("VerifyBatch finished %d registrations, deletion approved %v; want 1 and true", finished, approved)
	}

	if status := f.env.Receipt(t, registration)[enrol.FieldStatus]; status != enrol.StatusDeleted {
		t.Errorf("registration receipt status = %q, want deleted", status)
	}
	if n := f.env.Count(t, `SELECT count(*) FROM registration WHERE registration_number = $1`, registration); n != 0 {
		t.Errorf("registration rows = %d, want 0", n)
	}
}
