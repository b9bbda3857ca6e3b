// Package identity simulates the city's unified identity sign-in (随申办
// 统一身份认证) with an OIDC-like authorization-code flow:
//
//	GET  /authorize  sign-in page, or an immediate redirect with login_hint
//	POST /authorize  sign-in form submission, redirects with a code
//	POST /token      exchanges a code for a bearer access token
//	GET  /userinfo   returns {"sub","name","phone"} for a bearer token
//
// It is for development, demos and tests only: anyone can sign in as anyone.
package identity

import (
	"crypto/rand"
	"log/slog"
	"net/http"
	"net/netip"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"
)

// Defaults of Options.
const (
	DefaultClientID     = "preschool-edge"
	DefaultClientSecret = "dev-secret"
)

// Lifetimes of authorization codes and access tokens.
const (
	CodeTTL  = 60 * time.Second
	TokenTTL = time.Hour
)

// DefaultName is the name given to a subject that is not a demo parent when
// the sign-in leaves the name empty.
const DefaultName = "模拟家长"

const (
	maxNameRunes   = 32
	maxStateLength = 1024
	maxFormBytes   = 16 << 10
)

var subjectPattern = regexp.MustCompile(`^[A-Za-z0-9._@-]{1,64}$`)

// Options configure a Server.
type Options struct {
	// ClientID and ClientSecret are the only client credentials accepted;
	// empty means DefaultClientID and DefaultClientSecret.
	ClientID     string
	ClientSecret string
	// RedirectHosts lists host names (without port) accepted in redirect_uri
	// besides the loopback hosts 127.0.0.0/8, ::1 and localhost. Matching is
	// exact and case-insensitive.
	RedirectHosts []string
	// Now returns the current time; nil means time.Now. Tests set it to
	// expire codes and tokens.
	Now func() time.Time
	// Logger receives sign-ins and rejected requests; nil means slog.Default().
	Logger *slog.Logger
}

// Server is the identity simulator's http.Handler.
type Server struct {
	clientID      string
	clientSecret  string
	redirectHosts map[string]bool
	now           func() time.Time
	logger        *slog.Logger
	mux           *http.ServeMux
	tokenKey      []byte

	mu        sync.Mutex
	grants    map[string]*grant    // by authorization code
	revoked   map[string]time.Time // token ID → token expiry
	lastSweep time.Time
}

// grant is an issued authorization code and what it was issued for.
type grant struct {
	clientID    string
	redirectURI string
	subject     string
	name        string
	expires     time.Time
	// tokenID is set when the code has been redeemed, so that a second
	// redemption can revoke the token that the first one returned.
	tokenID string
}

// NewServer returns a Server with the given options.
func NewServer(options Options) *Server {
	s := &Server{
		clientID:      options.ClientID,
		clientSecret:  options.ClientSecret,
		redirectHosts: make(map[string]bool),
		now:           options.Now,
		logger:        options.Logger,
		tokenKey:      make([]byte, 32),
		grants:        make(map[string]*grant),
		revoked:       make(map[string]time.Time),
	}
	if s.clientID == "" {
		s.clientID = DefaultClientID
	}
	if s.clientSecret == "" {
		s.clientSecret = DefaultClientSecret
	}
	for _, host := range options.RedirectHosts {
		s.redirectHosts[strings.ToLower(host)] = true
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.logger == nil {
		s.logger = slog.Default()
	}
	s.logger = s.logger.With("service", "identity")
	// crypto/rand.Read never returns an error (Go 1.24 and later).
	_, _ = rand.Read(s.tokenKey)

	s.mux = http.NewServeMux()
	s.mux.HandleFunc("GET /authorize", s.handleAuthorizePage)
	s.mux.HandleFunc("POST /authorize", s.handleAuthorizeSubmit)
	s.mux.HandleFunc("POST /token", s.handleToken)
	s.mux.HandleFunc("GET /userinfo", s.handleUserinfo)
	s.mux.HandleFunc("POST /userinfo", s.handleUserinfo)
	return s
}

func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mux.ServeHTTP(w, r)
}

// authorizeRequest holds the client parameters of /authorize.
type authorizeRequest struct {
	ClientID    string
	RedirectURI string
	State       string
}

// parseAuthorizeRequest returns the client parameters in values, or a
// Chinese message saying which one is invalid.
func (s *Server) parseAuthorizeRequest(values url.Values) (authorizeRequest, string) {
	request := authorizeRequest{
		ClientID:    values.Get("client_id"),
		RedirectURI: values.Get("redirect_uri"),
		State:       values.Get("state"),
	}

	switch {
	case request.ClientID == "":
		return request, "缺少应用标识（client_id）。"
	case request.ClientID != s.clientID:
		return request, "应用标识（client_id）未登记：" + request.ClientID + "。"
	case request.RedirectURI == "":
		return request, "缺少回调地址（redirect_uri）。"
	case !s.redirectAllowed(request.RedirectURI):
		return request, "回调地址（redirect_uri）必须是不含用户信息和片段的 http 或 https 地址，且主机为本机（127.0.0.1、::1 或 localhost）或已配置允许的主机。"
	case len(request.State) > maxStateLength:
		return request, "state 参数过长，最多 1024 个字符。"
	}
	if responseType := values.Get("response_type"); responseType != "" && responseType != "code" {
		return request, "仅支持授权码模式（response_type=code）。"
	}
	return request, ""
}

