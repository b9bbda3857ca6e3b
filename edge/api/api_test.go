package api_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/sh-preschool/preschool/edge/api"
	"github.com/sh-preschool/preschool/edge/edgetest"
	"github.com/sh-preschool/preschool/edge/precheck"
	"github.com/sh-preschool/preschool/shared/apierror"
)

// requestWith returns a request context with a body and content type.
func requestWith(contentType, body string) *fasthttp.RequestCtx {
	ctx := &fasthttp.RequestCtx{}
	ctx.Request.Header.SetMethod(fasthttp.MethodPost)
	ctx.Request.Header.SetContentType(contentType)
	ctx.Request.SetBodyString(body)
	return ctx
}

func TestDecodeJSONValid(t *testing.T) {
	tests := []struct {
		name        string
		contentType string
		body        string
	}{
		{"plain", "application/json", `{"enrolmentYear": 2027}`},
		{"charset", "application/json; charset=utf-8", `{"enrolmentYear": 2027}`},
		{"upper case", "Application/JSON", `{"enrolmentYear": 2027}`},
		{"trailing white space", "application/json", "{\"enrolmentYear\": 2027}\n \t"},
		{"null fields", "application/json", `{"enrolmentYear": 2027, "guardians": null, "extra": null}`},
	}
	for _, test := range tests {
		t.Run(test.name, func(t *testing.T) {
			var request precheck.RegistrationRequest
			if err := api.DecodeJSON(requestWith(test.contentType, test.body), 1000, &request); err != nil {
				t.Fatalf("DecodeJSON returned %v", err)
			}
			if request.EnrolmentYear != 2027 {
				t.Errorf("EnrolmentYear = %d, want 2027", request.EnrolmentYear)
			}
		})
	}
}

func TestDecodeJSONInvalid(t *testing.T) {
	tests := []struct {
		name        string
		contentType string
		body        string
		status      int
		code        string
		field       string
	}{
		{"no content type", "", `{}`, http.StatusUnsupportedMediaType, "unsupported_media_type", ""},
		{"text/json", "text/json", `{}`, http.StatusUnsupportedMediaType, "unsupported_media_type", ""},
		{"JSON suffix", "application/problem+json", `{}`, http.StatusUnsupportedMediaType, "unsupported_media_type", ""},
		{"one byte over", "application/json", `{"enrolmentYear": 2027}` + strings.Repeat(" ", 1000-23+1), http.StatusRequestEntityTooLarge, "body_too_large", ""},
		{"empty", "application/json", ``, http.StatusBadRequest, "malformed_json", ""},
		{"cut short", "application/json", `{"enrolmentYear": 20`, http.StatusBadRequest, "malformed_json", ""},
		{"single quotes", "application/json", `{'enrolmentYear': 2027}`, http.StatusBadRequest, "malformed_json", ""},
		{"trailing comma", "application/json", `{"enrolmentYear": 2027,}`, http.StatusBadRequest, "malformed_json", ""},
		{"two objects", "application/json", `{} {}`, http.StatusBadRequest, "malformed_json", ""},
		{"trailing text", "application/json", `{}x`, http.StatusBadRequest, "malformed_json", ""},
		{"byte order mark", "application/json", "\uFEFF{}", http.StatusBadRequest, "malformed_json", ""},
		{"year as text", "application/json", `{"enrolmentYear": "2027"}`, http.StatusBadRequest, "invalid_field_type", "enrolmentYear"},
		{"year as fraction", "application/json", `{"enrolmentYear": 2027.5}`, http.StatusBadRequest, "invalid_field_type", "enrolmentYear"},
		{"year too large", "application/json", `{"enrolmentYear": 99999999999999999999}`, http.StatusBadRequest, "out_of_range", "enrolmentYear"},
		{"year just above int64", "application/json", `{"enrolmentYear": 9223372036854775808}`, http.StatusBadRequest, "out_of_range", "enrolmentYear"},
		{"year with an exponent", "application/json", `{"enrolmentYear": 2.027e3}`, http.StatusBadRequest, "invalid_field_type", "enrolmentYear"},
		{"year far too large", "application/json", `{"enrolmentYear": 1e400}`, http.StatusBadRequest, "out_of_range", "enrolmentYear"},
		{"flag as text", "application/json", `{"residence": {"atHukouAddress": "true"}}`, http.StatusBadRequest, "invalid_field_type", "residence.atHukouAddress"},
		{"list as object", "application/json", `{"guardians": {}}`, http.StatusBadRequest, "invalid_field_type", "guardians"},
		{"object as list", "application/json", `{"child": []}`, http.StatusBadRequest, "invalid_field_type", "child"},
		{"unknown top-level field", "application/json", `{"admin": true}`, http.StatusBadRequest, "unknown_field", "admin"},
	}
	for _, test := range tests {
		t.Run(test.name, func(t *testing.T) {
			var request precheck.RegistrationRequest
			err := api.DecodeJSON(requestWith(test.contentType, test.body), 1000, &request)
			edgetest.CheckError(t, err, test.status, test.code, test.field)
		})
	}
}

