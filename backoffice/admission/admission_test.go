package admission_test

import (
	"context"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/redis/rueidis"

	"github.com/sh-preschool/preschool/backoffice/access"
	"github.com/sh-preschool/preschool/backoffice/admission"
	"github.com/sh-preschool/preschool/backoffice/audit"
	"github.com/sh-preschool/preschool/backoffice/audit/audittest"
	"github.com/sh-preschool/preschool/backoffice/backofficetest"
	"github.com/sh-preschool/preschool/backoffice/enrolment"
	"github.com/sh-preschool/preschool/backoffice/publish"
	"github.com/sh-preschool/preschool/backoffice/sms"
	"github.com/sh-preschool/preschool/edge/catalogue"
	"github.com/sh-preschool/preschool/edge/precheck"
	"github.com/sh-preschool/preschool/shared/apierror"
	enrol "github.com/sh-preschool/preschool/shared/enrolment"
)

const (
	xuhui     = backofficetest.Xuhui
	changning = backofficetest.Changning
)

// fixture is a seeded environment with a running drainer and the
// admission API served to staff of several scopes.
type fixture struct {
	env          *backofficetest.Env
	server       *audittest.Server
	city         *audittest.Client
	xuhui        *audittest.Client
	changning    *audittest.Client
	kindergarten *audittest.Client
}

func newFixture(t testing.TB) *fixture {
	t.Helper()
	env := backofficetest.New(t)
	backofficetest.Start(t, env.Drainer(backofficetest.DrainConfig("admission-test")))
	districtName := func(code string) (string, bool) {
		name, ok := map[string]string{xuhui: "徐汇区", changning: "长宁区"}[code]
		return name, ok
	}
	server := audittest.NewServer(t, env.DB.DB, env.Redis, func(r chi.Router, trail *audit.Trail) {
		(&admission.Handlers{
			DB: env.DB.DB, Redis: env.Redis.Client, Keys: env.Keys, Keyring: env.Keyring, Trail: trail,
			DistrictName: districtName, Now: time.Now,
			Publisher: &publish.Publisher{DB: env.DB.DB, Redis: env.Redis.Client, Keys: env.Keys, Now: time.Now},
		}).Routes(r)
	})
	var kindergartenID int64
	if err := env.DB.DB.Get(&kindergartenID, `SELECT id FROM kindergarten WHERE district_code = $1 ORDER BY id LIMIT 1`, xuhui); err != nil {
		t.Fatalf("a Xuhui kindergarten: %v", err)
	}
	return &fixture{
		env:          env,
		server:       server,
		city:         server.SignIn(t, "city_admin", access.Scope{Level: access.LevelCity}),
		xuhui:        server.SignIn(t, "district_admin", access.Scope{Level: access.LevelDistrict, DistrictCode: xuhui}),
		changning:    server.SignIn(t, "district_admin", access.Scope{Level: access.LevelDistrict, DistrictCode: changning}),
		kindergarten: server.SignIn(t, "kindergarten_admin", access.Scope{Level: access.LevelKindergarten, KindergartenID: kindergartenID}),
	}
}

// applicant is one child of the scenario: how it registers and which of
// the matched campuses (by index) it chooses, in order.
type applicant struct {
	child   int
	request func(env *backofficetest.Env, t *testing.T) *precheck.RegistrationRequest
	choices []int
}

// apply registers the child and applies in Xuhui with the chosen campuses
// among those matched to the child's address, and returns the application
// number.
func (f *fixture) apply(t *testing.T, a applicant, matched []int64) string {
	t.Helper()
	subject := backofficetest.Subject(a.child)
	registration := f.env.Register(t, subject, a.request(f.env, t))
	f.env.WaitForRows(t, time.Minute, 1, `SELECT count(*) FROM registration WHERE registration_number = $1`, registration)
	request := f.env.ApplicationRequest(t, subject, registration, xuhui)
	request.CampusChoices = nil
	for _, index := range a.choices {
		request.CampusChoices = append(request.CampusChoices, matched[index])
	}
	number := f.env.SubmitApplication(t, subject, request)
	f.env.WaitForRows(t, time.Minute, 1, `SELECT count(*) FROM application WHERE application_number = $1`, number)
	return number
}

// matchedCampuses returns the campuses matched to Xuhui's test address.
func (f *fixture) matchedCampuses(t *testing.T) []int64 {
	t.Helper()
	subject := backofficetest.Subject(99)
	registration := f.env.Register(t, subject, f.env.ShanghaiChild(t, 99, xuhui, xuhui))
	facts, err := f.env.Service.RegistrationFacts(context.Background(), f.env.Service.OwnerIndex(subject), registration)
	if err != nil {
		t.Fatalf("registration facts: %v", err)
	}
	options, err := precheck.ApplicationOptions(facts, xuhui, f.env.Catalogue, time.Now())
	if err != nil {
		t.Fatalf("application options: %v", err)
	}
	if len(options.Campuses) < 2 {
		t.Fatalf("Xuhui's test address matches %d campuses, want at least 2", len(options.Campuses))
	}
	return options.Campuses
}

func (f *fixture) exec(t testing.TB, query string, args ...any) {
	t.Helper()
	if _, err := f.env.DB.DB.Exec(query, args...); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
}

// closeApplication ends the year's application window a minute ago.
func (f *fixture) closeApplication(t testing.TB) {
	t.Helper()
	f.exec(t, `UPDATE entry SET opens_at = NULL, closes_at = NULL WHERE enrolment_year = $1`, f.env.Year.Year)
	f.exec(t, `UPDATE enrolment_year SET application_opens_at = LEAST(application_opens_at, now() - interval '2 hours'),
		application_closes_at = now() - interval '1 minute' WHERE year = $1`, f.env.Year.Year)
}

func local(i int) func(env *backofficetest.Env, t *testing.T) *precheck.RegistrationRequest {
	return func(env *backofficetest.Env, t *testing.T) *precheck.RegistrationRequest {
		return env.ShanghaiChild(t, i, xuhui, xuhui)
	}
}

