package staff

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/jmoiron/sqlx"

	"github.com/sh-preschool/preschool/backoffice/access"
	"github.com/sh-preschool/preschool/backoffice/audit"
	"github.com/sh-preschool/preschool/backoffice/httpx"
	"github.com/sh-preschool/preschool/backoffice/seed"
	"github.com/sh-preschool/preschool/shared/crypto"
	"github.com/sh-preschool/preschool/shared/testenv"
)

// testPassword meets the password rules for every test username.
const testPassword = "Correct#Horse9"

// Districts of the seeded divisions that tests use.
const (
	xuhui     = "310104"
	changning = "310105"
)

// testClock is the handlers' clock. Tests move it forward so that each
// sign-in uses a new TOTP step and lockouts can expire.
type testClock struct {
	mu     sync.Mutex
	offset time.Duration
}

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return time.Now().Add(c.offset)
}

func (c *testClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.offset += d
}

// env is a seeded database, a Redis prefix and the handlers served over
// HTTP on the loopback interface, wired as the back office wires them.
type env struct {
	db      *sqlx.DB
	keyring *crypto.Keyring
	// integrity signs and verifies the roles and accounts, as in the back
	// office, with signer.
	integrity *access.Integrity
	signer    *crypto.Signer
	sessions  *access.SessionStore
	trail     *audit.Trail
	handlers  *Handlers
	clock     *testClock
	url       string
}

func newEnv(t *testing.T) *env {
	t.Helper()
	database := testenv.NewDatabase(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if _, err := seed.Run(ctx, database.DB, seed.Options{Now: time.Now(), Kindergartens: 32}); err != nil {
		t.Fatalf("seed: %v", err)
	}
	redis := testenv.NewRedis(t)
	keyring, err := crypto.NewKeyring(crypto.GenerateKeyring("k1"))
	if err != nil {
		t.Fatal(err)
	}
	signer, err := crypto.GenerateSigner("test-acl")
	if err != nil {
		t.Fatal(err)
	}
	provider, err := crypto.NewLocalProvider(keyring, signer, nil, crypto.DefaultUserID)
	if err != nil {
		t.Fatal(err)
	}
	integrity := &access.Integrity{DB: database.DB, Provider: provider}
	if _, err := integrity.SignBuiltInRoles(ctx); err != nil {
		t.Fatalf("sign built-in roles: %v", err)
	}
	e := &env{db: database.DB, keyring: keyring, integrity: integrity, signer: signer, clock: &testClock{}}
	e.sessions = &access.SessionStore{
		Redis: redis.Client, Prefix: redis.Prefix, IdleTimeout: 30 * time.Minute, MaxLifetime: 12 * time.Hour, Now: time.Now,
		Integrity: integrity,
	}
	e.trail = &audit.Trail{DB: database.DB, Now: time.Now}
	e.handlers = &Handlers{
		DB: database.DB, Keyring: keyring, Sessions: e.sessions, Roles: &access.Roles{DB: database.DB, Integrity: integrity}, Trail: e.trail,
		DistrictName: func(code string) (string, bool) { return map[string]string{xuhui: "徐汇区"}[code], code == xuhui },
		Now:          e.clock.Now,
	}

	e.url = e.serve(t, e.handlers)
	return e
}

// serve mounts handlers under /api/v1 as the back office does, behind the
// environment's session middleware and with refused accesses audited, on
// a loopback test server, and returns its URL.
func (e *env) serve(t *testing.T, handlers *Handlers) string {
	t.Helper()
	router := chi.NewRouter()
	router.Route("/api/v1", func(r chi.Router) {
		r.Use(func(next http.Handler) http.Handler {
			return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				next.ServeHTTP(w, httpx.WithDenied(r, e.trail.Denied))
			})
		})
		handlers.PublicRoutes(r)
		r.Group(func(r chi.Router) {
			r.Use(e.sessions.Authenticate)
			r.Get("/me", func(w http.ResponseWriter, r *http.Request) {
				httpx.WriteJSON(w, http.StatusOK, access.MeBody(access.StaffFrom(r.Context()), handlers.DistrictName))
			})
			handlers.Routes(r)
		})
	})
	server := httptest.NewServer(router)
	t.Cleanup(server.Close)
	return server.URL
}

// testPasswordHash is testPassword's hash, computed once because a hash
// costs about half a second under the race detector.
var testPasswordHash = sync.OnceValue(func() string { return mustHash(testPassword) })

// createAccount inserts an account with testPassword that need not change
// it, as CreateCommand -password does, and returns the account's ID. flags
// are CreateCommand's scope flags: -scope, -district, -street and
// -kindergarten.
func (e *env) createAccount(t *testing.T, username, role string, flags ...string) int64 {
	t.Helper()
	ctx := context.Background()
	input := accountInput{Username: username, DisplayName: "测试" + username, Role: role}
	for i := 0; i+1 < len(flags); i += 2 {
		switch flags[i] {
		case "-scope":
			input.Scope.Level = flags[i+1]
		case "-district":
			input.Scope.DistrictCode = flags[i+1]
		case "-street":
			input.Scope.StreetCode = flags[i+1]
		default:
			t.Fatalf("createAccount does not take flag %s", flags[i])
		}
	}
	prepared, err := prepareAccount(ctx, e.db, e.handlers.Roles, input, time.Now())
	if err != nil {
		t.Fatalf("create %s: %v", username, err)
	}
	prepared.PasswordHash = testPasswordHash()
	ids, err := createAccounts(ctx, e.db, e.keyring, e.integrity, []newAccount{prepared}, "测试账号")
	if err != nil {
		t.Fatalf("create %s: %v", username, err)
	}
	return ids[0]
}

