package enrolment_test

import (
	"context"
	"reflect"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/sh-preschool/preschool/backoffice/backofficetest"
	"github.com/sh-preschool/preschool/backoffice/enrolment"
	enrol "github.com/sh-preschool/preschool/shared/enrolment"
)

// TestLoadReadsBackWhatWasStored checks that the records read back from
// the database are the records stored, field by field, for a child with
// every optional column filled and for one with most left empty. An
// empty value may come back as nil, which the codec writes alike.
func TestLoadReadsBackWhatWasStored(t *testing.T) {
	env := backofficetest.New(t)
	store := &enrolment.Store{DB: env.DB.DB}
	ctx := context.Background()

	full := env.Register(t, backofficetest.Subject(1), env.ShanghaiChild(t, 1, xuhui, changning))
	sparse := env.Register(t, backofficetest.Subject(2), env.NoDocumentChild(t, 2, xuhui))
	application := env.Apply(t, backofficetest.Subject(1), full, changning)
	registrations := []enrol.RegistrationRecord{env.RegistrationOf(t, full), env.RegistrationOf(t, sparse)}
	applications := []enrol.ApplicationRecord{env.ApplicationOf(t, application)}
	if _, err := store.InsertBatch(ctx, registrations, applications); err != nil {
		t.Fatalf("InsertBatch: %v", err)
	}

	loaded, err := store.LoadRegistrations(ctx, []string{full, sparse, "202799999998"})
	if err != nil {
		t.Fatalf("LoadRegistrations: %v", err)
	}
	if len(loaded) != 2 {
		t.Fatalf("loaded %d registrations, want 2", len(loaded))
	}
	for i, row := range loaded {
		want := registrations[i]
		want.Number = row.Record.Number
		want.AcceptedAt = want.AcceptedAt.Truncate(time.Microsecond)
		got := row.Record
		got.AcceptedAt = got.AcceptedAt.UTC()
		if diff := cmp.Diff(want, got, cmpopts.EquateEmpty()); diff != "" {
			t.Errorf("registration %s read back (-stored +read):\n%s", want.Number, diff)
		}
		if row.Status != enrol.StatusRecorded {
			t.Errorf("registration %s status = %q, want recorded", want.Number, row.Status)
		}
	}

	apps, err := store.LoadApplications(ctx, []string{application})
	if err != nil || len(apps) != 1 {
		t.Fatalf("LoadApplications = %d rows, %v; want 1", len(apps), err)
	}
	want := applications[0]
	want.AcceptedAt = want.AcceptedAt.Truncate(time.Microsecond)
	got := apps[0].Record
	got.AcceptedAt = got.AcceptedAt.UTC()
	if diff := cmp.Diff(want, got, cmpopts.EquateEmpty()); diff != "" {
		t.Errorf("application read back (-stored +read):\n%s", diff)
	}

	statuses, err := store.StoredStatuses(ctx, enrol.KindRegistration, "", time.Time{}, 10)
	wantStatuses := []enrolment.StoredStatus{
		{Number: full, Status: enrol.StatusRecorded, Year: registrations[0].Year, ChildIndex: registrations[0].ChildIndex},
		{Number: sparse, Status: enrol.StatusRecorded, Year: registrations[1].Year, ChildIndex: registrations[1].ChildIndex},
	}
	if err != nil || !reflect.DeepEqual(statuses, wantStatuses) {
		t.Errorf("StoredStatuses = %v, %v; want %v", statuses, err, wantStatuses)
	}
	statuses, err = store.StoredStatuses(ctx, enrol.KindRegistration, full, time.Time{}, 10)
	if err != nil || !reflect.DeepEqual(statuses, wantStatuses[1:]) {
		t.Errorf("StoredStatuses after %s = %v, %v; want %v", full, statuses, err, wantStatuses[1:])
	}
}