func TestAdmissionProposalAndConfirmation(t *testing.T) {
	f := newFixture(t)
	year := f.env.Year.Year
	matched := f.matchedCampuses(t)
	campusA, campusB := matched[0], matched[1]

	// Children register in this order, so registration time alone would
	// favour the Changning hukou and the other-province child.
	applicants := []applicant{
		{child: 3, request: func(env *backofficetest.Env, t *testing.T) *precheck.RegistrationRequest {
			return env.OtherProvinceChild(t, 3, xuhui)
		}, choices: []int{0, 1}},
		{child: 1, request: func(env *backofficetest.Env, t *testing.T) *precheck.RegistrationRequest {
			return env.ShanghaiChild(t, 1, changning, xuhui)
		}, choices: []int{0}},
		{child: 2, request: local(2), choices: []int{0, 1}},
		{child: 0, request: local(0), choices: []int{0, 1}},
		{child: 4, request: local(4), choices: []int{1}},
		{child: 5, request: local(5), choices: []int{0}},
	}
	numbers := map[int]string{}
	for _, a := range applicants {
		numbers[a.child] = f.apply(t, a, matched)
	}
	category := func(child int) string {
		var code string
		if err := f.env.DB.DB.Get(&code, `SELECT category_code FROM application WHERE application_number = $1`, numbers[child]); err != nil {
			t.Fatal(err)
		}
		return code
	}

	propose := func(client *audittest.Client) audittest.Response {
		return client.Send(t, http.MethodPost, "/api/v1/admission/proposal", map[string]any{"districtCode": xuhui, "year": year})
	}
	propose(f.xuhui).Expect(t, http.StatusConflict, "application_window_open")
	f.closeApplication(t)

	f.exec(t, `DELETE FROM seat_plan p USING campus c WHERE c.id = p.campus_id AND c.district_code = $1 AND p.enrolment_year = $2 AND p.grade = 'junior'`,
		xuhui, year)
	propose(f.xuhui).Expect(t, http.StatusConflict, "seat_plan_missing")
	f.exec(t, `INSERT INTO seat_plan (campus_id, enrolment_year, grade, seats) VALUES ($1, $3, 'junior', 2), ($2, $3, 'junior', 1)`,
		campusA, campusB, year)
	f.xuhui.Send(t, http.MethodPost, "/api/v1/admission/proposal/confirm", map[string]any{"year": year}).
		Expect(t, http.StatusConflict, "admission_proposal_missing")

	// The rules put local categories first, then hukou in the district,
	// then the choice order.
	var rulesBody admission.RulesBody
	f.xuhui.Get(t, "/api/v1/admission/rules?year="+strconv.Itoa(year)).Decode(t, &rulesBody)
	if rulesBody.Rule.Saved || len(rulesBody.Rule.CategoryOrder) == 0 || len(rulesBody.Options.Criteria) != 5 {
		t.Fatalf("default rules = %+v, want unsaved rules with every entry and five criteria", rulesBody)
	}
	order := uniqueInOrder(append([]string{category(0), category(1), category(3)}, rulesBody.Rule.CategoryOrder...))
	rules := map[string]any{
		"districtCode": xuhui, "year": year, "categoryOrder": order,
		"priorityCriteria":     []string{admission.CriterionCategory, admission.CriterionHukouInDistrict, admission.CriterionChoiceOrder},
		"verifiedCertificates": []string{"household_register"}, "requireDocumentsVerified": false, "seatGrade": "junior",
	}
	invalid := []struct {
		change map[string]any
		code   string
	}{
		{map[string]any{"categoryOrder": []string{}}, "categories_required"},
		{map[string]any{"categoryOrder": []string{"no_such_category"}}, "category_without_entry"},
		{map[string]any{"priorityCriteria": []string{"lottery"}}, "unknown_criterion"},
		{map[string]any{"seatGrade": "grade9"}, "invalid_seat_grade"},
		{map[string]any{"verifiedCertificates": []string{"no_such_certificate"}}, "unknown_certificate"},
		{map[string]any{"requireDocumentsVerified": true, "verifiedCertificates": []string{}}, "verified_certificates_required"},
	}
	for _, tc := range invalid {
		body := map[string]any{}
		for key, value := range rules {
			body[key] = value
		}
		for key, value := range tc.change {
			body[key] = value
		}
		f.xuhui.Send(t, http.MethodPut, "/api/v1/admission/rules", body).Expect(t, http.StatusBadRequest, tc.code)
	}
	f.changning.Send(t, http.MethodPut, "/api/v1/admission/rules", rules).Expect(t, http.StatusForbidden, "out_of_scope")
	f.xuhui.Send(t, http.MethodPut, "/api/v1/admission/rules", rules).Expect(t, http.StatusOK, "")

	// Verified applications take part like recorded ones.
	for _, child := range []int{0, 1, 2, 3, 4} {
		f.exec(t, `UPDATE application SET status = 'documents_verified' WHERE application_number = $1`, numbers[child])
	}

	// Bad parameters get a Chinese message and a stable code.
	f.city.Get(t, "/api/v1/admission/rules").Expect(t, http.StatusBadRequest, "missing_district")
	f.xuhui.Get(t, "/api/v1/admission/rules?year=abc").Expect(t, http.StatusBadRequest, "invalid_year")
	f.xuhui.Get(t, "/api/v1/admission/rules?year=2099").Expect(t, http.StatusNotFound, "enrolment_year_not_found")
	f.xuhui.Get(t, "/api/v1/admission/proposal?outcome=maybe").Expect(t, http.StatusBadRequest, "invalid_outcome")
	f.xuhui.Get(t, "/api/v1/admission/proposal?campus=-1").Expect(t, http.StatusBadRequest, "invalid_campus")
	f.xuhui.Send(t, http.MethodPost, "/api/v1/admission/proposal", map[string]any{"districtCode": "999999"}).
		Expect(t, http.StatusForbidden, "out_of_scope")

	// Staff outside Xuhui see and change nothing of it.
	propose(f.changning).Expect(t, http.StatusForbidden, "out_of_scope")
	f.changning.Get(t, "/api/v1/admission/proposal?district="+xuhui).Expect(t, http.StatusForbidden, "out_of_scope")
	f.kindergarten.Get(t, "/api/v1/admission/proposal?district="+xuhui).Expect(t, http.StatusForbidden, "out_of_scope")
	f.kindergarten.Send(t, http.MethodPost, "/api/v1/admission/proposal", map[string]any{"districtCode": xuhui}).
		Expect(t, http.StatusForbidden, "no_permission")

	response := propose(f.xuhui)
	if response.Status != http.StatusOK {
		t.Fatalf("proposal: HTTP %d %s", response.Status, response.Body)
	}
	var summary admission.ProposalSummary
	response.Decode(t, &summary)
	if summary.Applications != 6 || summary.Admitted != 3 || summary.NotAdmitted != 3 || summary.Seats != 3 {
		t.Errorf("proposal summary = %+v, want 6 applications, 3 admitted, 3 not admitted, 3 seats", summary)
	}

	// Each row: the child, the campus (0 when not admitted), the rank there
	// and a part of the reason.
	want := []struct {
		child      int
		campus     int64
		choiceRank int
		campusRank int
		reason     string
	}{
		// 2 and 0 share category and hukou, and 2 registered first.
		{child: 2, campus: campusA, choiceRank: 1, campusRank: 1, reason: "第1志愿录取"},
		{child: 0, campus: campusA, choiceRank: 1, campusRank: 2, reason: "第1志愿录取"},
		// 3 lost A to the local children and B to 4, a local first choice.
		{child: 4, campus: campusB, choiceRank: 1, campusRank: 1, reason: "第1志愿录取"},
		{child: 1, reason: "所填志愿均已录满"},
		{child: 3, reason: "所填志愿均已录满"},
		// 5 shares category and hukou with 2 and 0 and registered last.
		{child: 5, reason: "所填志愿均已录满"},
	}
	var view admission.ProposalView
	f.xuhui.Get(t, "/api/v1/admission/proposal?size=100").Decode(t, &view)
	if view.Round == nil || view.Round.Status != "proposed" {
		t.Fatalf("round = %+v, want proposed", view.Round)
	}
	items := map[string]admission.ProposalItem{}
	for _, item := range view.Items {
		items[item.ApplicationNumber] = item
	}
	for _, w := range want {
		item, ok := items[numbers[w.child]]
		if !ok {
			t.Errorf("child %d (%s) missing from the proposal", w.child, numbers[w.child])
			continue
		}
		wantOutcome := enrol.StatusNotAdmitted
		if w.campus != 0 {
			wantOutcome = enrol.StatusAdmitted
		}
		if item.Outcome != wantOutcome {
			t.Errorf("child %d outcome = %s, want %s (%s)", w.child, item.Outcome, wantOutcome, item.Reason)
		}
		if w.campus != 0 && (item.CampusRank == nil || *item.CampusRank != w.campusRank || *item.ChoiceRank != w.choiceRank) {
			t.Errorf("child %d ranks = %v/%v, want choice %d, campus rank %d", w.child, item.ChoiceRank, item.CampusRank, w.choiceRank, w.campusRank)
		}
		if !strings.Contains(item.Reason, w.reason) {
			t.Errorf("child %d reason = %q, want it to contain %q", w.child, item.Reason, w.reason)
		}
		if !strings.Contains(item.PriorityNote, "登记时间") {
			t.Errorf("child %d priority note = %q, want the registration time", w.child, item.PriorityNote)
		}
		if strings.Contains(item.ChildName, backofficetest.ChildName(w.child)) {
			t.Errorf("child %d name %q is not masked", w.child, item.ChildName)
		}
	}
	campuses := map[int64]admission.CampusSummary{}
	for _, campus := range view.Campuses {
		campuses[campus.ID] = campus
	}
	if campuses[campusA].Seats != 2 || campuses[campusA].Admitted != 2 || campuses[campusB].Seats != 1 || campuses[campusB].Admitted != 1 {
		t.Errorf("campus summaries = %+v, want A 2/2 and B 1/1", view.Campuses)
	}

	var cityView admission.ProposalView
	f.city.Get(t, "/api/v1/admission/proposal?size=100&district="+xuhui).Decode(t, &cityView)
	if cityView.Total != 6 {
		t.Errorf("the city sees %d of Xuhui's proposed applications, want 6", cityView.Total)
	}

	var campusView admission.ProposalView
	f.xuhui.Get(t, "/api/v1/admission/proposal?campus="+strconv.FormatInt(campusA, 10)).Decode(t, &campusView)
	if len(campusView.Items) != 2 || campusView.Items[0].ApplicationNumber != numbers[2] || campusView.Items[1].ApplicationNumber != numbers[0] {
		t.Errorf("campus A list = %+v, want children 2 then 0", campusView.Items)
	}
	var notAdmitted admission.ProposalView
	f.xuhui.Get(t, "/api/v1/admission/proposal?outcome=not_admitted").Decode(t, &notAdmitted)
	if notAdmitted.Total != 3 {
		t.Errorf("not admitted total = %d, want 3", notAdmitted.Total)
	}
	if got := f.env.Count(t, `SELECT count(*) FROM application WHERE status IN ('admitted', 'not_admitted')`); got != 0 {
		t.Errorf("%d applications admitted or not before the confirmation, want 0", got)
	}

	// The confirmation.
	f.changning.Send(t, http.MethodPost, "/api/v1/admission/proposal/confirm", map[string]any{"districtCode": xuhui}).
		Expect(t, http.StatusForbidden, "out_of_scope")
	response = f.xuhui.Send(t, http.MethodPost, "/api/v1/admission/proposal/confirm", map[string]any{"year": year})
	if response.Status != http.StatusOK {
		t.Fatalf("confirmation: HTTP %d %s", response.Status, response.Body)
	}
	var confirmed admission.ConfirmSummary
	response.Decode(t, &confirmed)
	if confirmed.Admitted != 3 || confirmed.NotAdmitted != 3 || confirmed.SMSQueued != 6 || !confirmed.ParentStatusSynced {
		t.Errorf("confirmation = %+v, want 3 admitted, 3 not, 6 SMS queued and parents synced", confirmed)
	}
	for _, w := range want {
		wantStatus := enrol.StatusNotAdmitted
		event := sms.EventAdmissionNotAdmitted
		if w.campus != 0 {
			wantStatus, event = enrol.StatusAdmitted, sms.EventAdmissionAdmitted
		}
		number := numbers[w.child]
		var status string
		if err := f.env.DB.DB.Get(&status, `SELECT status FROM application WHERE application_number = $1`, number); err != nil {
			t.Fatal(err)
		}
		if status != wantStatus {
			t.Errorf("child %d status = %s, want %s", w.child, status, wantStatus)
		}
		if receipt := f.env.Receipt(t, number); receipt[enrol.FieldStatus] != wantStatus {
			t.Errorf("child %d receipt status = %q, want %s", w.child, receipt[enrol.FieldStatus], wantStatus)
		}
		var sealed []byte
		if err := f.env.DB.DB.Get(&sealed, `SELECT body FROM sms_outbox WHERE record_number = $1 AND event = $2`, number, event); err != nil {
			t.Errorf("child %d: no %s message in the outbox: %v", w.child, event, err)
			continue
		}
		body := f.env.Open(t, sealed, sms.ContextBody)
		if !strings.Contains(body, backofficetest.ChildName(w.child)) || !strings.Contains(body, number) {
			t.Errorf("child %d SMS = %q, want the name and application number", w.child, body)
		}
		if w.campus != 0 && !strings.Contains(body, "录取") {
			t.Errorf("child %d SMS = %q, want the admission", w.child, body)
		}
		if w.campus == 0 && !strings.Contains(body, w.reason) {
			t.Errorf("child %d SMS = %q, want the reason %q", w.child, body, w.reason)
		}
	}
	for action, wantCount := range map[string]int{admission.ActionRulesUpdate: 1, admission.ActionPropose: 1, admission.ActionConfirm: 1} {
		got := f.env.Count(t, `SELECT count(*) FROM audit_event WHERE action = $1 AND district_code = $2 AND outcome = 'success'`, action, xuhui)
		if got != wantCount {
			t.Errorf("audit events %s = %d, want %d", action, got, wantCount)
		}
	}

	// A confirmed list is final.
	f.xuhui.Send(t, http.MethodPost, "/api/v1/admission/proposal/confirm", map[string]any{}).Expect(t, http.StatusConflict, "admission_confirmed")
	propose(f.xuhui).Expect(t, http.StatusConflict, "admission_confirmed")
	f.xuhui.Send(t, http.MethodPut, "/api/v1/admission/rules", rules).Expect(t, http.StatusConflict, "admission_confirmed")
	if got := f.env.Count(t, `SELECT count(*) FROM sms_outbox WHERE event IN ('admission_admitted', 'admission_not_admitted')`); got != 6 {
		t.Errorf("admission messages after repeated requests = %d, want 6", got)
	}
}

