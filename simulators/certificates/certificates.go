// Package certificates simulates the big-data centre's certificate API
// (用证接口): given a holder's identity document it returns the holder's
// e-certificates, made up deterministically from the document number.
//
//	POST /v1/certificates/query
package certificates

import (
	"fmt"
	"log/slog"
	"net/http"

	"github.com/sh-preschool/preschool/simulators/internal/document"
	"github.com/sh-preschool/preschool/simulators/internal/jsonhttp"
)

const (
	maxRequestBytes = 16 << 10
	// maxRequestedTypes bounds certificateTypes, duplicates included.
	maxRequestedTypes = 20
)

// QueryRequest is the JSON body of POST /v1/certificates/query. An empty
// or missing CertificateTypes requests every type.
type QueryRequest struct {
	HolderDocumentType   string   `json:"holderDocumentType"`
	HolderDocumentNumber string   `json:"holderDocumentNumber"`
	CertificateTypes     []string `json:"certificateTypes"`
}

// QueryResponse is the JSON body of a query. When the holder has none of
// the requested certificates the status is 404, Certificates is empty and
// Error is "not_found".
type QueryResponse struct {
	Certificates []Certificate `json:"certificates"`
	Error        string        `json:"error,omitempty"`
	Message      string        `json:"message,omitempty"`
}

// NewHandler returns the certificate API simulator. A nil logger means
// slog.Default().
func NewHandler(logger *slog.Logger) http.Handler {
	if logger == nil {
		logger = slog.Default()
	}
	h := &handler{logger: logger.With("service", "certificates")}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/certificates/query", h.query)
	return mux
}

type handler struct {
	logger *slog.Logger
}

func (h *handler) query(w http.ResponseWriter, r *http.Request) {
	var request QueryRequest
	if err := jsonhttp.Decode(w, r, maxRequestBytes, &request); err != nil {
		h.logger.Info("certificate query rejected", "error", err)
		jsonhttp.WriteRequestError(w, err)
		return
	}
	types, err := checkQuery(&request)
	if err != nil {
		h.logger.Info("certificate query rejected", "error", err)
		jsonhttp.WriteRequestError(w, err)
		return
	}

	found := Lookup(request.HolderDocumentType, request.HolderDocumentNumber, types)
	if len(found) == 0 {
		jsonhttp.Write(w, http.StatusNotFound, QueryResponse{
			Certificates: found,
			Error:        "not_found",
			Message:      "未查询到该持证人的相关电子证照。",
		})
		return
	}
	jsonhttp.Write(w, http.StatusOK, QueryResponse{Certificates: found})
}

// checkQuery normalises the document number in place and returns the
// requested types, or a 400 error naming the invalid field.
func checkQuery(request *QueryRequest) ([]string, *jsonhttp.RequestError) {
	if problem := document.CheckType(request.HolderDocumentType); problem != "" {
		return nil, jsonhttp.Invalid("holderDocumentType", problem)
	}
	request.HolderDocumentNumber = document.NormalizeNumber(request.HolderDocumentNumber)
	if problem := document.CheckNumber(request.HolderDocumentType, request.HolderDocumentNumber); problem != "" {
		return nil, jsonhttp.Invalid("holderDocumentNumber", problem)
	}

	if len(request.CertificateTypes) == 0 {
		return Types(), nil
	}
	if len(request.CertificateTypes) > maxRequestedTypes {
		return nil, jsonhttp.Invalid("certificateTypes", fmt.Sprintf("证照类型最多 %d 项。", maxRequestedTypes))
	}
	for i, certificateType := range request.CertificateTypes {
		if _, known := typeNames[certificateType]; !known {
			return nil, jsonhttp.Invalid(fmt.Sprintf("certificateTypes[%d]", i), "不支持的证照类型："+certificateType+"。")
		}
	}
	return request.CertificateTypes, nil
}
