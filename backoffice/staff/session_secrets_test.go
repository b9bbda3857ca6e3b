package staff

import (
	"context"
	"net/http"
	"strings"
	"testing"
)

// sessionHashes returns every staff session hash under the environment's
// Redis prefix, as a dump of Redis would show them.
func (e *env) sessionHashes(t *testing.T) map[string]map[string]string {
	t.Helper()
	ctx := context.Background()
	redis := e.sessions.Redis
	keys, err := redis.Do(ctx, redis.B().Keys().Pattern(e.sessions.Prefix+"staff:session:*").Build()).AsStrSlice()
	if err != nil {
		t.Fatal(err)
	}
	hashes := map[string]map[string]string{}
	for _, key := range keys {
		fields, err := redis.Do(ctx, redis.B().Hgetall().Key(key).Build()).AsStrMap()
		if err != nil {
			t.Fatal(err)
		}
		hashes[key] = fields
	}
	return hashes
}

func TestSessionHashHoldsNoTokens(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.createAccount(t, "city.admin", "city_admin")
	c, me := e.signIn(t, "city.admin", testPassword)

	hashes := e.sessionHashes(t)
	if len(hashes) != 1 {
		t.Fatalf("%d session hashes in Redis, want 1", len(hashes))
	}
	for key, fields := range hashes {
		if strings.Contains(key, c.cookie) {
			t.Errorf("session key %s contains the session token", key)
		}
		for name, value := range fields {
			if strings.Contains(value, me.CSRFToken) {
				t.Errorf("session field %s contains the CSRF token", name)
			}
			if strings.Contains(value, c.cookie) {
				t.Errorf("session field %s contains the session token", name)
			}
		}
	}

	// The derived token still guards every change, and /me returns the
	// same token on each request.
	again := c.do(t, http.MethodGet, "/api/v1/me", nil)
	again.expect(t, "GET /me", http.StatusOK, "")
	if !strings.Contains(string(again.body), `"csrfToken":"`+me.CSRFToken+`"`) {
		t.Errorf("second /me = %s, want the CSRF token %s", again.body, me.CSRFToken)
	}
	forged := &client{base: e.url, cookie: c.cookie, csrf: me.CSRFToken[:len(me.CSRFToken)-1] + "A"}
	if strings.HasSuffix(me.CSRFToken, "A") {
		forged.csrf = me.CSRFToken[:len(me.CSRFToken)-1] + "B"
	}
	forged.do(t, http.MethodPost, "/api/v1/auth/password", map[string]string{"currentPassword": "x", "newPassword": "y"}).
		expect(t, "change with a wrong CSRF token", http.StatusForbidden, "csrf_failed")
	c.do(t, http.MethodPost, "/api/v1/auth/password", map[string]string{"currentPassword": "wrong", "newPassword": "y"}).
		expect(t, "change with the session's CSRF token", http.StatusBadRequest, "wrong_current_password")

	// Another session of the same account has another CSRF token.
	_, other := e.signIn(t, "city.admin", testPassword)
	if other.CSRFToken == me.CSRFToken {
		t.Error("two sessions have the same CSRF token")
	}
}

func TestLegacySessionWithStoredCSRFEnds(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.createAccount(t, "city.admin", "city_admin")
	c, _ := e.signIn(t, "city.admin", testPassword)

	// A session written before CSRF tokens were derived has the token in
	// a "csrf" field.
	ctx := context.Background()
	redis := e.sessions.Redis
	var key string
	for k := range e.sessionHashes(t) {
		key = k
	}
	if err := redis.Do(ctx, redis.B().Hset().Key(key).FieldValue().FieldValue("csrf", "stored-in-plaintext").Build()).Error(); err != nil {
		t.Fatal(err)
	}

	c.do(t, http.MethodGet, "/api/v1/me", nil).expect(t, "/me of a legacy session", http.StatusUnauthorized, "not_signed_in")
	if n, err := redis.Do(ctx, redis.B().Exists().Key(key).Build()).AsInt64(); err != nil || n != 0 {
		t.Errorf("legacy session key exists = %d, %v after its use, want 0", n, err)
	}
}
