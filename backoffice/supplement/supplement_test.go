package supplement_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/sh-preschool/preschool/backoffice/access"
	"github.com/sh-preschool/preschool/backoffice/audit"
	"github.com/sh-preschool/preschool/backoffice/audit/audittest"
	"github.com/sh-preschool/preschool/backoffice/backofficetest"
	"github.com/sh-preschool/preschool/backoffice/sms"
	"github.com/sh-preschool/preschool/backoffice/supplement"
	"github.com/sh-preschool/preschool/edge/precheck"
	"github.com/sh-preschool/preschool/shared/apierror"
	enrol "github.com/sh-preschool/preschool/shared/enrolment"
)

const (
	xuhui     = backofficetest.Xuhui
	changning = backofficetest.Changning
)

type fixture struct {
	env       *backofficetest.Env
	xuhui     *audittest.Client
	changning *audittest.Client
	city      *audittest.Client
	street    *audittest.Client
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	env := backofficetest.New(t)
	config := backofficetest.DrainConfig("supplement-test")
	config.SequenceCheck = time.Hour // only TestApplyWithStoredNumber moves a counter back
	backofficetest.Start(t, env.Drainer(config))
	districtName := func(code string) (string, bool) {
		name, ok := map[string]string{xuhui: "徐汇区", changning: "长宁区"}[code]
		return name, ok
	}
	server := audittest.NewServer(t, env.DB.DB, env.Redis, func(r chi.Router, trail *audit.Trail) {
		(&supplement.Handlers{
			DB: env.DB.DB, Redis: env.Redis.Client, Keys: env.Keys, Keyring: env.Keyring, Trail: trail,
			DistrictName: districtName, ReceiptTTL: time.Hour, Now: time.Now,
		}).Routes(r)
	})
	return &fixture{
		env:       env,
		xuhui:     server.SignIn(t, "district_admin", access.Scope{Level: access.LevelDistrict, DistrictCode: xuhui}),
		changning: server.SignIn(t, "district_admin", access.Scope{Level: access.LevelDistrict, DistrictCode: changning}),
		city:      server.SignIn(t, "city_admin", access.Scope{Level: access.LevelCity}),
		street:    server.SignIn(t, "street_officer", access.Scope{Level: access.LevelStreet, StreetCode: "310104003"}),
	}
}

// register registers child i with hukou and home in Xuhui and waits until
// the row is stored.
func (f *fixture) register(t *testing.T, i int) string {
	t.Helper()
	number := f.env.Register(t, backofficetest.Subject(i), f.env.ShanghaiChild(t, i, xuhui, xuhui))
	f.env.WaitForRows(t, time.Minute, 1, `SELECT count(*) FROM registration WHERE registration_number = $1`, number)
	return number
}

// options returns the campuses and categories of district.
func (f *fixture) options(t *testing.T, client *audittest.Client, district string) supplement.OptionsBody {
	t.Helper()
	answer := client.Get(t, "/api/v1/supplementary/options?year="+strconv.Itoa(f.env.Year.Year)+"&district="+district)
	answer.Expect(t, http.StatusOK, "")
	var body supplement.OptionsBody
	answer.Decode(t, &body)
	if len(body.Campuses) == 0 || len(body.Categories) == 0 {
		t.Fatalf("options of %s = %d campuses, %d categories, want some of each", district, len(body.Campuses), len(body.Categories))
	}
	return body
}

