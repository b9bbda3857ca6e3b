package sms

import (
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func send(t *testing.T, handler http.Handler, body string) (int, Message) {
	t.Helper()
	recorder := httptest.NewRecorder()
	handler.ServeHTTP(recorder, httptest.NewRequest(http.MethodPost, "/v1/sms/messages", strings.NewReader(body)))
	var message Message
	if recorder.Code < 300 {
		if err := json.Unmarshal(recorder.Body.Bytes(), &message); err != nil {
			t.Fatalf("decode %s: %v", recorder.Body, err)
		}
	}
	return recorder.Code, message
}

func status(t *testing.T, handler http.Handler, id string) (int, Message) {
	t.Helper()
	recorder := httptest.NewRecorder()
	handler.ServeHTTP(recorder, httptest.NewRequest(http.MethodGet, "/v1/sms/messages/"+id, nil))
	var message Message
	_ = json.Unmarshal(recorder.Body.Bytes(), &message)
	return recorder.Code, message
}

func TestSendDeliversAfterDelay(t *testing.T) {
	now := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
	server := NewServer(Options{DeliveryDelay: time.Second, Now: func() time.Time { return now }, Logger: slog.New(slog.DiscardHandler)})
	handler := server.Handler()

	code, sent := send(t, handler, `{"clientReference":"outbox-1","phone":"13812345678","content":"您好"}`)
	if code != http.StatusCreated || sent.Status != StatusSent {
		t.Fatalf("send: HTTP %d %+v, want 201 sent", code, sent)
	}
	code, repeat := send(t, handler, `{"clientReference":"outbox-1","phone":"13812345678","content":"您好"}`)
	if code != http.StatusOK || repeat.ID != sent.ID {
		t.Errorf("repeated reference: HTTP %d %+v, want 200 with ID %s", code, repeat, sent.ID)
	}
	if server.Sent() != 1 {
		t.Errorf("Sent() = %d, want 1", server.Sent())
	}

	if _, message := status(t, handler, sent.ID); message.Status != StatusSent {
		t.Errorf("status before the delay = %q, want sent", message.Status)
	}
	now = now.Add(time.Second)
	if _, message := status(t, handler, sent.ID); message.Status != StatusDelivered || message.DeliveredAt == nil {
		t.Errorf("status after the delay = %+v, want delivered with a time", message)
	}

	_, lost := send(t, handler, `{"clientReference":"outbox-2","phone":"13900000000","content":"您好"}`)
	now = now.Add(time.Second)
	if _, message := status(t, handler, lost.ID); message.Status != StatusUndeliverable {
		t.Errorf("status of a number ending in 0000 = %q, want undeliverable", message.Status)
	}
	if code, _ := status(t, handler, "SMS999"); code != http.StatusNotFound {
		t.Errorf("unknown message: HTTP %d, want 404", code)
	}
}

func TestSendRejectsInvalidRequests(t *testing.T) {
	handler := NewServer(Options{Logger: slog.New(slog.DiscardHandler)}).Handler()
	for name, body := range map[string]string{
		"no reference":     `{"phone":"13812345678","content":"您好"}`,
		"short phone":      `{"clientReference":"a","phone":"1381234567","content":"您好"}`,
		"foreign phone":    `{"clientReference":"a","phone":"+85291234567","content":"您好"}`,
		"empty content":    `{"clientReference":"a","phone":"13812345678","content":""}`,
		"unknown field":    `{"clientReference":"a","phone":"13812345678","content":"您好","x":1}`,
		"content too long": `{"clientReference":"a","phone":"13812345678","content":"` + strings.Repeat("字", MaxContentRunes+1) + `"}`,
	} {
		if code, _ := send(t, handler, body); code != http.StatusBadRequest {
			t.Errorf("%s: HTTP %d, want 400", name, code)
		}
	}
}
