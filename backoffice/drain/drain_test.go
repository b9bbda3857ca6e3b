package drain_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/sh-preschool/preschool/backoffice/backofficetest"
	"github.com/sh-preschool/preschool/backoffice/drain"
	"github.com/sh-preschool/preschool/backoffice/enrolment"
	"github.com/sh-preschool/preschool/edge/precheck"
	enrol "github.com/sh-preschool/preschool/shared/enrolment"
)

const (
	xuhui     = backofficetest.Xuhui
	changning = backofficetest.Changning
	pudong    = backofficetest.Pudong
)

// drainWait bounds every wait for the drainer in this package.
const drainWait = 60 * time.Second

type storedRegistration struct {
	Number            string         `db:"registration_number"`
	ChildName         []byte         `db:"child_name"`
	DocumentNumber    []byte         `db:"child_document_number"`
	HukouAddress      []byte         `db:"hukou_address"`
	ResidenceAddress  []byte         `db:"residence_address"`
	Guardians         []byte         `db:"guardians"`
	FormValues        []byte         `db:"form_values"`
	BirthDate         time.Time      `db:"child_birth_date"`
	Sex               string         `db:"child_sex"`
	HukouDistrict     sql.NullString `db:"hukou_district_code"`
	ResidenceDistrict string         `db:"residence_district_code"`
	ResidenceStreet   string         `db:"residence_street_code"`
	Status            string         `db:"status"`
}

type storedApplication struct {
	Number             string `db:"application_number"`
	RegistrationNumber string `db:"registration_number"`
	DistrictCode       string `db:"district_code"`
	CategoryCode       string `db:"category_code"`
	CampusChoices      string `db:"campus_choices"`
	FormValues         []byte `db:"form_values"`
	Status             string `db:"status"`
}

func registrationsByNumber(t *testing.T, db *sqlx.DB) map[string]storedRegistration {
	t.Helper()
	var rows []storedRegistration
	err := db.Select(&rows, `
		SELECT registration_number, child_name, child_document_number, hukou_address, residence_address,
		       guardians, form_values, child_birth_date, child_sex, hukou_district_code,
		       residence_district_code, residence_street_code, status
		FROM registration`)
	if err != nil {
		t.Fatalf("select registrations: %v", err)
	}
	byNumber := map[string]storedRegistration{}
	for _, row := range rows {
		byNumber[row.Number] = row
	}
	return byNumber
}

func applicationsByNumber(t *testing.T, db *sqlx.DB) map[string]storedApplication {
	t.Helper()
	var rows []storedApplication
	err := db.Select(&rows, `
		SELECT application_number, registration_number, district_code, category_code,
		       array_to_string(campus_choices, ',') AS campus_choices, form_values, status
		FROM application`)
	if err != nil {
		t.Fatalf("select applications: %v", err)
	}
	byNumber := map[string]storedApplication{}
	for _, row := range rows {
		byNumber[row.Number] = row
	}
	return byNumber
}

// submitted is what the tests sent through the edge, by receipt number.
type submitted struct {
	registrations map[string]*precheck.RegistrationRequest
	applications  map[string]*precheck.ApplicationRequest
}

// submitMixed registers count children across three districts, with and
// without Shanghai hukou and form extras, and applies for every second one.
func submitMixed(t *testing.T, env *backofficetest.Env, count int) submitted {
	t.Helper()
	sent := submitted{registrations: map[string]*precheck.RegistrationRequest{}, applications: map[string]*precheck.ApplicationRequest{}}
	districts := []string{xuhui, changning, pudong}
	for i := range count {
		home := districts[i%len(districts)]
		var request *precheck.RegistrationRequest
		if i%4 == 3 {
			request = env.OtherProvinceChild(t, i, home)
		} else {
			request = env.ShanghaiChild(t, i, districts[(i/3)%len(districts)], home)
		}
		if i%2 == 0 {
			request.Extra = map[string]any{"birthProvince": "江苏省"}
		}
		subject := backofficetest.Subject(i)
		number := env.Register(t, subject, request)
		sent.registrations[number] = request
		if i%2 == 0 {
			application := env.ApplicationRequest(t, subject, number, home)
			application.Extra = map[string]any{"note": "第" + strconv.Itoa(i) + "号备注"}
			sent.applications[env.SubmitApplication(t, subject, application)] = application
		}
	}
	return sent
}

