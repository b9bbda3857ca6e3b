// Package api holds the edge's HTTP conventions: handlers that return an
// error, one adapter that writes JSON answers and errors, and the JSON
// request decoder with its limits.
package api

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"math"
	"reflect"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
	"unicode/utf8"

	gojson "github.com/goccy/go-json"
	"github.com/valyala/fasthttp"
	"golang.org/x/time/rate"

	"github.com/sh-preschool/preschool/shared/apierror"
)

// HandlerFunc is an edge handler. A returned *apierror.Error is written as
// it is; any other error is logged and answered with a generic 500.
type HandlerFunc func(ctx *fasthttp.RequestCtx) error

// Handle adapts h to fasthttp.
func Handle(h HandlerFunc) fasthttp.RequestHandler {
	return func(ctx *fasthttp.RequestCtx) {
		if err := h(ctx); err != nil {
			WriteError(ctx, err)
		}
	}
}

type errorBody struct {
	Error *apierror.Error `json:"error"`
}

// ErrShed marks a refusal that sheds load on purpose, such as 503 pdf_busy.
// WriteError writes it like any other *apierror.Error but does not log it as
// a failure, because at the peak it is expected and frequent. The handler
// counts it in its metrics instead.
var ErrShed = errors.New("load shed")

// WriteError writes err as the JSON error body with its status. Errors
// without an *apierror.Error, and those of status 500 and above that are not
// ErrShed, are logged.
func WriteError(ctx *fasthttp.RequestCtx, err error) {
	apiErr := apierror.As(err)
	if apiErr == nil || (apiErr.Status >= 500 && !errors.Is(err, ErrShed)) {
		LogBounded(slog.LevelError, "request failed", "request_id", RequestID(ctx), "method", string(ctx.Method()),
			"path", string(ctx.Path()), "error", err)
	}
	if apiErr == nil {
		apiErr = apierror.Internal
	}
	if apiErr.Status == fasthttp.StatusServiceUnavailable && len(ctx.Response.Header.Peek("Retry-After")) == 0 {
		SetRetryAfter(ctx, unavailableRetryAfter)
	}
	WriteJSON(ctx, apiErr.Status, errorBody{Error: apiErr})
}

// boundedLogs bounds the lines LogBounded writes: while Redis is down at
// the peak, every request fails, and one line each would flood the log.
var (
	boundedLogs    = rate.NewLimiter(20, 100)
	linesNotLogged atomic.Int64
)

// LogBounded logs a line of a request's failure, as slog.Log does, at most
// 20 a second after a burst of 100 across all its callers. It counts the
// lines it skips, and its next line gives that count.
func LogBounded(level slog.Level, msg string, args ...any) {
	if !boundedLogs.Allow() {
		linesNotLogged.Add(1)
		return
	}
	slog.Log(context.Background(), level, msg, append(args, "lines_not_logged_before", linesNotLogged.Swap(0))...)
}

// WriteJSON writes v as a JSON body with status.
func WriteJSON(ctx *fasthttp.RequestCtx, status int, v any) {
	ctx.SetStatusCode(status)
	ctx.SetContentType("application/json; charset=utf-8")
	encoder := json.NewEncoder(ctx)
	encoder.SetEscapeHTML(false)
	if err := encoder.Encode(v); err != nil {
		slog.Error("encode response", "request_id", RequestID(ctx), "error", err)
	}
}

// WriteRawJSON writes an already encoded JSON body.
func WriteRawJSON(ctx *fasthttp.RequestCtx, status int, body []byte) {
	ctx.SetStatusCode(status)
	ctx.SetContentType("application/json; charset=utf-8")
	ctx.SetBody(body)
}

// unavailableRetryAfter is the Retry-After of a 503 whose handler did not
// set one, such as when Redis is unreachable.
const unavailableRetryAfter = 5 * time.Second

// SetRetryAfter sets the Retry-After header in whole seconds, at least one.
func SetRetryAfter(ctx *fasthttp.RequestCtx, wait time.Duration) {
	seconds := int((wait + time.Second - 1) / time.Second)
	ctx.Response.Header.Set("Retry-After", strconv.Itoa(max(seconds, 1)))
}

