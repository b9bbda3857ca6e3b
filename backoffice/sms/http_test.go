package sms_test

import (
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/sh-preschool/preschool/backoffice/access"
	"github.com/sh-preschool/preschool/backoffice/audit"
	"github.com/sh-preschool/preschool/backoffice/audit/audittest"
	"github.com/sh-preschool/preschool/backoffice/sms"
	"github.com/sh-preschool/preschool/shared/testenv"
)

const changning = "310105"

type apiFixture struct {
	*outboxFixture
	city      *audittest.Client
	xuhui     *audittest.Client
	changning *audittest.Client
}

func newAPIFixture(t *testing.T) *apiFixture {
	t.Helper()
	f := newOutboxFixture(t)
	districtName := func(code string) (string, bool) {
		name, ok := map[string]string{xuhui: "徐汇区", changning: "长宁区"}[code]
		return name, ok
	}
	server := audittest.NewServer(t, f.db, testenv.NewRedis(t), func(r chi.Router, trail *audit.Trail) {
		(&sms.Handlers{DB: f.db, Trail: trail, DistrictName: districtName}).Routes(r)
	})
	return &apiFixture{
		outboxFixture: f,
		city:          server.SignIn(t, "city_admin", access.Scope{Level: access.LevelCity}),
		xuhui:         server.SignIn(t, "district_admin", access.Scope{Level: access.LevelDistrict, DistrictCode: xuhui}),
		changning:     server.SignIn(t, "district_admin", access.Scope{Level: access.LevelDistrict, DistrictCode: changning}),
	}
}

func TestTemplateAPIScopes(t *testing.T) {
	f := newAPIFixture(t)
	create := func(client *audittest.Client, body map[string]any) (int, sms.Template) {
		t.Helper()
		response := client.Send(t, http.MethodPost, "/api/v1/sms/templates", body)
		var template sms.Template
		if response.Status == http.StatusCreated {
			response.Decode(t, &template)
		}
		return response.Status, template
	}

	if status, _ := create(f.xuhui, map[string]any{"event": sms.EventApplicationReturned, "districtCode": changning, "body": "退回：{原因}"}); status != http.StatusForbidden {
		t.Errorf("Xuhui creating Changning's template: HTTP %d, want 403", status)
	}
	f.xuhui.Send(t, http.MethodPost, "/api/v1/sms/templates", map[string]any{"event": sms.EventApplicationReturned, "body": "{学校}"}).
		Expect(t, http.StatusBadRequest, "sms_placeholder_unknown")

	status, own := create(f.xuhui, map[string]any{"event": sms.EventApplicationReturned, "body": "徐汇退回：{原因}"})
	if status != http.StatusCreated || own.DistrictCode != xuhui {
		t.Fatalf("Xuhui's own template: HTTP %d %+v, want 201 in Xuhui", status, own)
	}
	f.xuhui.Send(t, http.MethodPost, "/api/v1/sms/templates", map[string]any{"event": sms.EventApplicationReturned, "body": "再来一个"}).
		Expect(t, http.StatusConflict, "sms_template_exists")
	status, cityDefault := create(f.city, map[string]any{"event": sms.EventApplicationReturned, "body": "全市退回：{原因}"})
	if status != http.StatusCreated || cityDefault.DistrictCode != "" {
		t.Fatalf("city default: HTTP %d %+v, want 201 without a district", status, cityDefault)
	}

	path := func(id int64) string { return "/api/v1/sms/templates/" + strconv.FormatInt(id, 10) }
	f.changning.Send(t, http.MethodPut, path(own.ID), map[string]any{"body": "长宁改的"}).Expect(t, http.StatusForbidden, "out_of_scope")
	f.xuhui.Send(t, http.MethodPut, path(cityDefault.ID), map[string]any{"body": "区里改市级"}).Expect(t, http.StatusForbidden, "out_of_scope")
	f.xuhui.Send(t, http.MethodPut, path(own.ID), map[string]any{"body": "徐汇退回（新）：{原因}", "enabled": false}).Expect(t, http.StatusOK, "")

	var list struct {
		Items []sms.Template `json:"items"`
	}
	f.changning.Get(t, "/api/v1/sms/templates").Decode(t, &list)
	if len(list.Items) != 1 || list.Items[0].ID != cityDefault.ID || list.Items[0].Editable {
		t.Errorf("Changning's templates = %+v, want only the city default, read-only", list.Items)
	}
	f.xuhui.Get(t, "/api/v1/sms/templates").Decode(t, &list)
	if len(list.Items) != 2 {
		t.Fatalf("Xuhui's templates = %+v, want the city default and its own", list.Items)
	}
	if got := list.Items[1]; got.Body != "徐汇退回（新）：{原因}" || got.Enabled || !got.Editable {
		t.Errorf("Xuhui's own template = %+v, want the new text, disabled and editable", got)
	}

	f.xuhui.Send(t, http.MethodDelete, path(own.ID), nil).Expect(t, http.StatusNoContent, "")
	for _, action := range []string{sms.ActionTemplateCreate, sms.ActionTemplateUpdate, sms.ActionTemplateDelete} {
		var n int
		if err := f.db.Get(&n, `SELECT count(*) FROM audit_event WHERE action = $1 AND resource_id = $2`, action, strconv.FormatInt(own.ID, 10)); err != nil {
			t.Fatal(err)
		}
		if n != 1 {
			t.Errorf("audit events %s = %d, want 1", action, n)
		}
	}
}

