package httpx_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/sh-preschool/preschool/backoffice/httpx"
)

func TestWriteJSONStatusAndBody(t *testing.T) {
	recorder := httptest.NewRecorder()
	httpx.WriteJSON(recorder, http.StatusCreated, map[string]string{"a": "<b>"})
	if recorder.Code != http.StatusCreated {
		t.Errorf("status = %d, want 201", recorder.Code)
	}
	if got, want := recorder.Body.String(), "{\"a\":\"<b>\"}\n"; got != want {
		t.Errorf("body = %q, want %q", got, want)
	}
}

func TestWriteJSONEncodingFailure(t *testing.T) {
	recorder := httptest.NewRecorder()
	// time.Time's MarshalJSON rejects years after 9999.
	httpx.WriteJSON(recorder, http.StatusOK, map[string]time.Time{"at": time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)})
	if recorder.Code != http.StatusInternalServerError {
		t.Errorf("status = %d, want 500", recorder.Code)
	}
	var body struct {
		Error struct {
			Code string `json:"code"`
		} `json:"error"`
	}
	if err := json.Unmarshal(recorder.Body.Bytes(), &body); err != nil {
		t.Fatalf("body %q does not decode: %v", recorder.Body, err)
	}
	if body.Error.Code == "" {
		t.Errorf("body %q has no error code", recorder.Body)
	}
}
