package securitytest

import (
	"context"
	"crypto/hmac"
	"crypto/sha1"
	"encoding/base32"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/sh-preschool/preschool/backoffice/access"
	"github.com/sh-preschool/preschool/backoffice/backofficetest"
	"github.com/sh-preschool/preschool/backoffice/server"
	"github.com/sh-preschool/preschool/backoffice/staff"
)

const (
	xuhui     = backofficetest.Xuhui     // the walker's own district
	changning = backofficetest.Changning // the district the walker attacks
)

// password is the password of every account the tests create.
const password = "Walker#Secret2026"

// Usernames of the accounts newHarness creates.
const (
	xuhuiAdmin     = "xuhui.walker"
	changningAdmin = "changning.owner"
	auditorName    = "walk.auditor"
	securityName   = "walk.security"
)

// harness is a running back office on a seeded database with four staff
// accounts and the fixtures of two districts.
type harness struct {
	t        *testing.T
	env      *backofficetest.Env
	office   *server.BackOffice
	base     string
	fixtures fixtures

	mu sync.Mutex
	// secrets holds the TOTP secret each account enrolled, and lastStep the
	// last TOTP step each account used, because a step is accepted once.
	secrets  map[string][]byte
	lastStep map[string]int64
	ids      map[string]int64
}

// newHarness seeds a database, stores the fixtures, creates the accounts and
// starts a back office with settings added to the test defaults.
func newHarness(t *testing.T, settings map[string]string) *harness {
	t.Helper()
	env := backofficetest.New(t)
	h := &harness{
		t: t, env: env, secrets: map[string][]byte{}, lastStep: map[string]int64{}, ids: map[string]int64{},
	}
	h.fixtures = newFixtures(t, env)
	h.createAccount(t, xuhuiAdmin, "徐汇区测试管理员", "district_admin", "-district", xuhui)
	h.createAccount(t, changningAdmin, "长宁区测试管理员", "district_admin", "-district", changning)
	h.createAccount(t, auditorName, "测试审计员", "auditor")
	h.createAccount(t, securityName, "测试安全管理员", "security_admin")
	h.fixtures.otherStaffID = h.ids[changningAdmin]

	values := map[string]string{"BACKOFFICE_WORKERS": "false"}
	for key, value := range settings {
		values[key] = value
	}
	h.office = env.StartServer(t, values)
	h.base = "http://" + h.office.Addr()
	return h
}

// createAccount creates an account with password as `backoffice staff
// create` does; flags are that command's scope flags.
func (h *harness) createAccount(t *testing.T, username, name, role string, flags ...string) int64 {
	t.Helper()
	args := append([]string{"-username", username, "-name", name, "-role", role, "-password", password}, flags...)
	if err := staff.CreateCommand(context.Background(), h.env.DB.DB, h.env.Keyring, h.env.Integrity, args, io.Discard); err != nil {
		t.Fatalf("create account %s: %v", username, err)
	}
	var id int64
	if err := h.env.DB.DB.Get(&id, `SELECT id FROM staff_user WHERE username = $1`, username); err != nil {
		t.Fatalf("read ID of %s: %v", username, err)
	}
	h.mu.Lock()
	h.ids[username] = id
	h.mu.Unlock()
	return id
}

// count runs a count query on the test database.
func (h *harness) count(t *testing.T, query string, args ...any) int {
	t.Helper()
	return h.env.Count(t, query, args...)
}

// routes lists every route of the running back office as "METHOD pattern".
func (h *harness) routes(t *testing.T) []route {
	t.Helper()
	var found []route
	err := chi.Walk(h.office.Router(), func(method, pattern string, _ http.Handler, _ ...func(http.Handler) http.Handler) error {
		if strings.HasPrefix(pattern, "/api/v1/") {
			found = append(found, route{method: method, pattern: pattern})
		}
		return nil
	})
	if err != nil {
		t.Fatalf("chi.Walk: %v", err)
	}
	if len(found) == 0 {
		t.Fatal("chi.Walk found no route under /api/v1")
	}
	return found
}