// unmatchedCampus returns a campus of Xuhui that the matching rules do not
// offer for registration number, so the test shows that any campus may be
// chosen.
func (f *fixture) unmatchedCampus(t *testing.T, subject, number string, options supplement.OptionsBody) int64 {
	t.Helper()
	facts, err := f.env.Service.RegistrationFacts(context.Background(), f.env.Service.OwnerIndex(subject), number)
	if err != nil {
		t.Fatal(err)
	}
	offered, err := precheck.ApplicationOptions(facts, xuhui, f.env.Catalogue, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	matched := map[int64]bool{}
	for _, id := range offered.Campuses {
		matched[id] = true
	}
	for _, campus := range options.Campuses {
		if !matched[campus.ID] {
			return campus.ID
		}
	}
	t.Fatal("every Xuhui campus matches the test address")
	return 0
}

func (f *fixture) apply(t *testing.T, client *audittest.Client, body map[string]any) audittest.Response {
	t.Helper()
	return client.Send(t, http.MethodPost, "/api/v1/supplementary/applications", body)
}

func TestLookupByNumberAndDocument(t *testing.T) {
	f := newFixture(t)
	request := f.env.ShanghaiChild(t, 1, xuhui, xuhui)
	number := f.env.Register(t, backofficetest.Subject(1), request)
	f.env.WaitForRows(t, time.Minute, 1, `SELECT count(*) FROM registration WHERE registration_number = $1`, number)

	byNumber := f.xuhui.Send(t, http.MethodPost, "/api/v1/supplementary/lookup", map[string]any{"registrationNumber": " " + number + " "})
	byNumber.Expect(t, http.StatusOK, "")
	var found supplement.LookupResult
	byNumber.Decode(t, &found)
	if found.RegistrationNumber != number {
		t.Errorf("lookup by number found %s, want %s", found.RegistrationNumber, number)
	}
	if found.ChildName != maskedName(backofficetest.ChildName(1)) {
		t.Errorf("child name = %q, want the masked %q", found.ChildName, maskedName(backofficetest.ChildName(1)))
	}
	if !found.HasPhone || len(found.Guardians) != 1 {
		t.Errorf("guardians = %+v, hasPhone %v, want one guardian with a phone", found.Guardians, found.HasPhone)
	}
	if found.LiveApplication != nil {
		t.Errorf("live application = %+v, want none", found.LiveApplication)
	}

	// The scanner or the admin may type the check letter in lower case.
	documentNumber := strings.ToLower(request.Child.Document.Number)
	byDocument := f.xuhui.Send(t, http.MethodPost, "/api/v1/supplementary/lookup",
		map[string]any{"documentType": "resident_id", "documentNumber": documentNumber})
	byDocument.Expect(t, http.StatusOK, "")
	var foundByDocument supplement.LookupResult
	byDocument.Decode(t, &foundByDocument)
	if foundByDocument.RegistrationNumber != number {
		t.Errorf("lookup by document found %s, want %s", foundByDocument.RegistrationNumber, number)
	}

	other := f.env.ShanghaiChild(t, 2, xuhui, xuhui)
	f.xuhui.Send(t, http.MethodPost, "/api/v1/supplementary/lookup",
		map[string]any{"documentType": "resident_id", "documentNumber": other.Child.Document.Number}).
		Expect(t, http.StatusNotFound, "registration_not_found")
	f.xuhui.Send(t, http.MethodPost, "/api/v1/supplementary/lookup", map[string]any{"registrationNumber": "123"}).
		Expect(t, http.StatusBadRequest, "invalid_registration_number")
	wrongDigit := number[:len(number)-1] + string('0'+(number[len(number)-1]-'0'+1)%10)
	for _, c := range []struct{ number, message string }{
		{wrongDigit, "编号校验位不正确"},
		{enrol.FormatApplicationNumber(f.env.Year.Year, xuhui, 1), "这是 14 位报名编号"},
		{"https://example.invalid/form", "登记编号应为 12 位数字"},
	} {
		response := f.xuhui.Send(t, http.MethodPost, "/api/v1/supplementary/lookup", map[string]any{"registrationNumber": c.number})
		response.Expect(t, http.StatusBadRequest, "invalid_registration_number")
		if message := response.Error(t).Message; !strings.Contains(message, c.message) {
			t.Errorf("lookup of %q: message %q, want it to contain %q", c.number, message, c.message)
		}
	}
	f.xuhui.Send(t, http.MethodPost, "/api/v1/supplementary/lookup", map[string]any{}).
		Expect(t, http.StatusBadRequest, "missing_lookup")
	f.xuhui.Send(t, http.MethodPost, "/api/v1/supplementary/lookup",
		map[string]any{"documentType": "resident_id", "documentNumber": "310104201801011234"}).
		Expect(t, http.StatusBadRequest, "")
	f.changning.Send(t, http.MethodPost, "/api/v1/supplementary/lookup", map[string]any{"registrationNumber": number}).
		Expect(t, http.StatusForbidden, "out_of_scope")
	f.street.Send(t, http.MethodPost, "/api/v1/supplementary/lookup", map[string]any{"registrationNumber": number}).
		Expect(t, http.StatusForbidden, "no_permission")
}

func maskedName(name string) string {
	runes := []rune(name)
	return string(runes[0]) + strings.Repeat("*", len(runes)-2) + string(runes[len(runes)-1])
}

func TestApplyStoresVerifiedApplication(t *testing.T) {
	f := newFixture(t)
	subject := backofficetest.Subject(3)
	number := f.register(t, 3)
	options := f.options(t, f.xuhui, xuhui)
	campus := f.unmatchedCampus(t, subject, number, options)
	category := f.env.ApplicationRequest(t, subject, number, xuhui).CategoryCode

	answer := f.apply(t, f.xuhui, map[string]any{
		"registrationNumber": number, "campusId": campus, "categoryCode": category,
		"certificates": []map[string]string{{"type": "property_certificate", "number": "沪房2026第001号", "holder": "李芳"}},
		"note":         "家长错过报名期，现场核验材料齐全",
	})
	answer.Expect(t, http.StatusCreated, "")
	var result supplement.ApplyResult
	answer.Decode(t, &result)
	if enrol.NumberKind(result.ApplicationNumber) != enrol.KindApplication {
		t.Fatalf("application number %q is not a valid 14-digit number", result.ApplicationNumber)
	}
	if result.Status != enrol.StatusDocumentsVerified || result.StatusLabel != "验证通过" {
		t.Errorf("status = %s %s, want documents_verified 验证通过", result.Status, result.StatusLabel)
	}
	if !result.ParentStatusSynced {
		t.Error("parentStatusSynced = false, want true")
	}

	var stored struct {
		Status        string `db:"status"`
		Supplementary bool   `db:"supplementary"`
		Choices       string `db:"choices"`
		District      string `db:"district_code"`
		Registration  string `db:"registration_number"`
		Form          []byte `db:"form_values"`
	}
	err := f.env.DB.DB.Get(&stored, `
		SELECT status, supplementary, array_to_string(campus_choices, ',') AS choices, district_code,
		       registration_number, form_values
		FROM application WHERE application_number = $1`, result.ApplicationNumber)
	if err != nil {
		t.Fatal(err)
	}
	if stored.Status != enrol.StatusDocumentsVerified || !stored.Supplementary {
		t.Errorf("stored status %s supplementary %v, want documents_verified true", stored.Status, stored.Supplementary)
	}
	if stored.Choices != strconv.FormatInt(campus, 10) {
		t.Errorf("campus choices = %s, want %d", stored.Choices, campus)
	}
	if stored.District != xuhui || stored.Registration != number {
		t.Errorf("district %s registration %s, want %s %s", stored.District, stored.Registration, xuhui, number)
	}
	if form := f.env.Open(t, stored.Form, enrol.ContextApplicationForm); !strings.Contains(form, "现场核验材料齐全") {
		t.Errorf("sealed application form %s lacks the note", form)
	}

	var registration struct {
		Status string `db:"status"`
		Form   []byte `db:"form_values"`
	}
	if err := f.env.DB.DB.Get(&registration, `SELECT status, form_values FROM registration WHERE registration_number = $1`, number); err != nil {
		t.Fatal(err)
	}
	if registration.Status != enrol.StatusVerified {
		t.Errorf("registration status = %s, want verified", registration.Status)
	}
	if form := f.env.Open(t, registration.Form, enrol.ContextRegistrationForm); !strings.Contains(form, "沪房2026第001号") || !strings.Contains(form, `"source":"supplementary"`) {
		t.Errorf("registration form %s lacks the added certificate", form)
	}

	var message struct {
		Event  string `db:"event"`
		Status string `db:"status"`
		Phone  []byte `db:"phone"`
		Body   []byte `db:"body"`
	}
	if err := f.env.DB.DB.Get(&message, `SELECT event, status, phone, body FROM sms_outbox WHERE record_number = $1`, result.ApplicationNumber); err != nil {
		t.Fatalf("outbox row of %s: %v", result.ApplicationNumber, err)
	}
	if message.Event != sms.EventApplicationSucceeded || message.Status != sms.StatusPending || result.SMSID == 0 {
		t.Errorf("outbox row %s %s (smsId %d), want a pending application_succeeded", message.Event, message.Status, result.SMSID)
	}
	if phone := f.env.Open(t, message.Phone, sms.ContextPhone); phone != "13800138000" {
		t.Errorf("SMS phone = %s, want the guardian's", phone)
	}
	if body := f.env.Open(t, message.Body, sms.ContextBody); !strings.Contains(body, result.ApplicationNumber) {
		t.Errorf("SMS text %q lacks the application number", body)
	}
	if n := f.env.Count(t, `SELECT count(*) FROM audit_event WHERE action = $1 AND resource_id = $2 AND outcome = 'success'`,
		supplement.ActionApply, result.ApplicationNumber); n != 1 {
		t.Errorf("audit rows = %d, want 1", n)
	}

	receipt := f.env.Receipt(t, result.ApplicationNumber)
	if receipt[enrol.FieldStatus] != enrol.StatusDocumentsVerified || receipt["registration"] != number {
		t.Errorf("receipt = %v, want documents_verified for %s", receipt, number)
	}
	if status := f.env.Receipt(t, number)[enrol.FieldStatus]; status != enrol.StatusVerified {
		t.Errorf("registration receipt status = %s, want verified", status)
	}
	_, err = f.env.Service.Apply(context.Background(), subject, f.env.ApplicationRequest(t, subject, number, xuhui))
	var conflict *apierror.Error
	if !errors.As(err, &conflict) || conflict.Code != "already_applied" || !strings.Contains(conflict.Message, result.ApplicationNumber) {
		t.Errorf("parent's own application after the supplementary one: %v, want already_applied naming %s", err, result.ApplicationNumber)
	}

	// The lookup now shows the live application, and a second one is refused.
	lookup := f.xuhui.Send(t, http.MethodPost, "/api/v1/supplementary/lookup", map[string]any{"registrationNumber": number})
	var found supplement.LookupResult
	lookup.Decode(t, &found)
	if found.LiveApplication == nil || found.LiveApplication.ApplicationNumber != result.ApplicationNumber || !found.LiveApplication.Supplementary {
		t.Errorf("live application = %+v, want supplementary %s", found.LiveApplication, result.ApplicationNumber)
	}
	if len(found.Certificates) != 1 || found.Certificates[0].Label != "房产证" {
		t.Errorf("certificates = %+v, want the added 房产证", found.Certificates)
	}
	f.apply(t, f.xuhui, map[string]any{"registrationNumber": number, "campusId": campus, "categoryCode": category}).
		Expect(t, http.StatusConflict, "already_applied")
}

// TestApplyWithStoredNumber: when Redis lost the district's counter, the
// number drawn is stored already, and staff get a 503 to try again, not a
// conflict that blames the child.
func TestApplyWithStoredNumber(t *testing.T) {
	f := newFixture(t)
	options := f.options(t, f.xuhui, xuhui)
	apply := func(i int) audittest.Response {
		subject := backofficetest.Subject(i)
		number := f.register(t, i)
		return f.apply(t, f.xuhui, map[string]any{
			"registrationNumber": number, "campusId": f.unmatchedCampus(t, subject, number, options),
			"categoryCode": f.env.ApplicationRequest(t, subject, number, xuhui).CategoryCode, "note": "现场补报名",
		})
	}
	apply(3).Expect(t, http.StatusCreated, "")
	if err := f.env.Do(f.env.Redis.Client.B().Del().Key(f.env.Keys.ApplicationSequence(f.env.Year.Year, xuhui)).Build()).Error(); err != nil {
		t.Fatalf("DEL counter: %v", err)
	}
	apply(4).Expect(t, http.StatusServiceUnavailable, "number_unavailable")
}

func TestApplyRejectsInvalidRequests(t *testing.T) {
	f := newFixture(t)
	subject := backofficetest.Subject(4)
	number := f.register(t, 4)
	xuhuiCampus := f.options(t, f.xuhui, xuhui).Campuses[0].ID
	changningCampus := f.options(t, f.changning, changning).Campuses[0].ID
	category := f.env.ApplicationRequest(t, subject, number, xuhui).CategoryCode

	cases := []struct {
		name   string
		client *audittest.Client
		body   map[string]any
		status int
		code   string
	}{
		{"bad registration number", f.xuhui, map[string]any{"registrationNumber": "2026", "campusId": xuhuiCampus, "categoryCode": category},
			http.StatusBadRequest, "invalid_registration_number"},
		{"no campus", f.xuhui, map[string]any{"registrationNumber": number, "categoryCode": category}, http.StatusBadRequest, "campus_required"},
		{"unknown campus", f.xuhui, map[string]any{"registrationNumber": number, "campusId": 999999999, "categoryCode": category},
			http.StatusBadRequest, "campus_not_found"},
		{"campus of another district", f.xuhui, map[string]any{"registrationNumber": number, "campusId": changningCampus, "categoryCode": category},
			http.StatusForbidden, "out_of_scope"},
		{"category without entry", f.xuhui, map[string]any{"registrationNumber": number, "campusId": xuhuiCampus, "categoryCode": "no_such_category"},
			http.StatusBadRequest, "entry_not_found"},
		{"category of another group", f.xuhui, map[string]any{"registrationNumber": number, "campusId": xuhuiCampus, "categoryCode": "foreign"},
			http.StatusBadRequest, "category_mismatch"},
		{"phone already there", f.xuhui, map[string]any{"registrationNumber": number, "campusId": xuhuiCampus, "categoryCode": category,
			"guardianPhone": "13900139000"}, http.StatusBadRequest, "guardian_phone_present"},
		{"invalid phone", f.xuhui, map[string]any{"registrationNumber": number, "campusId": xuhuiCampus, "categoryCode": category,
			"guardianPhone": "12345"}, http.StatusBadRequest, "invalid_phone"},
		{"unknown certificate", f.xuhui, map[string]any{"registrationNumber": number, "campusId": xuhuiCampus, "categoryCode": category,
			"certificates": []map[string]string{{"type": "diploma", "number": "1"}}}, http.StatusBadRequest, "invalid_certificate_type"},
		{"certificate without number", f.xuhui, map[string]any{"registrationNumber": number, "campusId": xuhuiCampus, "categoryCode": category,
			"certificates": []map[string]string{{"type": "residence_permit", "number": " "}}}, http.StatusBadRequest, "invalid_certificate_number"},
		{"registration of another district", f.changning, map[string]any{"registrationNumber": number, "campusId": changningCampus, "categoryCode": category},
			http.StatusForbidden, "out_of_scope"},
		{"street officer", f.street, map[string]any{"registrationNumber": number, "campusId": xuhuiCampus, "categoryCode": category},
			http.StatusForbidden, "no_permission"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f.apply(t, c.client, c.body).Expect(t, c.status, c.code)
		})
	}
	if n := f.env.Count(t, `SELECT count(*) FROM application WHERE registration_number = $1`, number); n != 0 {
		t.Errorf("applications of %s = %d after rejected requests, want 0", number, n)
	}
	if n := f.env.Count(t, `SELECT count(*) FROM registration WHERE registration_number = $1 AND status = 'verified'`, number); n != 0 {
		t.Error("a rejected request marked the registration verified")
	}
}

