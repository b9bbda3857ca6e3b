package enrolment_test

import (
	"context"
	"errors"
	"testing"

	"github.com/sh-preschool/preschool/backoffice/access"
	"github.com/sh-preschool/preschool/backoffice/backofficetest"
	"github.com/sh-preschool/preschool/backoffice/enrolment"
	enrol "github.com/sh-preschool/preschool/shared/enrolment"
)

const (
	xuhui     = backofficetest.Xuhui
	changning = backofficetest.Changning
)

func TestInsertBatchIsIdempotent(t *testing.T) {
	env := backofficetest.New(t)
	store := &enrolment.Store{DB: env.DB.DB}
	ctx := context.Background()

	number := env.Register(t, backofficetest.Subject(1), env.ShanghaiChild(t, 1, xuhui, xuhui))
	registration := env.RegistrationOf(t, number)
	applicationNumber := env.Apply(t, backofficetest.Subject(1), number, xuhui)
	application := env.ApplicationOf(t, applicationNumber)

	for attempt := 1; attempt <= 2; attempt++ {
		result, err := store.InsertBatch(ctx, []enrol.RegistrationRecord{registration}, []enrol.ApplicationRecord{application})
		if err != nil {
			t.Fatalf("InsertBatch attempt %d: %v", attempt, err)
		}
		if outcome := result[number]; !outcome.Stored || outcome.FirstNumber != "" {
			t.Errorf("attempt %d: outcome of %s = %+v, want stored", attempt, number, outcome)
		}
		if outcome := result[applicationNumber]; !outcome.Stored || outcome.FirstNumber != "" {
			t.Errorf("attempt %d: outcome of %s = %+v, want stored", attempt, applicationNumber, outcome)
		}
	}
	if rows := env.Count(t, `SELECT count(*) FROM registration`); rows != 1 {
		t.Errorf("registration rows = %d, want 1", rows)
	}
	if rows := env.Count(t, `SELECT count(*) FROM application`); rows != 1 {
		t.Errorf("application rows = %d, want 1", rows)
	}
}

func TestInsertBatchSameChildTwice(t *testing.T) {
	env := backofficetest.New(t)
	store := &enrolment.Store{DB: env.DB.DB}

	number := env.Register(t, backofficetest.Subject(1), env.ShanghaiChild(t, 1, xuhui, xuhui))
	first := env.RegistrationOf(t, number)
	second := first
	second.Number = enrol.FormatRegistrationNumber(first.Year, 7_000_001)

	result, err := store.InsertBatch(context.Background(), []enrol.RegistrationRecord{first, second}, nil)
	if err != nil {
		t.Fatalf("InsertBatch: %v", err)
	}
	if outcome := result[first.Number]; !outcome.Stored {
		t.Errorf("outcome of the first record = %+v, want stored", outcome)
	}
	if outcome := result[second.Number]; outcome.Stored || outcome.FirstNumber != first.Number {
		t.Errorf("outcome of the second record = %+v, want not stored with first number %s", outcome, first.Number)
	}
	if rows := env.Count(t, `SELECT count(*) FROM registration`); rows != 1 {
		t.Errorf("registration rows = %d, want 1", rows)
	}
}

func TestInsertBatchPermanentErrors(t *testing.T) {
	env := backofficetest.New(t)
	store := &enrolment.Store{DB: env.DB.DB}

	cases := []struct {
		name  string
		spoil func(*enrol.RegistrationRecord)
	}{
		{"invalid birth date", func(r *enrol.RegistrationRecord) { r.ChildBirthDate = "2024-02-30" }},
		{"street code of another province", func(r *enrol.RegistrationRecord) { r.ResidenceStreet = "320104999" }},
		{"invalid sex", func(r *enrol.RegistrationRecord) { r.ChildSex = "X" }},
		{"unknown category group", func(r *enrol.RegistrationRecord) { r.CategoryGroup = "martian" }},
	}
	for i, test := range cases {
		t.Run(test.name, func(t *testing.T) {
			good := env.RegistrationOf(t, env.Register(t, backofficetest.Subject(2*i), env.ShanghaiChild(t, 2*i, xuhui, xuhui)))
			bad := env.RegistrationOf(t, env.Register(t, backofficetest.Subject(2*i+1), env.ShanghaiChild(t, 2*i+1, xuhui, xuhui)))
			test.spoil(&bad)

			_, err := store.InsertBatch(context.Background(), []enrol.RegistrationRecord{good, bad}, nil)
			if !errors.Is(err, enrolment.ErrPermanent) {
				t.Errorf("InsertBatch error = %v, want ErrPermanent", err)
			}
			if rows := env.Count(t, `SELECT count(*) FROM registration WHERE registration_number = $1`, good.Number); rows != 0 {
				t.Errorf("rows of the good record = %d, want 0 after the batch was rejected", rows)
			}
		})
	}
}