func TestDrainStoresSubmissions(t *testing.T) {
	env := backofficetest.New(t)
	sent := submitMixed(t, env, 40)

	for number := range sent.registrations {
		if status := env.Receipt(t, number)[enrol.FieldStatus]; status != enrol.StatusAccepted {
			t.Fatalf("before draining, receipt %s status = %q, want %q", number, status, enrol.StatusAccepted)
		}
	}

	backofficetest.Start(t, env.Drainer(backofficetest.DrainConfig("drainer-1")))
	env.WaitForRows(t, drainWait, len(sent.registrations), `SELECT count(*) FROM registration`)
	env.WaitForRows(t, drainWait, len(sent.applications), `SELECT count(*) FROM application`)
	env.WaitForDrained(t, drainWait)

	t.Run("registrations", func(t *testing.T) {
		stored := registrationsByNumber(t, env.DB.DB)
		if len(stored) != len(sent.registrations) {
			t.Errorf("registration rows = %d, want %d", len(stored), len(sent.registrations))
		}
		for number, request := range sent.registrations {
			row, ok := stored[number]
			if !ok {
				t.Errorf("registration %s is not stored", number)
				continue
			}
			if got := env.Open(t, row.ChildName, enrol.ContextChildName); got != request.Child.Name {
				t.Errorf("%s child name = %q, want %q", number, got, request.Child.Name)
			}
			if got := env.Open(t, row.DocumentNumber, enrol.ContextChildDocumentNumber); got != request.Child.Document.Number {
				t.Errorf("%s document number = %q, want %q", number, got, request.Child.Document.Number)
			}
			if got := env.Open(t, row.ResidenceAddress, enrol.ContextResidenceAddress); got != request.Residence.Address {
				t.Errorf("%s residence address = %q, want %q", number, got, request.Residence.Address)
			}
			if request.Child.Hukou.InShanghai {
				if got := env.Open(t, row.HukouAddress, enrol.ContextHukouAddress); got != request.Child.Hukou.Address {
					t.Errorf("%s hukou address = %q, want %q", number, got, request.Child.Hukou.Address)
				}
				if row.HukouDistrict.String != request.Child.Hukou.DistrictCode {
					t.Errorf("%s hukou district = %q, want %q", number, row.HukouDistrict.String, request.Child.Hukou.DistrictCode)
				}
			} else if row.HukouDistrict.Valid {
				t.Errorf("%s hukou district = %q, want NULL for a hukou outside Shanghai", number, row.HukouDistrict.String)
			}
			var guardians []precheck.Guardian
			if err := json.Unmarshal([]byte(env.Open(t, row.Guardians, enrol.ContextGuardians)), &guardians); err != nil {
				t.Fatalf("%s guardians do not decode: %v", number, err)
			}
			if len(guardians) != 1 || guardians[0].DocumentNumber != request.Guardians[0].Document.Number || guardians[0].Name != request.Guardians[0].Name {
				t.Errorf("%s guardians = %+v, want one guardian %s with document %s", number, guardians, request.Guardians[0].Name, request.Guardians[0].Document.Number)
			}
			if request.Extra != nil {
				if got := env.Open(t, row.FormValues, enrol.ContextRegistrationForm); !strings.Contains(got, "江苏省") {
					t.Errorf("%s form values = %s, want the birth province 江苏省", number, got)
				}
			} else if row.FormValues != nil {
				t.Errorf("%s form values are set, want NULL for a registration without extras", number)
			}
			if got := row.BirthDate.Format(time.DateOnly); got != request.Child.BirthDate {
				t.Errorf("%s birth date = %s, want %s", number, got, request.Child.BirthDate)
			}
			if row.Sex != request.Child.Sex {
				t.Errorf("%s sex = %q, want %q", number, row.Sex, request.Child.Sex)
			}
			if row.ResidenceDistrict != request.Residence.DistrictCode || row.ResidenceStreet != request.Residence.StreetCode {
				t.Errorf("%s residence = %s/%s, want %s/%s", number, row.ResidenceDistrict, row.ResidenceStreet,
					request.Residence.DistrictCode, request.Residence.StreetCode)
			}
			if row.Status != enrol.StatusRecorded {
				t.Errorf("%s status = %q, want %q", number, row.Status, enrol.StatusRecorded)
			}
		}
	})

	t.Run("applications", func(t *testing.T) {
		stored := applicationsByNumber(t, env.DB.DB)
		if len(stored) != len(sent.applications) {
			t.Errorf("application rows = %d, want %d", len(stored), len(sent.applications))
		}
		for number, request := range sent.applications {
			row, ok := stored[number]
			if !ok {
				t.Errorf("application %s is not stored", number)
				continue
			}
			if row.RegistrationNumber != request.RegistrationNumber {
				t.Errorf("%s registration = %s, want %s", number, row.RegistrationNumber, request.RegistrationNumber)
			}
			if row.DistrictCode != request.DistrictCode {
				t.Errorf("%s district = %s, want %s", number, row.DistrictCode, request.DistrictCode)
			}
			if row.CategoryCode != request.CategoryCode {
				t.Errorf("%s category = %s, want %s", number, row.CategoryCode, request.CategoryCode)
			}
			if want := enrol.JoinCampusIDs(request.CampusChoices); row.CampusChoices != want {
				t.Errorf("%s campus choices = %s, want %s", number, row.CampusChoices, want)
			}
			if got := env.Open(t, row.FormValues, enrol.ContextApplicationForm); !strings.Contains(got, request.Extra["note"].(string)) {
				t.Errorf("%s form values = %s, want the note %q", number, got, request.Extra["note"])
			}
		}
	})

	t.Run("receipts", func(t *testing.T) {
		for _, numbers := range []map[string]bool{numberSet(sent.registrations), numberSet(sent.applications)} {
			for number := range numbers {
				receipt := env.Receipt(t, number)
				if receipt[enrol.FieldStatus] != enrol.StatusRecorded {
					t.Errorf("receipt %s status = %q, want %q", number, receipt[enrol.FieldStatus], enrol.StatusRecorded)
				}
				if receipt[enrol.FieldEntry] == "" {
					t.Errorf("receipt %s has no stream entry ID for the watermark", number)
				}
			}
		}
	})

	t.Run("acknowledged", func(t *testing.T) {
		if pending := env.Pending(t); pending != 0 {
			t.Errorf("pending entries = %d, want 0", pending)
		}
		if dead := env.DeadLetters(t); len(dead) != 0 {
			t.Errorf("dead letters = %d, want 0: %v", len(dead), dead)
		}
	})
}