func TestApplyCompletesMissingPhone(t *testing.T) {
	f := newFixture(t)
	subject := backofficetest.Subject(5)
	number := f.register(t, 5)
	category := f.env.ApplicationRequest(t, subject, number, xuhui).CategoryCode
	campus := f.options(t, f.city, xuhui).Campuses[0].ID

	// Take the phone out of the sealed guardians, as for a family that
	// registered without one.
	var sealed []byte
	if err := f.env.DB.DB.Get(&sealed, `SELECT guardians FROM registration WHERE registration_number = $1`, number); err != nil {
		t.Fatal(err)
	}
	var guardians []map[string]any
	if err := json.Unmarshal([]byte(f.env.Open(t, sealed, enrol.ContextGuardians)), &guardians); err != nil {
		t.Fatal(err)
	}
	guardians[0]["phone"] = ""
	plain, _ := json.Marshal(guardians)
	if _, err := f.env.DB.DB.Exec(`UPDATE registration SET guardians = $2 WHERE registration_number = $1`,
		number, f.env.Keyring.Seal(plain, enrol.ContextGuardians)); err != nil {
		t.Fatal(err)
	}

	f.apply(t, f.city, map[string]any{"registrationNumber": number, "campusId": campus, "categoryCode": category}).
		Expect(t, http.StatusBadRequest, "guardian_phone_required")
	answer := f.apply(t, f.city, map[string]any{"registrationNumber": number, "campusId": campus, "categoryCode": category,
		"guardianPhone": "139 0013 9000"})
	answer.Expect(t, http.StatusCreated, "")
	var result supplement.ApplyResult
	answer.Decode(t, &result)

	if err := f.env.DB.DB.Get(&sealed, `SELECT guardians FROM registration WHERE registration_number = $1`, number); err != nil {
		t.Fatal(err)
	}
	completed := f.env.Open(t, sealed, enrol.ContextGuardians)
	if !strings.Contains(completed, `"phone":"13900139000"`) || !strings.Contains(completed, `"name":"李芳"`) {
		t.Errorf("guardians after completion = %s, want the new phone and the other fields kept", completed)
	}
	var phone []byte
	if err := f.env.DB.DB.Get(&phone, `SELECT phone FROM sms_outbox WHERE record_number = $1`, result.ApplicationNumber); err != nil {
		t.Fatal(err)
	}
	if got := f.env.Open(t, phone, sms.ContextPhone); got != "13900139000" {
		t.Errorf("SMS phone = %s, want the completed 13900139000", got)
	}
}