// redirectAllowed reports whether rawURL is an absolute http(s) URL without
// user info or fragment whose host is loopback or listed in RedirectHosts.
func (s *Server) redirectAllowed(rawURL string) bool {
	parsed, err := url.Parse(rawURL)
	if err != nil || parsed.User != nil || parsed.Fragment != "" || parsed.Opaque != "" {
		return false
	}
	if parsed.Scheme != "http" && parsed.Scheme != "https" {
		return false
	}

	host := strings.ToLower(parsed.Hostname())
	if host == "" {
		return false
	}
	if host == "localhost" || s.redirectHosts[host] {
		return true
	}
	addr, err := netip.ParseAddr(host)
	return err == nil && addr.Unmap().IsLoopback()
}

// handleAuthorizePage shows the sign-in page, or with login_hint signs in
// at once and redirects.
func (s *Server) handleAuthorizePage(w http.ResponseWriter, r *http.Request) {
	query := r.URL.Query()
	request, problem := s.parseAuthorizeRequest(query)
	if problem != "" {
		s.rejectAuthorize(w, request, problem)
		return
	}

	if subject := query.Get("login_hint"); subject != "" {
		name, problem := checkSignIn(subject, query.Get("name"))
		if problem != "" {
			s.rejectAuthorize(w, request, problem)
			return
		}
		http.Redirect(w, r, s.approve(request, subject, name), http.StatusFound)
		return
	}

	s.renderPage(w, http.StatusOK, signInTemplate, signInPage{
		ClientID:    request.ClientID,
		RedirectURI: request.RedirectURI,
		State:       request.State,
		Parents:     demoParents,
		Name:        query.Get("name"),
	})
}

// handleAuthorizeSubmit signs in the subject posted from the sign-in page.
// Only the form body is read, never the query string.
func (s *Server) handleAuthorizeSubmit(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	if err := r.ParseForm(); err != nil {
		s.rejectAuthorize(w, authorizeRequest{}, "登录表单无法解析，请返回原应用重新发起登录。")
		return
	}

	request, problem := s.parseAuthorizeRequest(r.PostForm)
	if problem != "" {
		s.rejectAuthorize(w, request, problem)
		return
	}

	subject := strings.TrimSpace(r.PostForm.Get("subject"))
	name, problem := checkSignIn(subject, r.PostForm.Get("name"))
	if problem != "" {
		s.renderPage(w, http.StatusBadRequest, signInTemplate, signInPage{
			ClientID:    request.ClientID,
			RedirectURI: request.RedirectURI,
			State:       request.State,
			Parents:     demoParents,
			Subject:     subject,
			Name:        r.PostForm.Get("name"),
			Error:       problem,
		})
		return
	}
	http.Redirect(w, r, s.approve(request, subject, name), http.StatusSeeOther)
}

func (s *Server) rejectAuthorize(w http.ResponseWriter, request authorizeRequest, problem string) {
	s.logger.Warn("authorize request rejected", "client_id", request.ClientID, "redirect_uri", request.RedirectURI, "reason", problem)
	s.renderPage(w, http.StatusBadRequest, errorTemplate, errorPage{Message: problem, RedirectURI: request.RedirectURI})
}

// checkSignIn validates a subject and name and returns the name to use: the
// trimmed name, else the demo parent's name, else DefaultName. The second
// result is a Chinese message when the input is invalid.
func checkSignIn(subject, name string) (string, string) {
	if !subjectPattern.MatchString(subject) {
		return "", "用户标识只能包含字母、数字和 . _ @ -，长度为 1 至 64 个字符。"
	}

	name = strings.TrimSpace(name)
	if utf8.RuneCountInString(name) > maxNameRunes {
		return "", "姓名过长，最多 32 个字。"
	}
	if !utf8.ValidString(name) || strings.IndexFunc(name, unicode.IsControl) >= 0 {
		return "", "姓名包含无效字符。"
	}
	if name != "" {
		return name, ""
	}
	if parent, ok := demoParent(subject); ok {
		return parent.Name, ""
	}
	return DefaultName, ""
}

// approve issues an authorization code for the subject and returns the
// client's redirect URI with code and state added to its query.
func (s *Server) approve(request authorizeRequest, subject, name string) string {
	code := rand.Text()
	now := s.now()

	s.mu.Lock()
	s.sweepLocked(now)
	s.grants[code] = &grant{
		clientID:    request.ClientID,
		redirectURI: request.RedirectURI,
		subject:     subject,
		name:        name,
		expires:     now.Add(CodeTTL),
	}
	s.mu.Unlock()
	s.logger.Info("signed in", "client_id", request.ClientID, "sub", subject)

	// parseAuthorizeRequest has already parsed the URI successfully.
	target, _ := url.Parse(request.RedirectURI)
	query := target.Query()
	query.Set("code", code)
	if request.State != "" {
		query.Set("state", request.State)
	}
	target.RawQuery = query.Encode()
	return target.String()
}

// sweepLocked drops expired codes and revocations at most once per CodeTTL,
// so the code map contains at most about two CodeTTL periods of sign-ins.
// s.mu must be held.
func (s *Server) sweepLocked(now time.Time) {
	if now.Sub(s.lastSweep) < CodeTTL {
		return
	}
	s.lastSweep = now
	for code, g := range s.grants {
		if now.After(g.expires) {
			delete(s.grants, code)
		}
	}
	for tokenID, expires := range s.revoked {
		if now.After(expires) {
			delete(s.revoked, tokenID)
		}
	}
}