// TestDecodeJSONDeepNesting nests arrays beyond encoding/json's depth
// limit of 10,000 inside a body that is small enough.
func TestDecodeJSONDeepNesting(t *testing.T) {
	body := `{"extra": {"a": ` + strings.Repeat("[", 10_001) + strings.Repeat("]", 10_001) + `}}`
	var request precheck.RegistrationRequest
	err := api.DecodeJSON(requestWith("application/json", body), 64<<10, &request)
	edgetest.CheckError(t, err, http.StatusBadRequest, "malformed_json", "")

	shallow := `{"extra": {"a": ` + strings.Repeat("[", 100) + strings.Repeat("]", 100) + `}}`
	if err := api.DecodeJSON(requestWith("application/json", shallow), 64<<10, &request); err != nil {
		t.Errorf("100 levels of nesting returned %v, want the pre-check to judge the value", err)
	}
}

// TestDecodeJSONFieldPaths expects the field of a decoding error to be the
// JSON path of the input, as the pre-check writes it, so that the page can
// mark the right input.
func TestDecodeJSONFieldPaths(t *testing.T) {
	tests := []struct {
		name  string
		body  string
		code  string
		field string
	}{
		{"unknown nested field", `{"child": {"nickname": "小明"}}`, "unknown_field", "child.nickname"},
		{"unknown field in a list", `{"guardians": [{"relation": "mother", "age": 30}]}`, "unknown_field", "guardians[0].age"},
		{"wrong type in a list", `{"guardians": [{}, {"document": {"number": 5}}]}`, "invalid_field_type", "guardians[1].document.number"},
	}
	for _, test := range tests {
		t.Run(test.name, func(t *testing.T) {
			var request precheck.RegistrationRequest
			err := api.DecodeJSON(requestWith("application/json", test.body), 1000, &request)
			edgetest.CheckError(t, err, http.StatusBadRequest, test.code, test.field)
		})
	}
}

// TestDecodeJSONTopLevelType sends a JSON value that is not an object. The
// message must not show an empty field name.
func TestDecodeJSONTopLevelType(t *testing.T) {
	for _, body := range []string{`[]`, `"registration"`, `42`, `true`} {
		var request precheck.RegistrationRequest
		err := api.DecodeJSON(requestWith("application/json", body), 1000, &request)
		apiErr := apierror.As(err)
		if apiErr == nil {
			t.Fatalf("body %s: error %v is not an *apierror.Error", body, err)
		}
		if apiErr.Status != http.StatusBadRequest {
			t.Errorf("body %s: status = %d, want 400", body, apiErr.Status)
		}
		if strings.Contains(apiErr.Message, "字段  ") {
			t.Errorf("body %s: message %q names an empty field", body, apiErr.Message)
		}
	}
}

func TestDecodeJSONNullBody(t *testing.T) {
	var request precheck.RegistrationRequest
	if err := api.DecodeJSON(requestWith("application/json", "null"), 1000, &request); err != nil {
		t.Fatalf("DecodeJSON(null) returned %v", err)
	}
	if request.EnrolmentYear != 0 {
		t.Errorf("null decoded to %+v, want the zero request", request)
	}
}