// DecodeJSON decodes the request body into v. It rejects a body that is
// not JSON, larger than maxBytes, malformed, of the wrong types or with
// unknown fields, each with its own *apierror.Error.
func DecodeJSON(ctx *fasthttp.RequestCtx, maxBytes int, v any) error {
	contentType := string(ctx.Request.Header.ContentType())
	if mediaType, _, _ := strings.Cut(contentType, ";"); strings.TrimSpace(strings.ToLower(mediaType)) != "application/json" {
		return apierror.ErrUnsupportedType
	}
	body := ctx.PostBody()
	if len(body) > maxBytes {
		return apierror.ErrBodyTooLarge
	}
	// encoding/json turns invalid UTF-8 into U+FFFD without an error, which
	// would store garbled text: such a body is rejected instead.
	if !utf8.Valid(body) {
		return errInvalidEncoding
	}
	if decodeFast(body, v) == nil {
		return nil
	}
	// The standard decoder is the reference: it decides what the fast one
	// rejected, and its errors are the ones decodeError explains.
	reset(v)
	decoder := json.NewDecoder(bytes.NewReader(body))
	decoder.DisallowUnknownFields()
	if err := decoder.Decode(v); err != nil {
		return decodeError(body, reflect.TypeOf(v), err)
	}
	if _, err := decoder.Token(); !errors.Is(err, io.EOF) {
		return apierror.ErrMalformedJSON
	}
	return nil
}

// decodeFast decodes with goccy/go-json, faster than encoding/json on a
// registration (see BenchmarkDecodeJSON), with the same rules: unknown fields
// and trailing data are errors. goccy/go-json accepts some malformed input
// that encoding/json rejects (such as a bad \u escape), so the standard
// scanner checks the syntax first; FuzzDecodeAgreement holds the two to the
// same answers.
func decodeFast(body []byte, v any) error {
	if !json.Valid(body) {
		return errInvalidSyntax
	}
	if hasLongNumber(body) {
		return errLongNumber
	}
	decoder := gojson.NewDecoder(bytes.NewReader(body))
	decoder.DisallowUnknownFields()
	if err := decoder.Decode(v); err != nil {
		return err
	}
	var rest any
	if err := decoder.Decode(&rest); !errors.Is(err, io.EOF) {
		return errTrailingData
	}
	return nil
}

var (
	errTrailingData  = errors.New("trailing data after the JSON value")
	errInvalidSyntax = errors.New("invalid JSON syntax")
	errLongNumber    = errors.New("a number of 19 or more digits")
)

// hasLongNumber reports whether valid JSON contains a number of 19 or more
// digits outside strings. goccy/go-json v0.10 wraps an integer between
// 2^63 and 2^64 into a negative int64 without an error, so such a body goes
// to the standard decoder, which rejects what does not fit.
func hasLongNumber(body []byte) bool {
	digits := 0
	for i := 0; i < len(body); i++ {
		c := body[i]
		switch {
		case c == '"':
			// Strings are most of a registration, so they are skipped
			// with IndexByte rather than read byte by byte.
			end := closingQuote(body, i+1)
			if end < 0 {
				return false
			}
			i, digits = end, 0
		case c >= '0' && c <= '9':
			digits++
			if digits >= 19 {
				return true
			}
		default:
			digits = 0
		}
	}
	return false
}

// closingQuote returns the index of the quote that ends the string whose
// text starts at start, or -1 when there is none. A quote preceded by an
// odd number of backslashes is escaped and does not end it.
func closingQuote(body []byte, start int) int {
	for from := start; from < len(body); {
		offset := bytes.IndexByte(body[from:], '"')
		if offset < 0 {
			return -1
		}
		quote := from + offset
		backslashes := 0
		for k := quote - 1; k >= start && body[k] == '\\'; k-- {
			backslashes++
		}
		if backslashes%2 == 0 {
			return quote
		}
		from = quote + 1
	}
	return -1
}

// reset zeroes what v points to, so a failed fast decode leaves nothing
// behind for the second one.
func reset(v any) {
	value := reflect.ValueOf(v)
	if value.Kind() == reflect.Pointer && !value.IsNil() {
		value.Elem().SetZero()
	}
}

var errInvalidEncoding = apierror.New(400, "invalid_encoding", "提交的数据包含无法识别的字符（应为 UTF-8 编码），请刷新页面后重新填写。")

var errNotObject = apierror.New(400, "malformed_json", "提交的数据应为 JSON 对象，请刷新页面后重新填写。")

