// Package signin signs parents in through the city's unified identity
// service (an OAuth-style authorization-code flow) and keeps the session in
// a sealed cookie. Redis holds only the sessions revoked by signing out.
package signin

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"html"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/sh-preschool/preschool/edge/api"
	"github.com/sh-preschool/preschool/shared/apierror"
	"github.com/sh-preschool/preschool/shared/session"
)

// Cookie names.
const (
	SessionCookie = "ps_session"
	stateCookie   = "ps_state"
)

// Config configures sign-in.
type Config struct {
	IdentityURL  string // base URL of the identity service
	ClientID     string
	ClientSecret string
	PublicURL    string // the edge's own base URL, for the callback
	Sealer       session.Sealer
	SessionTTL   time.Duration
	// Revocations records and finds sessions revoked by signing out; nil
	// turns revocation off (tests of the flow alone).
	Revocations  Revocations
	SecureCookie bool
	HTTPClient   *http.Client
	Now          func() time.Time
}

// Revocations stores the IDs of revoked sessions until they would have
// expired anyway.
type Revocations interface {
	Revoke(ctx context.Context, sessionID string, until time.Time) error
	Revoked(ctx context.Context, sessionID string) (bool, error)
}

// Purpose is the session purpose of parents' tokens.
const Purpose = "parent"

// Service holds the sign-in handlers and the session middleware.
type Service struct {
	config Config
}

// DefaultTimeout bounds each call to the identity service when Config
// sets no HTTPClient.
const DefaultTimeout = 5 * time.Second

// New returns a sign-in Service.
func New(config Config) *Service {
	if config.HTTPClient == nil {
		config.HTTPClient = &http.Client{Timeout: DefaultTimeout}
	}
	return &Service{config: config}
}

// Authenticate sets the request's subject from a valid session cookie. It
// never rejects: handlers that need a parent call api.RequireSubject.
func (s *Service) Authenticate(ctx *fasthttp.RequestCtx) { s.authenticate(ctx, false) }

// AuthenticateLeavingRevocation is Authenticate for a handler whose Redis
// script checks the revocation within its own call, which saves the
// submission a round trip to Redis. It stores the revocation key with
// api.SetRevocationKey instead of looking it up. Without keyed revocations
// it does what Authenticate does.
func (s *Service) AuthenticateLeavingRevocation(ctx *fasthttp.RequestCtx) { s.authenticate(ctx, true) }

// keyedRevocations are Revocations that a Redis script can check itself.
type keyedRevocations interface {
	Key(sessionID string) string
}

func (s *Service) authenticate(ctx *fasthttp.RequestCtx, leaveRevocation bool) {
	token := ctx.Request.Header.Cookie(SessionCookie)
	if len(token) == 0 {
		return
	}
	claims, err := session.Open(s.config.Sealer, Purpose, string(token), s.config.Now())
	if err != nil {
		return
	}
	keyed, isKeyed := s.config.Revocations.(keyedRevocations)
	if leaveRevocation && isKeyed && claims.SessionID != "" {
		api.SetRevocationKey(ctx, keyed.Key(claims.SessionID))
	} else {
		revoked, err := s.revoked(ctx, claims.SessionID)
		if revoked {
			return
		}
		if err != nil {
			// A signed-out session must not work while its revocation
			// cannot be read, so api.RequireSubject returns a 503.
			api.SetSessionUnchecked(ctx)
		}
	}
	api.SetSubject(ctx, claims.Subject)
}

// revoked reports whether a session was signed out. It returns an error
// when Redis fails to look the session up.
func (s *Service) revoked(ctx *fasthttp.RequestCtx, sessionID string) (bool, error) {
	if s.config.Revocations == nil || sessionID == "" {
		return false, nil
	}
	revoked, err := s.config.Revocations.Revoked(ctx, sessionID)
	if err != nil {
		api.LogBounded(slog.LevelWarn, "session revocation not checked", "request_id", api.RequestID(ctx), "error", err)
		return false, err
	}
	return revoked, nil
}

// Login handles GET /auth/login?return=/path.
func (s *Service) Login(ctx *fasthttp.RequestCtx) error {
	state := randomHex(16)
	returnPath := safeReturnPath(string(ctx.QueryArgs().Peek("return")))
	s.setCookie(ctx, stateCookie, state+"."+base64.RawURLEncoding.EncodeToString([]byte(returnPath)), 10*time.Minute)

	query := url.Values{}
	query.Set("client_id", s.config.ClientID)
	query.Set("redirect_uri", s.callbackURL())
	query.Set("state", state)
	query.Set("response_type", "code")
	ctx.Redirect(strings.TrimRight(s.config.IdentityURL, "/")+"/authorize?"+query.Encode(), http.StatusFound)
	return nil
}

