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

func TestHandlerDataKeyRoundTrip(t *testing.T) {
	handler := newHandler(t)
	call := func(path, body string) (int, cloudapi.DataKeyResponse) {
		t.Helper()
		request := httptest.NewRequest(http.MethodPost, path, strings.NewReader(body))
		request.Header.Set(cloudapi.APIKeyHeader, "secret")
		recorder := httptest.NewRecorder()
		handler.ServeHTTP(recorder, request)
		var response cloudapi.DataKeyResponse
		if recorder.Code == http.StatusOK {
			if err := json.Unmarshal(recorder.Body.Bytes(), &response); err != nil {
				t.Fatal(err)
			}
		}
		return recorder.Code, response
	}

	status, generated := call(cloudapi.PathGenerateDataKey, `{"keyId":"k1"}`)
	if status != http.StatusOK || generated.KeyID != "k1" || len(generated.DataKey) != cloudapi.DataKeySize {
		t.Fatalf("generate = %d %+v, want a %d-byte key under k1", status, generated, cloudapi.DataKeySize)
	}
	if strings.Contains(string(generated.WrappedKey), string(generated.DataKey)) {
		t.Error("the wrapped key contains the data key")
	}
	wrapped, err := json.Marshal(cloudapi.UnwrapDataKeyRequest{WrappedKey: generated.WrappedKey})
	if err != nil {
		t.Fatal(err)
	}
	status, unwrapped := call(cloudapi.PathUnwrapDataKey, string(wrapped))
	if status != http.StatusOK || unwrapped.KeyID != "k1" || string(unwrapped.DataKey) != string(generated.DataKey) {
		t.Errorf("unwrap = %d %+v, want the generated key under k1", status, unwrapped)
	}

	// A sealed value is not accepted as a wrapped data key.
	sealed, err := json.Marshal(map[string]any{"keyId": "k1", "plaintext": generated.DataKey, "context": "registration.child_name"})
	if err != nil {
		t.Fatal(err)
	}
	request := httptest.NewRequest(http.MethodPost, cloudapi.PathSeal, strings.NewReader(string(sealed)))
	request.Header.Set(cloudapi.APIKeyHeader, "secret")
	recorder := httptest.NewRecorder()
	handler.ServeHTTP(recorder, request)
	var sealResponse cloudapi.SealResponse
	if err := json.Unmarshal(recorder.Body.Bytes(), &sealResponse); err != nil {
		t.Fatal(err)
	}
	other, err := json.Marshal(cloudapi.UnwrapDataKeyRequest{WrappedKey: sealResponse.Ciphertext})
	if err != nil {
		t.Fatal(err)
	}
	status, body := post(t, handler, cloudapi.PathUnwrapDataKey, "secret", string(other))
	if status != http.StatusUnprocessableEntity || body.Error != cloudapi.CodeAuthenticationFailed {
		t.Errorf("unwrap of a sealed value = %d %q, want 422 %s", status, body.Error, cloudapi.CodeAuthenticationFailed)
	}

	status, body = post(t, handler, cloudapi.PathGenerateDataKey, "secret", `{"keyId":"k9"}`)
	if status != http.StatusUnprocessableEntity || body.Error != cloudapi.CodeUnknownKey {
		t.Errorf("generate under another key = %d %q, want 422 %s", status, body.Error, cloudapi.CodeUnknownKey)
	}
	status, _ = post(t, handler, cloudapi.PathGenerateDataKey, "", `{"keyId":"k1"}`)
	if status != http.StatusUnauthorized {
		t.Errorf("generate without the API key = %d, want 401", status)
	}
}
