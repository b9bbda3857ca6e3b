package identity

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

const testRedirect = "http://127.0.0.1:8080/auth/callback"

// clock is a settable time source for code and token expiry.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

type fixture struct {
	server *httptest.Server
	client *http.Client
	clock  *clock
}

func newFixture(t *testing.T, options Options) *fixture {
	t.Helper()
	testClock := &clock{now: time.Date(2026, 4, 23, 12, 0, 0, 0, time.UTC)}
	options.Now = testClock.Now
	server := httptest.NewServer(NewServer(options))
	t.Cleanup(server.Close)

	client := server.Client()
	client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &fixture{server: server, client: client, clock: testClock}
}

type response struct {
	status int
	header http.Header
	body   string
}

func (f *fixture) do(t *testing.T, request *http.Request) response {
	t.Helper()
	httpResponse, err := f.client.Do(request)
	if err != nil {
		t.Fatalf("%s %s: %v", request.Method, request.URL, err)
	}
	defer httpResponse.Body.Close()
	body, err := io.ReadAll(httpResponse.Body)
	if err != nil {
		t.Fatalf("read body: %v", err)
	}
	return response{status: httpResponse.StatusCode, header: httpResponse.Header, body: string(body)}
}

func (f *fixture) get(t *testing.T, path string, query url.Values) response {
	t.Helper()
	request, err := http.NewRequest(http.MethodGet, f.server.URL+path+"?"+query.Encode(), nil)
	if err != nil {
		t.Fatal(err)
	}
	return f.do(t, request)
}