// Callback handles GET /auth/callback?code=&state=. The identity service
// sends the parent's browser here, so a failure is shown to a browser as a
// page in Chinese with a way back, and to other clients as the usual JSON
// error.
func (s *Service) Callback(ctx *fasthttp.RequestCtx) error {
	err := s.callback(ctx)
	apiErr := apierror.As(err)
	if apiErr == nil || !strings.Contains(string(ctx.Request.Header.Peek("Accept")), "text/html") {
		return err
	}
	ctx.Response.Header.Set("Cache-Control", "no-store")
	ctx.SetContentType("text/html; charset=utf-8")
	ctx.SetStatusCode(apiErr.Status)
	ctx.SetBodyString(signInFailedPage(apiErr.Message))
	return nil
}

// signInFailedPage is the page a browser gets when sign-in did not finish:
// the reason and a link back to the start page, where the parent signs in
// again. It has no script or style, so the edge's CSP allows it as it is.
func signInFailedPage(message string) string {
	return `<!doctype html>
<html lang="zh-CN">
<head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>登录未完成</title></head>
<body>
<h1>登录未完成</h1>
<p>` + html.EscapeString(message) + `</p>
<p><a href="/">返回首页重新登录</a></p>
</body>
</html>
`
}

func (s *Service) callback(ctx *fasthttp.RequestCtx) error {
	cookie := string(ctx.Request.Header.Cookie(stateCookie))
	expectedState, encodedReturn, _ := strings.Cut(cookie, ".")
	state := string(ctx.QueryArgs().Peek("state"))
	if expectedState == "" || state != expectedState {
		return apierror.New(http.StatusBadRequest, "invalid_sign_in_state", "登录已过期或来源无效，请重新登录。")
	}
	returnBytes, _ := base64.RawURLEncoding.DecodeString(encodedReturn)
	s.clearCookie(ctx, stateCookie)

	code := string(ctx.QueryArgs().Peek("code"))
	if code == "" {
		return apierror.New(http.StatusBadRequest, "sign_in_cancelled", "登录未完成，请重新登录。")
	}
	exchangeCtx, cancel := api.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	user, err := s.exchange(exchangeCtx, code)
	var rejected *grantRejectedError
	if errors.As(err, &rejected) {
		// An OAuth 2.0 invalid_grant: the code was used already (the parent
		// went back to the callback page) or has expired. The identity
		// service works, so the parent only needs to sign in again.
		slog.Warn("sign-in code rejected by the identity service", "request_id", api.RequestID(ctx), "error", err)
		return apierror.New(http.StatusBadRequest, "sign_in_expired", "登录已过期，请重新登录。")
	}
	if err != nil {
		slog.Error("sign-in exchange failed", "request_id", api.RequestID(ctx), "error", err)
		return apierror.New(http.StatusBadGateway, "identity_unavailable", "统一身份认证服务暂时无法使用，请稍后重新登录。")
	}

	now := s.config.Now()
	token := session.Issue(s.config.Sealer, Purpose, session.Claims{
		Subject: user.Subject, Name: user.Name, SessionID: session.NewSessionID(),
		IssuedAt: now.Unix(), ExpiresAt: now.Add(s.config.SessionTTL).Unix(),
	})
	s.setCookie(ctx, SessionCookie, token, s.config.SessionTTL)
	ctx.Redirect(safeReturnPath(string(returnBytes)), http.StatusFound)
	return nil
}

// Logout handles POST /auth/logout: it revokes the session, so the cookie
// stops working even where a copy of it survives, and clears the cookie.
// When Redis cannot store the revocation, it still clears the cookie, so
// the parent is signed out on this device, which matters most on a shared
// one.
//
// NOTE: a copy of such a cookie elsewhere then works until the session
// expires (EDGE_SESSION_TTL).
func (s *Service) Logout(ctx *fasthttp.RequestCtx) error {
	token := ctx.Request.Header.Cookie(SessionCookie)
	if claims, err := session.Open(s.config.Sealer, Purpose, string(token), s.config.Now()); err == nil &&
		s.config.Revocations != nil && claims.SessionID != "" {
		if err := s.config.Revocations.Revoke(ctx, claims.SessionID, time.Unix(claims.ExpiresAt, 0)); err != nil {
			slog.Warn("session not revoked at sign-out; the cookie is cleared", "request_id", api.RequestID(ctx), "error", err)
		}
	}
	s.clearCookie(ctx, SessionCookie)
	api.WriteJSON(ctx, http.StatusOK, map[string]bool{"signedIn": false})
	return nil
}

// Me handles GET /api/v1/me.
func (s *Service) Me(ctx *fasthttp.RequestCtx) error {
	token := ctx.Request.Header.Cookie(SessionCookie)
	claims, err := session.Open(s.config.Sealer, Purpose, string(token), s.config.Now())
	ctx.Response.Header.Set("Cache-Control", "no-store")
	if err != nil {
		api.WriteJSON(ctx, http.StatusOK, map[string]any{"signedIn": false})
		return nil
	}
	// When the lookup fails, the page still shows the parent signed in, and
	// the requests that need the session get a 503 (api.RequireSubject).
	if revoked, _ := s.revoked(ctx, claims.SessionID); revoked {
		api.WriteJSON(ctx, http.StatusOK, map[string]any{"signedIn": false})
		return nil
	}
	api.WriteJSON(ctx, http.StatusOK, map[string]any{"signedIn": true, "name": claims.Name})
	return nil
}

