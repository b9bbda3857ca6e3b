package securitytest

import (
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/sh-preschool/preschool/backoffice/staff"
)

// attemptsPerMinute is the per-address limit of password attempts the
// brute-force test configures: above the attempts it needs before it tests
// the limit, and low enough to reach quickly.
const attemptsPerMinute = 14

// TestPasswordGuessing guesses passwords and TOTP codes through the real
// router. staff.MaxFailedAttempts wrong passwords lock the account, so the
// right password then fails as well. staff.MaxCodeAttempts wrong codes end
// the sign-in challenge. The per-address limit stops every further attempt.
func TestPasswordGuessing(t *testing.T) {
	h := newHarness(t, map[string]string{"BACKOFFICE_LOGIN_ATTEMPTS_PER_MINUTE": strconv.Itoa(attemptsPerMinute)})
	targetID := h.ids[changningAdmin]
	attempts := 0

	for i := 1; i <= staff.MaxFailedAttempts; i++ {
		attempts++
		answer, _ := h.login(t, h.anonymous(), changningAdmin, "Wrong#Guess"+strconv.Itoa(i))
		answer.expect(t, "wrong password "+strconv.Itoa(i), http.StatusUnauthorized, "invalid_credentials")
	}

	attempts++
	answer, _ := h.login(t, h.anonymous(), changningAdmin, password)
	answer.expect(t, "right password while locked", http.StatusUnauthorized, "invalid_credentials")
	var lockedUntil time.Time
	if err := h.env.DB.DB.Get(&lockedUntil, `SELECT locked_until FROM staff_user WHERE id = $1`, targetID); err != nil {
		t.Fatalf("read locked_until: %v", err)
	}
	if wait := time.Until(lockedUntil); wait < staff.LockDuration-time.Minute || wait > staff.LockDuration {
		t.Errorf("account locked for %s more, want about %s", wait, staff.LockDuration)
	}
	if n := h.count(t, `SELECT count(*) FROM login_log WHERE username = $1 AND reason = 'wrong_password'`, changningAdmin); n != staff.MaxFailedAttempts {
		t.Errorf("sign-in log has %d wrong passwords, want %d", n, staff.MaxFailedAttempts)
	}
	if n := h.count(t, `SELECT count(*) FROM login_log WHERE username = $1 AND reason = 'locked'`, changningAdmin); n != 1 {
		t.Errorf("sign-in log has %d attempts while locked, want 1", n)
	}
	if n := h.count(t, `SELECT count(*) FROM audit_event WHERE action = 'staff.lock' AND resource_id = $1`, strconv.FormatInt(targetID, 10)); n != 1 {
		t.Errorf("audit trail has %d lock events, want 1", n)
	}

	t.Run("wrong codes end the challenge", func(t *testing.T) {
		c := h.anonymous()
		attempts++
		answer, login := h.login(t, c, auditorName, password)
		answer.expect(t, "auditor's password", http.StatusOK, "")
		for i := 1; i < staff.MaxCodeAttempts; i++ {
			h.sendCode(t, c, login.Challenge, "000000").expect(t, "wrong code "+strconv.Itoa(i), http.StatusUnauthorized, "wrong_code")
		}
		h.sendCode(t, c, login.Challenge, "000000").expect(t, "last wrong code", http.StatusUnauthorized, "too_many_codes")
		h.sendCode(t, c, login.Challenge, h.code(t, auditorName)).
			expect(t, "right code after the challenge ended", http.StatusUnauthorized, "challenge_invalid")
	})

	t.Run("per-address limit", func(t *testing.T) {
		for attempts < attemptsPerMinute {
			attempts++
			answer, _ := h.login(t, h.anonymous(), "nobody"+strconv.Itoa(attempts), password)
			answer.expect(t, "attempt "+strconv.Itoa(attempts), http.StatusUnauthorized, "invalid_credentials")
		}
		answer, _ := h.login(t, h.anonymous(), xuhuiAdmin, password)
		answer.expect(t, "right password over the limit", http.StatusTooManyRequests, "too_many_attempts")
		retryAfter, err := strconv.Atoi(answer.header.Get("Retry-After"))
		if err != nil || retryAfter < 1 || retryAfter > 60 {
			t.Errorf("Retry-After = %q, want 1 to 60 seconds", answer.header.Get("Retry-After"))
		}
		if n := h.count(t, `SELECT count(*) FROM login_log WHERE username = $1 AND success`, xuhuiAdmin); n != 0 {
			t.Errorf("sign-in log has %d successes of the rate-limited account, want 0", n)
		}
	})
}