func numberSet[V any](m map[string]V) map[string]bool {
	set := make(map[string]bool, len(m))
	for key := range m {
		set[key] = true
	}
	return set
}

// streamNodeMaxEntries returns the Redis setting that bounds how many
// entries one stream node holds; an approximate trim removes whole nodes.
func streamNodeMaxEntries(t *testing.T, env *backofficetest.Env) int64 {
	t.Helper()
	reply, err := env.Do(env.Redis.Client.B().ConfigGet().Parameter("stream-node-max-entries").Build()).AsStrMap()
	if err != nil {
		t.Fatalf("CONFIG GET stream-node-max-entries: %v", err)
	}
	value, err := strconv.ParseInt(reply["stream-node-max-entries"], 10, 64)
	if err != nil {
		t.Fatalf("stream-node-max-entries = %q: %v", reply["stream-node-max-entries"], err)
	}
	return value
}

func TestTrimKeepsPendingEntries(t *testing.T) {
	env := backofficetest.New(t)
	nodeSize := streamNodeMaxEntries(t, env)
	count := int(nodeSize) + 50
	for i := range count {
		env.Register(t, backofficetest.Subject(i), env.ShanghaiChild(t, i, xuhui, xuhui))
	}
	drainer := env.Drainer(backofficetest.DrainConfig("drainer-1"))
	if err := drainer.EnsureGroup(context.Background()); err != nil {
		t.Fatal(err)
	}

	// A consumer that takes the oldest entry and never acknowledges it.
	client := env.Redis.Client
	read := client.B().Xreadgroup().Group(env.Keys.ConsumerGroup(), "stuck").Count(1).Streams().Key(env.Keys.Stream()).Id(">").Build()
	if err := env.Do(read).Error(); err != nil {
		t.Fatalf("XREADGROUP as stuck: %v", err)
	}
	stuck := env.PendingOf(t, "stuck")
	if len(stuck) != 1 {
		t.Fatalf("stuck consumer holds %d entries, want 1", len(stuck))
	}

	running := backofficetest.Start(t, drainer)
	env.WaitForRows(t, drainWait, count-1, `SELECT count(*) FROM registration`)
	backofficetest.WaitFor(t, drainWait, "only the stuck entry pending", func() (bool, error) { return env.Pending(t) == 1, nil })
	running.Stop(t)

	ctx := context.Background()
	if err := drainer.Trim(ctx); err != nil {
		t.Fatalf("Trim: %v", err)
	}
	if length := env.StreamLength(t); length != int64(count) {
		t.Errorf("after Trim with the oldest entry pending, XLEN = %d, want %d", length, count)
	}

	config := backofficetest.DrainConfig("rescuer")
	config.ClaimIdle = time.Millisecond
	rescuer := env.Drainer(config)
	backofficetest.WaitFor(t, drainWait, "the stuck entry reclaimed", func() (bool, error) {
		if err := rescuer.Reclaim(ctx); err != nil {
			return false, err
		}
		return env.Pending(t) == 0, nil
	})
	if rows := env.Count(t, `SELECT count(*) FROM registration`); rows != count {
		t.Errorf("registration rows = %d, want %d", rows, count)
	}

	if err := rescuer.Trim(ctx); err != nil {
		t.Fatalf("Trim: %v", err)
	}
	length := env.StreamLength(t)
	if length >= int64(count) {
		t.Errorf("after Trim with nothing pending, XLEN = %d, want fewer than %d", length, count)
	}
	if length > nodeSize {
		t.Errorf("after Trim with nothing pending, XLEN = %d, want at most one stream node (%d)", length, nodeSize)
	}
	for _, entry := range env.StreamEntries(t) {
		if entry.ID == stuck[0] {
			t.Errorf("the acknowledged entry %s is still in the stream after Trim", entry.ID)
		}
	}
}