type errorBody struct {
	Error struct {
		Code    string            `json:"code"`
		Message string            `json:"message"`
		Field   string            `json:"field"`
		Detail  map[string]string `json:"detail"`
	} `json:"error"`
}

func TestWriteError(t *testing.T) {
	tests := []struct {
		name   string
		err    error
		status int
		code   string
		field  string
	}{
		{"field error", apierror.Invalid("child.name", "missing_name", "请填写姓名。"), http.StatusBadRequest, "missing_name", "child.name"},
		{"wrapped API error", errors.Join(errors.New("context"), apierror.ErrNotSignedIn), http.StatusUnauthorized, "not_signed_in", ""},
		{"plain error", errors.New("dial tcp: refused"), http.StatusInternalServerError, "internal_error", ""},
		{"conflict with detail", apierror.New(http.StatusConflict, "already_registered", "该幼儿本年度已完成信息登记。").WithDetail("registrationNumber", "202700000018"),
			http.StatusConflict, "already_registered", ""},
	}
	for _, test := range tests {
		t.Run(test.name, func(t *testing.T) {
			ctx := &fasthttp.RequestCtx{}
			api.WriteError(ctx, test.err)

			if got := ctx.Response.StatusCode(); got != test.status {
				t.Errorf("status = %d, want %d", got, test.status)
			}
			if got := string(ctx.Response.Header.ContentType()); got != "application/json; charset=utf-8" {
				t.Errorf("Content-Type = %q", got)
			}
			var body errorBody
			if err := json.Unmarshal(ctx.Response.Body(), &body); err != nil {
				t.Fatalf("body %q: %v", ctx.Response.Body(), err)
			}
			if body.Error.Code != test.code || body.Error.Field != test.field || !edgetest.HasHan(body.Error.Message) {
				t.Errorf("body = %+v, want code %s field %q and a Chinese message", body.Error, test.code, test.field)
			}
			if strings.Contains(string(ctx.Response.Body()), "dial tcp") {
				t.Errorf("body %s shows the internal error", ctx.Response.Body())
			}
		})
	}
}

// TestWriteErrorLogsBounded checks that load shedding is not logged, and
// that a flood of failures, such as every submission while Redis is down,
// writes a bounded number of lines, the next of which counts the rest.
func TestWriteErrorLogsBounded(t *testing.T) {
	var logged bytes.Buffer
	previous := slog.Default()
	slog.SetDefault(slog.New(slog.NewTextHandler(&logged, nil)))
	t.Cleanup(func() { slog.SetDefault(previous) })

	shed := fmt.Errorf("%w: %w", api.ErrShed, apierror.New(http.StatusServiceUnavailable, "system_busy", "当前提交人数较多，请稍后再提交。"))
	api.WriteError(&fasthttp.RequestCtx{}, shed)
	if logged.Len() != 0 {
		t.Errorf("load shedding logged %q, want nothing", logged.String())
	}

	down := apierror.New(http.StatusServiceUnavailable, "temporarily_unavailable", "暂时无法确认提交结果。")
	for range 1000 {
		api.WriteError(&fasthttp.RequestCtx{}, down)
	}
	lines := strings.Count(logged.String(), "\n")
	if lines < 1 || lines > 150 {
		t.Errorf("1,000 failures wrote %d log lines, want between 1 and 150", lines)
	}

	logged.Reset()
	time.Sleep(200 * time.Millisecond) // the limiter allows a line again
	api.WriteError(&fasthttp.RequestCtx{}, down)
	if !strings.Contains(logged.String(), "lines_not_logged_before=") || strings.Contains(logged.String(), "lines_not_logged_before=0") {
		t.Errorf("the line after the flood is %q, want the count of failures not logged", logged.String())
	}
}

