package review_test

import (
	"context"
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
	"github.com/sh-preschool/preschool/backoffice/review"
	"github.com/sh-preschool/preschool/backoffice/sms"
	"github.com/sh-preschool/preschool/shared/apierror"
	enrol "github.com/sh-preschool/preschool/shared/enrolment"
)

const (
	xuhui     = backofficetest.Xuhui
	changning = backofficetest.Changning
)

// fixture is a seeded environment with a running drainer and the review
// and SMS API served to staff of several scopes.
type fixture struct {
	env       *backofficetest.Env
	drainer   *backofficetest.Running
	server    *audittest.Server
	city      *audittest.Client
	city2     *audittest.Client
	xuhui     *audittest.Client
	changning *audittest.Client
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	env := backofficetest.New(t)
	drainer := backofficetest.Start(t, env.Drainer(backofficetest.DrainConfig("review-test")))
	districtName := func(code string) (string, bool) {
		name, ok := map[string]string{xuhui: "徐汇区", changning: "长宁区"}[code]
		return name, ok
	}
	server := audittest.NewServer(t, env.DB.DB, env.Redis, func(r chi.Router, trail *audit.Trail) {
		(&review.Handlers{
			DB: env.DB.DB, Redis: env.Redis.Client, Keys: env.Keys, Keyring: env.Keyring, Trail: trail,
			DistrictName: districtName, Now: time.Now,
		}).Routes(r)
		(&sms.Handlers{DB: env.DB.DB, Trail: trail, DistrictName: districtName}).Routes(r)
	})
	return &fixture{
		env:       env,
		drainer:   drainer,
		server:    server,
		city:      server.SignIn(t, "city_admin", access.Scope{Level: access.LevelCity}),
		city2:     server.SignIn(t, "city_admin", access.Scope{Level: access.LevelCity}),
		xuhui:     server.SignIn(t, "district_admin", access.Scope{Level: access.LevelDistrict, DistrictCode: xuhui}),
		changning: server.SignIn(t, "district_admin", access.Scope{Level: access.LevelDistrict, DistrictCode: changning}),
	}
}

// registerAndApply registers child i living in Xuhui, applies in Xuhui,
// and waits until both rows are stored.
func (f *fixture) registerAndApply(t *testing.T, i int) (string, string) {
	t.Helper()
	subject := backofficetest.Subject(i)
	registration := f.env.Register(t, subject, f.env.ShanghaiChild(t, i, xuhui, xuhui))
	f.env.WaitForRows(t, time.Minute, 1, `SELECT count(*) FROM registration WHERE registration_number = $1`, registration)
	application := f.env.Apply(t, subject, registration, xuhui)
	f.env.WaitForRows(t, time.Minute, 1, `SELECT count(*) FROM application WHERE application_number = $1`, application)
	return registration, application
}

func (f *fixture) status(t *testing.T, table, column, number string) string {
	t.Helper()
	var status string
	if err := f.env.DB.DB.Get(&status, `SELECT status FROM `+table+` WHERE `+column+` = $1`, number); err != nil {
		t.Fatalf("status of %s: %v", number, err)
	}
	return status
}

// outbox returns the family's queued message about a record.
func (f *fixture) outbox(t *testing.T, event, record string) (preview, phone, body string) {
	t.Helper()
	var row struct {
		Preview string `db:"preview"`
		Phone   []byte `db:"phone"`
		Body    []byte `db:"body"`
		Masked  string `db:"phone_masked"`
	}
	err := f.env.DB.DB.Get(&row, `SELECT preview, phone, body, phone_masked FROM sms_outbox WHERE event = $1 AND record_number = $2`, event, record)
	if err != nil {
		t.Fatalf("outbox row %s for %s: %v", event, record, err)
	}
	phone = f.env.Open(t, row.Phone, sms.ContextPhone)
	if row.Masked != sms.MaskPhone(phone) {
		t.Errorf("phone_masked = %q, want %q", row.Masked, sms.MaskPhone(phone))
	}
	return row.Preview, phone, f.env.Open(t, row.Body, sms.ContextBody)
}

