package identity

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/sh-preschool/preschool/simulators/internal/jsonhttp"
)

// tokenPrefix starts every access token, so a token is recognisable in
// logs and debuggers as a simulator token.
const tokenPrefix = "simtok."

// tokenClaims is the signed payload of an access token. Tokens are
// self-contained, so the simulator keeps no per-token state except the
// revocations caused by reused codes.
type tokenClaims struct {
	Subject string `json:"sub"`
	Name    string `json:"name"`
	Expires int64  `json:"exp"`
	ID      string `json:"jti"`
}

// TokenResponse is the JSON body of a successful /token request.
type TokenResponse struct {
	AccessToken string `json:"access_token"`
	TokenType   string `json:"token_type"`
	ExpiresIn   int    `json:"expires_in"`
}

// UserInfo is the JSON body of /userinfo.
type UserInfo struct {
	Subject string `json:"sub"`
	Name    string `json:"name"`
	Phone   string `json:"phone"`
}

// OAuthError is the JSON error body of /token and /userinfo (RFC 6749
// section 5.2). Description is English because RFC 6749 limits
// error_description to printable ASCII.
type OAuthError struct {
	Code        string `json:"error"`
	Description string `json:"error_description"`
}

func writeOAuthError(w http.ResponseWriter, status int, code, description string) {
	w.Header().Set("Pragma", "no-cache")
	jsonhttp.Write(w, status, OAuthError{Code: code, Description: description})
}

// handleToken redeems an authorization code (RFC 6749 section 4.1.3). The
// client authenticates with HTTP Basic or with client_id and client_secret
// in the form.
func (s *Server) handleToken(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	if err := r.ParseForm(); err != nil {
		writeOAuthError(w, http.StatusBadRequest, "invalid_request", "request body is not a valid form")
		return
	}
	form := r.PostForm

	clientID, clientSecret, usedBasic := clientCredentials(r)
	if !s.clientAuthenticated(clientID, clientSecret) {
		s.logger.Warn("token request rejected", "reason", "invalid_client", "client_id", clientID)
		if usedBasic {
			w.Header().Set("WWW-Authenticate", `Basic realm="identity-simulator"`)
		}
		writeOAuthError(w, http.StatusUnauthorized, "invalid_client", "client_id or client_secret is invalid")
		return
	}

	switch grantType := form.Get("grant_type"); {
	case grantType == "":
		writeOAuthError(w, http.StatusBadRequest, "invalid_request", "grant_type is missing")
		return
	case grantType != "authorization_code":
		writeOAuthError(w, http.StatusBadRequest, "unsupported_grant_type", "only grant_type=authorization_code is supported")
		return
	}
	code := form.Get("code")
	redirectURI := form.Get("redirect_uri")
	if code == "" || redirectURI == "" {
		writeOAuthError(w, http.StatusBadRequest, "invalid_request", "code and redirect_uri are required")
		return
	}

	claims, problem := s.redeem(code, clientID, redirectURI)
	if problem != "" {
		s.logger.Warn("token request rejected", "reason", "invalid_grant", "client_id", clientID, "detail", problem)
		writeOAuthError(w, http.StatusBadRequest, "invalid_grant", problem)
		return
	}

	w.Header().Set("Pragma", "no-cache")
	jsonhttp.Write(w, http.StatusOK, TokenResponse{
		AccessToken: s.signToken(claims),
		TokenType:   "Bearer",
		ExpiresIn:   int(TokenTTL / time.Second),
	})
}

// clientCredentials returns the client's ID and secret from HTTP Basic
// authentication, whose parts RFC 6749 section 2.3.1 form-encodes, or else
// from the form. usedBasic reports which one was used.
func clientCredentials(r *http.Request) (clientID, clientSecret string, usedBasic bool) {
	if username, password, ok := r.BasicAuth(); ok {
		clientID, errID := url.QueryUnescape(username)
		clientSecret, errSecret := url.QueryUnescape(password)
		if errID != nil || errSecret != nil {
			return username, password, true
		}
		return clientID, clientSecret, true
	}
	return r.PostForm.Get("client_id"), r.PostForm.Get("client_secret"), false
}

func (s *Server) clientAuthenticated(clientID, clientSecret string) bool {
	idMatches := subtle.ConstantTimeCompare([]byte(clientID), []byte(s.clientID)) == 1
	secretMatches := subtle.ConstantTimeCompare([]byte(clientSecret), []byte(s.clientSecret)) == 1
	return idMatches && secretMatches
}

