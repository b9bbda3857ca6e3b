package signin_test

import (
	"context"
	"encoding/json"
	"errors"
	"github.com/sh-preschool/preschool/shared/crypto"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/sh-preschool/preschool/edge/api"
	"github.com/sh-preschool/preschool/edge/edgetest"
	"github.com/sh-preschool/preschool/edge/signin"
	"github.com/sh-preschool/preschool/shared/session"
	"github.com/sh-preschool/preschool/simulators"
)

var sessionKeyring = mustKeyring()

func mustKeyring() *crypto.Keyring {
	keyring, err := crypto.NewKeyring(crypto.GenerateKeyring("k1"))
	if err != nil {
		panic(err)
	}
	return keyring
}

// publicURL is the edge's address in the callback URL that the identity
// service redirects to. The tests never connect to it, because they read
// the code from the redirect.
const publicURL = "http://127.0.0.1:18080"

func newService(t *testing.T) (*signin.Service, *simulators.Running) {
	t.Helper()
	running, err := simulators.Start(context.Background(), simulators.Config{Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { running.Close() })
	return signin.New(signin.Config{
		IdentityURL: running.IdentityURL, ClientID: "preschool-edge", ClientSecret: "dev-secret",
		PublicURL: publicURL, Sealer: sessionKeyring, SessionTTL: time.Hour, SecureCookie: true, Now: time.Now,
	}), running
}

// get returns a request context for a GET of uri with cookies, as a server
// would pass it.
func get(uri string, cookies map[string]string) *fasthttp.RequestCtx {
	var request fasthttp.Request
	request.SetRequestURI(uri)
	request.Header.SetHost("edge.test")
	for name, value := range cookies {
		request.Header.SetCookie(name, value)
	}
	ctx := &fasthttp.RequestCtx{}
	ctx.Init(&request, nil, nil)
	return ctx
}

// responseCookie returns the cookie the response sets under name.
func responseCookie(t *testing.T, ctx *fasthttp.RequestCtx, name string) *fasthttp.Cookie {
	t.Helper()
	cookie := &fasthttp.Cookie{}
	cookie.SetKey(name)
	if !ctx.Response.Header.Cookie(cookie) {
		t.Fatalf("the response sets no %s cookie", name)
	}
	return cookie
}

// signIn runs the flow up to the callback: the login redirect, the identity
// service's consent for subject, and the callback with its code. It
// returns the callback's context.
func signIn(t *testing.T, service *signin.Service, returnPath, subject string) *fasthttp.RequestCtx {
	t.Helper()
	login := get("/auth/login?return="+url.QueryEscape(returnPath), nil)
	if err := service.Login(login); err != nil {
		t.Fatalf("Login returned %v", err)
	}
	state := responseCookie(t, login, "ps_state")
	authorize, err := url.Parse(string(login.Response.Header.Peek("Location")))
	if err != nil {
		t.Fatal(err)
	}
	query := authorize.Query()
	query.Set("login_hint", subject)
	query.Set("name", "李四")
	authorize.RawQuery = query.Encode()

	client := &http.Client{Timeout: 10 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	response, err := client.Get(authorize.String())
	if err != nil {
		t.Fatalf("authorize: %v", err)
	}
	response.Body.Close()
	if response.StatusCode != http.StatusFound {
		t.Fatalf("authorize = %d, want 302", response.StatusCode)
	}
	redirect, err := url.Parse(response.Header.Get("Location"))
	if err != nil {
		t.Fatal(err)
	}
	if got := redirect.Scheme + "://" + redirect.Host + redirect.Path; got != publicURL+"/auth/callback" {
		t.Fatalf("the identity service redirects to %s, want the callback", got)
	}

	callback := get("/auth/callback?"+redirect.RawQuery, map[string]string{"ps_state": string(state.Value())})
	if err := service.Callback(callback); err != nil {
		t.Fatalf("Callback returned %v", err)
	}
	return callback
}

func TestLoginRedirect(t *testing.T) {
	service, running := newService(t)
	ctx := get("/auth/login?return=/receipts", nil)

	if err := service.Login(ctx); err != nil {
		t.Fatalf("Login returned %v", err)
	}

	if status := ctx.Response.StatusCode(); status != http.StatusFound {
		t.Errorf("status = %d, want 302", status)
	}
	location, err := url.Parse(string(ctx.Response.Header.Peek("Location")))
	if err != nil {
		t.Fatal(err)
	}
	if got := location.Scheme + "://" + location.Host + location.Path; got != running.IdentityURL+"/authorize" {
		t.Errorf("Location = %s, want the identity service's /authorize", location)
	}
	query := location.Query()
	if query.Get("client_id") != "preschool-edge" || query.Get("response_type") != "code" || query.Get("redirect_uri") != publicURL+"/auth/callback" {
		t.Errorf("authorize query = %v", query)
	}
	state := responseCookie(t, ctx, "ps_state")
	if !state.HTTPOnly() || !state.Secure() || state.SameSite() != fasthttp.CookieSameSiteLaxMode {
		t.Errorf("ps_state cookie = %s, want HttpOnly, Secure and SameSite=Lax", state)
	}
	if !strings.HasPrefix(string(state.Value()), query.Get("state")+".") || len(query.Get("state")) != 32 {
		t.Errorf("ps_state = %q does not start with the 32-digit state %q", state.Value(), query.Get("state"))
	}
}

func TestSignInFlow(t *testing.T) {
	service, _ := newService(t)

	callback := signIn(t, service, "/apply?step=2", "demo-parent-01")

	if status := callback.Response.StatusCode(); status != http.StatusFound {
		t.Fatalf("callback status = %d %s, want 302", status, callback.Response.Body())
	}
	location, err := url.Parse(string(callback.Response.Header.Peek("Location")))
	if err != nil {
		t.Fatal(err)
	}
	if location.RequestURI() != "/apply?step=2" || (location.Host != "" && location.Host != "edge.test") {
		t.Errorf("Location = %s, want /apply?step=2 on this site", location)
	}
	cookie := responseCookie(t, callback, signin.SessionCookie)
	if !cookie.HTTPOnly() || cookie.SameSite() != fasthttp.CookieSameSiteLaxMode || cookie.MaxAge() != 3600 {
		t.Errorf("session cookie = %s, want HttpOnly, SameSite=Lax and Max-Age 3600", cookie)
	}
	claims, err := session.Open(sessionKeyring, signin.Purpose, string(cookie.Value()), time.Now())
	if err != nil {
		t.Fatalf("the session cookie does not verify: %v", err)
	}
	if claims.Subject != "demo-parent-01" {
		t.Errorf("subject = %q, want demo-parent-01", claims.Subject)
	}

	me := get("/api/v1/me", map[string]string{signin.SessionCookie: string(cookie.Value())})
	service.Authenticate(me)
	if subject := api.Subject(me); subject != "demo-parent-01" {
		t.Errorf("Authenticate set subject %q, want demo-parent-01", subject)
	}
	if err := service.Me(me); err != nil {
		t.Fatal(err)
	}
	var body struct {
		SignedIn bool   `json:"signedIn"`
		Name     string `json:"name"`
	}
	if err := json.Unmarshal(me.Response.Body(), &body); err != nil {
		t.Fatal(err)
	}
	if !body.SignedIn || body.Name == "" {
		t.Errorf("GET /api/v1/me = %+v, want signed in with a name", body)
	}
}

// TestSignInReturnPath checks that the return path can lead only to a page
// of the edge itself.
func TestSignInReturnPath(t *testing.T) {
	service, _ := newService(t)
	for _, returnPath := range []string{
		"//attacker.invalid/x", "/\\attacker.invalid", "https://attacker.invalid/", "attacker.invalid",
		"/\t/attacker.invalid", "/\r\nSet-Cookie: x=1", "javascript:alert(1)", "",
	} {
		callback := signIn(t, service, returnPath, "demo-parent-02")
		location, err := url.Parse(string(callback.Response.Header.Peek("Location")))
		if err != nil {
			t.Errorf("return %q: Location %q does not parse: %v", returnPath, callback.Response.Header.Peek("Location"), err)
			continue
		}
		if location.Host != "" && location.Host != "edge.test" {
			t.Errorf("return %q: Location %s leads to another site", returnPath, location)
		}
		if strings.Contains(location.String(), "attacker") {
			t.Errorf("return %q: Location %s still names the attacker's site", returnPath, location)
		}
	}
}

func TestCallbackRejected(t *testing.T) {
	service, _ := newService(t)
	tests := []struct {
		name    string
		uri     string
		cookies map[string]string
		status  int
		code    string
	}{
		{"no state cookie", "/auth/callback?code=x&state=abc", nil, http.StatusBadRequest, "invalid_sign_in_state"},
		{"other state", "/auth/callback?code=x&state=abc", map[string]string{"ps_state": "def.Lw"}, http.StatusBadRequest, "invalid_sign_in_state"},
		{"empty state", "/auth/callback?code=x&state=", map[string]string{"ps_state": ".Lw"}, http.StatusBadRequest, "invalid_sign_in_state"},
		{"no code", "/auth/callback?state=abc", map[string]string{"ps_state": "abc.Lw"}, http.StatusBadRequest, "sign_in_cancelled"},
		{"unknown code", "/auth/callback?code=forged&state=abc", map[string]string{"ps_state": "abc.Lw"}, http.StatusBadRequest, "sign_in_expired"},
	}
	for _, test := range tests {
		t.Run(test.name, func(t *testing.T) {
			ctx := get(test.uri, test.cookies)
			err := service.Callback(ctx)
			edgetest.CheckError(t, err, test.status, test.code, "")
			cookie := &fasthttp.Cookie{}
			cookie.SetKey(signin.SessionCookie)
			if ctx.Response.Header.Cookie(cookie) {
				t.Errorf("a rejected callback set the session cookie %s", cookie)
			}
		})
	}
}

func TestCallbackIdentityDown(t *testing.T) {
	service, running := newService(t)
	login := get("/auth/login?return=/", nil)
	if err := service.Login(login); err != nil {
		t.Fatal(err)
	}
	state := responseCookie(t, login, "ps_state")
	stateValue, _, _ := strings.Cut(string(state.Value()), ".")
	running.Close()

	err := service.Callback(get("/auth/callback?code=abc&state="+stateValue, map[string]string{"ps_state": string(state.Value())}))

	edgetest.CheckError(t, err, http.StatusBadGateway, "identity_unavailable", "")
}

func TestLogout(t *testing.T) {
	service, _ := newService(t)
	ctx := get("/auth/logout", map[string]string{signin.SessionCookie: signin.IssueToken(sessionKeyring, "p", "李四", time.Now(), time.Hour)})

	if err := service.Logout(ctx); err != nil {
		t.Fatal(err)
	}

	cookie := responseCookie(t, ctx, signin.SessionCookie)
	if len(cookie.Value()) != 0 || !cookie.Expire().Before(time.Now()) {
		t.Errorf("logout cookie = %s, want an empty value that has expired", cookie)
	}
}

func TestAuthenticateRejects(t *testing.T) {
	service, _ := newService(t)
	now := time.Now()
	for name, token := range map[string]string{
		"expired":   signin.IssueToken(sessionKeyring, "p", "李四", now.Add(-2*time.Hour), time.Hour),
		"other key": signin.IssueToken(mustKeyring(), "p", "李四", now, time.Hour),
		"garbage":   "v1.e30.AAAA",
		"too long":  "v1." + strings.Repeat("A", 3000),
	} {
		ctx := get("/api/v1/me", map[string]string{signin.SessionCookie: token})
		service.Authenticate(ctx)
		if subject := api.Subject(ctx); subject != "" {
			t.Errorf("%s token: subject = %q, want none", name, subject)
		}
	}
}

// TestCallbackFailurePageForBrowsers: a browser sent back by the identity
// service gets a Chinese page with a way back, not a JSON error.
func TestCallbackFailurePageForBrowsers(t *testing.T) {
	service, _ := newService(t)
	ctx := get("/auth/callback?code=x&state=abc", nil)
	ctx.Request.Header.Set("Accept", "text/html,application/xhtml+xml,*/*;q=0.8")
	if err := service.Callback(ctx); err != nil {
		t.Fatalf("Callback for a browser returned %v, want the page written", err)
	}
	body := string(ctx.Response.Body())
	if ctx.Response.StatusCode() != http.StatusBadRequest || !strings.HasPrefix(string(ctx.Response.Header.ContentType()), "text/html") {
		t.Errorf("response = %d %s, want 400 text/html", ctx.Response.StatusCode(), ctx.Response.Header.ContentType())
	}
	if !strings.Contains(body, "登录已过期或来源无效，请重新登录。") || !strings.Contains(body, `<a href="/">`) || strings.Contains(body, "invalid_sign_in_state") {
		t.Errorf("page = %s, want the Chinese reason and a link home, without the code", body)
	}
}

// unreachableRevocations fails as Redis does when it is down.
type unreachableRevocations struct{}

func (unreachableRevocations) Revoke(context.Context, string, time.Time) error {
	return errors.New("dial tcp 127.0.0.1:6379: connection refused")
}

func (unreachableRevocations) Revoked(context.Context, string) (bool, error) {
	return false, errors.New("dial tcp 127.0.0.1:6379: connection refused")
}

// TestSessionsRedisDown covers sessions while Redis cannot store or find
// revocations: signing out still clears the cookie, and a session that
// might have been signed out gets no data, only a 503.
func TestSessionsRedisDown(t *testing.T) {
	service := signin.New(signin.Config{
		ClientID: "preschool-edge", PublicURL: publicURL, Sealer: sessionKeyring, SessionTTL: time.Hour,
		SecureCookie: true, Now: time.Now, Revocations: unreachableRevocations{},
	})
	token := signin.IssueToken(sessionKeyring, "p", "李四", time.Now(), time.Hour)

	logout := get("/auth/logout", map[string]string{signin.SessionCookie: token})
	if err := service.Logout(logout); err != nil {
		t.Errorf("Logout returned %v, want the cookie cleared anyway", err)
	}
	if status := logout.Response.StatusCode(); status != http.StatusOK {
		t.Errorf("Logout status = %d, want 200", status)
	}
	cookie := responseCookie(t, logout, signin.SessionCookie)
	if len(cookie.Value()) != 0 || !cookie.Expire().Before(time.Now()) {
		t.Errorf("logout cookie = %s, want an empty value that has expired", cookie)
	}

	request := get("/api/v1/prefill/certificates", map[string]string{signin.SessionCookie: token})
	service.Authenticate(request)
	subject, err := api.RequireSubject(request)
	if subject != "" || !errors.Is(err, api.ErrSessionUnchecked) {
		t.Errorf("RequireSubject = %q, %v; want ErrSessionUnchecked", subject, err)
	}
	edgetest.CheckError(t, err, http.StatusServiceUnavailable, "temporarily_unavailable", "")
}