func (e *env) count(t *testing.T, query string, args ...any) int {
	t.Helper()
	var n int
	if err := e.db.Get(&n, query, args...); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	return n
}

// client calls the API with one session cookie and its CSRF token.
type client struct {
	base   string
	cookie string
	csrf   string
}

type response struct {
	status int
	header http.Header
	body   []byte
}

func (c *client) do(t *testing.T, method, path string, body any) response {
	t.Helper()
	var reader io.Reader
	if body != nil {
		data, err := json.Marshal(body)
		if err != nil {
			t.Fatal(err)
		}
		reader = bytes.NewReader(data)
	}
	request, err := http.NewRequest(method, c.base+path, reader)
	if err != nil {
		t.Fatal(err)
	}
	if body != nil {
		request.Header.Set("Content-Type", "application/json")
	}
	request.Header.Set("User-Agent", "staff-test/1.0")
	if c.cookie != "" {
		request.AddCookie(&http.Cookie{Name: access.CookieName, Value: c.cookie})
	}
	if c.csrf != "" {
		request.Header.Set(access.CSRFHeader, c.csrf)
	}

	answer, err := (&http.Client{Timeout: time.Minute}).Do(request)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer answer.Body.Close()
	data, err := io.ReadAll(answer.Body)
	if err != nil {
		t.Fatalf("%s %s: read body: %v", method, path, err)
	}
	for _, cookie := range answer.Cookies() {
		if cookie.Name == access.CookieName {
			c.cookie = cookie.Value
		}
	}
	return response{status: answer.StatusCode, header: answer.Header, body: data}
}

func (r response) decode(t *testing.T, into any) {
	t.Helper()
	if err := json.Unmarshal(r.body, into); err != nil {
		t.Fatalf("body %s does not decode: %v", r.body, err)
	}
}

func (r response) errorCode(t *testing.T) string {
	t.Helper()
	var body struct {
		Error struct {
			Code string `json:"code"`
		} `json:"error"`
	}
	r.decode(t, &body)
	return body.Error.Code
}

// expect fails the test unless the response has status and, for an
// error, code.
func (r response) expect(t *testing.T, what string, status int, code string) {
	t.Helper()
	if r.status != status {
		t.Fatalf("%s: status = %d %s, want %d %s", what, r.status, r.body, status, code)
	}
	if code != "" {
		if got := r.errorCode(t); got != code {
			t.Fatalf("%s: code = %q, want %q", what, got, code)
		}
	}
}

type loginAnswer struct {
	Next      string     `json:"next"`
	Challenge string     `json:"challenge"`
	Enrolment *Enrolment `json:"enrolment"`
}

func (e *env) login(t *testing.T, c *client, username, password string) (response, loginAnswer) {
	t.Helper()
	answer := c.do(t, http.MethodPost, "/api/v1/auth/login", map[string]string{"username": username, "password": password})
	var body loginAnswer
	if answer.status == http.StatusOK {
		answer.decode(t, &body)
	}
	return answer, body
}

// code returns the current TOTP code of an account, after moving the clock
// to the next step so that no code is used twice.
func (e *env) code(t *testing.T, username string) string {
	t.Helper()
	var sealed []byte
	if err := e.db.Get(&sealed, `SELECT totp_secret FROM staff_user WHERE username = $1`, username); err != nil {
		t.Fatalf("read TOTP secret of %s: %v", username, err)
	}
	secret, err := e.keyring.Open(sealed, totpSecretContext)
	if err != nil {
		t.Fatalf("open TOTP secret of %s: %v", username, err)
	}
	e.clock.Advance(totpPeriod * time.Second)
	return totpCode(secret, e.clock.Now(), 6)
}

// signIn runs both steps, enrolling TOTP when the account has none, and
// returns a client with the new session.
func (e *env) signIn(t *testing.T, username, password string) (*client, access.Me) {
	t.Helper()
	c := &client{base: e.url}
	answer, body := e.login(t, c, username, password)
	answer.expect(t, "sign-in of "+username, http.StatusOK, "")
	code := e.code(t, username)
	answer = c.do(t, http.MethodPost, "/api/v1/auth/totp", map[string]string{"challenge": body.Challenge, "code": code})
	answer.expect(t, "code of "+username, http.StatusOK, "")
	var me access.Me
	answer.decode(t, &me)
	c.csrf = me.CSRFToken
	return c, me
}

// loginLog returns the reasons of an account's sign-in log in order.
func (e *env) loginLog(t *testing.T, username string) []string {
	t.Helper()
	var reasons []string
	err := e.db.Select(&reasons, `SELECT stage || ':' || reason FROM login_log WHERE username = $1 ORDER BY id`, username)
	if err != nil {
		t.Fatal(err)
	}
	return reasons
}

func joined(values []string) string { return strings.Join(values, ",") }
