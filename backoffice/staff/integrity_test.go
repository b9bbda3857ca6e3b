package staff

import (
	"context"
	"net/http"
	"strconv"
	"testing"

	"github.com/sh-preschool/preschool/backoffice/audit"
)

// alertToTrail records integrity alerts in the environment's audit trail,
// as the back office does.
func (e *env) alertToTrail() {
	e.integrity.Alert = func(ctx context.Context, r *http.Request, resource, resourceID string, cause error) {
		_ = e.trail.Record(ctx, r, nil, audit.Event{
			Action: "acl.tampered", Resource: resource, ResourceID: resourceID, Outcome: audit.OutcomeFailed,
			Detail: cause.Error(),
		})
	}
}

// secondStep runs the TOTP step of a sign-in whose password step passed.
func (e *env) secondStep(t *testing.T, username string) response {
	t.Helper()
	c := &client{base: e.url}
	answer, body := e.login(t, c, username, testPassword)
	answer.expect(t, "password step of "+username, http.StatusOK, "")
	return c.do(t, http.MethodPost, "/api/v1/auth/totp", map[string]string{"challenge": body.Challenge, "code": e.code(t, username)})
}

func TestTamperedRolePermissionRejected(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.alertToTrail()
	e.createAccount(t, "leader.one", "leader", "-scope", "city")
	user, _ := e.signIn(t, "leader.one", testPassword)
	user.do(t, http.MethodGet, "/api/v1/me", nil).expect(t, "/me before the change", http.StatusOK, "")

	if _, err := e.db.Exec(`UPDATE role SET permissions = array_append(permissions, 'enrolment.read') WHERE code = 'leader'`); err != nil {
		t.Fatal(err)
	}
	user.do(t, http.MethodGet, "/api/v1/me", nil).expect(t, "/me after a direct UPDATE", http.StatusForbidden, "access_control_tampered")
	user.do(t, http.MethodGet, "/api/v1/me", nil).expect(t, "/me repeated", http.StatusForbidden, "access_control_tampered")
	e.secondStep(t, "leader.one").expect(t, "new sign-in with the changed role", http.StatusForbidden, "access_control_tampered")

	if n := e.count(t, `SELECT count(*) FROM audit_event WHERE action = 'acl.tampered' AND resource = 'role' AND resource_id = 'leader'`); n != 1 {
		t.Errorf("acl.tampered audit events of role leader = %d, want 1 (alerted once per changed content)", n)
	}
	if n := e.count(t, `SELECT count(*) FROM audit_event WHERE outcome = 'denied' AND detail = 'access_control_tampered'`); n < 1 {
		t.Errorf("denied audit events for the rejected requests = %d, want at least 1", n)
	}
	problems, err := e.integrity.VerifyAll(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(problems) != 1 || problems[0].Resource != "role" || problems[0].ResourceID != "leader" {
		t.Errorf("VerifyAll = %+v, want only role leader", problems)
	}

	// Putting the row back restores access, because the signature covers
	// the content and not the time of the change.
	if _, err := e.db.Exec(`UPDATE role SET permissions = array_remove(permissions, 'enrolment.read') WHERE code = 'leader'`); err != nil {
		t.Fatal(err)
	}
	user.do(t, http.MethodGet, "/api/v1/me", nil).expect(t, "/me after the row is restored", http.StatusOK, "")
}

func TestRemovedRoleSignatureRejected(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.createAccount(t, "auditor.one", "auditor")
	user, _ := e.signIn(t, "auditor.one", testPassword)

	_, err := e.db.Exec(`UPDATE role SET permissions = array_append(permissions, 'staff.write'), acl_signature = NULL, acl_key_id = NULL
		WHERE code = 'auditor'`)
	if err != nil {
		t.Fatal(err)
	}
	if signed, err := e.integrity.SignBuiltInRoles(context.Background()); err != nil || signed != 0 {
		t.Errorf("SignBuiltInRoles = %d, %v, want 0 because the unsigned role differs from the built-in one", signed, err)
	}
	user.do(t, http.MethodGet, "/api/v1/me", nil).expect(t, "/me with an unsigned role", http.StatusForbidden, "access_control_tampered")
}

func TestTamperedStaffScopeRejected(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.alertToTrail()
	id := e.createAccount(t, "xuhui.admin", "district_admin", "-district", xuhui)
	user, _ := e.signIn(t, "xuhui.admin", testPassword)

	if _, err := e.db.Exec(`UPDATE staff_user SET scope_level = 'city', district_code = NULL WHERE id = $1`, id); err != nil {
		t.Fatal(err)
	}
	user.do(t, http.MethodGet, "/api/v1/me", nil).expect(t, "/me after a direct scope change", http.StatusForbidden, "access_control_tampered")
	e.secondStep(t, "xuhui.admin").expect(t, "new sign-in with the changed scope", http.StatusForbidden, "access_control_tampered")
	if n := e.count(t, `SELECT count(*) FROM audit_event WHERE action = 'acl.tampered' AND resource = 'staff_user' AND resource_id = $1`, strconv.FormatInt(id, 10)); n != 1 {
		t.Errorf("acl.tampered audit events of staff %d = %d, want 1", id, n)
	}
}

func TestStaffChangeThroughAPIResigned(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.createAccount(t, "security.admin", "security_admin")
	id := e.createAccount(t, "street.one", "district_admin", "-district", xuhui)
	admin, _ := e.signIn(t, "security.admin", testPassword)

	answer := admin.do(t, http.MethodPatch, "/api/v1/staff/"+strconv.FormatInt(id, 10), map[string]any{"status": "disabled"})
	answer.expect(t, "disable through the API", http.StatusOK, "")
	problems, err := e.integrity.VerifyAll(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(problems) != 0 {
		t.Errorf("VerifyAll after changes through the API = %+v, want none", problems)
	}
}
