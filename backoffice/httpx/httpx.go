// Package httpx holds the back office's HTTP conventions: handlers that
// return an error, one adapter that writes JSON answers and errors, request
// decoding, and paging parameters.
package httpx

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"

	"github.com/go-chi/chi/v5/middleware"

	"github.com/sh-preschool/preschool/shared/apierror"
)

// HandlerFunc is a back-office handler. A returned *apierror.Error is
// written as it is; any other error is logged and answered with a generic
// 500.
type HandlerFunc func(w http.ResponseWriter, r *http.Request) error

// Handle adapts h to net/http.
func Handle(h HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if err := h(w, r); err != nil {
			WriteError(w, r, err)
		}
	}
}

type deniedKey struct{}

// DeniedFunc is told about every 403 the back office answers, so the audit
// trail records refused accesses.
type DeniedFunc func(r *http.Request, err *apierror.Error)

// WithDenied returns r with a function WriteError calls for every 403.
func WithDenied(r *http.Request, denied DeniedFunc) *http.Request {
	return r.WithContext(context.WithValue(r.Context(), deniedKey{}, denied))
}

// WriteError writes err as the JSON error body with its status.
func WriteError(w http.ResponseWriter, r *http.Request, err error) {
	apiErr := apierror.As(err)
	if apiErr != nil && apiErr.Status == http.StatusForbidden {
		if denied, ok := r.Context().Value(deniedKey{}).(DeniedFunc); ok {
			denied(r, apiErr)
		}
	}
	if apiErr == nil || apiErr.Status >= 500 {
		slog.Error("request failed", "request_id", middleware.GetReqID(r.Context()), "method", r.Method,
			"path", r.URL.Path, "error", err)
	}
	if apiErr == nil {
		apiErr = apierror.Internal
	}
	WriteJSON(w, apiErr.Status, map[string]any{"error": apiErr})
}

// WriteJSON writes v as a JSON body with status. When v cannot be
// encoded (a time after year 9999, say) it logs the error and writes a 500
// instead, because the status line has not been sent yet.
func WriteJSON(w http.ResponseWriter, status int, v any) {
	var body bytes.Buffer
	encoder := json.NewEncoder(&body)
	encoder.SetEscapeHTML(false)
	if err := encoder.Encode(v); err != nil {
		slog.Error("encode response", "status", status, "error", err)
		body.Reset()
		status = apierror.Internal.Status
		_ = json.NewEncoder(&body).Encode(map[string]any{"error": apierror.Internal})
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write(body.Bytes())
}

// DecodeJSON decodes a JSON request body of at most maxBytes into v,
// rejecting unknown fields.
func DecodeJSON(r *http.Request, maxBytes int64, v any) error {
	mediaType, _, _ := strings.Cut(r.Header.Get("Content-Type"), ";")
	if strings.TrimSpace(strings.ToLower(mediaType)) != "application/json" {
		return apierror.ErrUnsupportedType
	}
	decoder := json.NewDecoder(io.LimitReader(r.Body, maxBytes+1))
	decoder.DisallowUnknownFields()
	if err := decoder.Decode(v); err != nil {
		var typeErr *json.UnmarshalTypeError
		if errors.As(err, &typeErr) {
			return apierror.Invalid(typeErr.Field, "invalid_field_type", "字段 "+typeErr.Field+" 的类型不正确。")
		}
		if r.ContentLength > maxBytes {
			return apierror.ErrBodyTooLarge
		}
		return apierror.ErrMalformedJSON
	}
	return nil
}

// Page is a validated page request.
type Page struct {
	Number int
	Size   int
}

// Offset returns the number of rows before the page.
func (p Page) Offset() int { return (p.Number - 1) * p.Size }

// ParsePage reads "page" (from 1) and "size" (1 to 100, default 20).
func ParsePage(r *http.Request) (Page, error) {
	page := Page{Number: 1, Size: 20}
	if value := r.URL.Query().Get("page"); value != "" {
		number, err := strconv.Atoi(value)
		if err != nil || number < 1 || number > 100_000 {
			return page, apierror.Invalid("page", "invalid_page", "页码应为正整数。")
		}
		page.Number = number
	}
	if value := r.URL.Query().Get("size"); value != "" {
		size, err := strconv.Atoi(value)
		if err != nil || size < 1 || size > 100 {
			return page, apierror.Invalid("size", "invalid_page_size", "每页条数应为 1 至 100。")
		}
		page.Size = size
	}
	return page, nil
}
