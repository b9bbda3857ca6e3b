package dataapi

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/sh-preschool/preschool/simulators/internal/document"
)

func startServer(t *testing.T) *httptest.Server {
	t.Helper()
	server := httptest.NewServer(NewHandler(nil))
	t.Cleanup(server.Close)
	return server
}

func post(t *testing.T, server *httptest.Server, path string, body any) (int, string) {
	t.Helper()
	var payload string
	if text, ok := body.(string); ok {
		payload = text
	} else {
		encoded, err := json.Marshal(body)
		if err != nil {
			t.Fatal(err)
		}
		payload = string(encoded)
	}
	response, err := server.Client().Post(server.URL+path, "application/json", strings.NewReader(payload))
	if err != nil {
		t.Fatalf("POST %s: %v", path, err)
	}
	defer response.Body.Close()
	responseBody, err := io.ReadAll(response.Body)
	if err != nil {
		t.Fatal(err)
	}
	return response.StatusCode, string(responseBody)
}

// numbers returns count passport-style numbers whose hash rule gives match.
func numbers(t *testing.T, wantMatch bool, count int) []string {
	t.Helper()
	var found []string
	for i := 0; len(found) < count && i < 100_000; i++ {
		number := fmt.Sprintf("G%08d", i)
		if (document.Hash(number)%mismatchModulus != 0) == wantMatch {
			found = append(found, number)
		}
	}
	if len(found) < count {
		t.Fatalf("found %d numbers with match %v, want %d", len(found), wantMatch, count)
	}
	return found
}

func TestVerifyRules(t *testing.T) {
	matching := numbers(t, true, 1)[0]
	mismatching := numbers(t, false, 1)[0]

	tests := []struct {
		name      string
		request   VerifyRequest
		wantMatch bool
	}{
		{name: "ordinary number", request: VerifyRequest{DocumentType: "passport", DocumentNumber: matching, Name: "张三"}, wantMatch: true},
		{name: "number hash divisible by 50", request: VerifyRequest{DocumentType: "passport", DocumentNumber: mismatching, Name: "张三"}, wantMatch: false},
		{name: "lower case and spaces normalised", request: VerifyRequest{DocumentType: "passport", DocumentNumber: " " + strings.ToLower(mismatching) + " ", Name: "张三"}, wantMatch: false},
		{name: "marker in name", request: VerifyRequest{DocumentType: "passport", DocumentNumber: matching, Name: "李测试不符"}, wantMatch: false},
		{name: "demo parent 08", request: VerifyRequest{DocumentType: "resident_id_card", DocumentNumber: "31010419850101002X", Name: "周测试不符"}, wantMatch: false},
	}
	server := startServer(t)

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, body := post(t, server, "/v1/identity/verify", tt.request)
			if status != http.StatusOK {
				t.Fatalf("status = %d, want 200 (body %s)", status, body)
			}
			var result VerifyResult
			if err := json.Unmarshal([]byte(body), &result); err != nil {
				t.Fatal(err)
			}
			if result.Match != tt.wantMatch {
				t.Errorf("match = %v, want %v", result.Match, tt.wantMatch)
			}
			wantReason := ReasonMismatch
			if tt.wantMatch {
				wantReason = ReasonMatch
			}
			if result.Reason != wantReason {
				t.Errorf("reason = %q, want %q", result.Reason, wantReason)
			}

			_, again := post(t, server, "/v1/identity/verify", tt.request)
			if again != body {
				t.Errorf("second answer %s differs from first %s", again, body)
			}
		})
	}
}

func TestMismatchShare(t *testing.T) {
	const count = 10_000
	mismatches := 0
	for i := range count {
		if !Verify(VerifyRequest{DocumentType: "passport", DocumentNumber: fmt.Sprintf("H%07d", i), Name: "王五"}).Match {
			mismatches++
		}
	}
	// The rule targets 1 in 50 (200 of 10,000); FNV-1a spreads these
	// sequential numbers closely enough to stay within 100 to 300.
	if mismatches < 100 || mismatches > 300 {
		t.Errorf("%d of %d numbers mismatch, want about 200", mismatches, count)
	}
}