// redeem marks the code used and returns the claims of the token to issue,
// or an English description of why the code is rejected. A code can be
// redeemed once: a second attempt revokes the token of the first, as RFC
// 6749 section 4.1.2 recommends.
func (s *Server) redeem(code, clientID, redirectURI string) (tokenClaims, string) {
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()

	g, ok := s.grants[code]
	switch {
	case !ok:
		return tokenClaims{}, "authorization code is invalid or expired"
	case g.tokenID != "":
		s.revoked[g.tokenID] = now.Add(TokenTTL)
		return tokenClaims{}, "authorization code was already used; the token issued for it is revoked"
	case now.After(g.expires):
		delete(s.grants, code)
		return tokenClaims{}, "authorization code is invalid or expired"
	case g.clientID != clientID:
		delete(s.grants, code)
		return tokenClaims{}, "authorization code was issued to another client"
	case g.redirectURI != redirectURI:
		delete(s.grants, code)
		return tokenClaims{}, "redirect_uri does not match the authorization request"
	}

	g.tokenID = rand.Text()
	return tokenClaims{
		Subject: g.subject,
		Name:    g.name,
		Expires: now.Add(TokenTTL).Unix(),
		ID:      g.tokenID,
	}, ""
}

// signToken encodes claims as "simtok.<payload>.<HMAC-SHA256>", both parts
// unpadded base64url.
func (s *Server) signToken(claims tokenClaims) string {
	payload, _ := json.Marshal(claims) // tokenClaims has only strings and an int
	encoded := base64.RawURLEncoding.EncodeToString(payload)
	return tokenPrefix + encoded + "." + base64.RawURLEncoding.EncodeToString(s.mac(encoded))
}

func (s *Server) mac(encodedPayload string) []byte {
	h := hmac.New(sha256.New, s.tokenKey)
	h.Write([]byte(encodedPayload))
	return h.Sum(nil)
}

// verifyToken returns the claims of a valid, unexpired, unrevoked token, or
// an English description of why it is rejected.
func (s *Server) verifyToken(token string) (tokenClaims, string) {
	rest, ok := strings.CutPrefix(token, tokenPrefix)
	if !ok {
		return tokenClaims{}, "access token is malformed"
	}
	encoded, signature, ok := strings.Cut(rest, ".")
	if !ok {
		return tokenClaims{}, "access token is malformed"
	}
	givenMAC, err := base64.RawURLEncoding.DecodeString(signature)
	if err != nil || !hmac.Equal(givenMAC, s.mac(encoded)) {
		return tokenClaims{}, "access token signature is invalid"
	}
	payload, err := base64.RawURLEncoding.DecodeString(encoded)
	if err != nil {
		return tokenClaims{}, "access token is malformed"
	}
	var claims tokenClaims
	if err := json.Unmarshal(payload, &claims); err != nil {
		return tokenClaims{}, "access token is malformed"
	}

	now := s.now()
	if now.Unix() >= claims.Expires {
		return tokenClaims{}, "access token expired"
	}
	s.mu.Lock()
	_, revoked := s.revoked[claims.ID]
	s.mu.Unlock()
	if revoked {
		return tokenClaims{}, "access token was revoked"
	}
	return claims, ""
}

// handleUserinfo returns the signed-in user of a bearer token (RFC 6750
// section 2.1 header form only).
func (s *Server) handleUserinfo(w http.ResponseWriter, r *http.Request) {
	scheme, token, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") || strings.TrimSpace(token) == "" {
		w.Header().Set("WWW-Authenticate", `Bearer realm="identity-simulator"`)
		writeOAuthError(w, http.StatusUnauthorized, "invalid_token", "an Authorization: Bearer header is required")
		return
	}

	claims, problem := s.verifyToken(strings.TrimSpace(token))
	if problem != "" {
		w.Header().Set("WWW-Authenticate", `Bearer realm="identity-simulator", error="invalid_token"`)
		writeOAuthError(w, http.StatusUnauthorized, "invalid_token", problem)
		return
	}
	jsonhttp.Write(w, http.StatusOK, UserInfo{Subject: claims.Subject, Name: claims.Name, Phone: PhoneFor(claims.Subject)})
}
