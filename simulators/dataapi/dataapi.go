// Package dataapi simulates the big-data centre's data API (用数接口) for
// identity verification: whether a document number and a name belong
// together.
//
//	POST /v1/identity/verify        one check
//	POST /v1/identity/verify-batch  up to 100 checks, results in request order
//
// The answer is deterministic: a holder is a mismatch when the FNV-1a hash of
// the normalised document number is divisible by 50 (about 2% of numbers), or
// when the name contains MismatchMarker.
package dataapi

import (
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/sh-preschool/preschool/simulators/internal/document"
	"github.com/sh-preschool/preschool/simulators/internal/jsonhttp"
)

// MismatchMarker in a name always makes the verification fail, so demos and
// tests can force a mismatch for any document number.
const MismatchMarker = "测试不符"

// MaxBatchItems is the largest number of items in one batch request.
const MaxBatchItems = 100

// mismatchModulus sets the share of numbers that never match: 1 in 50.
const mismatchModulus = 50

const (
	maxNameRunes    = 64
	maxRequestBytes = 256 << 10
)

// Reasons returned with a verification result.
const (
	ReasonMatch    = "姓名与证件号码一致。"
	ReasonMismatch = "姓名与证件号码不一致。"
)

// VerifyRequest is the JSON body of /v1/identity/verify and one item of a
// batch.
type VerifyRequest struct {
	DocumentType   string `json:"documentType"`
	DocumentNumber string `json:"documentNumber"`
	Name           string `json:"name"`
}

// VerifyResult is the JSON body of /v1/identity/verify and one result of a
// batch.
type VerifyResult struct {
	Match  bool   `json:"match"`
	Reason string `json:"reason"`
}

// BatchRequest is the JSON body of /v1/identity/verify-batch.
type BatchRequest struct {
	Items []VerifyRequest `json:"items"`
}

// BatchResponse holds one result per request item, in the same order.
type BatchResponse struct {
	Results []VerifyResult `json:"results"`
}

// Verify returns the simulated verification result. It does not validate
// the request; the HTTP handlers do.
func Verify(request VerifyRequest) VerifyResult {
	if strings.Contains(request.Name, MismatchMarker) || document.Hash(request.DocumentNumber)%mismatchModulus == 0 {
		return VerifyResult{Match: false, Reason: ReasonMismatch}
	}
	return VerifyResult{Match: true, Reason: ReasonMatch}
}

// NewHandler returns the data API simulator. A nil logger means
// slog.Default().
func NewHandler(logger *slog.Logger) http.Handler {
	if logger == nil {
		logger = slog.Default()
	}
	h := &handler{logger: logger.With("service", "data")}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/identity/verify", h.verify)
	mux.HandleFunc("POST /v1/identity/verify-batch", h.verifyBatch)
	return mux
}

type handler struct {
	logger *slog.Logger
}

func (h *handler) verify(w http.ResponseWriter, r *http.Request) {
	var request VerifyRequest
	if err := jsonhttp.Decode(w, r, maxRequestBytes, &request); err != nil {
		h.reject(w, err)
		return
	}
	if err := checkRequest(request, ""); err != nil {
		h.reject(w, err)
		return
	}
	jsonhttp.Write(w, http.StatusOK, Verify(request))
}

func (h *handler) verifyBatch(w http.ResponseWriter, r *http.Request) {
	var batch BatchRequest
	if err := jsonhttp.Decode(w, r, maxRequestBytes, &batch); err != nil {
		h.reject(w, err)
		return
	}
	switch {
	case len(batch.Items) == 0:
		h.reject(w, jsonhttp.Invalid("items", "缺少核验条目，至少需要 1 条。"))
		return
	case len(batch.Items) > MaxBatchItems:
		h.reject(w, jsonhttp.Invalid("items", fmt.Sprintf("一次最多核验 %d 条，本次提交了 %d 条。", MaxBatchItems, len(batch.Items))))
		return
	}

	results := make([]VerifyResult, len(batch.Items))
	for i, item := range batch.Items {
		if err := checkRequest(item, fmt.Sprintf("items[%d].", i)); err != nil {
			h.reject(w, err)
			return
		}
		results[i] = Verify(item)
	}
	jsonhttp.Write(w, http.StatusOK, BatchResponse{Results: results})
}

func (h *handler) reject(w http.ResponseWriter, err *jsonhttp.RequestError) {
	h.logger.Info("verification request rejected", "error", err)
	jsonhttp.WriteRequestError(w, err)
}

// checkRequest returns a 400 error naming the first invalid field, with
// fieldPrefix before the field name.
func checkRequest(request VerifyRequest, fieldPrefix string) *jsonhttp.RequestError {
	if problem := document.CheckType(request.DocumentType); problem != "" {
		return jsonhttp.Invalid(fieldPrefix+"documentType", problem)
	}
	number := document.NormalizeNumber(request.DocumentNumber)
	if problem := document.CheckNumber(request.DocumentType, number); problem != "" {
		return jsonhttp.Invalid(fieldPrefix+"documentNumber", problem)
	}

	name := strings.TrimSpace(request.Name)
	switch {
	case name == "":
		return jsonhttp.Invalid(fieldPrefix+"name", "缺少姓名。")
	case utf8.RuneCountInString(name) > maxNameRunes:
		return jsonhttp.Invalid(fieldPrefix+"name", fmt.Sprintf("姓名过长，最多 %d 个字。", maxNameRunes))
	case strings.IndexFunc(name, unicode.IsControl) >= 0:
		return jsonhttp.Invalid(fieldPrefix+"name", "姓名包含无效字符。")
	}
	return nil
}
