package securitytest

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/sh-preschool/preschool/backoffice/access"
)

// TestSessionFixation checks that a sign-in never keeps the session token
// the browser carried before it: neither one an attacker planted nor a
// session of another account, which must stop working.
func TestSessionFixation(t *testing.T) {
	h := newHarness(t, nil)

	t.Run("planted token", func(t *testing.T) {
		const planted = "planted-before-sign-in"
		victim := &client{base: h.base, cookie: planted}
		h.signInAs(t, victim, xuhuiAdmin)
		if victim.cookie == planted {
			t.Fatalf("the sign-in kept the planted session token")
		}
		(&client{base: h.base, cookie: planted}).get(t, "/api/v1/me").
			expect(t, "/me with the planted token", http.StatusUnauthorized, "not_signed_in")
		expectSignedInAs(t, victim, xuhuiAdmin)
	})

	t.Run("earlier session", func(t *testing.T) {
		browser := h.signIn(t, auditorName)
		earlier, earlierCSRF := browser.cookie, browser.csrf
		h.signInAs(t, browser, securityName)
		if browser.cookie == earlier {
			t.Fatalf("the second sign-in kept the first session's token")
		}
		if browser.csrf == earlierCSRF {
			t.Errorf("the second sign-in kept the first session's CSRF token")
		}
		(&client{base: h.base, cookie: earlier}).get(t, "/api/v1/me").
			expect(t, "/me with the earlier session's token", http.StatusUnauthorized, "not_signed_in")
		expectSignedInAs(t, browser, securityName)
	})

	t.Run("cookie attributes", func(t *testing.T) {
		c := &client{base: h.base}
		_, login := h.login(t, c, changningAdmin, password)
		answer := h.sendCode(t, c, login.Challenge, h.code(t, changningAdmin))
		answer.expect(t, "sign-in", http.StatusOK, "")
		cookie := answer.cookie
		if cookie == nil {
			t.Fatalf("the sign-in set no %s cookie", access.CookieName)
		}
		if !cookie.HttpOnly {
			t.Errorf("session cookie is readable by scripts, want HttpOnly")
		}
		if cookie.SameSite != http.SameSiteStrictMode {
			t.Errorf("session cookie SameSite = %v, want Strict", cookie.SameSite)
		}
		if cookie.Path != "/" {
			t.Errorf("session cookie path = %q, want /", cookie.Path)
		}
	})

	t.Run("sign-out", func(t *testing.T) {
		c := h.signIn(t, xuhuiAdmin)
		token := c.cookie
		c.send(t, request{method: http.MethodPost, path: "/api/v1/sign-out"}).expect(t, "sign-out", http.StatusOK, "")
		(&client{base: h.base, cookie: token}).get(t, "/api/v1/me").
			expect(t, "/me after signing out", http.StatusUnauthorized, "not_signed_in")
	})
}

// expectSignedInAs checks that c's session belongs to username.
func expectSignedInAs(t *testing.T, c *client, username string) {
	t.Helper()
	answer := c.get(t, "/api/v1/me")
	answer.expect(t, "/me", http.StatusOK, "")
	var me access.Me
	if err := json.Unmarshal(answer.body, &me); err != nil {
		t.Fatalf("/me body %s does not decode: %v", answer.body, err)
	}
	if me.Username != username {
		t.Errorf("/me username = %q, want %q", me.Username, username)
	}
	if strings.TrimSpace(me.CSRFToken) == "" {
		t.Errorf("/me returned no CSRF token")
	}
}