// copyEntry appends the fields of the entry that carries number again, as
// a redelivery of the same submission would.
func copyEntry(t *testing.T, env *backofficetest.Env, number string) string {
	t.Helper()
	entry := env.EntryOf(t, number)
	return env.AddEntry(t,
		enrol.StreamFieldKind, entry.FieldValues[enrol.StreamFieldKind],
		enrol.StreamFieldNumber, number,
		enrol.StreamFieldBody, entry.FieldValues[enrol.StreamFieldBody])
}

func TestDuplicateEntryStoredOnce(t *testing.T) {
	env := backofficetest.New(t)

	t.Run("same batch", func(t *testing.T) {
		number := env.Register(t, backofficetest.Subject(1), env.ShanghaiChild(t, 1, xuhui, xuhui))
		copyEntry(t, env, number)
		sentinel := env.Register(t, backofficetest.Subject(2), env.ShanghaiChild(t, 2, xuhui, xuhui))

		running := backofficetest.Start(t, env.Drainer(backofficetest.DrainConfig("drainer-1")))
		env.WaitForRows(t, drainWait, 1, `SELECT count(*) FROM registration WHERE registration_number = $1`, sentinel)
		env.WaitForDrained(t, drainWait)
		running.Stop(t)

		if rows := env.Count(t, `SELECT count(*) FROM registration WHERE registration_number = $1`, number); rows != 1 {
			t.Errorf("rows of %s = %d, want 1", number, rows)
		}
		if rows := env.Count(t, `SELECT count(*) FROM registration`); rows != 2 {
			t.Errorf("registration rows = %d, want 2", rows)
		}
		if status := env.Receipt(t, number)[enrol.FieldStatus]; status != enrol.StatusRecorded {
			t.Errorf("receipt %s status = %q, want %q", number, status, enrol.StatusRecorded)
		}
	})

	t.Run("later batch", func(t *testing.T) {
		number := env.Register(t, backofficetest.Subject(3), env.ShanghaiChild(t, 3, xuhui, xuhui))
		running := backofficetest.Start(t, env.Drainer(backofficetest.DrainConfig("drainer-1")))
		env.WaitForRows(t, drainWait, 1, `SELECT count(*) FROM registration WHERE registration_number = $1`, number)
		env.WaitForDrained(t, drainWait)
		firstRecordedAt := env.Receipt(t, number)[enrol.FieldRecordedAt]

		copyEntry(t, env, number)
		sentinel := env.Register(t, backofficetest.Subject(4), env.ShanghaiChild(t, 4, xuhui, xuhui))
		env.WaitForRows(t, drainWait, 1, `SELECT count(*) FROM registration WHERE registration_number = $1`, sentinel)
		env.WaitForDrained(t, drainWait)
		running.Stop(t)

		if rows := env.Count(t, `SELECT count(*) FROM registration WHERE registration_number = $1`, number); rows != 1 {
			t.Errorf("rows of %s = %d, want 1", number, rows)
		}
		receipt := env.Receipt(t, number)
		if receipt[enrol.FieldStatus] != enrol.StatusRecorded {
			t.Errorf("receipt %s status = %q, want %q", number, receipt[enrol.FieldStatus], enrol.StatusRecorded)
		}
		if receipt[enrol.FieldRecordedAt] != firstRecordedAt {
			t.Errorf("receipt %s recorded_at = %s after the redelivery, want the first %s", number, receipt[enrol.FieldRecordedAt], firstRecordedAt)
		}
	})

	t.Run("application", func(t *testing.T) {
		registration := env.Register(t, backofficetest.Subject(5), env.ShanghaiChild(t, 5, xuhui, xuhui))
		application := env.Apply(t, backofficetest.Subject(5), registration, xuhui)
		copyEntry(t, env, application)
		sentinel := env.Register(t, backofficetest.Subject(6), env.ShanghaiChild(t, 6, xuhui, xuhui))

		running := backofficetest.Start(t, env.Drainer(backofficetest.DrainConfig("drainer-1")))
		env.WaitForRows(t, drainWait, 1, `SELECT count(*) FROM registration WHERE registration_number = $1`, sentinel)
		env.WaitForDrained(t, drainWait)
		running.Stop(t)

		if rows := env.Count(t, `SELECT count(*) FROM application WHERE application_number = $1`, application); rows != 1 {
			t.Errorf("rows of %s = %d, want 1", application, rows)
		}
		if status := env.Receipt(t, application)[enrol.FieldStatus]; status != enrol.StatusRecorded {
			t.Errorf("receipt %s status = %q, want %q", application, status, enrol.StatusRecorded)
		}
	})
}