func (f *fixture) postForm(t *testing.T, path string, form url.Values) response {
	t.Helper()
	request, err := http.NewRequest(http.MethodPost, f.server.URL+path, strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	request.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return f.do(t, request)
}

func authorizeQuery(redirectURI string, extra ...string) url.Values {
	query := url.Values{
		"client_id":     {DefaultClientID},
		"redirect_uri":  {redirectURI},
		"response_type": {"code"},
	}
	for i := 0; i+1 < len(extra); i += 2 {
		query.Set(extra[i], extra[i+1])
	}
	return query
}

// authorizeCode signs in subject with login_hint and returns the code from
// the redirect.
func (f *fixture) authorizeCode(t *testing.T, redirectURI string, extra ...string) string {
	t.Helper()
	got := f.get(t, "/authorize", authorizeQuery(redirectURI, extra...))
	if got.status != http.StatusFound {
		t.Fatalf("GET /authorize status = %d, want 302 (body %s)", got.status, got.body)
	}
	location, err := url.Parse(got.header.Get("Location"))
	if err != nil {
		t.Fatalf("Location %q: %v", got.header.Get("Location"), err)
	}
	code := location.Query().Get("code")
	if code == "" {
		t.Fatalf("Location %q has no code", location)
	}
	return code
}

func tokenForm(code, redirectURI string) url.Values {
	return url.Values{
		"grant_type":    {"authorization_code"},
		"code":          {code},
		"redirect_uri":  {redirectURI},
		"client_id":     {DefaultClientID},
		"client_secret": {DefaultClientSecret},
	}
}

func (f *fixture) exchange(t *testing.T, form url.Values) (TokenResponse, response) {
	t.Helper()
	got := f.postForm(t, "/token", form)
	var token TokenResponse
	if got.status == http.StatusOK {
		if err := json.Unmarshal([]byte(got.body), &token); err != nil {
			t.Fatalf("token body is not JSON: %v: %s", err, got.body)
		}
	}
	return token, got
}

func (f *fixture) userinfo(t *testing.T, authorization string) response {
	t.Helper()
	request, err := http.NewRequest(http.MethodGet, f.server.URL+"/userinfo", nil)
	if err != nil {
		t.Fatal(err)
	}
	if authorization != "" {
		request.Header.Set("Authorization", authorization)
	}
	return f.do(t, request)
}

func decodeOAuthError(t *testing.T, got response) OAuthError {
	t.Helper()
	var oauthError OAuthError
	if err := json.Unmarshal([]byte(got.body), &oauthError); err != nil {
		t.Fatalf("error body is not JSON: %v: %s", err, got.body)
	}
	return oauthError
}

func TestAuthorizationCodeFlow(t *testing.T) {
	tests := []struct {
		name        string
		redirectURI string
		extra       []string
		wantName    string
		subject     string
	}{
		{name: "demo parent", redirectURI: testRedirect, extra: []string{"login_hint", "demo-parent-03", "state", "s-1"}, subject: "demo-parent-03", wantName: "李娜"},
		{name: "given name", redirectURI: testRedirect, extra: []string{"login_hint", "parent-1001", "name", "赵一", "state", "s-2"}, subject: "parent-1001", wantName: "赵一"},
		{name: "unknown subject default name", redirectURI: "http://localhost:9000/cb", extra: []string{"login_hint", "load-7"}, subject: "load-7", wantName: DefaultName},
		{name: "ipv6 redirect with query", redirectURI: "https://[::1]:8443/cb?next=%2Fhome", extra: []string{"login_hint", "demo-parent-01", "state", "a b&c"}, subject: "demo-parent-01", wantName: "张伟"},
	}

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, Options{})

			got := f.get(t, "/authorize", authorizeQuery(tt.redirectURI, tt.extra...))
			if got.status != http.StatusFound {
				t.Fatalf("GET /authorize status = %d, want 302 (body %s)", got.status, got.body)
			}
			location, err := url.Parse(got.header.Get("Location"))
			if err != nil {
				t.Fatal(err)
			}
			want, _ := url.Parse(tt.redirectURI)
			if location.Scheme != want.Scheme || location.Host != want.Host || location.Path != want.Path {
				t.Errorf("redirected to %s, want %s", location, tt.redirectURI)
			}
			for key, values := range want.Query() {
				if location.Query().Get(key) != values[0] {
					t.Errorf("redirect lost query parameter %s=%s: %s", key, values[0], location)
				}
			}
			wantState := authorizeQuery("", tt.extra...).Get("state")
			if gotState := location.Query().Get("state"); gotState != wantState {
				t.Errorf("state = %q, want %q", gotState, wantState)
			}
			code := location.Query().Get("code")

			token, got := f.exchange(t, tokenForm(code, tt.redirectURI))
			if got.status != http.StatusOK {
				t.Fatalf("POST /token status = %d, want 200 (body %s)", got.status, got.body)
			}
			if token.TokenType != "Bearer" || token.ExpiresIn != 3600 || token.AccessToken == "" {
				t.Errorf("token response = %+v, want a Bearer token expiring in 3600", token)
			}
			if cache := got.header.Get("Cache-Control"); cache != "no-store" {
				t.Errorf("token Cache-Control = %q, want no-store", cache)
			}

			got = f.userinfo(t, "Bearer "+token.AccessToken)
			if got.status != http.StatusOK {
				t.Fatalf("GET /userinfo status = %d, want 200 (body %s)", got.status, got.body)
			}
			var info UserInfo
			if err := json.Unmarshal([]byte(got.body), &info); err != nil {
				t.Fatalf("userinfo body: %v: %s", err, got.body)
			}
			if info.Subject != tt.subject {
				t.Errorf("sub = %q, want %q", info.Subject, tt.subject)
			}
			if info.Name != tt.wantName {
				t.Errorf("name = %q, want %q", info.Name, tt.wantName)
			}
			if !regexp.MustCompile(`^139[0-9]{8}$`).MatchString(info.Phone) {
				t.Errorf("phone = %q, want 11 digits starting with 139", info.Phone)
			}
			if info.Phone != PhoneFor(tt.subject) {
				t.Errorf("phone = %q, want PhoneFor(%q) = %q", info.Phone, tt.subject, PhoneFor(tt.subject))
			}
		})
	}
}

