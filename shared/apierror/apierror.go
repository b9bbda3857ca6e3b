// Package apierror defines the error that every API of the system returns to
// a client: a stable code for programs, a Chinese message for people, and the
// HTTP status that carries it.
package apierror

import (
	"errors"
	"fmt"
	"net/http"
)

// Error is an error a client may see. Code is stable across releases, Message
// is Simplified Chinese and safe to show, Field names the offending input
// field (a JSON path such as "child.document.number") when there is one.
type Error struct {
	Status  int    `json:"-"`
	Code    string `json:"code"`
	Message string `json:"message"`
	Field   string `json:"field,omitempty"`
	// Detail carries extra machine-readable facts, such as the first
	// registration number when a second registration is rejected.
	Detail map[string]string `json:"detail,omitempty"`
}

func (e *Error) Error() string {
	if e.Field != "" {
		return fmt.Sprintf("%s (%s): %s", e.Code, e.Field, e.Message)
	}
	return fmt.Sprintf("%s: %s", e.Code, e.Message)
}

// New returns an Error with the given status, code and Chinese message.
func New(status int, code, message string) *Error {
	return &Error{Status: status, Code: code, Message: message}
}

// Invalid returns a 400 Error for one input field.
func Invalid(field, code, message string) *Error {
	return &Error{Status: http.StatusBadRequest, Code: code, Message: message, Field: field}
}

// WithField returns a copy of e that names field, prefixed to any field e
// already names ("guardians[0]" + "document.number").
func (e *Error) WithField(field string) *Error {
	copied := *e
	switch {
	case copied.Field == "":
		copied.Field = field
	case field != "":
		copied.Field = field + "." + copied.Field
	}
	return &copied
}

// WithDetail returns a copy of e with one more detail entry.
func (e *Error) WithDetail(key, value string) *Error {
	copied := *e
	copied.Detail = make(map[string]string, len(e.Detail)+1)
	for k, v := range e.Detail {
		copied.Detail[k] = v
	}
	copied.Detail[key] = value
	return &copied
}

// As returns the *Error in err's chain, or nil.
func As(err error) *Error {
	var apiErr *Error
	if errors.As(err, &apiErr) {
		return apiErr
	}
	return nil
}

// Internal is what a client sees for any error that is not an *Error. The
// detail goes to the log only.
var Internal = New(http.StatusInternalServerError, "internal_error", "系统繁忙，请稍后再试。如问题持续，请联系客服。")

// Common errors shared by both binaries.
var (
	ErrMalformedJSON   = New(http.StatusBadRequest, "malformed_json", "提交的数据格式不正确，请刷新页面后重新填写。")
	ErrBodyTooLarge    = New(http.StatusRequestEntityTooLarge, "body_too_large", "提交的数据过大，请检查后重新提交。")
	ErrUnsupportedType = New(http.StatusUnsupportedMediaType, "unsupported_media_type", "请以 JSON 格式提交数据。")
	ErrNotSignedIn     = New(http.StatusUnauthorized, "not_signed_in", "请先登录后再办理。")
	ErrForbidden       = New(http.StatusForbidden, "forbidden", "您无权访问该数据。")
	ErrNotFound        = New(http.StatusNotFound, "not_found", "未找到相关记录。")
)