// registerAgainWithoutClaim deletes the child's claim key, as a Redis that
// lost it would, and registers the same child again.
func registerAgainWithoutClaim(t *testing.T, env *backofficetest.Env, subject string, request *precheck.RegistrationRequest, first string) string {
	t.Helper()
	record := env.RegistrationOf(t, first)
	if err := env.Do(env.Redis.Client.B().Del().Key(env.Keys.RegistrationClaim(record.Year, record.ChildIndex)).Build()).Error(); err != nil {
		t.Fatalf("DEL claim: %v", err)
	}
	second := env.Register(t, subject, request)
	if second == first {
		t.Fatalf("registering again without the claim returned the first number %s, want a new one", first)
	}
	return second
}

func TestLostClaimRejectsDuplicate(t *testing.T) {
	cases := []struct {
		name string
		// drainBetween drains the first registration before the second is made.
		drainBetween bool
		// otherFamily makes the second registration another family's, which
		// must not learn the first number.
		otherFamily bool
	}{
		{"same batch", false, false},
		{"later batch", true, false},
		{"other family", true, true},
	}
	for _, test := range cases {
		t.Run(test.name, func(t *testing.T) {
			env := backofficetest.New(t)
			subject := backofficetest.Subject(1)
			request := env.ShanghaiChild(t, 1, xuhui, xuhui)
			first := env.Register(t, subject, request)

			var running *backofficetest.Running
			if test.drainBetween {
				running = backofficetest.Start(t, env.Drainer(backofficetest.DrainConfig("drainer-1")))
				env.WaitForRows(t, drainWait, 1, `SELECT count(*) FROM registration WHERE registration_number = $1`, first)
			}
			secondSubject := subject
			if test.otherFamily {
				secondSubject = backofficetest.Subject(3)
			}
			second := registerAgainWithoutClaim(t, env, secondSubject, request, first)
			sentinel := env.Register(t, backofficetest.Subject(2), env.ShanghaiChild(t, 2, xuhui, xuhui))
			if running == nil {
				running = backofficetest.Start(t, env.Drainer(backofficetest.DrainConfig("drainer-1")))
			}
			env.WaitForRows(t, drainWait, 1, `SELECT count(*) FROM registration WHERE registration_number = $1`, sentinel)
			env.WaitForDrained(t, drainWait)
			running.Stop(t)

			if rows := env.Count(t, `SELECT count(*) FROM registration WHERE registration_number = $1`, first); rows != 1 {
				t.Errorf("rows of the first registration %s = %d, want 1", first, rows)
			}
			if rows := env.Count(t, `SELECT count(*) FROM registration WHERE registration_number = $1`, second); rows != 0 {
				t.Errorf("rows of the second registration %s = %d, want 0", second, rows)
			}
			if status := env.Receipt(t, first)[enrol.FieldStatus]; status != enrol.StatusRecorded {
				t.Errorf("first receipt %s status = %q, want %q", first, status, enrol.StatusRecorded)
			}
			receipt := env.Receipt(t, second)
			if receipt[enrol.FieldStatus] != enrol.StatusRejectedDuplicate {
				t.Errorf("second receipt %s status = %q, want %q", second, receipt[enrol.FieldStatus], enrol.StatusRejectedDuplicate)
			}
			wantFirst, wantNote := first, ""
			if test.otherFamily {
				wantFirst, wantNote = "", enrol.RegisteredElsewhereNote
			}
			if receipt[enrol.FieldFirstNumber] != wantFirst {
				t.Errorf("second receipt %s first_number = %q, want %q", second, receipt[enrol.FieldFirstNumber], wantFirst)
			}
			if receipt[enrol.FieldNote] != wantNote {
				t.Errorf("second receipt %s note = %q, want %q", second, receipt[enrol.FieldNote], wantNote)
			}
		})
	}
}