func TestWriteErrorDetail(t *testing.T) {
	ctx := &fasthttp.RequestCtx{}
	api.WriteError(ctx, apierror.New(http.StatusConflict, "already_applied", "已报名。").WithDetail("applicationNumber", "20270400000011").WithDetail("districtCode", "310104"))

	var body errorBody
	if err := json.Unmarshal(ctx.Response.Body(), &body); err != nil {
		t.Fatal(err)
	}
	if body.Error.Detail["applicationNumber"] != "20270400000011" || body.Error.Detail["districtCode"] != "310104" {
		t.Errorf("detail = %v, want both entries", body.Error.Detail)
	}
	if strings.Contains(string(ctx.Response.Body()), `\u`) {
		t.Errorf("body %s escapes characters that JSON allows as they are", ctx.Response.Body())
	}
}

func TestSetRetryAfter(t *testing.T) {
	tests := []struct {
		wait time.Duration
		want string
	}{
		{0, "1"},
		{-time.Second, "1"},
		{time.Millisecond, "1"},
		{time.Second, "1"},
		{1500 * time.Millisecond, "2"},
		{5 * time.Second, "5"},
		{100 * time.Second, "100"},
	}
	for _, test := range tests {
		ctx := &fasthttp.RequestCtx{}
		api.SetRetryAfter(ctx, test.wait)
		if got := string(ctx.Response.Header.Peek("Retry-After")); got != test.want {
			t.Errorf("SetRetryAfter(%s) wrote %q, want %q", test.wait, got, test.want)
		}
	}
}

func TestWriteErrorRetryAfterOn503(t *testing.T) {
	unavailable := apierror.New(http.StatusServiceUnavailable, "temporarily_unavailable", "请稍后再试。")
	ctx := &fasthttp.RequestCtx{}
	api.WriteError(ctx, unavailable)
	if got := string(ctx.Response.Header.Peek("Retry-After")); got != "5" {
		t.Errorf("Retry-After of a 503 without one = %q, want the default 5", got)
	}

	ctx = &fasthttp.RequestCtx{}
	api.SetRetryAfter(ctx, 2*time.Second)
	api.WriteError(ctx, unavailable)
	if got := string(ctx.Response.Header.Peek("Retry-After")); got != "2" {
		t.Errorf("Retry-After set by the handler = %q, want it kept at 2", got)
	}

	ctx = &fasthttp.RequestCtx{}
	api.WriteError(ctx, apierror.New(http.StatusBadRequest, "invalid_json", "格式不正确。"))
	if got := ctx.Response.Header.Peek("Retry-After"); got != nil {
		t.Errorf("Retry-After on a 400 = %q, want none", got)
	}
}

func TestHandle(t *testing.T) {
	ok := api.Handle(func(ctx *fasthttp.RequestCtx) error {
		api.WriteJSON(ctx, http.StatusCreated, map[string]string{"name": "<张>"})
		return nil
	})
	ctx := &fasthttp.RequestCtx{}
	ok(ctx)
	if ctx.Response.StatusCode() != http.StatusCreated || strings.TrimSpace(string(ctx.Response.Body())) != `{"name":"<张>"}` {
		t.Errorf("answer = %d %s, want 201 with the name unescaped", ctx.Response.StatusCode(), ctx.Response.Body())
	}

	failing := api.Handle(func(ctx *fasthttp.RequestCtx) error { return apierror.ErrForbidden })
	ctx = &fasthttp.RequestCtx{}
	failing(ctx)
	if ctx.Response.StatusCode() != http.StatusForbidden {
		t.Errorf("status = %d, want 403", ctx.Response.StatusCode())
	}
}

func TestRequireSubject(t *testing.T) {
	ctx := &fasthttp.RequestCtx{}
	_, err := api.RequireSubject(ctx)
	edgetest.CheckError(t, err, http.StatusUnauthorized, "not_signed_in", "")

	api.SetSubject(ctx, "parent-1")
	subject, err := api.RequireSubject(ctx)
	if err != nil || subject != "parent-1" {
		t.Errorf("RequireSubject = %q, %v, want parent-1", subject, err)
	}
	api.SetRequestID(ctx, "trace-1")
	if got := api.RequestID(ctx); got != "trace-1" {
		t.Errorf("RequestID = %q, want trace-1", got)
	}
}