func TestOptionsChecksDistrict(t *testing.T) {
	f := newFixture(t)
	year := strconv.Itoa(f.env.Year.Year)
	f.xuhui.Get(t, "/api/v1/supplementary/options?year="+year+"&district="+changning).Expect(t, http.StatusForbidden, "out_of_scope")
	f.city.Get(t, "/api/v1/supplementary/options?year="+year).Expect(t, http.StatusBadRequest, "district_required")
	f.xuhui.Get(t, "/api/v1/supplementary/options?year=26").Expect(t, http.StatusBadRequest, "invalid_year")
	f.city.Get(t, "/api/v1/supplementary/options?year="+year+"&district=999999").Expect(t, http.StatusBadRequest, "unknown_district")
	own := f.xuhui.Get(t, "/api/v1/supplementary/options?year="+year)
	own.Expect(t, http.StatusOK, "")
	var body supplement.OptionsBody
	own.Decode(t, &body)
	if body.District != xuhui || len(body.Campuses) == 0 {
		t.Errorf("own options = district %s with %d campuses, want Xuhui's", body.District, len(body.Campuses))
	}
}

// applyFor makes a supplementary application for registration number with
// the first campus of Xuhui and returns the response.
func (f *fixture) applyFor(t *testing.T, subject, number string) audittest.Response {
	t.Helper()
	options := f.options(t, f.xuhui, xuhui)
	category := f.env.ApplicationRequest(t, subject, number, xuhui).CategoryCode
	return f.apply(t, f.xuhui, map[string]any{
		"registrationNumber": number, "campusId": options.Campuses[0].ID, "categoryCode": category,
	})
}