func TestTokenAcceptsBasicClientAuth(t *testing.T) {
	f := newFixture(t, Options{ClientID: "edge:1", ClientSecret: "s&cret"})
	query := authorizeQuery(testRedirect, "login_hint", "demo-parent-02")
	query.Set("client_id", "edge:1")
	got := f.get(t, "/authorize", query)
	location, _ := url.Parse(got.header.Get("Location"))

	request, err := http.NewRequest(http.MethodPost, f.server.URL+"/token", strings.NewReader(url.Values{
		"grant_type":   {"authorization_code"},
		"code":         {location.Query().Get("code")},
		"redirect_uri": {testRedirect},
	}.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	request.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	// RFC 6749 section 2.3.1 form-encodes both parts before Basic encoding.
	request.SetBasicAuth(url.QueryEscape("edge:1"), url.QueryEscape("s&cret"))

	if got := f.do(t, request); got.status != http.StatusOK {
		t.Errorf("POST /token with Basic auth status = %d, want 200 (body %s)", got.status, got.body)
	}
}

func TestCodeReuseRejected(t *testing.T) {
	f := newFixture(t, Options{})
	code := f.authorizeCode(t, testRedirect, "login_hint", "demo-parent-04")

	first, got := f.exchange(t, tokenForm(code, testRedirect))
	if got.status != http.StatusOK {
		t.Fatalf("first POST /token status = %d, want 200 (body %s)", got.status, got.body)
	}

	_, got = f.exchange(t, tokenForm(code, testRedirect))
	if got.status != http.StatusBadRequest {
		t.Fatalf("second POST /token status = %d, want 400 (body %s)", got.status, got.body)
	}
	if oauthError := decodeOAuthError(t, got); oauthError.Code != "invalid_grant" {
		t.Errorf("second POST /token error = %q, want invalid_grant", oauthError.Code)
	}

	if got := f.userinfo(t, "Bearer "+first.AccessToken); got.status != http.StatusUnauthorized {
		t.Errorf("userinfo with the token of a reused code: status = %d, want 401 (revoked)", got.status)
	}
}

func TestTokenRejections(t *testing.T) {
	tests := []struct {
		name       string
		change     func(form url.Values)
		advance    time.Duration
		wantStatus int
		wantError  string
	}{
		{name: "wrong redirect_uri", change: func(form url.Values) { form.Set("redirect_uri", "http://127.0.0.1:8080/other") }, wantStatus: 400, wantError: "invalid_grant"},
		{name: "unknown code", change: func(form url.Values) { form.Set("code", "NOTACODE") }, wantStatus: 400, wantError: "invalid_grant"},
		{name: "expired code", advance: CodeTTL + time.Second, wantStatus: 400, wantError: "invalid_grant"},
		{name: "code still valid at 59 s", advance: CodeTTL - time.Second, wantStatus: 200},
		{name: "wrong secret", change: func(form url.Values) { form.Set("client_secret", "guess") }, wantStatus: 401, wantError: "invalid_client"},
		{name: "wrong client", change: func(form url.Values) { form.Set("client_id", "other") }, wantStatus: 401, wantError: "invalid_client"},
		{name: "missing grant_type", change: func(form url.Values) { form.Del("grant_type") }, wantStatus: 400, wantError: "invalid_request"},
		{name: "other grant_type", change: func(form url.Values) { form.Set("grant_type", "password") }, wantStatus: 400, wantError: "unsupported_grant_type"},
		{name: "missing code", change: func(form url.Values) { form.Del("code") }, wantStatus: 400, wantError: "invalid_request"},
		{name: "missing redirect_uri", change: func(form url.Values) { form.Del("redirect_uri") }, wantStatus: 400, wantError: "invalid_request"},
	}

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, Options{})
			code := f.authorizeCode(t, testRedirect, "login_hint", "demo-parent-05")
			form := tokenForm(code, testRedirect)
			if tt.change != nil {
				tt.change(form)
			}
			f.clock.Advance(tt.advance)

			_, got := f.exchange(t, form)
			if got.status != tt.wantStatus {
				t.Fatalf("status = %d, want %d (body %s)", got.status, tt.wantStatus, got.body)
			}
			if tt.wantError == "" {
				return
			}
			oauthError := decodeOAuthError(t, got)
			if oauthError.Code != tt.wantError {
				t.Errorf("error = %q, want %q", oauthError.Code, tt.wantError)
			}
			if oauthError.Description == "" {
				t.Error("error_description is empty")
			}
		})
	}
}

