package enrolment_test

import (
	"context"
	"sort"
	"testing"

	"github.com/sh-preschool/preschool/backoffice/access"
	"github.com/sh-preschool/preschool/backoffice/backofficetest"
	"github.com/sh-preschool/preschool/backoffice/enrolment"
	enrol "github.com/sh-preschool/preschool/shared/enrolment"
)

// TestKindergartenAndStreetScope lists registrations and applications as
// kindergarten staff, who see the children that chose one of their
// campuses, and as a street officer, who sees the registrations whose home
// or hukou is in the street.
func TestKindergartenAndStreetScope(t *testing.T) {
	env := backofficetest.New(t)
	store := &enrolment.Store{DB: env.DB.DB}
	ctx := context.Background()

	var registrations []enrol.RegistrationRecord
	var applications []enrol.ApplicationRecord
	for i, district := range []string{xuhui, changning} {
		number := env.Register(t, backofficetest.Subject(i), env.ShanghaiChild(t, i, district, district))
		registrations = append(registrations, env.RegistrationOf(t, number))
		applications = append(applications, env.ApplicationOf(t, env.Apply(t, backofficetest.Subject(i), number, district)))
	}
	if _, err := store.InsertBatch(ctx, registrations, applications); err != nil {
		t.Fatalf("InsertBatch: %v", err)
	}

	kindergartenOf := func(application enrol.ApplicationRecord) int64 {
		var id int64
		if err := env.DB.DB.Get(&id, `SELECT kindergarten_id FROM campus WHERE id = $1`, application.CampusChoices[0]); err != nil {
			t.Fatalf("kindergarten of campus %d: %v", application.CampusChoices[0], err)
		}
		return id
	}
	var unchosen int64
	err := env.DB.DB.Get(&unchosen, `SELECT min(id) FROM kindergarten WHERE id NOT IN ($1, $2)`,
		kindergartenOf(applications[0]), kindergartenOf(applications[1]))
	if err != nil {
		t.Fatal(err)
	}

	cases := []struct {
		name              string
		scope             access.Scope
		wantRegistrations []string
		wantApplications  []string
	}{
		{"kindergarten chosen by the 徐汇 child",
			access.Scope{Level: access.LevelKindergarten, KindergartenID: kindergartenOf(applications[0])},
			[]string{registrations[0].Number}, []string{applications[0].Number}},
		{"kindergarten chosen by the 长宁 child",
			access.Scope{Level: access.LevelKindergarten, KindergartenID: kindergartenOf(applications[1])},
			[]string{registrations[1].Number}, []string{applications[1].Number}},
		{"kindergarten nobody chose", access.Scope{Level: access.LevelKindergarten, KindergartenID: unchosen}, nil, nil},
		{"street of the 徐汇 home", access.Scope{Level: access.LevelStreet, StreetCode: registrations[0].ResidenceStreet},
			[]string{registrations[0].Number}, nil},
	}
	for _, test := range cases {
		t.Run(test.name, func(t *testing.T) {
			rows, total, err := store.ListRegistrations(ctx, test.scope, enrolment.RegistrationFilter{Limit: 100})
			if err != nil {
				t.Fatalf("ListRegistrations: %v", err)
			}
			var got []string
			for _, row := range rows {
				got = append(got, row.Number)
			}
			expectNumbers(t, "registrations", got, total, test.wantRegistrations)

			applicationRows, total, err := store.ListApplications(ctx, test.scope, enrolment.ApplicationFilter{Limit: 100})
			if err != nil {
				t.Fatalf("ListApplications: %v", err)
			}
			got = nil
			for _, row := range applicationRows {
				got = append(got, row.Number)
			}
			expectNumbers(t, "applications", got, total, test.wantApplications)
		})
	}
}

func expectNumbers(t *testing.T, what string, got []string, total int, want []string) {
	t.Helper()
	sort.Strings(got)
	sort.Strings(want)
	if total != len(want) {
		t.Errorf("%s total = %d, want %d", what, total, len(want))
	}
	if len(got) != len(want) {
		t.Fatalf("%s = %v, want %v", what, got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("%s = %v, want %v", what, got, want)
			return
		}
	}
}