func TestReclaimAfterCrashBeforeAck(t *testing.T) {
	env := backofficetest.New(t)
	sent := submitMixed(t, env, 30)
	entries := len(sent.registrations) + len(sent.applications)

	crashed := make(chan []string, 1)
	crashing := env.Drainer(backofficetest.DrainConfig("crashing"))
	var once sync.Once
	crashing.BeforeAck = func(ids []string) error {
		once.Do(func() { crashed <- ids })
		return errors.New("simulated crash after commit")
	}
	running := backofficetest.Start(t, crashing)
	var ids []string
	select {
	case ids = <-crashed:
	case <-time.After(drainWait):
		t.Fatalf("BeforeAck was not called within %s", drainWait)
	}
	running.Stop(t)

	if len(ids) != entries {
		t.Fatalf("the crashed batch has %d entries, want all %d", len(ids), entries)
	}
	if pending := env.PendingOf(t, "crashing"); len(pending) != entries {
		t.Fatalf("after the crash, %d entries are pending for the crashed consumer, want %d", len(pending), entries)
	}
	if rows := env.Count(t, `SELECT count(*) FROM registration`); rows != len(sent.registrations) {
		t.Fatalf("after the crash, registration rows = %d, want %d (committed before the crash)", rows, len(sent.registrations))
	}

	config := backofficetest.DrainConfig("rescuer")
	config.ClaimIdle = time.Millisecond
	rescuer := env.Drainer(config)
	ctx := context.Background()
	backofficetest.WaitFor(t, drainWait, "every entry reclaimed", func() (bool, error) {
		if err := rescuer.Reclaim(ctx); err != nil {
			return false, err
		}
		return env.Pending(t) == 0, nil
	})

	registrations := registrationsByNumber(t, env.DB.DB)
	if len(registrations) != len(sent.registrations) {
		t.Errorf("registration rows = %d, want %d", len(registrations), len(sent.registrations))
	}
	applications := applicationsByNumber(t, env.DB.DB)
	if len(applications) != len(sent.applications) {
		t.Errorf("application rows = %d, want %d", len(applications), len(sent.applications))
	}
	for number := range sent.registrations {
		if _, ok := registrations[number]; !ok {
			t.Errorf("registration %s is not stored", number)
		}
		if status := env.Receipt(t, number)[enrol.FieldStatus]; status != enrol.StatusRecorded {
			t.Errorf("receipt %s status = %q, want %q", number, status, enrol.StatusRecorded)
		}
	}
	for number := range sent.applications {
		if _, ok := applications[number]; !ok {
			t.Errorf("application %s is not stored", number)
		}
	}
	if dead := env.DeadLetters(t); len(dead) != 0 {
		t.Errorf("dead letters = %d, want 0", len(dead))
	}
}

// closedStore returns a store whose database handle is closed, so every
// InsertBatch fails before anything is written, as a lost database would.
func closedStore(t *testing.T, env *backofficetest.Env) *enrolment.Store {
	t.Helper()
	db, err := sqlx.Open("pgx", env.DB.URL)
	if err != nil {
		t.Fatalf("open database: %v", err)
	}
	db.Close()
	return &enrolment.Store{DB: db}
}

func TestReclaimAfterCrashBeforeCommit(t *testing.T) {
	env := backofficetest.New(t)
	sent := submitMixed(t, env, 20)
	entries := len(sent.registrations) + len(sent.applications)

	failing := drain.New(env.Redis.Client, env.Keys, closedStore(t, env), backofficetest.DrainConfig("failing"), nil)
	running := backofficetest.Start(t, failing)
	backofficetest.WaitFor(t, drainWait, "every entry delivered to the failing consumer", func() (bool, error) {
		return len(env.PendingOf(t, "failing")) == entries, nil
	})
	if err := running.Stop(t); err != nil {
		t.Errorf("Run of the failing drainer returned %v, want nil after cancellation", err)
	}

	if rows := env.Count(t, `SELECT count(*) FROM registration`); rows != 0 {
		t.Errorf("registration rows after the failed commit = %d, want 0", rows)
	}
	for number := range sent.registrations {
		if status := env.Receipt(t, number)[enrol.FieldStatus]; status != enrol.StatusAccepted {
			t.Errorf("receipt %s status after the failed commit = %q, want %q", number, status, enrol.StatusAccepted)
		}
	}

	config := backofficetest.DrainConfig("rescuer")
	config.ClaimIdle = time.Millisecond
	rescuer := env.Drainer(config)
	ctx := context.Background()
	backofficetest.WaitFor(t, drainWait, "every entry reclaimed", func() (bool, error) {
		if err := rescuer.Reclaim(ctx); err != nil {
			return false, err
		}
		return env.Pending(t) == 0, nil
	})

	if rows := env.Count(t, `SELECT count(*) FROM registration`); rows != len(sent.registrations) {
		t.Errorf("registration rows = %d, want %d", rows, len(sent.registrations))
	}
	if rows := env.Count(t, `SELECT count(*) FROM application`); rows != len(sent.applications) {
		t.Errorf("application rows = %d, want %d", rows, len(sent.applications))
	}
	for number := range sent.registrations {
		if status := env.Receipt(t, number)[enrol.FieldStatus]; status != enrol.StatusRecorded {
			t.Errorf("receipt %s status = %q, want %q", number, status, enrol.StatusRecorded)
		}
	}
}

