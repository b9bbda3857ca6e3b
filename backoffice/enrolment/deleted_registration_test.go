package enrolment_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/sh-preschool/preschool/backoffice/backofficetest"
	"github.com/sh-preschool/preschool/backoffice/enrolment"
	enrol "github.com/sh-preschool/preschool/shared/enrolment"
)

type batchOutcome struct {
	result enrolment.BatchResult
	err    error
}

// storeRegistrationWithApplication stores child i's registration and
// returns its number with the child's application record, not yet stored.
func storeRegistrationWithApplication(t *testing.T, env *backofficetest.Env, store *enrolment.Store, i int) (string, enrol.ApplicationRecord) {
	t.Helper()
	subject := backofficetest.Subject(i)
	number := env.Register(t, subject, env.ShanghaiChild(t, i, xuhui, xuhui))
	if _, err := store.InsertBatch(context.Background(), []enrol.RegistrationRecord{env.RegistrationOf(t, number)}, nil); err != nil {
		t.Fatalf("InsertBatch of registration %s: %v", number, err)
	}
	return number, env.ApplicationOf(t, env.Apply(t, subject, number, xuhui))
}

// TestInsertBatchDuringRegistrationDeletion stores an application while a
// transaction that deletes its registration, as an approved deletion
// request does, is still open.
func TestInsertBatchDuringRegistrationDeletion(t *testing.T) {
	env := backofficetest.New(t)
	store := &enrolment.Store{DB: env.DB.DB}

	for i, commit := range []bool{true, false} {
		name := map[bool]string{true: "deletion committed", false: "deletion rolled back"}[commit]
		t.Run(name, func(t *testing.T) {
			registration, application := storeRegistrationWithApplication(t, env, store, i)

			tx, err := env.DB.DB.Beginx()
			if err != nil {
				t.Fatal(err)
			}
			defer tx.Rollback()
			if _, err := tx.Exec(`SELECT 1 FROM registration WHERE registration_number = $1 FOR UPDATE`, registration); err != nil {
				t.Fatal(err)
			}
			if _, err := tx.Exec(`DELETE FROM registration WHERE registration_number = $1`, registration); err != nil {
				t.Fatal(err)
			}
			if _, err := tx.Exec(`
				INSERT INTO deletion_request (record_kind, record_number, enrolment_year, district_code, reason,
				                              requested_by, requested_by_name, status, decided_by, decided_by_name, decided_at)
				VALUES ('registration', $1, $2, $3, '家长重复登记', 1, '区管理员', 'approved', 2, '市管理员', now())`,
				registration, application.Year, xuhui); err != nil {
				t.Fatal(err)
			}

			done := make(chan batchOutcome, 1)
			go func() {
				result, err := store.InsertBatch(context.Background(), nil, []enrol.ApplicationRecord{application})
				done <- batchOutcome{result, err}
			}()
			backofficetest.WaitFor(t, 30*time.Second, "InsertBatch waiting for the deletion's lock", func() (bool, error) {
				var waiting int
				err := env.DB.DB.Get(&waiting, `SELECT count(*) FROM pg_stat_activity
					WHERE datname = current_database() AND wait_event_type = 'Lock'`)
				return waiting == 1, err
			})
			if commit {
				err = tx.Commit()
			} else {
				err = tx.Rollback()
			}
			if err != nil {
				t.Fatal(err)
			}

			var outcome batchOutcome
			select {
			case outcome = <-done:
			case <-time.After(30 * time.Second):
				t.Fatal("InsertBatch did not return within 30s of the deletion's end")
			}
			if outcome.err != nil {
				t.Fatalf("InsertBatch: %v", outcome.err)
			}
			want := enrolment.Outcome{RegistrationDeleted: true}
			if !commit {
				want = enrolment.Outcome{Stored: true}
			}
			if got := outcome.result[application.Number]; got != want {
				t.Errorf("outcome = %+v, want %+v", got, want)
			}
			wantRows := map[bool]int{true: 0, false: 1}[commit]
			if n := env.Count(t, `SELECT count(*) FROM application WHERE application_number = $1`, application.Number); n != wantRows {
				t.Errorf("application rows = %d, want %d", n, wantRows)
			}
		})
	}
}

// TestInsertBatchMissingRegistration stores an application whose
// registration is missing without an approved deletion.
func TestInsertBatchMissingRegistration(t *testing.T) {
	env := backofficetest.New(t)
	store := &enrolment.Store{DB: env.DB.DB}
	registration, application := storeRegistrationWithApplication(t, env, store, 0)
	if _, err := env.DB.DB.Exec(`DELETE FROM registration WHERE registration_number = $1`, registration); err != nil {
		t.Fatal(err)
	}

	_, err := store.InsertBatch(context.Background(), nil, []enrol.ApplicationRecord{application})
	if !errors.Is(err, enrolment.ErrPermanent) {
		t.Errorf("InsertBatch error = %v, want ErrPermanent", err)
	}
}