// route is one method and pattern of the router.
type route struct {
	method, pattern string
}

func (r route) key() string { return r.method + " " + r.pattern }

// changesState reports whether the method may change something, so the
// request needs the CSRF token.
func (r route) changesState() bool {
	return r.method != http.MethodGet && r.method != http.MethodHead
}

// client calls the API, optionally with a session cookie and its CSRF
// token.
type client struct {
	base     string
	cookie   string
	csrf     string
	username string
}

// request is one API call.
type request struct {
	method string
	path   string
	body   string
	header map[string]string
}

type response struct {
	status int
	header http.Header
	body   []byte
	// cookie is the session cookie the response set, if any.
	cookie *http.Cookie
}

// send makes the call and keeps a session cookie the response sets.
func (c *client) send(t *testing.T, call request) response {
	t.Helper()
	var body io.Reader
	if call.body != "" {
		body = strings.NewReader(call.body)
	}
	httpRequest, err := http.NewRequest(call.method, c.base+call.path, body)
	if err != nil {
		t.Fatalf("%s %s: %v", call.method, call.path, err)
	}
	if call.body != "" {
		httpRequest.Header.Set("Content-Type", "application/json")
	}
	if c.cookie != "" {
		httpRequest.AddCookie(&http.Cookie{Name: access.CookieName, Value: c.cookie})
	}
	if c.csrf != "" {
		httpRequest.Header.Set(access.CSRFHeader, c.csrf)
	}
	for name, value := range call.header {
		if value == "" {
			httpRequest.Header.Del(name)
		} else {
			httpRequest.Header.Set(name, value)
		}
	}
	answer, err := (&http.Client{Timeout: time.Minute}).Do(httpRequest)
	if err != nil {
		t.Fatalf("%s %s: %v", call.method, call.path, err)
	}
	defer answer.Body.Close()
	data, err := io.ReadAll(answer.Body)
	if err != nil {
		t.Fatalf("%s %s: read body: %v", call.method, call.path, err)
	}
	result := response{status: answer.StatusCode, header: answer.Header, body: data}
	for _, cookie := range answer.Cookies() {
		if cookie.Name == access.CookieName {
			result.cookie = cookie
			c.cookie = cookie.Value
		}
	}
	return result
}

func (c *client) get(t *testing.T, path string) response {
	t.Helper()
	return c.send(t, request{method: http.MethodGet, path: path})
}

// errorCode returns the code of an error body, or "" for another body.
func (r response) errorCode() string {
	var body struct {
		Error struct {
			Code string `json:"code"`
		} `json:"error"`
	}
	if json.Unmarshal(r.body, &body) != nil {
		return ""
	}
	return body.Error.Code
}

// expect fails the test unless the response has status and, when code is
// not empty, that error code.
func (r response) expect(t *testing.T, what string, status int, code string) {
	t.Helper()
	if r.status != status {
		t.Fatalf("%s: status = %d %s, want %d %s", what, r.status, r.body, status, code)
	}
	if code != "" && r.errorCode() != code {
		t.Fatalf("%s: code = %q (%s), want %q", what, r.errorCode(), r.body, code)
	}
}

// anonymous returns a client without a session.
func (h *harness) anonymous() *client { return &client{base: h.base} }

type loginBody struct {
	Next      string `json:"next"`
	Challenge string `json:"challenge"`
	Enrolment *struct {
		Secret string `json:"secret"`
	} `json:"enrolment"`
}

