// Package audittest serves back-office handlers in tests behind the real
// session, CSRF and permission middleware, with every refused access written
// to the audit trail as the back office does, and signs in staff of any role
// and data scope.
package audittest

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/jmoiron/sqlx"

	"github.com/sh-preschool/preschool/backoffice/access"
	"github.com/sh-preschool/preschool/backoffice/audit"
	"github.com/sh-preschool/preschool/backoffice/httpx"
	"github.com/sh-preschool/preschool/shared/apierror"
	"github.com/sh-preschool/preschool/shared/testenv"
)

// Server is an httptest server on the loopback interface.
type Server struct {
	URL      string
	DB       *sqlx.DB
	Trail    *audit.Trail
	sessions *access.SessionStore
	roles    *access.Roles
	staffIDs atomic.Int64
}

// NewServer serves the routes that mount adds under /api/v1, behind the
// session middleware, and closes the server when the test ends. mount gets
// the trail that records refused accesses, for handlers that audit writes.
func NewServer(t testing.TB, db *sqlx.DB, redis *testenv.Redis, mount func(r chi.Router, trail *audit.Trail)) *Server {
	t.Helper()
	s := &Server{
		DB:    db,
		Trail: &audit.Trail{DB: db, Now: time.Now},
		sessions: &access.SessionStore{
			Redis: redis.Client, Prefix: redis.Prefix, IdleTimeout: time.Hour, MaxLifetime: time.Hour, Now: time.Now,
		},
		roles: &access.Roles{DB: db},
	}
	s.staffIDs.Store(1000)
	router := chi.NewRouter()
	router.Route("/api/v1", func(r chi.Router) {
		r.Use(func(next http.Handler) http.Handler {
			return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				next.ServeHTTP(w, httpx.WithDenied(r, s.Trail.Denied))
			})
		})
		r.Group(func(r chi.Router) {
			r.Use(s.sessions.Authenticate)
			mount(r, s.Trail)
		})
	})
	server := httptest.NewServer(router)
	t.Cleanup(server.Close)
	s.URL = server.URL
	return s
}

// Client calls the server with one staff member's session.
type Client struct {
	Staff  *access.Staff
	base   string
	cookie string
}

// SignIn starts a session for a new staff member with a built-in role and a
// data scope, and returns a client that sends its cookie and CSRF token.
func (s *Server) SignIn(t testing.TB, roleCode string, scope access.Scope) *Client {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	role, err := s.roles.Role(ctx, roleCode)
	if err != nil {
		t.Fatalf("role %s: %v", roleCode, err)
	}
	id := s.staffIDs.Add(1)
	staff := access.Staff{
		ID: id, Username: "test." + roleCode + "." + strconv.FormatInt(id, 10), Name: "测试" + role.Name,
		Role: role.Code, RoleName: role.Name, Permissions: role.Permissions, Scope: scope,
	}
	recorder := httptest.NewRecorder()
	request := httptest.NewRequest(http.MethodPost, "/api/v1/sign-in", nil)
	created, err := s.sessions.Create(ctx, recorder, request, staff)
	if err != nil {
		t.Fatalf("create session for %s: %v", roleCode, err)
	}
	for _, cookie := range recorder.Result().Cookies() {
		if cookie.Name == access.CookieName {
			return &Client{Staff: created, base: s.URL, cookie: cookie.Value}
		}
	}
	t.Fatalf("the session store set no %s cookie", access.CookieName)
	return nil
}

// Response is a response with its body read.
type Response struct {
	Status int
	Header http.Header
	Body   []byte
}

// Get sends a GET request.
func (c *Client) Get(t testing.TB, path string) Response {
	t.Helper()
	return c.send(t, http.MethodGet, path, nil, true)
}

// Send sends a request with body encoded as JSON (none when nil) and the
// session's CSRF token.
func (c *Client) Send(t testing.TB, method, path string, body any) Response {
	t.Helper()
	return c.send(t, method, path, body, true)
}

// SendWithoutCSRF sends a request like Send but without the CSRF token.
func (c *Client) SendWithoutCSRF(t testing.TB, method, path string, body any) Response {
	t.Helper()
	return c.send(t, method, path, body, false)
}

func (c *Client) send(t testing.TB, method, path string, body any, withCSRF bool) Response {
	t.Helper()
	var reader io.Reader
	if body != nil {
		data, err := json.Marshal(body)
		if err != nil {
			t.Fatalf("encode the body of %s %s: %v", method, path, err)
		}
		reader = bytes.NewReader(data)
	}

	request, err := http.NewRequest(method, c.base+path, reader)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	if body != nil {
		request.Header.Set("Content-Type", "application/json")
	}
	request.AddCookie(&http.Cookie{Name: access.CookieName, Value: c.cookie})
	if withCSRF {
		request.Header.Set(access.CSRFHeader, c.Staff.CSRFToken)
	}

	answer, err := (&http.Client{Timeout: 5 * time.Minute}).Do(request)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer answer.Body.Close()
	data, err := io.ReadAll(answer.Body)
	if err != nil {
		t.Fatalf("%s %s: read body: %v", method, path, err)
	}
	return Response{Status: answer.StatusCode, Header: answer.Header, Body: data}
}