func TestAdmissionStaleProposal(t *testing.T) {
	f := newFixture(t)
	matched := f.matchedCampuses(t)
	returned := f.apply(t, applicant{child: 1, request: local(1), choices: []int{0}}, matched)
	f.apply(t, applicant{child: 2, request: local(2), choices: []int{0}}, matched)
	f.closeApplication(t)

	f.xuhui.Send(t, http.MethodPost, "/api/v1/admission/proposal", map[string]any{}).Expect(t, http.StatusOK, "")

	// Reopening the window after the proposal blocks the confirmation.
	f.exec(t, `UPDATE enrolment_year SET application_closes_at = now() + interval '1 hour' WHERE year = $1`, f.env.Year.Year)
	reopened := f.xuhui.Send(t, http.MethodPost, "/api/v1/admission/proposal/confirm", map[string]any{})
	reopened.Expect(t, http.StatusConflict, "application_window_open")
	if message := reopened.Error(t).Message; !strings.Contains(message, "重新生成拟录取名单") {
		t.Errorf("confirmation while a window is open: message %q, want it to ask for a new proposal", message)
	}
	f.closeApplication(t)

	f.exec(t, `UPDATE application SET status = 'returned' WHERE application_number = $1`, returned)
	f.xuhui.Send(t, http.MethodPost, "/api/v1/admission/proposal/confirm", map[string]any{}).
		Expect(t, http.StatusConflict, "admission_proposal_stale")
	if got := f.env.Count(t, `SELECT count(*) FROM application WHERE status IN ('admitted', 'not_admitted')`); got != 0 {
		t.Errorf("%d applications changed by a rejected confirmation, want 0", got)
	}

	// A new proposal leaves out the returned application and confirms.
	f.xuhui.Send(t, http.MethodPost, "/api/v1/admission/proposal", map[string]any{}).Expect(t, http.StatusOK, "")
	f.xuhui.Send(t, http.MethodPost, "/api/v1/admission/proposal/confirm", map[string]any{}).Expect(t, http.StatusOK, "")
	if got := f.env.Count(t, `SELECT count(*) FROM application WHERE status = 'admitted'`); got != 1 {
		t.Errorf("admitted after the second proposal = %d, want 1", got)
	}
}