// login runs the password step for c and returns the response and, on
// success, the challenge.
func (h *harness) login(t *testing.T, c *client, username, secret string) (response, loginBody) {
	t.Helper()
	body, err := json.Marshal(map[string]string{"username": username, "password": secret})
	if err != nil {
		t.Fatal(err)
	}
	answer := c.send(t, request{method: http.MethodPost, path: "/api/v1/auth/login", body: string(body)})
	var decoded loginBody
	if answer.status == http.StatusOK {
		if err := json.Unmarshal(answer.body, &decoded); err != nil {
			t.Fatalf("login body %s does not decode: %v", answer.body, err)
		}
		if decoded.Enrolment != nil {
			secret, err := base32.StdEncoding.WithPadding(base32.NoPadding).DecodeString(decoded.Enrolment.Secret)
			if err != nil {
				t.Fatalf("enrolment secret %q does not decode: %v", decoded.Enrolment.Secret, err)
			}
			h.mu.Lock()
			h.secrets[username] = secret
			h.mu.Unlock()
		}
	}
	return answer, decoded
}

// sendCode posts a TOTP code for a challenge.
func (h *harness) sendCode(t *testing.T, c *client, challenge, code string) response {
	t.Helper()
	body, err := json.Marshal(map[string]string{"challenge": challenge, "code": code})
	if err != nil {
		t.Fatal(err)
	}
	return c.send(t, request{method: http.MethodPost, path: "/api/v1/auth/totp", body: string(body)})
}

// code returns a TOTP code of username that the back office has not seen:
// the current step's, or a later one within the one step of clock drift
// the back office accepts, waiting for the clock when both are used.
func (h *harness) code(t *testing.T, username string) string {
	t.Helper()
	h.mu.Lock()
	defer h.mu.Unlock()
	secret, ok := h.secrets[username]
	if !ok {
		t.Fatalf("no TOTP secret of %s: sign in once first", username)
	}
	step := time.Now().Unix() / 30
	if last := h.lastStep[username]; step <= last {
		step = last + 1
	}
	for step > time.Now().Unix()/30+1 {
		time.Sleep(time.Second)
	}
	h.lastStep[username] = step
	return totpCode(secret, step)
}

// totpCode is RFC 6238's six-digit HMAC-SHA1 code of a 30-second step,
// written here independently of the staff package so that a fault there
// does not hide in the tests.
func totpCode(secret []byte, step int64) string {
	mac := hmac.New(sha1.New, secret)
	var counter [8]byte
	binary.BigEndian.PutUint64(counter[:], uint64(step))
	mac.Write(counter[:])
	sum := mac.Sum(nil)
	offset := sum[len(sum)-1] & 0x0f
	value := binary.BigEndian.Uint32(sum[offset:offset+4]) & 0x7fffffff
	return fmt.Sprintf("%06d", value%1_000_000)
}

// signIn signs username in with the password and a TOTP code, enrolling
// TOTP at the first sign-in, and returns a client with the new session.
func (h *harness) signIn(t *testing.T, username string) *client {
	t.Helper()
	return h.signInAs(t, &client{base: h.base}, username)
}

// signInAs signs username in on c, which may already carry a cookie.
func (h *harness) signInAs(t *testing.T, c *client, username string) *client {
	t.Helper()
	answer, login := h.login(t, c, username, password)
	answer.expect(t, "password step of "+username, http.StatusOK, "")
	answer = h.sendCode(t, c, login.Challenge, h.code(t, username))
	answer.expect(t, "code step of "+username, http.StatusOK, "")
	var me access.Me
	if err := json.Unmarshal(answer.body, &me); err != nil {
		t.Fatalf("sign-in body %s does not decode: %v", answer.body, err)
	}
	if me.CSRFToken == "" {
		t.Fatalf("sign-in of %s returned no CSRF token", username)
	}
	c.csrf, c.username = me.CSRFToken, username
	return c
}

// deniedCount counts the audit trail's denials of one action ("GET
// /api/v1/registrations") to one staff member.
func (h *harness) deniedCount(t *testing.T, action string, staffID int64) int {
	t.Helper()
	return h.count(t, `SELECT count(*) FROM audit_event WHERE outcome = 'denied' AND action = $1 AND actor_id = $2`,
		action, staffID)
}