// decodeError turns a decoding error into an *apierror.Error naming the full
// path of the offending field.
func decodeError(body []byte, target reflect.Type, err error) error {
	var typeErr *json.UnmarshalTypeError
	var syntaxErr *json.SyntaxError
	if errors.As(err, &syntaxErr) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
		return apierror.ErrMalformedJSON
	}
	isTypeError := errors.As(err, &typeErr)
	isUnknownField := strings.HasPrefix(err.Error(), "json: unknown field ")
	if !isTypeError && !isUnknownField {
		return apierror.ErrMalformedJSON
	}

	path, problem, kind := diagnose(body, target)
	switch problem {
	case problemNotObject:
		return errNotObject
	case problemUnknownField:
		return apierror.Invalid(path, "unknown_field", "提交的数据包含未知字段 "+path+"，请刷新页面后重新填写。")
	case problemWrongType:
		if typeErr != nil && isTooLarge(typeErr.Value) && (kind == reflect.Int || kind == reflect.Float64) {
			return apierror.Invalid(path, "out_of_range", "字段 "+path+" 的数值超出允许范围，请核对。")
		}
		if typeErr != nil && strings.HasPrefix(typeErr.Value, "number") && kind == reflect.Int {
			return apierror.Invalid(path, "invalid_field_type", "字段 "+path+" 应为整数，不带小数点或指数，请核对。")
		}
		return apierror.Invalid(path, "invalid_field_type", "字段 "+path+" 的类型不正确（应为"+typeName(kind.String())+"），请刷新页面后重新填写。")
	}
	// diagnose found nothing: fall back to what encoding/json said.
	if isTypeError {
		if typeErr.Field == "" {
			return errNotObject
		}
		return apierror.Invalid(typeErr.Field, "invalid_field_type", "字段 "+typeErr.Field+" 的类型不正确（应为"+typeName(typeErr.Type.Kind().String())+"），请刷新页面后重新填写。")
	}
	field := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
	return apierror.Invalid(field, "unknown_field", "提交的数据包含未知字段 "+field+"，请刷新页面后重新填写。")
}

// isTooLarge reports whether an UnmarshalTypeError's value names a whole
// JSON number beyond int64, such as "number 1e400". A fraction or a whole
// number in range written with an exponent ("number 2.027e3") is not.
func isTooLarge(value string) bool {
	number, found := strings.CutPrefix(value, "number ")
	if !found {
		return false
	}
	parsed, err := strconv.ParseFloat(number, 64)
	if err != nil {
		return true // beyond float64, such as 1e400
	}
	return parsed == math.Trunc(parsed) && math.Abs(parsed) >= math.MaxInt64
}

func typeName(kind string) string {
	switch kind {
	case "string":
		return "文字"
	case "bool":
		return "是或否"
	case "int", "int64", "int32", "int16", "float64", "uint", "uint64":
		return "数字"
	case "slice", "array":
		return "列表"
	case "struct", "map":
		return "对象"
	}
	return kind
}

type contextKey string

const (
	requestIDKey     contextKey = "request_id"
	subjectKey       contextKey = "subject"
	revocationKeyKey contextKey = "revocation_key"
	// sessionUncheckedKey marks a session whose revocation Redis could not
	// look up.
	sessionUncheckedKey contextKey = "session_unchecked"
)

// SetRevocationKey stores the Redis key that exists when the request's
// session was revoked, for a handler whose own Redis script checks it
// instead of the sign-in middleware (signin.Service.AuthenticateLeavingRevocation).
func SetRevocationKey(ctx *fasthttp.RequestCtx, key string) { ctx.SetUserValue(revocationKeyKey, key) }

// RevocationKey returns the key SetRevocationKey stored in ctx or a context
// made from it, or "" when the middleware checked the session itself.
func RevocationKey(ctx context.Context) string {
	key, _ := ctx.Value(revocationKeyKey).(string)
	return key
}

// RequestID returns the request's ID set by the server's middleware.
func RequestID(ctx *fasthttp.RequestCtx) string {
	id, _ := ctx.UserValue(requestIDKey).(string)
	return id
}

// SetRequestID stores the request's ID.
func SetRequestID(ctx *fasthttp.RequestCtx, id string) { ctx.SetUserValue(requestIDKey, id) }

// Subject returns the signed-in parent's subject, or "".
func Subject(ctx *fasthttp.RequestCtx) string {
	subject, _ := ctx.UserValue(subjectKey).(string)
	return subject
}

// SetSubject stores the signed-in parent's subject.
func SetSubject(ctx *fasthttp.RequestCtx, subject string) { ctx.SetUserValue(subjectKey, subject) }

// ErrSessionUnchecked is the error of a request whose session could not be
// checked against the signed-out sessions, because Redis failed.
var ErrSessionUnchecked = apierror.New(fasthttp.StatusServiceUnavailable, "temporarily_unavailable",
	"暂时无法确认登录状态，请稍后再试。已提交的登记和报名不受影响。")

// SetSessionUnchecked marks the request's session as not checked against
// the signed-out sessions.
func SetSessionUnchecked(ctx *fasthttp.RequestCtx) { ctx.SetUserValue(sessionUncheckedKey, true) }

// RequireSubject returns the signed-in parent's subject, ErrNotSignedIn, or
// ErrSessionUnchecked.
func RequireSubject(ctx *fasthttp.RequestCtx) (string, error) {
	subject := Subject(ctx)
	if subject == "" {
		return "", apierror.ErrNotSignedIn
	}
	if unchecked, _ := ctx.UserValue(sessionUncheckedKey).(bool); unchecked {
		return "", ErrSessionUnchecked
	}
	return subject, nil
}