// IssueToken returns a parent's session token for subject. The load driver
// and tests use it in place of the browser flow.
func IssueToken(sealer session.Sealer, subject, name string, now time.Time, ttl time.Duration) string {
	return session.Issue(sealer, Purpose, session.Claims{
		Subject: subject, Name: name, SessionID: session.NewSessionID(), IssuedAt: now.Unix(), ExpiresAt: now.Add(ttl).Unix(),
	})
}

type identityUser struct {
	Subject string `json:"sub"`
	Name    string `json:"name"`
}

func (s *Service) exchange(ctx context.Context, code string) (identityUser, error) {
	var user identityUser
	form := url.Values{}
	form.Set("grant_type", "authorization_code")
	form.Set("code", code)
	form.Set("client_id", s.config.ClientID)
	form.Set("client_secret", s.config.ClientSecret)
	form.Set("redirect_uri", s.callbackURL())
	base := strings.TrimRight(s.config.IdentityURL, "/")

	request, err := http.NewRequestWithContext(ctx, http.MethodPost, base+"/token", strings.NewReader(form.Encode()))
	if err != nil {
		return user, err
	}
	request.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	var token struct {
		AccessToken string `json:"access_token"`
	}
	if err := s.doJSON(request, &token); err != nil {
		var status *statusError
		if errors.As(err, &status) && status.code == http.StatusBadRequest && strings.Contains(status.body, `"invalid_grant"`) {
			return user, &grantRejectedError{err: err}
		}
		return user, fmt.Errorf("token: %w", err)
	}

	request, err = http.NewRequestWithContext(ctx, http.MethodGet, base+"/userinfo", nil)
	if err != nil {
		return user, err
	}
	request.Header.Set("Authorization", "Bearer "+token.AccessToken)
	if err := s.doJSON(request, &user); err != nil {
		return user, fmt.Errorf("userinfo: %w", err)
	}
	if user.Subject == "" || len(user.Subject) > 128 {
		return user, fmt.Errorf("userinfo: invalid subject")
	}
	return user, nil
}

func (s *Service) doJSON(request *http.Request, v any) error {
	response, err := s.config.HTTPClient.Do(request)
	if err != nil {
		return err
	}
	defer response.Body.Close()
	body, err := io.ReadAll(io.LimitReader(response.Body, 64<<10))
	if err != nil {
		return err
	}
	if response.StatusCode != http.StatusOK {
		return &statusError{code: response.StatusCode, body: string(body)}
	}
	return json.Unmarshal(body, v)
}

// statusError is a non-200 response of the identity service.
type statusError struct {
	code int
	body string
}

func (e *statusError) Error() string { return fmt.Sprintf("status %d: %.200s", e.code, e.body) }

// grantRejectedError is the token endpoint's OAuth 2.0 invalid_grant
// (RFC 6749, section 5.2): a code that is unknown, used or expired.
type grantRejectedError struct{ err error }

func (e *grantRejectedError) Error() string {
	return "token: authorization code rejected: " + e.err.Error()
}
func (e *grantRejectedError) Unwrap() error { return e.err }

func (s *Service) callbackURL() string {
	return strings.TrimRight(s.config.PublicURL, "/") + "/auth/callback"
}

func (s *Service) setCookie(ctx *fasthttp.RequestCtx, name, value string, ttl time.Duration) {
	cookie := fasthttp.AcquireCookie()
	defer fasthttp.ReleaseCookie(cookie)
	cookie.SetKey(name)
	cookie.SetValue(value)
	cookie.SetPath("/")
	cookie.SetHTTPOnly(true)
	cookie.SetSecure(s.config.SecureCookie)
	cookie.SetSameSite(fasthttp.CookieSameSiteLaxMode)
	cookie.SetMaxAge(int(ttl / time.Second))
	ctx.Response.Header.SetCookie(cookie)
}

func (s *Service) clearCookie(ctx *fasthttp.RequestCtx, name string) {
	cookie := fasthttp.AcquireCookie()
	defer fasthttp.ReleaseCookie(cookie)
	cookie.SetKey(name)
	cookie.SetPath("/")
	cookie.SetHTTPOnly(true)
	cookie.SetSecure(s.config.SecureCookie)
	cookie.SetSameSite(fasthttp.CookieSameSiteLaxMode)
	cookie.SetExpire(fasthttp.CookieExpireDelete)
	ctx.Response.Header.SetCookie(cookie)
}

// safeReturnPath keeps only a local path, so the sign-in flow cannot be used
// to redirect to another site.
func safeReturnPath(path string) string {
	if !strings.HasPrefix(path, "/") || strings.HasPrefix(path, "//") || strings.HasPrefix(path, "/\\") || len(path) > 512 {
		return "/"
	}
	for _, r := range path {
		if r < 0x20 || r == 0x7f || r == '\\' {
			return "/"
		}
	}
	return path
}

func randomHex(size int) string {
	buffer := make([]byte, size)
	if _, err := rand.Read(buffer); err != nil {
		panic(err) // crypto/rand.Read does not fail on supported platforms
	}
	return hex.EncodeToString(buffer)
}