func TestVerifyBatchKeepsOrder(t *testing.T) {
	matching := numbers(t, true, 60)
	mismatching := numbers(t, false, 30)
	var items []VerifyRequest
	var want []bool
	for i := range MaxBatchItems {
		switch {
		case i%10 == 3:
			items = append(items, VerifyRequest{DocumentType: "passport", DocumentNumber: matching[i%60], Name: "测试不符"})
			want = append(want, false)
		case i%3 == 0:
			items = append(items, VerifyRequest{DocumentType: "passport", DocumentNumber: mismatching[i%30], Name: "赵六"})
			want = append(want, false)
		default:
			items = append(items, VerifyRequest{DocumentType: "passport", DocumentNumber: matching[i%60], Name: "赵六"})
			want = append(want, true)
		}
	}
	server := startServer(t)

	status, body := post(t, server, "/v1/identity/verify-batch", BatchRequest{Items: items})
	if status != http.StatusOK {
		t.Fatalf("status = %d, want 200 (body %.300s)", status, body)
	}
	var response BatchResponse
	if err := json.Unmarshal([]byte(body), &response); err != nil {
		t.Fatal(err)
	}
	if len(response.Results) != len(items) {
		t.Fatalf("got %d results, want %d", len(response.Results), len(items))
	}
	for i, result := range response.Results {
		if result.Match != want[i] {
			t.Errorf("results[%d].match = %v, want %v for %+v", i, result.Match, want[i], items[i])
		}
		if single := Verify(items[i]); result != single {
			t.Errorf("results[%d] = %+v, want the single answer %+v", i, result, single)
		}
	}
}

func TestVerifyRejectsBadInput(t *testing.T) {
	valid := VerifyRequest{DocumentType: "passport", DocumentNumber: "E12345678", Name: "张三"}
	tooMany := make([]VerifyRequest, MaxBatchItems+1)
	for i := range tooMany {
		tooMany[i] = valid
	}
	badThird := []VerifyRequest{valid, valid, valid, {DocumentType: "passport", DocumentNumber: "E1", Name: " "}}

	tests := []struct {
		name      string
		path      string
		body      any
		wantField string
	}{
		{name: "missing name", path: "/v1/identity/verify", body: VerifyRequest{DocumentType: "passport", DocumentNumber: "E1"}, wantField: "name"},
		{name: "missing type", path: "/v1/identity/verify", body: VerifyRequest{DocumentNumber: "E1", Name: "张三"}, wantField: "documentType"},
		{name: "missing number", path: "/v1/identity/verify", body: VerifyRequest{DocumentType: "passport", Name: "张三"}, wantField: "documentNumber"},
		{name: "short resident ID", path: "/v1/identity/verify", body: VerifyRequest{DocumentType: "resident_id_card", DocumentNumber: "3101", Name: "张三"}, wantField: "documentNumber"},
		{name: "name too long", path: "/v1/identity/verify", body: VerifyRequest{DocumentType: "passport", DocumentNumber: "E1", Name: strings.Repeat("名", 65)}, wantField: "name"},
		{name: "unknown field", path: "/v1/identity/verify", body: `{"documentType":"passport","documentNo":"E1","name":"张三"}`, wantField: "documentNo"},
		{name: "not JSON", path: "/v1/identity/verify", body: `name=张三`},
		{name: "empty batch", path: "/v1/identity/verify-batch", body: BatchRequest{}, wantField: "items"},
		{name: "batch over 100", path: "/v1/identity/verify-batch", body: BatchRequest{Items: tooMany}, wantField: "items"},
		{name: "invalid batch item", path: "/v1/identity/verify-batch", body: BatchRequest{Items: badThird}, wantField: "items[3].name"},
		{name: "batch item wrong type", path: "/v1/identity/verify-batch", body: `{"items":[{"documentType":1}]}`, wantField: "items.documentType"},
	}
	server := startServer(t)

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, body := post(t, server, tt.path, tt.body)
			if status != http.StatusBadRequest {
				t.Fatalf("status = %d, want 400 (body %.300s)", status, body)
			}
			var errorBody struct{ Error, Message, Field string }
			if err := json.Unmarshal([]byte(body), &errorBody); err != nil {
				t.Fatalf("error body is not JSON: %v: %s", err, body)
			}
			if errorBody.Field != tt.wantField {
				t.Errorf("field = %q, want %q", errorBody.Field, tt.wantField)
			}
			if errorBody.Message == "" {
				t.Error("error body has no message")
			}
		})
	}
}
