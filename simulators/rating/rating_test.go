package rating

import (
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func file(t *testing.T, handler http.Handler, body string) (int, Ticket) {
	t.Helper()
	recorder := httptest.NewRecorder()
	handler.ServeHTTP(recorder, httptest.NewRequest(http.MethodPost, "/v1/bad-experience/reports", strings.NewReader(body)))
	var ticket Ticket
	if recorder.Code < 300 {
		if err := json.Unmarshal(recorder.Body.Bytes(), &ticket); err != nil {
			t.Fatalf("decode %s: %v", recorder.Body, err)
		}
	}
	return recorder.Code, ticket
}

const validReport = `{"clientReference":"feedback-1","matter":"幼儿园入园报名","category":"form_unclear",` +
	`"categoryName":"表单内容看不懂、不会填","content":"不知道居住证号码填哪里","page":"/register","step":"监护人信息",` +
	`"trigger":"idle","submittedAt":"2026-03-01T09:00:00Z"}`

func TestFileReturnsTicketOnce(t *testing.T) {
	now := time.Date(2026, 3, 1, 9, 0, 5, 0, time.UTC)
	server := NewServer(Options{Now: func() time.Time { return now }, Logger: slog.New(slog.DiscardHandler)})
	handler := server.Handler()

	code, first := file(t, handler, validReport)
	if code != http.StatusCreated {
		t.Fatalf("first report status = %d, want 201", code)
	}
	if first.ID == "" || first.Status != StatusReceived || !first.ReceivedAt.Equal(now) {
		t.Errorf("ticket = %+v, want an ID, status received at %v", first, now)
	}
	code, again := file(t, handler, validReport)
	if code != http.StatusOK || again.ID != first.ID {
		t.Errorf("repeated report = %d %s, want 200 with the first ticket %s", code, again.ID, first.ID)
	}
	if server.Received() != 1 {
		t.Errorf("received = %d, want 1", server.Received())
	}

	recorder := httptest.NewRecorder()
	handler.ServeHTTP(recorder, httptest.NewRequest(http.MethodGet, "/v1/bad-experience/reports/"+first.ID, nil))
	if recorder.Code != http.StatusOK || !strings.Contains(recorder.Body.String(), "不知道居住证号码填哪里") {
		t.Errorf("GET ticket = %d %s, want 200 with the report", recorder.Code, recorder.Body)
	}
	recorder = httptest.NewRecorder()
	handler.ServeHTTP(recorder, httptest.NewRequest(http.MethodGet, "/v1/bad-experience/reports/BBCS999", nil))
	if recorder.Code != http.StatusNotFound {
		t.Errorf("GET unknown ticket = %d, want 404", recorder.Code)
	}
}

func TestFileRejectsInvalidReport(t *testing.T) {
	handler := NewServer(Options{Logger: slog.New(slog.DiscardHandler)}).Handler()
	cases := map[string]string{
		"no reference":  strings.Replace(validReport, `"feedback-1"`, `""`, 1),
		"no matter":     strings.Replace(validReport, `"幼儿园入园报名"`, `""`, 1),
		"no category":   strings.Replace(validReport, `"form_unclear"`, `""`, 1),
		"no time":       strings.Replace(validReport, `"2026-03-01T09:00:00Z"`, `"0001-01-01T00:00:00Z"`, 1),
		"too long text": strings.Replace(validReport, `不知道居住证号码填哪里`, strings.Repeat("长", 1001), 1),
		"not JSON":      `{`,
	}
	for name, body := range cases {
		if code, _ := file(t, handler, body); code != http.StatusBadRequest {
			t.Errorf("%s: status = %d, want 400", name, code)
		}
	}
}