func TestWrongRedirectConsumesCode(t *testing.T) {
	f := newFixture(t, Options{})
	code := f.authorizeCode(t, testRedirect, "login_hint", "demo-parent-05")

	form := tokenForm(code, testRedirect)
	form.Set("redirect_uri", "http://127.0.0.1:8080/other")
	if _, got := f.exchange(t, form); got.status != http.StatusBadRequest {
		t.Fatalf("wrong redirect_uri: status = %d, want 400", got.status)
	}
	if _, got := f.exchange(t, tokenForm(code, testRedirect)); got.status != http.StatusBadRequest {
		t.Errorf("retry with the right redirect_uri: status = %d, want 400 because the code is spent", got.status)
	}
}

func TestAuthorizeRedirectValidation(t *testing.T) {
	tests := []struct {
		name        string
		redirectURI string
		options     Options
		wantStatus  int
	}{
		{name: "ipv4 loopback", redirectURI: "http://127.0.0.1:3000/cb", wantStatus: http.StatusFound},
		{name: "other 127 address", redirectURI: "http://127.0.0.2/cb", wantStatus: http.StatusFound},
		{name: "ipv6 loopback https", redirectURI: "https://[::1]/cb", wantStatus: http.StatusFound},
		{name: "localhost", redirectURI: "http://LOCALHOST:5173/cb", wantStatus: http.StatusFound},
		{name: "configured host", redirectURI: "https://edge.example.test/cb", options: Options{RedirectHosts: []string{"Edge.Example.Test"}}, wantStatus: http.StatusFound},
		{name: "public host", redirectURI: "https://example.com/cb", wantStatus: http.StatusBadRequest},
		{name: "private address", redirectURI: "http://192.168.1.5/cb", wantStatus: http.StatusBadRequest},
		{name: "localhost as subdomain", redirectURI: "http://localhost.example.com/cb", wantStatus: http.StatusBadRequest},
		{name: "loopback as user info", redirectURI: "http://127.0.0.1@example.com/cb", wantStatus: http.StatusBadRequest},
		{name: "user info on loopback", redirectURI: "http://user:pw@127.0.0.1/cb", wantStatus: http.StatusBadRequest},
		{name: "fragment", redirectURI: "http://127.0.0.1/cb#top", wantStatus: http.StatusBadRequest},
		{name: "javascript scheme", redirectURI: "javascript:alert(1)", wantStatus: http.StatusBadRequest},
		{name: "ftp scheme", redirectURI: "ftp://127.0.0.1/cb", wantStatus: http.StatusBadRequest},
		{name: "relative", redirectURI: "/cb", wantStatus: http.StatusBadRequest},
		{name: "missing", redirectURI: "", wantStatus: http.StatusBadRequest},
	}

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, tt.options)
			got := f.get(t, "/authorize", authorizeQuery(tt.redirectURI, "login_hint", "demo-parent-01"))

			if got.status != tt.wantStatus {
				t.Fatalf("status = %d, want %d (Location %q)", got.status, tt.wantStatus, got.header.Get("Location"))
			}
			if tt.wantStatus != http.StatusBadRequest {
				return
			}
			if location := got.header.Get("Location"); location != "" {
				t.Errorf("rejected request redirected to %q", location)
			}
			if !strings.Contains(got.body, "登录请求无效") || !strings.Contains(got.header.Get("Content-Type"), "text/html") {
				t.Errorf("want the Chinese HTML error page, got %s: %.200s", got.header.Get("Content-Type"), got.body)
			}
		})
	}
}

func TestAuthorizeRejectsBadClientParameters(t *testing.T) {
	tests := []struct {
		name   string
		change func(query url.Values)
	}{
		{name: "unknown client", change: func(query url.Values) { query.Set("client_id", "someone-else") }},
		{name: "missing client", change: func(query url.Values) { query.Del("client_id") }},
		{name: "implicit flow", change: func(query url.Values) { query.Set("response_type", "token") }},
		{name: "invalid login_hint", change: func(query url.Values) { query.Set("login_hint", "has space") }},
		{name: "state too long", change: func(query url.Values) { query.Set("state", strings.Repeat("s", maxStateLength+1)) }},
		{name: "name too long", change: func(query url.Values) { query.Set("name", strings.Repeat("名", maxNameRunes+1)) }},
	}

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, Options{})
			query := authorizeQuery(testRedirect, "login_hint", "demo-parent-01")
			tt.change(query)

			got := f.get(t, "/authorize", query)
			if got.status != http.StatusBadRequest {
				t.Errorf("status = %d, want 400 (Location %q)", got.status, got.header.Get("Location"))
			}
		})
	}
}