func TestRestartRereadsOwnPending(t *testing.T) {
	env := backofficetest.New(t)
	sent := submitMixed(t, env, 10)
	entries := len(sent.registrations) + len(sent.applications)

	failing := drain.New(env.Redis.Client, env.Keys, closedStore(t, env), backofficetest.DrainConfig("backoffice-0"), nil)
	running := backofficetest.Start(t, failing)
	backofficetest.WaitFor(t, drainWait, "every entry delivered", func() (bool, error) {
		return len(env.PendingOf(t, "backoffice-0")) == entries, nil
	})
	running.Stop(t)

	// The same consumer name with a working database and no reclaim: only
	// the re-read of its own pending entries can store them.
	backofficetest.Start(t, env.Drainer(backofficetest.DrainConfig("backoffice-0")))
	env.WaitForRows(t, drainWait, len(sent.registrations), `SELECT count(*) FROM registration`)
	env.WaitForRows(t, drainWait, len(sent.applications), `SELECT count(*) FROM application`)
	env.WaitForDrained(t, drainWait)
}

func TestRunStopsWhenBeforeAckFails(t *testing.T) {
	env := backofficetest.New(t)
	env.Register(t, backofficetest.Subject(1), env.ShanghaiChild(t, 1, xuhui, xuhui))

	drainer := env.Drainer(backofficetest.DrainConfig("crashing"))
	drainer.BeforeAck = func([]string) error { return errors.New("simulated crash after commit") }
	running := backofficetest.Start(t, drainer)
	select {
	case <-running.Done():
		if running.Err() == nil {
			t.Errorf("Run returned nil after BeforeAck failed, want the BeforeAck error")
		}
	case <-time.After(10 * time.Second):
		t.Errorf("Run did not return within 10s after BeforeAck failed; the drainer keeps running")
	}
}

// readAs delivers the next entry of the stream to consumer without
// acknowledging it, as a consumer that dies right after its read would.
func readAs(t *testing.T, env *backofficetest.Env, consumer string) string {
	t.Helper()
	command := env.Redis.Client.B().Xreadgroup().Group(env.Keys.ConsumerGroup(), consumer).Count(1).
		Streams().Key(env.Keys.Stream()).Id(">").Build()
	streams, err := env.Do(command).AsXRead()
	if err != nil {
		t.Fatalf("XREADGROUP as %s: %v", consumer, err)
	}
	entries := streams[env.Keys.Stream()]
	if len(entries) != 1 {
		t.Fatalf("XREADGROUP as %s returned %d entries, want 1", consumer, len(entries))
	}
	return entries[0].ID
}

func TestRestartApplicationBeforeRegistration(t *testing.T) {
	env := backofficetest.New(t)
	subject := backofficetest.Subject(1)
	registration := env.Register(t, subject, env.ShanghaiChild(t, 1, xuhui, xuhui))
	application := env.Apply(t, subject, registration, xuhui)

	// Two consumers of one back office die holding the registration and its
	// application; the process restarts.
	config := backofficetest.DrainConfig("backoffice-0")
	if err := env.Drainer(config).EnsureGroup(context.Background()); err != nil {
		t.Fatal(err)
	}
	readAs(t, env, "backoffice-0")
	applicationID := readAs(t, env, "backoffice-1")
	sentinel := env.Register(t, backofficetest.Subject(2), env.ShanghaiChild(t, 2, xuhui, xuhui))

	// backoffice-1 comes back first. Its re-read of its own pending entries
	// fails on the missing registration; the new sentinel is read only
	// after that re-read is over.
	sibling := env.Drainer(backofficetest.DrainConfig("backoffice-1"))
	running := backofficetest.Start(t, sibling)
	env.WaitForRows(t, drainWait, 1, `SELECT count(*) FROM registration WHERE registration_number = $1`, sentinel)
	running.Stop(t)

	if letter, dead := deadLetterOf(t, env, applicationID); dead {
		t.Fatalf("the application was dead-lettered during the re-read, before its registration's consumer came back: %s", letter["reason"])
	}
	failures, err := env.Do(env.Redis.Client.B().Hget().Key(env.Keys.Deliveries()).Field(applicationID).Build()).AsInt64()
	if err != nil {
		t.Fatalf("HGET failure count: %v", err)
	}
	if failures != 1 {
		t.Errorf("failed attempts during the re-read = %d, want 1 (later ones wait for reclaim)", failures)
	}

	// backoffice-0 comes back and stores the registration; a reclaim then
	// stores the application.
	backofficetest.Start(t, env.Drainer(config))
	env.WaitForRows(t, drainWait, 1, `SELECT count(*) FROM registration WHERE registration_number = $1`, registration)
	rescuerConfig := backofficetest.DrainConfig("rescuer")
	rescuerConfig.ClaimIdle = time.Millisecond
	rescuer := env.Drainer(rescuerConfig)
	backofficetest.WaitFor(t, drainWait, "no pending entries", func() (bool, error) {
		if err := rescuer.Reclaim(context.Background()); err != nil {
			return false, err
		}
		return env.Pending(t) == 0, nil
	})
	if rows := env.Count(t, `SELECT count(*) FROM application WHERE application_number = $1`, application); rows != 1 {
		t.Errorf("rows of application %s = %d, want 1", application, rows)
	}
}