// Upload sends a POST request with a multipart form that carries data as
// the file field, and the session's CSRF token.
func (c *Client) Upload(t testing.TB, path, field, filename string, data []byte) Response {
	t.Helper()
	var body bytes.Buffer
	form := multipart.NewWriter(&body)
	part, err := form.CreateFormFile(field, filename)
	if err != nil {
		t.Fatalf("POST %s: %v", path, err)
	}
	part.Write(data)
	if err := form.Close(); err != nil {
		t.Fatalf("POST %s: %v", path, err)
	}

	request, err := http.NewRequest(http.MethodPost, c.base+path, &body)
	if err != nil {
		t.Fatalf("POST %s: %v", path, err)
	}
	request.Header.Set("Content-Type", form.FormDataContentType())
	request.AddCookie(&http.Cookie{Name: access.CookieName, Value: c.cookie})
	request.Header.Set(access.CSRFHeader, c.Staff.CSRFToken)
	answer, err := (&http.Client{Timeout: time.Minute}).Do(request)
	if err != nil {
		t.Fatalf("POST %s: %v", path, err)
	}
	defer answer.Body.Close()
	data, err = io.ReadAll(answer.Body)
	if err != nil {
		t.Fatalf("POST %s: read body: %v", path, err)
	}
	return Response{Status: answer.StatusCode, Header: answer.Header, Body: data}
}

// Download sends a GET request and copies the body to out as it arrives,
// for bodies too large to hold in memory. It returns the status and headers.
func (c *Client) Download(t testing.TB, path string, out io.Writer) (int, http.Header) {
	t.Helper()
	request, err := http.NewRequest(http.MethodGet, c.base+path, nil)
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	request.AddCookie(&http.Cookie{Name: access.CookieName, Value: c.cookie})
	answer, err := (&http.Client{Timeout: 10 * time.Minute}).Do(request)
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	defer answer.Body.Close()
	if _, err := io.Copy(out, answer.Body); err != nil {
		t.Fatalf("GET %s: read body: %v", path, err)
	}
	return answer.StatusCode, answer.Header
}

// SendRaw sends a request with a body of the given content type (a
// multipart upload, for example) and the session's CSRF token.
func (c *Client) SendRaw(t testing.TB, method, path, contentType string, body []byte) Response {
	t.Helper()
	request, err := http.NewRequest(method, c.base+path, bytes.NewReader(body))
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	request.Header.Set("Content-Type", contentType)
	request.AddCookie(&http.Cookie{Name: access.CookieName, Value: c.cookie})
	request.Header.Set(access.CSRFHeader, c.Staff.CSRFToken)
	answer, err := (&http.Client{Timeout: 5 * time.Minute}).Do(request)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer answer.Body.Close()
	data, err := io.ReadAll(answer.Body)
	if err != nil {
		t.Fatalf("%s %s: read body: %v", method, path, err)
	}
	return Response{Status: answer.StatusCode, Header: answer.Header, Body: data}
}

// Decode decodes the JSON body into v and fails the test when it does not
// decode.
func (r Response) Decode(t testing.TB, v any) {
	t.Helper()
	if err := json.Unmarshal(r.Body, v); err != nil {
		t.Fatalf("body %s does not decode into %T: %v", r.Body, v, err)
	}
}

// Error returns the error of an error response.
func (r Response) Error(t testing.TB) apierror.Error {
	t.Helper()
	var body struct {
		Error apierror.Error `json:"error"`
	}
	r.Decode(t, &body)
	body.Error.Status = r.Status
	return body.Error
}

// Expect fails the test unless the response has status, and for an error
// status the error code and a Chinese message.
func (r Response) Expect(t testing.TB, status int, code string) {
	t.Helper()
	if r.Status != status {
		t.Fatalf("status = %d %s, want %d %s", r.Status, r.Body, status, code)
	}
	if code == "" {
		return
	}
	apiErr := r.Error(t)
	if apiErr.Code != code {
		t.Errorf("error code = %q (%s), want %q", apiErr.Code, apiErr.Message, code)
	}
	if !containsHan(apiErr.Message) {
		t.Errorf("error message %q of %s is not in Chinese", apiErr.Message, apiErr.Code)
	}
}

func containsHan(s string) bool {
	for _, r := range s {
		if r >= 0x4e00 && r <= 0x9fff {
			return true
		}
	}
	return false
}

// DeniedEvents returns how many refused accesses the trail holds with the
// error code and a path that contains pathPart.
func (s *Server) DeniedEvents(t testing.TB, code, pathPart string) int {
	t.Helper()
	var n int
	err := s.DB.Get(&n, `SELECT count(*) FROM audit_event WHERE outcome = 'denied' AND detail = $1 AND strpos(action, $2) > 0`,
		code, pathPart)
	if err != nil {
		t.Fatalf("count denied events: %v", err)
	}
	return n
}