func TestSignInPageListsDemoParents(t *testing.T) {
	f := newFixture(t, Options{})
	got := f.get(t, "/authorize", authorizeQuery(testRedirect, "state", "xyz"))

	if got.status != http.StatusOK {
		t.Fatalf("status = %d, want 200", got.status)
	}
	if !strings.Contains(got.body, "统一身份认证（开发模拟）") {
		t.Error("page lacks the title 统一身份认证（开发模拟）")
	}
	parents := DemoParents()
	if len(parents) != 8 {
		t.Fatalf("DemoParents() has %d entries, want 8", len(parents))
	}
	for i, parent := range parents {
		wantSubject := "demo-parent-0" + string(rune('1'+i))
		if parent.Subject != wantSubject {
			t.Errorf("DemoParents()[%d].Subject = %q, want %q", i, parent.Subject, wantSubject)
		}
		if !strings.Contains(got.body, `data-subject="`+parent.Subject+`"`) {
			t.Errorf("page lacks a button for %s", parent.Subject)
		}
		if !strings.Contains(got.body, parent.Name) {
			t.Errorf("page lacks the name %s", parent.Name)
		}
		if !strings.Contains(got.body, parent.MaskedPhone()) || strings.Contains(got.body, parent.Phone) {
			t.Errorf("page should show %s masked as %s and never in full", parent.Phone, parent.MaskedPhone())
		}
	}
}

func TestSignInFormSubmission(t *testing.T) {
	tests := []struct {
		name       string
		subject    string
		formName   string
		wantStatus int
		wantName   string
	}{
		{name: "demo button", subject: "demo-parent-07", wantStatus: http.StatusSeeOther, wantName: "王䶮"},
		{name: "free form", subject: "parent-2002", formName: " 钱二 ", wantStatus: http.StatusSeeOther, wantName: "钱二"},
		{name: "empty subject", subject: "", wantStatus: http.StatusBadRequest},
		{name: "control character in name", subject: "parent-3", formName: "a\x07b", wantStatus: http.StatusBadRequest},
	}

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, Options{})
			form := url.Values{
				"client_id":    {DefaultClientID},
				"redirect_uri": {testRedirect},
				"state":        {"st"},
				"subject":      {tt.subject},
				"name":         {tt.formName},
			}

			got := f.postForm(t, "/authorize", form)
			if got.status != tt.wantStatus {
				t.Fatalf("POST /authorize status = %d, want %d (body %.300s)", got.status, tt.wantStatus, got.body)
			}
			if tt.wantStatus != http.StatusSeeOther {
				if !strings.Contains(got.body, `class="error"`) {
					t.Error("rejected sign-in page shows no error message")
				}
				return
			}

			location, _ := url.Parse(got.header.Get("Location"))
			if location.Query().Get("state") != "st" {
				t.Errorf("state lost in %s", location)
			}
			token, got := f.exchange(t, tokenForm(location.Query().Get("code"), testRedirect))
			if got.status != http.StatusOK {
				t.Fatalf("POST /token status = %d (body %s)", got.status, got.body)
			}
			var info UserInfo
			_ = json.Unmarshal([]byte(f.userinfo(t, "Bearer "+token.AccessToken).body), &info)
			if info.Name != tt.wantName || info.Subject != tt.subject {
				t.Errorf("userinfo = %+v, want sub %q and name %q", info, tt.subject, tt.wantName)
			}
		})
	}
}