func TestAdmissionVerifiedOnly(t *testing.T) {
	f := newFixture(t)
	year := f.env.Year.Year
	matched := f.matchedCampuses(t)
	verified := f.apply(t, applicant{child: 1, request: local(1), choices: []int{0}}, matched)
	unverified := f.apply(t, applicant{child: 2, request: local(2), choices: []int{0}}, matched)
	f.closeApplication(t)

	var rulesBody admission.RulesBody
	f.xuhui.Get(t, "/api/v1/admission/rules").Decode(t, &rulesBody)
	rules := map[string]any{
		"year": year, "categoryOrder": rulesBody.Rule.CategoryOrder, "priorityCriteria": rulesBody.Rule.PriorityCriteria,
		"verifiedCertificates": []string{"birth_certificate"}, "requireDocumentsVerified": true, "seatGrade": "junior",
	}
	f.xuhui.Send(t, http.MethodPut, "/api/v1/admission/rules", rules).Expect(t, http.StatusOK, "")

	// A reviewer verified one application: its status and the check of
	// the listed certificate, as the review step writes them.
	f.exec(t, `UPDATE application SET status = 'documents_verified', review_version = 2 WHERE application_number = $1`, verified)
	f.exec(t, `INSERT INTO application_certificate_check (application_number, certificate_code, verified, certificate_digest,
		checked_by, checked_by_name) VALUES ($1, 'birth_certificate', true, '\x00', 1, 'reviewer')`, verified)

	var summary admission.ProposalSummary
	f.xuhui.Send(t, http.MethodPost, "/api/v1/admission/proposal", map[string]any{}).Decode(t, &summary)
	if summary.Admitted != 1 || summary.NotVerified != 1 {
		t.Fatalf("proposal = %+v, want 1 admitted and 1 left out as not verified", summary)
	}
	var view admission.ProposalView
	f.xuhui.Get(t, "/api/v1/admission/proposal").Decode(t, &view)
	if view.NotVerified != 1 {
		t.Errorf("proposal view counts %d not verified, want 1", view.NotVerified)
	}
	outcomes := map[string]admission.ProposalItem{}
	for _, item := range view.Items {
		outcomes[item.ApplicationNumber] = item
	}
	if outcomes[verified].Outcome != enrol.StatusAdmitted {
		t.Errorf("verified application's outcome = %+v, want admitted", outcomes[verified])
	}
	if item := outcomes[unverified]; item.Outcome != enrol.StatusNotAdmitted || !strings.Contains(item.Reason, "验证通过") {
		t.Errorf("unverified application's outcome = %+v, want not admitted as not verified", item)
	}

	// A verification after the proposal makes it stale.
	f.exec(t, `UPDATE application SET status = 'documents_verified', review_version = review_version + 2 WHERE application_number = $1`, unverified)
	f.xuhui.Send(t, http.MethodPost, "/api/v1/admission/proposal/confirm", map[string]any{}).
		Expect(t, http.StatusConflict, "admission_proposal_stale")

	// Rules that list one more certificate leave out an application
	// verified without it.
	f.exec(t, `UPDATE application SET status = 'recorded' WHERE application_number = $1`, unverified)
	rules["verifiedCertificates"] = []string{"birth_certificate", "household_register"}
	f.xuhui.Send(t, http.MethodPut, "/api/v1/admission/rules", rules).Expect(t, http.StatusOK, "")
	f.xuhui.Send(t, http.MethodPost, "/api/v1/admission/proposal", map[string]any{}).Decode(t, &summary)
	if summary.Admitted != 0 || summary.NotVerified != 2 {
		t.Errorf("proposal under the longer list = %+v, want none admitted and 2 not verified", summary)
	}

	// The proposal confirms when nothing changed.
	f.xuhui.Send(t, http.MethodPost, "/api/v1/admission/proposal/confirm", map[string]any{}).Expect(t, http.StatusOK, "")
}

