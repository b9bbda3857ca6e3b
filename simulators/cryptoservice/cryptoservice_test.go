package cryptoservice

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/sh-preschool/preschool/shared/crypto/cloudapi"
)

func post(t *testing.T, handler http.Handler, path, apiKey, body string) (int, cloudapi.ErrorBody) {
	t.Helper()
	request := httptest.NewRequest(http.MethodPost, path, strings.NewReader(body))
	if apiKey != "" {
		request.Header.Set(cloudapi.APIKeyHeader, apiKey)
	}
	recorder := httptest.NewRecorder()
	handler.ServeHTTP(recorder, request)
	var errorBody cloudapi.ErrorBody
	if recorder.Code != http.StatusOK {
		if err := json.Unmarshal(recorder.Body.Bytes(), &errorBody); err != nil {
			t.Fatalf("error answer %q is not an ErrorBody: %v", recorder.Body.String(), err)
		}
	}
	return recorder.Code, errorBody
}

func newHandler(t *testing.T) http.Handler {
	t.Helper()
	provider, err := GenerateProvider("k1", "s1")
	if err != nil {
		t.Fatal(err)
	}
	return NewHandler(provider, "secret")
}

func TestHandlerRejectsMissingAPIKey(t *testing.T) {
	status, body := post(t, newHandler(t), cloudapi.PathIndex, "", `{"domain":"d","value":"dg=="}`)
	if status != http.StatusUnauthorized || body.Error != cloudapi.CodeUnauthorized {
		t.Fatalf("answer = %d %q, want 401 %s", status, body.Error, cloudapi.CodeUnauthorized)
	}
}

func TestHandlerRejectsWrongAPIKey(t *testing.T) {
	status, _ := post(t, newHandler(t), cloudapi.PathIndex, "guess", `{"domain":"d","value":"dg=="}`)
	if status != http.StatusUnauthorized {
		t.Fatalf("status = %d, want 401", status)
	}
}

func TestHandlerEmptyAPIKeyAcceptsNothing(t *testing.T) {
	provider, err := GenerateProvider("k1", "s1")
	if err != nil {
		t.Fatal(err)
	}
	status, _ := post(t, NewHandler(provider, ""), cloudapi.PathIndex, "", `{"domain":"d","value":"dg=="}`)
	if status != http.StatusUnauthorized {
		t.Fatalf("status = %d, want 401", status)
	}
}

func TestHandlerRejectsMalformedJSON(t *testing.T) {
	status, body := post(t, newHandler(t), cloudapi.PathSeal, "secret", `{"plaintext":`)
	if status != http.StatusBadRequest || body.Error != "malformed_json" {
		t.Fatalf("answer = %d %q, want 400 malformed_json", status, body.Error)
	}
}

func TestHandlerRejectsUnknownField(t *testing.T) {
	status, body := post(t, newHandler(t), cloudapi.PathSeal, "secret", `{"plaintext":"eA==","contxt":"c"}`)
	if status != http.StatusBadRequest || body.Field != "contxt" {
		t.Fatalf("answer = %d field %q, want 400 naming contxt", status, body.Field)
	}
}

func TestHandlerSealUnderOtherKey(t *testing.T) {
	status, body := post(t, newHandler(t), cloudapi.PathSeal, "secret", `{"keyId":"k9","plaintext":"eA==","context":"c"}`)
	if status != http.StatusUnprocessableEntity || body.Error != cloudapi.CodeUnknownKey {
		t.Fatalf("answer = %d %q, want 422 %s", status, body.Error, cloudapi.CodeUnknownKey)
	}
}

func TestHandlerOnlyPost(t *testing.T) {
	request := httptest.NewRequest(http.MethodGet, cloudapi.PathSeal, nil)
	request.Header.Set(cloudapi.APIKeyHeader, "secret")
	recorder := httptest.NewRecorder()
	newHandler(t).ServeHTTP(recorder, request)
	if recorder.Code != http.StatusMethodNotAllowed {
		t.Fatalf("GET status = %d, want 405", recorder.Code)
	}
}