func TestOutboxListMasksAndScopes(t *testing.T) {
	f := newAPIFixture(t)
	id := f.enqueue(t, "20260104000012", "13812345678", time.Time{})
	if _, err := f.db.Exec(`UPDATE sms_outbox SET status = 'failed', attempts = 5, last_error = 'HTTP 503' WHERE id = $1`, id); err != nil {
		t.Fatal(err)
	}

	var page struct {
		Total int              `json:"total"`
		Items []sms.OutboxItem `json:"items"`
	}
	response := f.xuhui.Get(t, "/api/v1/sms/outbox?status=failed")
	response.Decode(t, &page)
	if page.Total != 1 || len(page.Items) != 1 {
		t.Fatalf("Xuhui's failed messages = %+v, want 1", page)
	}
	item := page.Items[0]
	if item.Phone != "138****5678" {
		t.Errorf("listed phone = %q, want it masked", item.Phone)
	}
	if strings.Contains(string(response.Body), "13812345678") || strings.Contains(item.Preview, "张小明") {
		t.Errorf("outbox list shows personal data: %s", response.Body)
	}
	f.changning.Get(t, "/api/v1/sms/outbox").Decode(t, &page)
	if page.Total != 0 {
		t.Errorf("Changning sees %d of Xuhui's messages, want 0", page.Total)
	}
	f.changning.Get(t, "/api/v1/sms/outbox?district="+xuhui).Expect(t, http.StatusForbidden, "out_of_scope")
	f.city.Get(t, "/api/v1/sms/outbox").Decode(t, &page)
	if page.Total != 1 {
		t.Errorf("the city sees %d messages, want 1", page.Total)
	}
	f.city.Get(t, "/api/v1/sms/outbox?status=lost").Expect(t, http.StatusBadRequest, "invalid_status")

	retry := "/api/v1/sms/outbox/" + strconv.FormatInt(id, 10) + "/retry"
	f.changning.Send(t, http.MethodPost, retry, nil).Expect(t, http.StatusForbidden, "out_of_scope")
	f.xuhui.Send(t, http.MethodPost, retry, nil).Expect(t, http.StatusOK, "")
	f.xuhui.Send(t, http.MethodPost, retry, nil).Expect(t, http.StatusConflict, "sms_not_retryable")
	if row := f.row(t, id); row.Status != sms.StatusPending || row.Attempts != 0 {
		t.Errorf("retried row = %+v, want pending with no attempts", row)
	}
	sent := f.sendUntil(t, f.sender(), id, sms.StatusSent)
	if sent.Attempts != 1 {
		t.Errorf("attempts after the retry = %d, want 1", sent.Attempts)
	}

	// A message the notifier could not make (no text, no phone) is not
	// sent again.
	unbuilt := f.enqueue(t, "20260104000013", "13812345679", time.Time{})
	if _, err := f.db.Exec(`UPDATE sms_outbox SET status = 'failed', preview = '', last_error = '登记信息无法解密' WHERE id = $1`, unbuilt); err != nil {
		t.Fatal(err)
	}
	f.xuhui.Send(t, http.MethodPost, "/api/v1/sms/outbox/"+strconv.FormatInt(unbuilt, 10)+"/retry", nil).
		Expect(t, http.StatusConflict, "sms_not_built")
}