func TestAdmissionLockDefersDrainedApplications(t *testing.T) {
	f := newFixture(t)
	subject := backofficetest.Subject(7)
	registration := f.env.Register(t, subject, f.env.ShanghaiChild(t, 7, xuhui, xuhui))
	f.env.WaitForRows(t, time.Minute, 1, `SELECT count(*) FROM registration WHERE registration_number = $1`, registration)

	// The test holds the district's admission lock as a confirmation does
	// from its check of the proposal to its commit.
	confirmation, err := f.env.DB.DB.Beginx()
	if err != nil {
		t.Fatal(err)
	}
	defer confirmation.Rollback()
	_, err = confirmation.Exec(`SELECT pg_advisory_xact_lock($1, hashtext($2))`,
		enrolment.AdmissionLockClass, enrolment.AdmissionLockKey(f.env.Year.Year, xuhui))
	if err != nil {
		t.Fatal(err)
	}

	// The drainer reads the application and waits for the lock instead of
	// storing it.
	number := f.env.Apply(t, subject, registration, xuhui)
	deadline := time.Now().Add(time.Minute)
	for waiting := 0; waiting == 0; {
		if time.Now().After(deadline) {
			t.Fatalf("the drainer did not wait for the admission lock within a minute")
		}
		if stored := f.env.Count(t, `SELECT count(*) FROM application WHERE application_number = $1`, number); stored != 0 {
			t.Fatalf("application %s stored while the admission lock was held", number)
		}
		waiting = f.env.Count(t, `SELECT count(*) FROM pg_stat_activity
			WHERE datname = current_database() AND wait_event_type = 'Lock' AND wait_event = 'advisory'`)
		time.Sleep(20 * time.Millisecond)
	}
	if err := confirmation.Commit(); err != nil {
		t.Fatal(err)
	}
	f.env.WaitForRows(t, time.Minute, 1, `SELECT count(*) FROM application WHERE application_number = $1`, number)
}

