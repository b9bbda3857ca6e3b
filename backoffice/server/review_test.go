package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"strconv"
	"testing"
	"time"

	"github.com/sh-preschool/preschool/backoffice/backofficetest"
	"github.com/sh-preschool/preschool/simulators"
)

// staffClient calls a running back office with a development sign-in
// session and its CSRF token.
type staffClient struct {
	base   string
	client *http.Client
	csrf   string
}

func signInDev(t *testing.T, base string, body map[string]string) *staffClient {
	t.Helper()
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	c := &staffClient{base: base, client: &http.Client{Jar: jar, Timeout: 10 * time.Second}}
	var me struct {
		CSRFToken string `json:"csrfToken"`
	}
	c.call(t, http.MethodPost, "/api/v1/dev/sign-in", body, http.StatusOK, &me)
	c.csrf = me.CSRFToken
	return c
}

func (c *staffClient) call(t *testing.T, method, path string, body any, wantStatus int, into any) {
	t.Helper()
	payload, err := json.Marshal(body)
	if err != nil {
		t.Fatal(err)
	}
	request, err := http.NewRequest(method, c.base+path, bytes.NewReader(payload))
	if err != nil {
		t.Fatal(err)
	}
	request.Header.Set("Content-Type", "application/json")
	request.Header.Set("X-CSRF-Token", c.csrf)
	response, err := c.client.Do(request)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer response.Body.Close()
	data, err := io.ReadAll(response.Body)
	if err != nil {
		t.Fatal(err)
	}
	if response.StatusCode != wantStatus {
		t.Fatalf("%s %s: HTTP %d %s, want %d", method, path, response.StatusCode, data, wantStatus)
	}
	if into != nil {
		if err := json.Unmarshal(data, into); err != nil {
			t.Fatalf("%s %s: decode %s: %v", method, path, data, err)
		}
	}
}

// TestReturnAndDeletionDeliverSMS runs the return and the deletion through
// a whole back office: its drainer stores the submissions, its notifier
// queues the 报名成功 message, and its SMS sender delivers the family's
// messages through the SMS simulator.
func TestReturnAndDeletionDeliverSMS(t *testing.T) {
	env := backofficetest.New(t)
	running, err := simulators.Start(context.Background(), simulators.Config{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatalf("start simulators: %v", err)
	}
	t.Cleanup(func() { running.Close() })
	backOffice := env.StartServer(t, map[string]string{
		"DATA_API_URL": running.DataURL, "SMS_API_URL": running.SMSURL, "SMS_INTERVAL": "50ms", "SMS_RECEIPT_DELAY": "0s",
		"DRAIN_BLOCK": "50ms", "DRAIN_CONSUMER": "review-test", "BACKOFFICE_DEV_SIGN_IN": "true",
	})
	base := "http://" + backOffice.Addr()
	district := signInDev(t, base, map[string]string{"level": "district", "districtCode": xuhui})
	city := signInDev(t, base, map[string]string{"level": "city"})

	subject := backofficetest.Subject(7)
	registration := env.Register(t, subject, env.ShanghaiChild(t, 7, xuhui, xuhui))
	env.WaitForRows(t, time.Minute, 1, `SELECT count(*) FROM registration WHERE registration_number = $1`, registration)
	application := env.Apply(t, subject, registration, xuhui)
	env.WaitForRows(t, time.Minute, 1, `SELECT count(*) FROM application WHERE application_number = $1`, application)

	district.call(t, http.MethodPost, "/api/v1/applications/"+application+"/return", map[string]string{"reason": "户籍证明不清晰"}, http.StatusOK, nil)
	env.WaitForRows(t, time.Minute, 1,
		`SELECT count(*) FROM sms_outbox WHERE record_number = $1 AND event = 'application_returned' AND status = 'delivered'`, application)
	again := env.Apply(t, subject, registration, xuhui)
	if again == application {
		t.Fatalf("application after the return kept the number %s", again)
	}
	env.WaitForRows(t, time.Minute, 1,
		`SELECT count(*) FROM sms_outbox WHERE record_number = $1 AND event = 'application_succeeded' AND status = 'delivered'`, again)

	var created struct {
		ID int64 `json:"id"`
	}
	district.call(t, http.MethodPost, "/api/v1/deletion-requests", map[string]string{
		"recordKind": "registration", "recordNumber": registration, "reason": "家长申请撤销登记", "confirmation": "确认删除",
	}, http.StatusCreated, &created)
	city.call(t, http.MethodPost, "/api/v1/deletion-requests/"+strconv.FormatInt(created.ID, 10)+"/approve", map[string]any{}, http.StatusOK, nil)
	env.WaitForRows(t, time.Minute, 1,
		`SELECT count(*) FROM sms_outbox WHERE record_number = $1 AND event = 'record_deleted' AND status = 'delivered'`, registration)
	if n := env.Count(t, `SELECT count(*) FROM registration WHERE registration_number = $1`, registration); n != 0 {
		t.Errorf("registration rows after the approved deletion = %d, want 0", n)
	}
	if n := env.Count(t, `SELECT count(*) FROM audit_event WHERE resource_id = $1 AND action IN ('deletion.request', 'deletion.approve')`, registration); n != 2 {
		t.Errorf("audit events of the deletion = %d, want 2", n)
	}
	delivered := env.Count(t, `SELECT count(*) FROM sms_outbox WHERE status = 'delivered'`)
	if running.SMS.Sent() != delivered {
		t.Errorf("SMS simulator accepted %d messages, want the %d delivered ones", running.SMS.Sent(), delivered)
	}

	reregistered := env.Register(t, subject, env.ShanghaiChild(t, 7, xuhui, xuhui))
	env.WaitForRows(t, time.Minute, 1, `SELECT count(*) FROM registration WHERE registration_number = $1`, reregistered)
}