// storeRegistrations stores registrations of children with the given
// hukou and home districts ("" hukou: outside Shanghai) and returns their
// numbers in order.
func storeRegistrations(t *testing.T, env *backofficetest.Env, homes [][2]string) []string {
	t.Helper()
	store := &enrolment.Store{DB: env.DB.DB}
	var records []enrol.RegistrationRecord
	var numbers []string
	for i, home := range homes {
		request := env.OtherProvinceChild(t, i, home[1])
		if home[0] != "" {
			request = env.ShanghaiChild(t, i, home[0], home[1])
		}
		number := env.Register(t, backofficetest.Subject(i), request)
		records = append(records, env.RegistrationOf(t, number))
		numbers = append(numbers, number)
	}
	if _, err := store.InsertBatch(context.Background(), records, nil); err != nil {
		t.Fatalf("InsertBatch: %v", err)
	}
	return numbers
}

func TestGetRegistrationScope(t *testing.T) {
	env := backofficetest.New(t)
	store := &enrolment.Store{DB: env.DB.DB}
	numbers := storeRegistrations(t, env, [][2]string{
		{xuhui, xuhui},         // 0: both in 徐汇
		{changning, xuhui},     // 1: lives in 徐汇
		{xuhui, changning},     // 2: hukou in 徐汇
		{changning, changning}, // 3: only 长宁
		{"", changning},        // 4: hukou outside Shanghai, lives in 长宁
		{"", xuhui},            // 5: hukou outside Shanghai, lives in 徐汇
	})
	xuhuiAdmin := access.Scope{Level: access.LevelDistrict, DistrictCode: xuhui}

	cases := []struct {
		name    string
		number  string
		wantErr error
	}{
		{"hukou and home in district", numbers[0], nil},
		{"home in district", numbers[1], nil},
		{"hukou in district", numbers[2], nil},
		{"hukou outside Shanghai, home in district", numbers[5], nil},
		{"other district", numbers[3], access.ErrOutOfScope},
		{"no such registration", enrol.FormatRegistrationNumber(env.Year.Year, 7_777_777), enrolment.ErrNotFound},
	}
	for _, test := range cases {
		t.Run(test.name, func(t *testing.T) {
			row, err := store.GetRegistration(context.Background(), xuhuiAdmin, test.number)
			if !errors.Is(err, test.wantErr) {
				t.Fatalf("GetRegistration(%s) error = %v, want %v", test.number, err, test.wantErr)
			}
			if test.wantErr == nil && row.Number != test.number {
				t.Errorf("GetRegistration(%s) returned %s", test.number, row.Number)
			}
		})
	}
}

func TestGetRegistrationNullHukouScope(t *testing.T) {
	env := backofficetest.New(t)
	store := &enrolment.Store{DB: env.DB.DB}
	numbers := storeRegistrations(t, env, [][2]string{{"", changning}})

	xuhuiAdmin := access.Scope{Level: access.LevelDistrict, DistrictCode: xuhui}
	_, err := store.GetRegistration(context.Background(), xuhuiAdmin, numbers[0])
	if !errors.Is(err, access.ErrOutOfScope) {
		t.Errorf("GetRegistration of a 长宁 child with hukou outside Shanghai, as 徐汇 admin: error = %v, want ErrOutOfScope", err)
	}
}

func TestListRegistrationsScope(t *testing.T) {
	env := backofficetest.New(t)
	store := &enrolment.Store{DB: env.DB.DB}
	numbers := storeRegistrations(t, env, [][2]string{
		{xuhui, xuhui}, {changning, xuhui}, {xuhui, changning}, {changning, changning}, {"", changning}, {"", xuhui},
	})

	cases := []struct {
		name  string
		scope access.Scope
		want  []string
	}{
		{"徐汇 admin", access.Scope{Level: access.LevelDistrict, DistrictCode: xuhui}, []string{numbers[0], numbers[1], numbers[2], numbers[5]}},
		{"长宁 admin", access.Scope{Level: access.LevelDistrict, DistrictCode: changning}, []string{numbers[1], numbers[2], numbers[3], numbers[4]}},
		{"city admin", access.Scope{Level: access.LevelCity}, numbers},
		{"kindergarten staff", access.Scope{Level: access.LevelKindergarten, KindergartenID: 1}, nil},
		{"unknown level", access.Scope{}, nil},
	}
	for _, test := range cases {
		t.Run(test.name, func(t *testing.T) {
			rows, total, err := store.ListRegistrations(context.Background(), test.scope, enrolment.RegistrationFilter{Limit: 100})
			if err != nil {
				t.Fatalf("ListRegistrations: %v", err)
			}
			if total != len(test.want) {
				t.Errorf("total = %d, want %d", total, len(test.want))
			}
			got := map[string]bool{}
			for _, row := range rows {
				got[row.Number] = true
			}
			for _, number := range test.want {
				if !got[number] {
					t.Errorf("%s is missing from the list", number)
				}
			}
			if len(got) != len(test.want) {
				t.Errorf("list has %d registrations, want %d", len(got), len(test.want))
			}
		})
	}
}