func TestPagesEscapeInput(t *testing.T) {
	const attack = `"><script>alert(1)</script>`
	const escapedScript = "&lt;script&gt;alert(1)&lt;/script&gt;"

	t.Run("sign-in page", func(t *testing.T) {
		f := newFixture(t, Options{})
		got := f.get(t, "/authorize", authorizeQuery(testRedirect+"?x="+url.QueryEscape(attack), "state", attack, "name", attack))
		if got.status != http.StatusOK {
			t.Fatalf("status = %d, want 200", got.status)
		}
		if strings.Contains(got.body, "<script>") {
			t.Errorf("page contains an unescaped <script>: %s", got.body)
		}
		if !strings.Contains(got.body, escapedScript) {
			t.Errorf("page lacks the escaped form %s", escapedScript)
		}
	})

	t.Run("error page", func(t *testing.T) {
		f := newFixture(t, Options{})
		got := f.get(t, "/authorize", authorizeQuery("https://example.com/"+attack))
		if got.status != http.StatusBadRequest {
			t.Fatalf("status = %d, want 400", got.status)
		}
		if strings.Contains(got.body, "<script>") {
			t.Errorf("error page contains an unescaped <script>: %s", got.body)
		}
		if !strings.Contains(got.body, escapedScript) {
			t.Errorf("error page lacks the escaped form %s", escapedScript)
		}
	})

	t.Run("rejected form", func(t *testing.T) {
		f := newFixture(t, Options{})
		got := f.postForm(t, "/authorize", url.Values{
			"client_id":    {DefaultClientID},
			"redirect_uri": {testRedirect},
			"subject":      {attack},
			"name":         {attack},
		})
		if got.status != http.StatusBadRequest {
			t.Fatalf("status = %d, want 400", got.status)
		}
		if strings.Contains(got.body, "<script>") {
			t.Errorf("re-shown form contains an unescaped <script>: %s", got.body)
		}
	})

	t.Run("name is stored as given", func(t *testing.T) {
		f := newFixture(t, Options{})
		code := f.authorizeCode(t, testRedirect, "login_hint", "parent-x", "name", "<script>")
		token, _ := f.exchange(t, tokenForm(code, testRedirect))
		got := f.userinfo(t, "Bearer "+token.AccessToken)
		var info UserInfo
		if err := json.Unmarshal([]byte(got.body), &info); err != nil {
			t.Fatal(err)
		}
		if info.Name != "<script>" {
			t.Errorf("name = %q, want %q unchanged as data", info.Name, "<script>")
		}
	})
}

func TestUserinfoRejections(t *testing.T) {
	f := newFixture(t, Options{})
	code := f.authorizeCode(t, testRedirect, "login_hint", "demo-parent-06")
	token, _ := f.exchange(t, tokenForm(code, testRedirect))
	valid := token.AccessToken
	tampered := valid[:len(valid)-2] + "AA"
	if tampered == valid {
		tampered = valid[:len(valid)-2] + "BB"
	}

	tests := []struct {
		name          string
		authorization string
	}{
		{name: "no header", authorization: ""},
		{name: "basic scheme", authorization: "Basic " + valid},
		{name: "empty token", authorization: "Bearer "},
		{name: "tampered signature", authorization: "Bearer " + tampered},
		{name: "foreign token", authorization: "Bearer abc.def"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := f.userinfo(t, tt.authorization)
			if got.status != http.StatusUnauthorized {
				t.Errorf("status = %d, want 401 (body %s)", got.status, got.body)
			}
			if !strings.HasPrefix(got.header.Get("WWW-Authenticate"), "Bearer") {
				t.Errorf("WWW-Authenticate = %q, want a Bearer challenge", got.header.Get("WWW-Authenticate"))
			}
		})
	}

	t.Run("expired token", func(t *testing.T) {
		if got := f.userinfo(t, "bearer "+valid); got.status != http.StatusOK {
			t.Fatalf("before expiry: status = %d, want 200", got.status)
		}
		f.clock.Advance(TokenTTL)
		if got := f.userinfo(t, "Bearer "+valid); got.status != http.StatusUnauthorized {
			t.Errorf("after %s: status = %d, want 401", TokenTTL, got.status)
		}
	})
}

func TestPhoneFor(t *testing.T) {
	first := PhoneFor("demo-parent-01")
	if first != PhoneFor("demo-parent-01") {
		t.Error("PhoneFor is not deterministic")
	}
	if !regexp.MustCompile(`^139[0-9]{8}$`).MatchString(first) {
		t.Errorf("PhoneFor = %q, want 11 digits starting with 139", first)
	}
	if first == PhoneFor("demo-parent-02") {
		t.Errorf("demo-parent-01 and -02 share the phone %s", first)
	}
	if masked := MaskPhone("13912345678"); masked != "139****5678" {
		t.Errorf("MaskPhone = %q, want 139****5678", masked)
	}
}