// applyAgain submits another application of the child with the campus
// choices reversed where there are two, so it is not a repeat of the first.
func (f *fixture) applyAgain(t *testing.T, i int, registration string) (string, error) {
	t.Helper()
	request := f.env.ApplicationRequest(t, backofficetest.Subject(i), registration, xuhui)
	receipt, err := f.env.Service.Apply(context.Background(), backofficetest.Subject(i), request)
	return receipt.Number, err
}

func TestReturnFlow(t *testing.T) {
	f := newFixture(t)
	registration, application := f.registerAndApply(t, 1)

	// While the application is live, applying again gives no new number.
	number, err := f.applyAgain(t, 1, registration)
	if err == nil && number != application {
		t.Fatalf("second application before the return = %s, want the first %s or already_applied", number, application)
	}
	if err != nil && apierror.As(err).Code != "already_applied" {
		t.Fatalf("second application before the return: %v, want already_applied", err)
	}

	path := "/api/v1/applications/" + application + "/return"
	f.changning.Send(t, http.MethodPost, path, map[string]string{"reason": "材料不全"}).Expect(t, http.StatusForbidden, "out_of_scope")
	f.xuhui.Send(t, http.MethodPost, path, map[string]string{"reason": " "}).Expect(t, http.StatusBadRequest, "reason_required")
	f.xuhui.Send(t, http.MethodPost, "/api/v1/applications/123/return", map[string]string{"reason": "材料不全"}).
		Expect(t, http.StatusBadRequest, "invalid_application_number")

	const reason = "居住证明材料不清晰，请重新上传"
	response := f.xuhui.Send(t, http.MethodPost, path, map[string]string{"reason": reason})
	var result review.ReturnResult
	response.Decode(t, &result)
	if response.Status != http.StatusOK {
		t.Fatalf("return: HTTP %d %s", response.Status, response.Body)
	}
	if !result.ParentStatusSynced {
		t.Error("parentStatusSynced = false, want true")
	}
	if result.SMSID == 0 {
		t.Error("smsId = 0, want the queued message")
	}

	if got := f.status(t, "application", "application_number", application); got != enrol.StatusReturned {
		t.Errorf("application status = %q, want returned", got)
	}
	receipt := f.env.Receipt(t, application)
	if receipt[enrol.FieldStatus] != enrol.StatusReturned {
		t.Errorf("receipt status = %q, want returned", receipt[enrol.FieldStatus])
	}
	if !strings.Contains(receipt[enrol.FieldNote], reason) {
		t.Errorf("receipt note = %q, want the reason", receipt[enrol.FieldNote])
	}

	childName := backofficetest.ChildName(1)
	preview, phone, body := f.outbox(t, sms.EventApplicationReturned, application)
	if !strings.Contains(body, reason) || !strings.Contains(body, childName) || !strings.Contains(body, "徐汇区") {
		t.Errorf("SMS body = %q, want the reason, the child's name and the district", body)
	}
	if strings.Contains(preview, childName) || !strings.Contains(preview, reason) {
		t.Errorf("SMS preview = %q, want the reason without the full name", preview)
	}
	if len(phone) != 11 {
		t.Errorf("SMS phone = %q, want the guardian's mobile number", phone)
	}
	if n := f.env.Count(t, `SELECT count(*) FROM audit_event WHERE action = $1 AND resource_id = $2`, review.ActionReturn, application); n != 1 {
		t.Errorf("audit events of the return = %d, want 1", n)
	}

	// A repeated return changes nothing and queues no second message.
	f.xuhui.Send(t, http.MethodPost, path, map[string]string{"reason": "再次退回"}).Expect(t, http.StatusOK, "")
	if n := f.env.Count(t, `SELECT count(*) FROM sms_outbox WHERE record_number = $1`, application); n != 1 {
		t.Errorf("outbox rows after a repeated return = %d, want 1", n)
	}

	// The family applies again and the new application is stored.
	again, err := f.applyAgain(t, 1, registration)
	if err != nil {
		t.Fatalf("application after the return: %v", err)
	}
	if again == application {
		t.Fatalf("application after the return kept the number %s, want a new one", again)
	}
	f.env.WaitForRows(t, time.Minute, 1, `SELECT count(*) FROM application WHERE application_number = $1 AND status = 'recorded'`, again)

	// The new application is live, so a third one is refused again.
	if number, err := f.applyAgain(t, 1, registration); err == nil && number != again {
		t.Errorf("third application = %s, want the live %s or already_applied", number, again)
	}

	var list struct {
		Items []review.ReturnItem `json:"items"`
	}
	f.xuhui.Get(t, "/api/v1/application-returns").Decode(t, &list)
	if len(list.Items) != 1 || list.Items[0].ApplicationNumber != application || list.Items[0].Reason != reason {
		t.Errorf("Xuhui's returns = %+v, want the one return", list.Items)
	}
	f.changning.Get(t, "/api/v1/application-returns").Decode(t, &list)
	if len(list.Items) != 0 {
		t.Errorf("Changning sees %d returns of Xuhui, want 0", len(list.Items))
	}
}