// claimKey returns the Redis key of the child's application claim.
func (f *fixture) claimKey(t *testing.T, number string) string {
	t.Helper()
	var registration struct {
		Year       int    `db:"enrolment_year"`
		ChildIndex []byte `db:"child_index"`
	}
	if err := f.env.DB.DB.Get(&registration, `SELECT enrolment_year, child_index FROM registration WHERE registration_number = $1`, number); err != nil {
		t.Fatal(err)
	}
	return f.env.Keys.ApplicationClaim(registration.Year, registration.ChildIndex)
}

func TestApplyWaitsForParentsClaim(t *testing.T) {
	f := newFixture(t)
	subject := backofficetest.Subject(6)
	number := f.register(t, 6)
	claim := f.claimKey(t, number)

	// The edge accepted the parent's application, which the drain has not
	// stored yet.
	parentNumber := enrol.FormatApplicationNumber(f.env.Year.Year, xuhui, 987654)
	parentClaim := parentNumber + "|00ff|" + xuhui
	if err := f.env.Do(f.env.Redis.Client.B().Set().Key(claim).Value(parentClaim).Build()).Error(); err != nil {
		t.Fatal(err)
	}
	answer := f.applyFor(t, subject, number)
	answer.Expect(t, http.StatusConflict, "application_pending")
	conflict := answer.Error(t)
	if !strings.Contains(conflict.Message, "刚刚提交了报名") || !strings.Contains(conflict.Message, parentNumber) {
		t.Errorf("message = %q, want the parent's pending application %s", conflict.Message, parentNumber)
	}
	if n := f.env.Count(t, `SELECT count(*) FROM application WHERE registration_number = $1`, number); n != 0 {
		t.Errorf("applications stored = %d, want 0", n)
	}
	if value, _ := f.env.Do(f.env.Redis.Client.B().Get().Key(claim).Build()).ToString(); value != parentClaim {
		t.Errorf("claim = %q, want the parent's %q kept", value, parentClaim)
	}

	// Once the claim names an application that was returned, the claim is
	// stale, and the supplementary application replaces it.
	if err := f.env.Do(f.env.Redis.Client.B().Del().Key(claim).Build()).Error(); err != nil {
		t.Fatal(err)
	}
	first := f.applyFor(t, subject, number)
	first.Expect(t, http.StatusCreated, "")
	var firstResult supplement.ApplyResult
	first.Decode(t, &firstResult)
	if _, err := f.env.DB.DB.Exec(`UPDATE application SET status = 'returned' WHERE application_number = $1`, firstResult.ApplicationNumber); err != nil {
		t.Fatal(err)
	}
	second := f.applyFor(t, subject, number)
	second.Expect(t, http.StatusCreated, "")
	var secondResult supplement.ApplyResult
	second.Decode(t, &secondResult)
	if !secondResult.ParentStatusSynced {
		t.Error("parentStatusSynced = false after replacing a stale claim, want true")
	}
	value, err := f.env.Do(f.env.Redis.Client.B().Get().Key(claim).Build()).ToString()
	if err != nil || !strings.HasPrefix(value, secondResult.ApplicationNumber+"|") {
		t.Errorf("claim = %q (%v), want it to name %s", value, err, secondResult.ApplicationNumber)
	}
}