func TestAdmissionConfirmOutdatedProposal(t *testing.T) {
	f := newFixture(t)
	year := f.env.Year.Year
	matched := f.matchedCampuses(t)
	first := f.apply(t, applicant{child: 1, request: local(1), choices: []int{0}}, matched)
	late := f.apply(t, applicant{child: 2, request: local(2), choices: []int{0}}, matched)
	f.closeApplication(t)
	propose := func() {
		t.Helper()
		f.xuhui.Send(t, http.MethodPost, "/api/v1/admission/proposal", map[string]any{}).Expect(t, http.StatusOK, "")
	}
	expectStale := func(change string) {
		t.Helper()
		response := f.xuhui.Send(t, http.MethodPost, "/api/v1/admission/proposal/confirm", map[string]any{})
		response.Expect(t, http.StatusConflict, "admission_proposal_stale")
		if message := response.Error(t).Message; !strings.Contains(message, change) || !strings.Contains(message, "重新生成") {
			t.Errorf("stale proposal message %q, want %q and a request to regenerate", message, change)
		}
		if got := f.env.Count(t, `SELECT count(*) FROM application WHERE status IN ('admitted', 'not_admitted')`); got != 0 {
			t.Errorf("%d applications changed by a rejected confirmation, want 0", got)
		}
	}

	// An application recorded after the proposal has no place in it. The
	// test hides it from the proposal by its status, as a drain that
	// lands after the proposal would.
	f.exec(t, `UPDATE application SET status = 'returned' WHERE application_number = $1`, late)
	propose()
	f.exec(t, `UPDATE application SET status = 'recorded' WHERE application_number = $1`, late)
	expectStale("名单中没有这些报名")

	// Rules changed after the proposal.
	propose()
	var rulesBody admission.RulesBody
	f.xuhui.Get(t, "/api/v1/admission/rules").Decode(t, &rulesBody)
	f.xuhui.Send(t, http.MethodPut, "/api/v1/admission/rules", map[string]any{
		"categoryOrder": rulesBody.Rule.CategoryOrder, "priorityCriteria": []string{admission.CriterionChoiceOrder},
	}).Expect(t, http.StatusOK, "")
	expectStale("录取规则已修改")

	// Seats planned after the proposal.
	propose()
	f.exec(t, `UPDATE seat_plan SET seats = seats + 1 WHERE campus_id = $1 AND enrolment_year = $2 AND grade = 'junior'`,
		matched[0], year)
	expectStale("招生计划")

	// A proposal made after every change confirms.
	propose()
	f.xuhui.Send(t, http.MethodPost, "/api/v1/admission/proposal/confirm", map[string]any{}).Expect(t, http.StatusOK, "")
	if got := f.env.Count(t, `SELECT count(*) FROM application WHERE application_number IN ($1, $2) AND status = 'admitted'`,
		first, late); got != 2 {
		t.Errorf("admitted after the last proposal = %d, want both children", got)
	}
}

func TestAdmissionMoveInDateFromForms(t *testing.T) {
	f := newFixture(t)
	year := f.env.Year.Year
	matched := f.matchedCampuses(t)
	campusA := matched[0]
	// Registration order: none, fromRegistration, fromApplication.
	none := f.apply(t, applicant{child: 1, request: local(1), choices: []int{0}}, matched)
	fromRegistration := f.apply(t, applicant{child: 2, request: local(2), choices: []int{0}}, matched)
	fromApplication := f.apply(t, applicant{child: 3, request: local(3), choices: []int{0}}, matched)
	f.closeApplication(t)

	sealForm := func(date, context string) []byte {
		return f.env.Keyring.Seal([]byte(`{"extra":{"moveInDate":"`+date+`"},"certificates":[]}`), context)
	}
	f.exec(t, `UPDATE registration r SET form_values = $2 FROM application a
		WHERE a.registration_number = r.registration_number AND a.application_number = $1`,
		fromRegistration, sealForm("2018-01-01", enrol.ContextRegistrationForm))
	// The application's own form wins over the registration's later date.
	f.exec(t, `UPDATE registration r SET form_values = $2 FROM application a
		WHERE a.registration_number = r.registration_number AND a.application_number = $1`,
		fromApplication, sealForm("2020-06-01", enrol.ContextRegistrationForm))
	f.exec(t, `UPDATE application SET form_values = $2 WHERE application_number = $1`,
		fromApplication, sealForm("2015-03-01", enrol.ContextApplicationForm))

	f.exec(t, `DELETE FROM seat_plan p USING campus c WHERE c.id = p.campus_id AND c.district_code = $1 AND p.enrolment_year = $2 AND p.grade = 'junior'`,
		xuhui, year)
	f.exec(t, `INSERT INTO seat_plan (campus_id, enrolment_year, grade, seats) VALUES ($1, $2, 'junior', 2)`, campusA, year)
	var rulesBody admission.RulesBody
	f.xuhui.Get(t, "/api/v1/admission/rules").Decode(t, &rulesBody)
	f.xuhui.Send(t, http.MethodPut, "/api/v1/admission/rules", map[string]any{
		"categoryOrder": rulesBody.Rule.CategoryOrder, "priorityCriteria": []string{admission.CriterionResidenceDuration},
	}).Expect(t, http.StatusOK, "")
	f.xuhui.Send(t, http.MethodPost, "/api/v1/admission/proposal", map[string]any{}).Expect(t, http.StatusOK, "")

	var view admission.ProposalView
	f.xuhui.Get(t, "/api/v1/admission/proposal?size=100").Decode(t, &view)
	items := map[string]admission.ProposalItem{}
	for _, item := range view.Items {
		items[item.ApplicationNumber] = item
	}
	want := []struct {
		name, number string
		campusRank   int
		moveIn       string
	}{
		{"application form", fromApplication, 1, "入住日期：2015-03-01"},
		{"registration form", fromRegistration, 2, "入住日期：2018-01-01"},
		{"no date", none, 0, "入住日期：未填写"},
	}
	for _, w := range want {
		item, ok := items[w.number]
		if !ok {
			t.Errorf("%s: %s missing from the proposal", w.name, w.number)
			continue
		}
		if !strings.Contains(item.PriorityNote, w.moveIn) {
			t.Errorf("%s: priority note %q, want %q", w.name, item.PriorityNote, w.moveIn)
		}
		if w.campusRank == 0 {
			if item.Outcome != enrol.StatusNotAdmitted {
				t.Errorf("%s: outcome %s, want not admitted", w.name, item.Outcome)
			}
			continue
		}
		if item.CampusRank == nil {
			t.Errorf("%s: not admitted (%s), want campus rank %d", w.name, item.Reason, w.campusRank)
		} else if *item.CampusRank != w.campusRank {
			t.Errorf("%s: campus rank %d, want %d", w.name, *item.CampusRank, w.campusRank)
		}
	}
}