func TestWatermarkOnlyRises(t *testing.T) {
	env := backofficetest.New(t)
	number := env.Register(t, backofficetest.Subject(1), env.ShanghaiChild(t, 1, xuhui, xuhui))
	drainer := env.Drainer(backofficetest.DrainConfig("drainer-1"))
	running := backofficetest.Start(t, drainer)
	env.WaitForRows(t, drainWait, 1, `SELECT count(*) FROM registration WHERE registration_number = $1`, number)
	// The drainer acknowledges and advances the watermark just after the
	// commit, so the row can be visible a moment before the status is.
	deadline := time.Now().Add(drainWait)
	status := env.Receipt(t, number)[enrol.FieldStatus]
	for status != enrol.StatusRecorded && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
		status = env.Receipt(t, number)[enrol.FieldStatus]
	}
	running.Stop(t)
	if status != enrol.StatusRecorded {
		t.Fatalf("status after the drain = %q, want recorded", status)
	}
	// A watermark set ahead (as by another back office) must not move back.
	ahead := "99999999999999-0"
	if err := env.Do(env.Redis.Client.B().Set().Key(env.Keys.Watermark()).Value(ahead).Build()).Error(); err != nil {
		t.Fatal(err)
	}
	if err := drainer.AdvanceWatermark(context.Background()); err != nil {
		t.Fatal(err)
	}
	got, err := env.Do(env.Redis.Client.B().Get().Key(env.Keys.Watermark()).Build()).ToString()
	if err != nil {
		t.Fatal(err)
	}
	if got != ahead {
		t.Errorf("watermark = %q after AdvanceWatermark, want it to stay %q", got, ahead)
	}
}

// TestLingerGathersOneBatch delivers one entry to a lingering drainer,
// submits more while it waits, and expects all of them stored by one
// transaction.
func TestLingerGathersOneBatch(t *testing.T) {
	env := backofficetest.New(t)
	env.Register(t, backofficetest.Subject(0), env.ShanghaiChild(t, 0, xuhui, xuhui))
	config := backofficetest.DrainConfig("lingering")
	config.Linger = 3 * time.Second
	backofficetest.Start(t, env.Drainer(config))
	backofficetest.WaitFor(t, drainWait, "the first entry read", func() (bool, error) {
		var stored int
		err := env.DB.DB.Get(&stored, `SELECT count(*) FROM registration`)
		return env.Pending(t) == 1 || stored > 0, err
	})

	for i := 1; i <= 5; i++ {
		env.Register(t, backofficetest.Subject(i), env.ShanghaiChild(t, i, xuhui, xuhui))
	}
	env.WaitForRows(t, drainWait, 6, `SELECT count(*) FROM registration`)
	var transactions int
	if err := env.DB.DB.Get(&transactions, `SELECT count(DISTINCT xmin::text) FROM registration`); err != nil {
		t.Fatal(err)
	}
	if transactions != 1 {
		t.Errorf("the 6 registrations were stored by %d transactions, want 1", transactions)
	}
}

// TestDrainAfterRedisLostGroup covers a Redis that restarted empty, or
// failed over to a replica without the consumer group: the drainer
// creates the group again and drains what the edge adds afterwards.
func TestDrainAfterRedisLostGroup(t *testing.T) {
	env := backofficetest.New(t)
	backofficetest.Start(t, env.Drainer(backofficetest.DrainConfig("drainer-1")))
	env.Register(t, backofficetest.Subject(1), env.ShanghaiChild(t, 1, xuhui, xuhui))
	env.WaitForRows(t, drainWait, 1, `SELECT count(*) FROM registration`)

	if err := env.Do(env.Redis.Client.B().Del().Key(env.Keys.Stream()).Build()).Error(); err != nil {
		t.Fatal(err)
	}
	env.Register(t, backofficetest.Subject(2), env.ShanghaiChild(t, 2, xuhui, xuhui))
	env.WaitForRows(t, drainWait, 2, `SELECT count(*) FROM registration`)
}