func TestReturnRejectsAdmitted(t *testing.T) {
	f := newFixture(t)
	_, application := f.registerAndApply(t, 2)
	if _, err := f.env.DB.DB.Exec(`UPDATE application SET status = 'admitted' WHERE application_number = $1`, application); err != nil {
		t.Fatal(err)
	}
	f.xuhui.Send(t, http.MethodPost, "/api/v1/applications/"+application+"/return", map[string]string{"reason": "材料不全"}).
		Expect(t, http.StatusConflict, "application_not_returnable")
	if n := f.env.Count(t, `SELECT count(*) FROM sms_outbox`); n != 0 {
		t.Errorf("outbox rows = %d, want 0", n)
	}
}

func TestDeletionFlow(t *testing.T) {
	f := newFixture(t)
	registration, application := f.registerAndApply(t, 3)
	request := func(confirmation string) map[string]string {
		return map[string]string{
			"recordKind": "registration", "recordNumber": registration, "reason": "家长重复登记，申请删除", "confirmation": confirmation,
		}
	}

	for _, typed := range []string{"", "删除", "确认删除 ", "确认 删除"} {
		f.xuhui.Send(t, http.MethodPost, "/api/v1/deletion-requests", request(typed)).
			Expect(t, http.StatusBadRequest, "deletion_not_confirmed")
	}
	f.city.Send(t, http.MethodPost, "/api/v1/deletion-requests", request(review.DeleteConfirmation)).
		Expect(t, http.StatusForbidden, "deletion_request_district_only")
	f.changning.Send(t, http.MethodPost, "/api/v1/deletion-requests", request(review.DeleteConfirmation)).
		Expect(t, http.StatusForbidden, "out_of_scope")

	response := f.xuhui.Send(t, http.MethodPost, "/api/v1/deletion-requests", request(review.DeleteConfirmation))
	if response.Status != http.StatusCreated {
		t.Fatalf("deletion request: HTTP %d %s", response.Status, response.Body)
	}
	var created review.DeletionRequest
	response.Decode(t, &created)
	if created.Status != review.DeletionPending {
		t.Errorf("request status = %q, want pending", created.Status)
	}
	f.xuhui.Send(t, http.MethodPost, "/api/v1/deletion-requests", request(review.DeleteConfirmation)).
		Expect(t, http.StatusConflict, "deletion_already_requested")

	pending := func(client *audittest.Client) int {
		var list struct {
			Items []review.DeletionRequest `json:"items"`
		}
		client.Get(t, "/api/v1/deletion-requests?status=pending").Decode(t, &list)
		return len(list.Items)
	}
	if n := pending(f.xuhui); n != 1 {
		t.Errorf("Xuhui's pending requests = %d, want 1", n)
	}
	if n := pending(f.changning); n != 0 {
		t.Errorf("Changning's pending requests = %d, want 0", n)
	}
	if n := pending(f.city); n != 1 {
		t.Errorf("the city's pending requests = %d, want 1", n)
	}

	approvePath := "/api/v1/deletion-requests/" + itoa(created.ID) + "/approve"
	f.xuhui.Send(t, http.MethodPost, approvePath, map[string]any{}).Expect(t, http.StatusForbidden, "deletion_decision_city_only")
	if got := f.status(t, "registration", "registration_number", registration); got == "" {
		t.Fatal("registration deleted before the approval")
	}

	response = f.city.Send(t, http.MethodPost, approvePath, map[string]any{})
	if response.Status != http.StatusOK {
		t.Fatalf("approve: HTTP %d %s", response.Status, response.Body)
	}
	var approved review.DeletionRequest
	response.Decode(t, &approved)
	if approved.Status != review.DeletionApproved || approved.ParentStatusSynced == nil || !*approved.ParentStatusSynced {
		t.Errorf("approved request = %+v, want approved and synced", approved)
	}
	f.city.Send(t, http.MethodPost, approvePath, map[string]any{}).Expect(t, http.StatusConflict, "deletion_request_decided")

	if n := f.env.Count(t, `SELECT count(*) FROM registration WHERE registration_number = $1`, registration); n != 0 {
		t.Errorf("registration rows after the approval = %d, want 0", n)
	}
	if n := f.env.Count(t, `SELECT count(*) FROM application WHERE registration_number = $1`, registration); n != 0 {
		t.Errorf("application rows after the approval = %d, want 0", n)
	}
	for _, number := range []string{registration, application} {
		if status := f.env.Receipt(t, number)[enrol.FieldStatus]; status != enrol.StatusDeleted {
			t.Errorf("receipt %s status = %q, want deleted", number, status)
		}
	}
	for _, action := range []string{review.ActionDeletionRequest, review.ActionDeletionApprove} {
		if n := f.env.Count(t, `SELECT count(*) FROM audit_event WHERE action = $1 AND resource_id = $2`, action, registration); n != 1 {
			t.Errorf("audit events %s = %d, want 1", action, n)
		}
	}
	_, _, body := f.outbox(t, sms.EventRecordDeleted, registration)
	if !strings.Contains(body, "家长重复登记") || !strings.Contains(body, "入园登记信息（登记编号 "+registration+"）及其报名已删除") {
		t.Errorf("SMS body = %q, want the reason and the registration number", body)
	}

	// The child registers again and gets a new registration number.
	again := f.env.Register(t, backofficetest.Subject(3), f.env.ShanghaiChild(t, 3, xuhui, xuhui))
	if again == registration {
		t.Fatalf("registration after the deletion kept the number %s", again)
	}
	f.env.WaitForRows(t, time.Minute, 1, `SELECT count(*) FROM registration WHERE registration_number = $1`, again)
}