func TestAdmissionRulesCloseLeftOutEntries(t *testing.T) {
	f := newFixture(t)
	subject := backofficetest.Subject(7)
	registration := f.env.Register(t, subject, f.env.OtherProvinceChild(t, 7, xuhui))
	f.env.WaitForRows(t, time.Minute, 1, `SELECT count(*) FROM registration WHERE registration_number = $1`, registration)
	request := f.env.ApplicationRequest(t, subject, registration, xuhui)
	leftOut := request.CategoryCode

	var rulesBody admission.RulesBody
	f.xuhui.Get(t, "/api/v1/admission/rules").Decode(t, &rulesBody)
	var kept []string
	for _, code := range rulesBody.Rule.CategoryOrder {
		if code != leftOut {
			kept = append(kept, code)
		}
	}
	if len(kept) == len(rulesBody.Rule.CategoryOrder) {
		t.Fatalf("the default rules %v lack the other-province category %s", rulesBody.Rule.CategoryOrder, leftOut)
	}
	response := f.xuhui.Send(t, http.MethodPut, "/api/v1/admission/rules", map[string]any{
		"categoryOrder": kept, "priorityCriteria": []string{admission.CriterionCategory},
	})
	response.Expect(t, http.StatusOK, "")
	var saved admission.RulesBody
	response.Decode(t, &saved)
	if saved.Published == nil || !*saved.Published {
		t.Errorf("published = %v, want true", saved.Published)
	}

	// The edge reads the snapshot the rule change published.
	store := catalogue.NewStore(f.env.Redis.Client, f.env.Keys)
	if err := store.Refresh(context.Background()); err != nil {
		t.Fatalf("read the published snapshot: %v", err)
	}
	year := f.env.Year.Year
	if _, found := store.Current().Entry(year, xuhui, leftOut); found {
		t.Errorf("the published snapshot still has Xuhui's %s entry", leftOut)
	}
	if _, found := store.Current().Entry(year, changning, leftOut); !found {
		t.Errorf("the published snapshot lost Changning's %s entry, whose rules are unchanged", leftOut)
	}
	f.env.Service.Catalogue = store
	_, err := f.env.Service.Apply(context.Background(), subject, request)
	if apiErr := apierror.As(err); apiErr == nil || apiErr.Code != "no_entry_for_category" {
		t.Errorf("application through the left-out entry: %v, want no_entry_for_category", err)
	}
}

func uniqueInOrder(values []string) []string {
	var unique []string
	for _, value := range values {
		if !slices.Contains(unique, value) {
			unique = append(unique, value)
		}
	}
	return unique
}

// TestAdmissionResync writes a confirmed round's outcomes into the parents'
// receipts again after they were lost in Redis, as after a confirmation
// whose own write failed.
func TestAdmissionResync(t *testing.T) {
	f := newFixture(t)
	matched := f.matchedCampuses(t)
	first := f.apply(t, applicant{child: 1, request: local(1), choices: []int{0}}, matched)
	second := f.apply(t, applicant{child: 2, request: local(2), choices: []int{0}}, matched)
	f.closeApplication(t)
	f.xuhui.Send(t, http.MethodPost, "/api/v1/admission/proposal", map[string]any{}).Expect(t, http.StatusOK, "")

	f.xuhui.Send(t, http.MethodPost, "/api/v1/admission/proposal/resync", map[string]any{}).
		Expect(t, http.StatusConflict, "admission_not_confirmed")
	f.xuhui.Send(t, http.MethodPost, "/api/v1/admission/proposal/confirm", map[string]any{}).Expect(t, http.StatusOK, "")

	client := f.env.Redis.Client
	for _, number := range []string{first, second} {
		command := client.B().Hset().Key(f.env.Keys.Receipt(number)).FieldValue().FieldValue(enrol.FieldStatus, enrol.StatusRecorded).Build()
		if err := client.Do(context.Background(), command).Error(); err != nil {
			t.Fatalf("reset receipt %s: %v", number, err)
		}
	}

	response := f.xuhui.Send(t, http.MethodPost, "/api/v1/admission/proposal/resync", map[string]any{})
	response.Expect(t, http.StatusOK, "")
	var summary struct {
		Applications       int  `json:"applications"`
		ParentStatusSynced bool `json:"parentStatusSynced"`
	}
	response.Decode(t, &summary)
	if summary.Applications != 2 || !summary.ParentStatusSynced {
		t.Errorf("resync = %+v, want 2 applications synced", summary)
	}
	for _, number := range []string{first, second} {
		var status string
		if err := f.env.DB.DB.Get(&status, `SELECT status FROM application WHERE application_number = $1`, number); err != nil {
			t.Fatal(err)
		}
		if status != enrol.StatusAdmitted && status != enrol.StatusNotAdmitted {
			t.Fatalf("application %s status = %s, want an outcome", number, status)
		}
		receipt := f.env.Receipt(t, number)
		if receipt[enrol.FieldStatus] != status {
			t.Errorf("receipt %s status = %q after the resync, want %s", number, receipt[enrol.FieldStatus], status)
		}
		var campus string
		if err := f.env.DB.DB.Get(&campus, `
			SELECT coalesce(k.name || '（' || c.name || '）', '') FROM admission_proposal p
			LEFT JOIN campus c ON c.id = p.campus_id LEFT JOIN kindergarten k ON k.id = c.kindergarten_id
			WHERE p.application_number = $1`, number); err != nil {
			t.Fatal(err)
		}
		if status == enrol.StatusAdmitted && (campus == "" || !strings.Contains(receipt[enrol.FieldNote], campus)) {
			t.Errorf("receipt %s note = %q, want the admitting campus %q", number, receipt[enrol.FieldNote], campus)
		}
		if status == enrol.StatusNotAdmitted && !strings.HasPrefix(receipt[enrol.FieldNote], "未录取原因：") {
			t.Errorf("receipt %s note = %q, want the reason", number, receipt[enrol.FieldNote])
		}
	}
}