func TestApplyConflictNamesStatus(t *testing.T) {
	f := newFixture(t)
	subject := backofficetest.Subject(7)
	number := f.register(t, 7)
	created := f.applyFor(t, subject, number)
	created.Expect(t, http.StatusCreated, "")
	var result supplement.ApplyResult
	created.Decode(t, &result)

	tests := []struct {
		status         string
		mentions       string
		suggestsReturn bool
	}{
		{enrol.StatusDocumentsVerified, "验证通过", true},
		{enrol.StatusRecorded, "已入库", true},
		{enrol.StatusAdmitted, "已被徐汇区录取", false},
		{enrol.StatusNotAdmitted, "未录取", false},
	}
	for _, test := range tests {
		t.Run(test.status, func(t *testing.T) {
			if _, err := f.env.DB.DB.Exec(`UPDATE application SET status = $2 WHERE application_number = $1`, result.ApplicationNumber, test.status); err != nil {
				t.Fatal(err)
			}
			answer := f.applyFor(t, subject, number)
			answer.Expect(t, http.StatusConflict, "already_applied")
			conflict := answer.Error(t)
			if !strings.Contains(conflict.Message, result.ApplicationNumber) || !strings.Contains(conflict.Message, test.mentions) {
				t.Errorf("message = %q, want the number %s and %q", conflict.Message, result.ApplicationNumber, test.mentions)
			}
			if suggests := strings.Contains(conflict.Message, "退回该报名"); suggests != test.suggestsReturn {
				t.Errorf("message = %q suggests returning: %v, want %v", conflict.Message, suggests, test.suggestsReturn)
			}

			lookup := f.xuhui.Send(t, http.MethodPost, "/api/v1/supplementary/lookup", map[string]any{"registrationNumber": number})
			var found supplement.LookupResult
			lookup.Decode(t, &found)
			if found.LiveApplication == nil || found.LiveApplication.Message != conflict.Message {
				t.Errorf("lookup's live application = %+v, want the message %q", found.LiveApplication, conflict.Message)
			}
		})
	}
}