func TestDeletionRejectAndApplicationDeletion(t *testing.T) {
	f := newFixture(t)
	registration, application := f.registerAndApply(t, 4)
	ask := func() review.DeletionRequest {
		response := f.xuhui.Send(t, http.MethodPost, "/api/v1/deletion-requests", map[string]string{
			"recordKind": "application", "recordNumber": application, "reason": "报名信息填写错误", "confirmation": review.DeleteConfirmation,
		})
		if response.Status != http.StatusCreated {
			t.Fatalf("deletion request: HTTP %d %s", response.Status, response.Body)
		}
		var created review.DeletionRequest
		response.Decode(t, &created)
		return created
	}

	rejected := ask()
	rejectPath := "/api/v1/deletion-requests/" + itoa(rejected.ID) + "/reject"
	f.city.Send(t, http.MethodPost, rejectPath, map[string]string{}).Expect(t, http.StatusBadRequest, "reason_required")
	f.city.Send(t, http.MethodPost, rejectPath, map[string]string{"reason": "请先核实家长意愿"}).Expect(t, http.StatusOK, "")
	if got := f.status(t, "application", "application_number", application); got != enrol.StatusRecorded {
		t.Errorf("application status after the rejection = %q, want recorded", got)
	}
	if n := f.env.Count(t, `SELECT count(*) FROM audit_event WHERE action = $1 AND resource_id = $2`, review.ActionDeletionReject, application); n != 1 {
		t.Errorf("audit events of the rejection = %d, want 1", n)
	}
	if n := f.env.Count(t, `SELECT count(*) FROM sms_outbox WHERE record_number = $1`, application); n != 0 {
		t.Errorf("outbox rows after a rejection = %d, want 0", n)
	}

	approved := ask()
	sendAt := time.Now().Add(2 * time.Hour).UTC().Truncate(time.Second)
	f.city.Send(t, http.MethodPost, "/api/v1/deletion-requests/"+itoa(approved.ID)+"/approve",
		map[string]any{"smsSendAt": sendAt}).Expect(t, http.StatusOK, "")
	if got := f.status(t, "application", "application_number", application); got != enrol.StatusDeleted {
		t.Errorf("application status after the approval = %q, want deleted", got)
	}
	if _, _, body := f.outbox(t, sms.EventRecordDeleted, application); !strings.Contains(body, "入园报名（报名编号 "+application+"）已删除") || strings.Contains(body, "登记编号") {
		t.Errorf("SMS body of an application's deletion = %q, want it to name the application, not the registration", body)
	}
	var scheduled time.Time
	if err := f.env.DB.DB.Get(&scheduled, `SELECT send_at FROM sms_outbox WHERE record_number = $1`, application); err != nil {
		t.Fatal(err)
	}
	if !scheduled.Equal(sendAt) {
		t.Errorf("SMS send_at = %s, want the scheduled %s", scheduled, sendAt)
	}

	again, err := f.applyAgain(t, 4, registration)
	if err != nil {
		t.Fatalf("application after the deletion: %v", err)
	}
	if again == application {
		t.Errorf("application after the deletion kept the number %s", again)
	}
}