// TestAdmissionWithDamagedRecord: a registration whose sealed name no longer
// opens shows as （无法解密） in the proposal list, and confirming still
// settles every application, with no notice for the damaged one.
func TestAdmissionWithDamagedRecord(t *testing.T) {
	f := newFixture(t)
	matched := f.matchedCampuses(t)
	damaged := f.apply(t, applicant{child: 1, request: local(1), choices: []int{0}}, matched)
	intact := f.apply(t, applicant{child: 2, request: local(2), choices: []int{0}}, matched)
	f.closeApplication(t)
	f.exec(t, `
		UPDATE registration SET child_name = '\x00', guardians = '\x00'
		WHERE registration_number = (SELECT registration_number FROM application WHERE application_number = $1)`, damaged)

	f.xuhui.Send(t, http.MethodPost, "/api/v1/admission/proposal", map[string]any{}).Expect(t, http.StatusOK, "")
	response := f.xuhui.Get(t, "/api/v1/admission/proposal?year="+strconv.Itoa(f.env.Year.Year))
	response.Expect(t, http.StatusOK, "")
	if !strings.Contains(string(response.Body), "（无法解密）") {
		t.Errorf("proposal list = %s, want the damaged record's name shown as （无法解密）", response.Body)
	}

	f.xuhui.Send(t, http.MethodPost, "/api/v1/admission/proposal/confirm", map[string]any{}).Expect(t, http.StatusOK, "")
	for _, number := range []string{damaged, intact} {
		var status string
		if err := f.env.DB.DB.Get(&status, `SELECT status FROM application WHERE application_number = $1`, number); err != nil {
			t.Fatal(err)
		}
		if status != enrol.StatusAdmitted && status != enrol.StatusNotAdmitted {
			t.Errorf("application %s status = %s after the confirmation, want an outcome", number, status)
		}
	}
	if n := f.env.Count(t, `SELECT count(*) FROM sms_outbox WHERE record_number = $1`, damaged); n != 0 {
		t.Errorf("notices for the damaged record = %d, want 0", n)
	}
	if n := f.env.Count(t, `SELECT count(*) FROM sms_outbox WHERE record_number = $1`, intact); n != 1 {
		t.Errorf("notices for the intact record = %d, want 1", n)
	}
}

// TestAdmissionCountsSupplementaryLeftOut: a 补报名 application takes no
// part in the round, and the proposal view counts such applications.
func TestAdmissionCountsSupplementaryLeftOut(t *testing.T) {
	f := newFixture(t)
	matched := f.matchedCampuses(t)
	supplementary := f.apply(t, applicant{child: 1, request: local(1), choices: []int{0}}, matched)
	f.apply(t, applicant{child: 2, request: local(2), choices: []int{0}}, matched)
	f.closeApplication(t)
	f.exec(t, `UPDATE application SET supplementary = true, status = 'documents_verified' WHERE application_number = $1`, supplementary)

	f.xuhui.Send(t, http.MethodPost, "/api/v1/admission/proposal", map[string]any{}).Expect(t, http.StatusOK, "")
	var view admission.ProposalView
	f.xuhui.Get(t, "/api/v1/admission/proposal?year="+strconv.Itoa(f.env.Year.Year)).Decode(t, &view)
	if view.Supplementary != 1 || view.Admitted+view.NotAdmitted != 1 {
		t.Errorf("proposal view = supplementary %d, admitted %d, not admitted %d; want 1 supplementary left out and 1 in the round",
			view.Supplementary, view.Admitted, view.NotAdmitted)
	}
	for _, item := range view.Items {
		if item.ApplicationNumber == supplementary {
			t.Errorf("the 补报名 application %s is in the proposal", supplementary)
		}
	}
}

// stuckScript adds a submission to the stream and delivers it at once to a
// consumer that never acknowledges it, in one step, so the running drainer
// cannot take it first. KEYS[1] stream; ARGV[1] group. Returns the ID.
var stuckScript = rueidis.NewLuaScript(`
local id = redis.call('XADD', KEYS[1], '*', 'kind', 'application', 'number', '20270400000000', 'body', '')
redis.call('XREADGROUP', 'GROUP', ARGV[1], 'stuck-consumer', 'COUNT', 1, 'STREAMS', KEYS[1], '>')
return id
`)

// TestAdmissionWaitsForStoredApplications: while a submission taken before
// the window closed is still in the stream, the confirmation is refused,
// and it goes through once the submission has left the stream.
func TestAdmissionWaitsForStoredApplications(t *testing.T) {
	f := newFixture(t)
	matched := f.matchedCampuses(t)
	f.apply(t, applicant{child: 1, request: local(1), choices: []int{0}}, matched)
	f.closeApplication(t)
	f.exec(t, `UPDATE enrolment_year SET application_closes_at = now() - interval '5 seconds' WHERE year = $1`, f.env.Year.Year)
	f.xuhui.Send(t, http.MethodPost, "/api/v1/admission/proposal", map[string]any{}).Expect(t, http.StatusOK, "")

	ctx := context.Background()
	client, keys := f.env.Redis.Client, f.env.Keys
	id, err := stuckScript.Exec(ctx, client, []string{keys.Stream()}, []string{keys.ConsumerGroup()}).ToString()
	if err != nil {
		t.Fatalf("add a stuck submission: %v", err)
	}
	f.xuhui.Send(t, http.MethodPost, "/api/v1/admission/proposal/confirm", map[string]any{}).
		Expect(t, http.StatusConflict, "applications_not_stored")
	if n := f.env.Count(t, `SELECT count(*) FROM application WHERE status IN ('admitted', 'not_admitted')`); n != 0 {
		t.Errorf("%d applications settled by a refused confirmation, want 0", n)
	}

	if err := client.Do(ctx, client.B().Xack().Key(keys.Stream()).Group(keys.ConsumerGroup()).Id(id).Build()).Error(); err != nil {
		t.Fatal(err)
	}
	f.xuhui.Send(t, http.MethodPost, "/api/v1/admission/proposal/confirm", map[string]any{}).Expect(t, http.StatusOK, "")
}
