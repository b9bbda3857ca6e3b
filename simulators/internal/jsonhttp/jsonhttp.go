// Package jsonhttp writes JSON responses and decodes JSON request bodies for
// the simulators, with one error body shape for all of them.
package jsonhttp

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"reflect"
	"strings"
)

// ErrorBody is the JSON body of every simulator error except the OAuth ones:
// a stable code for programs, a Chinese message for people, and the offending
// request field when there is one.
type ErrorBody struct {
	Error   string `json:"error"`
	Message string `json:"message"`
	Field   string `json:"field,omitempty"`
}

// RequestError is a client error found while decoding or checking a request.
// Message is Simplified Chinese.
type RequestError struct {
	Status  int
	Code    string
	Message string
	Field   string
}

func (e *RequestError) Error() string {
	if e.Field != "" {
		return fmt.Sprintf("%s (%s): %s", e.Code, e.Field, e.Message)
	}
	return e.Code + ": " + e.Message
}

// Invalid returns a 400 RequestError with code "invalid_request" for one field.
func Invalid(field, message string) *RequestError {
	return &RequestError{Status: http.StatusBadRequest, Code: "invalid_request", Message: message, Field: field}
}

// Write encodes value as the JSON response body with the given status.
func Write(w http.ResponseWriter, status int, value any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	// The status line is already sent, so an encoding error (the client went
	// away, or value cannot be encoded) cannot be reported to the client.
	_ = json.NewEncoder(w).Encode(value)
}

// WriteError writes an ErrorBody with the given status.
func WriteError(w http.ResponseWriter, status int, code, message, field string) {
	Write(w, status, ErrorBody{Error: code, Message: message, Field: field})
}

// WriteRequestError writes err as an ErrorBody with its status.
func WriteRequestError(w http.ResponseWriter, err *RequestError) {
	WriteError(w, err.Status, err.Code, err.Message, err.Field)
}

// Decode reads one JSON value from the request body into dst. Unknown fields,
// trailing data and bodies over maxBytes are rejected, so a misspelled field
// in a client shows up as an error instead of a silently empty value. The
// returned error is always a *RequestError.
func Decode(w http.ResponseWriter, r *http.Request, maxBytes int64, dst any) *RequestError {
	body := http.MaxBytesReader(w, r.Body, maxBytes)
	decoder := json.NewDecoder(body)
	decoder.DisallowUnknownFields()

	if err := decoder.Decode(dst); err != nil {
		return decodeError(err)
	}
	if _, err := decoder.Token(); !errors.Is(err, io.EOF) {
		return &RequestError{Status: http.StatusBadRequest, Code: "malformed_json", Message: "请求体只能包含一个 JSON 对象。"}
	}
	return nil
}

func decodeError(err error) *RequestError {
	var maxBytesErr *http.MaxBytesError
	var syntaxErr *json.SyntaxError
	var typeErr *json.UnmarshalTypeError

	switch {
	case errors.As(err, &maxBytesErr):
		return &RequestError{
			Status:  http.StatusRequestEntityTooLarge,
			Code:    "body_too_large",
			Message: fmt.Sprintf("请求体超过 %d 字节上限。", maxBytesErr.Limit),
		}
	case errors.Is(err, io.EOF):
		return &RequestError{Status: http.StatusBadRequest, Code: "malformed_json", Message: "请求体为空，应为 JSON 对象。"}
	case errors.As(err, &syntaxErr), errors.Is(err, io.ErrUnexpectedEOF):
		return &RequestError{Status: http.StatusBadRequest, Code: "malformed_json", Message: "请求体不是有效的 JSON。"}
	case errors.As(err, &typeErr) && typeErr.Field == "":
		return &RequestError{Status: http.StatusBadRequest, Code: "malformed_json", Message: "请求体应为 JSON 对象。"}
	case errors.As(err, &typeErr):
		return &RequestError{
			Status:  http.StatusBadRequest,
			Code:    "malformed_json",
			Message: "字段类型不正确，应为" + kindName(typeErr.Type) + "。",
			Field:   typeErr.Field,
		}
	}

	// encoding/json reports an unknown field only through this message text.
	if field, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
		return &RequestError{
			Status:  http.StatusBadRequest,
			Code:    "unknown_field",
			Message: "请求包含不支持的字段。",
			Field:   strings.Trim(field, `"`),
		}
	}
	return &RequestError{Status: http.StatusBadRequest, Code: "malformed_json", Message: "请求体不是有效的 JSON。"}
}

// kindName returns the Chinese name of the JSON kind that decodes into t.
func kindName(t reflect.Type) string {
	switch t.Kind() {
	case reflect.String:
		return "字符串"
	case reflect.Bool:
		return "布尔值"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64,
		reflect.Float32, reflect.Float64:
		return "数字"
	case reflect.Slice, reflect.Array:
		return "数组"
	default:
		return "对象"
	}
}
