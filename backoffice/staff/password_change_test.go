package staff

import (
	"net/http"
	"strings"
	"testing"
	"time"
)

func changePassword(t *testing.T, c *client, current, next string) response {
	t.Helper()
	return c.do(t, http.MethodPost, "/api/v1/auth/password", map[string]string{"currentPassword": current, "newPassword": next})
}

func TestPasswordChangeRules(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	id := e.createAccount(t, "xuhui.admin", "district_admin", "-district", xuhui)
	user, _ := e.signIn(t, "xuhui.admin", testPassword)
	cases := []struct {
		name, current, next, code string
	}{
		{"wrong current password", "Wrong#Password1", "Another#Password2", "wrong_current_password"},
		{"too short", testPassword, "Ab1!short", "password_too_short"},
		{"too simple", testPassword, "alllowercase123", "password_too_simple"},
		{"contains username", testPassword, "Xuhui.Admin#2025", "password_contains_username"},
		{"same as current", testPassword, testPassword, "password_reused"},
		{"missing current", "", "Another#Password2", "missing_current_password"},
	}
	for _, test := range cases {
		changePassword(t, user, test.current, test.next).expect(t, test.name, http.StatusBadRequest, test.code)
	}
	if n := e.count(t, `SELECT failed_attempts FROM staff_user WHERE id = $1`, id); n != 1 {
		t.Errorf("failed attempts after one wrong current password = %d, want 1", n)
	}
	if n := e.count(t, `SELECT count(*) FROM audit_event WHERE action = 'staff.password_change'`); n != 0 {
		t.Errorf("rejected changes were audited as changes: %d", n)
	}

	answer := changePassword(t, user, testPassword, "Another#Password2")
	answer.expect(t, "valid change", http.StatusOK, "")
	if strings.Contains(string(answer.body), `"mustChangePassword":true`) {
		t.Errorf("answer %s still asks for a change", answer.body)
	}
	if n := e.count(t, `SELECT count(*) FROM audit_event WHERE action = 'staff.password_change' AND actor_id = $1`, id); n != 1 {
		t.Errorf("audited password changes = %d, want 1", n)
	}
	login, _ := e.login(t, &client{base: e.url}, "xuhui.admin", testPassword)
	login.expect(t, "old password", http.StatusUnauthorized, "invalid_credentials")
	e.signIn(t, "xuhui.admin", "Another#Password2")
}

func TestPasswordChangeHistory(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	id := e.createAccount(t, "alice", "city_admin")
	// Four older passwords with cheap hashes, all before the current one:
	// with it the history holds the five newest.
	older := []string{"Older#Password1", "Older#Password2", "Older#Password3", "Older#Password4"}
	for i, password := range older {
		encoded, err := hashPassword(password, 1000)
		if err != nil {
			t.Fatal(err)
		}
		_, err = e.db.Exec(`INSERT INTO staff_password_history (staff_id, password_hash, changed_at) VALUES ($1, $2, $3)`,
			id, encoded, time.Now().Add(-time.Duration(i+1)*24*time.Hour))
		if err != nil {
			t.Fatal(err)
		}
	}
	user, _ := e.signIn(t, "alice", testPassword)
	for _, reused := range []string{older[0], older[3]} {
		changePassword(t, user, testPassword, reused).expect(t, "reuse of "+reused, http.StatusBadRequest, "password_reused")
	}
	changePassword(t, user, testPassword, "Newest#Password5").expect(t, "new password", http.StatusOK, "")
	if n := e.count(t, `SELECT count(*) FROM staff_password_history WHERE staff_id = $1`, id); n != PasswordHistorySize {
		t.Errorf("history entries = %d, want %d", n, PasswordHistorySize)
	}
	// The oldest one fell out of the last five, so it may come back; the
	// one before the current may not.
	changePassword(t, user, "Newest#Password5", testPassword).expect(t, "reuse of the previous one", http.StatusBadRequest, "password_reused")
	changePassword(t, user, "Newest#Password5", older[3]).expect(t, "reuse of the sixth newest", http.StatusOK, "")
}

func TestExpiredPasswordMustChange(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	id := e.createAccount(t, "security.admin", "security_admin")
	changedAt := e.clock.Now().AddDate(0, 0, -PasswordMaxAgeDays-1)
	if _, err := e.db.Exec(`UPDATE staff_user SET password_changed_at = $2 WHERE id = $1`, id, changedAt); err != nil {
		t.Fatal(err)
	}
	user, me := e.signIn(t, "security.admin", testPassword)
	if !me.MustChangePassword {
		t.Fatalf("session of an expired password: mustChangePassword = false")
	}
	user.do(t, http.MethodGet, "/api/v1/staff", nil).expect(t, "list before the change", http.StatusForbidden, "password_change_required")
	user.do(t, http.MethodGet, "/api/v1/me", nil).expect(t, "/me before the change", http.StatusOK, "")
	changePassword(t, user, testPassword, "Renewed#Password7").expect(t, "change", http.StatusOK, "")
	user.do(t, http.MethodGet, "/api/v1/staff", nil).expect(t, "list after the change", http.StatusOK, "")
	var stored time.Time
	if err := e.db.Get(&stored, `SELECT password_changed_at FROM staff_user WHERE id = $1`, id); err != nil {
		t.Fatal(err)
	}
	if e.clock.Now().Sub(stored) > time.Minute {
		t.Errorf("password_changed_at = %s, want about now", stored)
	}
	_, me = e.signIn(t, "security.admin", "Renewed#Password7")
	if me.MustChangePassword {
		t.Errorf("session after the change: mustChangePassword = true")
	}
}

func TestPasswordAlmostExpiredStillValid(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	id := e.createAccount(t, "alice", "city_admin")
	changedAt := e.clock.Now().AddDate(0, 0, -PasswordMaxAgeDays+1)
	if _, err := e.db.Exec(`UPDATE staff_user SET password_changed_at = $2 WHERE id = $1`, id, changedAt); err != nil {
		t.Fatal(err)
	}
	if _, me := e.signIn(t, "alice", testPassword); me.MustChangePassword {
		t.Errorf("a password of 89 days must change")
	}
}