func TestDecisionUnknownRequest(t *testing.T) {
	f := newFixture(t)
	f.city2.Send(t, http.MethodPost, "/api/v1/deletion-requests/999999/approve", map[string]any{}).
		Expect(t, http.StatusNotFound, "deletion_request_not_found")
	f.city2.Send(t, http.MethodPost, "/api/v1/deletion-requests/abc/approve", map[string]any{}).
		Expect(t, http.StatusBadRequest, "invalid_id")
}

func itoa(id int64) string { return strconv.FormatInt(id, 10) }

// TestReturnRefusedAfterWindowCloses: a family cannot apply again once the
// entry's window has closed, so the application cannot be returned to them.
func TestReturnRefusedAfterWindowCloses(t *testing.T) {
	f := newFixture(t)
	_, application := f.registerAndApply(t, 6)
	if _, err := f.env.DB.DB.Exec(`
		UPDATE entry SET closes_at = now() - interval '1 minute'
		WHERE id = (SELECT entry_id FROM application WHERE application_number = $1)`, application); err != nil {
		t.Fatal(err)
	}
	f.xuhui.Send(t, http.MethodPost, "/api/v1/applications/"+application+"/return", map[string]string{"reason": "材料不全"}).
		Expect(t, http.StatusConflict, "application_window_closed")
	if got := f.status(t, "application", "application_number", application); got == enrol.StatusReturned {
		t.Errorf("application status = %q after the refused return", got)
	}
	if n := f.env.Count(t, `SELECT count(*) FROM sms_outbox WHERE record_number = $1`, application); n != 0 {
		t.Errorf("outbox rows after the refused return = %d, want 0", n)
	}
}

// TestDeletionRequestFlagsAdmitted: the deletion list marks a record whose
// application is admitted, so the approver is warned that the seat will not
// be filled again.
func TestDeletionRequestFlagsAdmitted(t *testing.T) {
	f := newFixture(t)
	registration, application := f.registerAndApply(t, 7)
	if _, err := f.env.DB.DB.Exec(`UPDATE application SET status = 'admitted' WHERE application_number = $1`, application); err != nil {
		t.Fatal(err)
	}
	other, _ := f.registerAndApply(t, 8)
	for _, record := range []struct{ kind, number string }{{"application", application}, {"registration", registration}, {"registration", other}} {
		response := f.xuhui.Send(t, http.MethodPost, "/api/v1/deletion-requests", map[string]string{
			"recordKind": record.kind, "recordNumber": record.number, "reason": "家长放弃入园", "confirmation": review.DeleteConfirmation,
		})
		if response.Status != http.StatusCreated {
			t.Fatalf("deletion request of %s: HTTP %d %s", record.number, response.Status, response.Body)
		}
	}
	var page struct {
		Items []review.DeletionRequest `json:"items"`
	}
	f.city.Get(t, "/api/v1/deletion-requests").Decode(t, &page)
	admitted := map[string]bool{}
	for _, item := range page.Items {
		admitted[item.RecordNumber] = item.Admitted
	}
	want := map[string]bool{application: true, registration: true, other: false}
	for number, flag := range want {
		if got, ok := admitted[number]; !ok || got != flag {
			t.Errorf("listed deletion request of %s: admitted = %v (listed %v), want %v", number, got, ok, flag)
		}
	}
}
