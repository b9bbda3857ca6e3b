package staff

import (
	"bytes"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/rueidis"

	"github.com/sh-preschool/preschool/backoffice/access"
	"github.com/sh-preschool/preschool/shared/document"
	"github.com/sh-preschool/preschool/shared/testenv"
)

type staffAnswer struct {
	Staff             staffItem `json:"staff"`
	TemporaryPassword string    `json:"temporaryPassword"`
}

func staffPath(id int64, action string) string {
	path := "/api/v1/staff/" + strconv.FormatInt(id, 10)
	if action != "" {
		path += "/" + action
	}
	return path
}

func TestManagementNeedsPermissions(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	districtAdminID := e.createAccount(t, "xuhui.admin", "district_admin", "-district", xuhui)
	e.createAccount(t, "security.admin", "security_admin")
	e.createAccount(t, "auditor", "auditor")
	districtAdmin, _ := e.signIn(t, "xuhui.admin", testPassword)
	securityAdmin, _ := e.signIn(t, "security.admin", testPassword)
	auditor, _ := e.signIn(t, "auditor", testPassword)

	rejected := []struct {
		caller *client
		name   string
		method string
		path   string
		body   any
	}{
		{districtAdmin, "district admin", http.MethodGet, "/api/v1/staff", nil},
		{districtAdmin, "district admin", http.MethodPost, "/api/v1/staff", map[string]any{"username": "new.user"}},
		{districtAdmin, "district admin", http.MethodPost, staffPath(districtAdminID, "unlock"), nil},
		{districtAdmin, "district admin", http.MethodGet, "/api/v1/roles", nil},
		{districtAdmin, "district admin", http.MethodPut, "/api/v1/roles/district_admin/permissions", map[string]any{"permissions": []string{"staff.write"}}},
		{districtAdmin, "district admin", http.MethodGet, "/api/v1/login-log", nil},
		{auditor, "auditor", http.MethodGet, "/api/v1/staff", nil},
		{securityAdmin, "security admin", http.MethodGet, "/api/v1/login-log", nil},
		{securityAdmin, "security admin", http.MethodGet, "/api/v1/login-log/export", nil},
	}
	for _, test := range rejected {
		answer := test.caller.do(t, test.method, test.path, test.body)
		answer.expect(t, test.name+" "+test.method+" "+test.path, http.StatusForbidden, "no_permission")
	}
	// Every refusal is in the audit trail with its actor.
	denied := e.count(t, `SELECT count(*) FROM audit_event WHERE outcome = 'denied' AND actor_id = $1 AND detail = 'no_permission'`, districtAdminID)
	if denied != 6 {
		t.Errorf("refusals of the district admin in the audit trail = %d, want 6", denied)
	}
	if n := e.count(t, `SELECT count(*) FROM audit_event WHERE outcome = 'denied' AND action = 'GET /api/v1/staff' AND actor_id = $1`, districtAdminID); n != 1 {
		t.Errorf("audit rows of the refused GET /api/v1/staff = %d, want 1", n)
	}

	allowed := []struct {
		caller *client
		name   string
		path   string
	}{
		{securityAdmin, "security admin", "/api/v1/staff"},
		{securityAdmin, "security admin", staffPath(districtAdminID, "")},
		{securityAdmin, "security admin", "/api/v1/roles"},
		{securityAdmin, "security admin", "/api/v1/permissions"},
		{auditor, "auditor", "/api/v1/login-log"},
	}
	for _, test := range allowed {
		test.caller.do(t, http.MethodGet, test.path, nil).expect(t, test.name+" GET "+test.path, http.StatusOK, "")
	}
	(&client{base: e.url}).do(t, http.MethodGet, "/api/v1/staff", nil).expect(t, "anonymous", http.StatusUnauthorized, "not_signed_in")
}

func TestCreateStaffAndMasking(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.createAccount(t, "security.admin", "security_admin")
	admin, _ := e.signIn(t, "security.admin", testPassword)
	idNumber := document.ValidResidentIDForTest("310104", time.Date(1985, time.March, 8, 0, 0, 0, 0, time.UTC), 12, 'F')

	answer := admin.do(t, http.MethodPost, "/api/v1/staff", map[string]any{
		"username": "xuhui.officer", "displayName": "王晓燕", "role": "district_admin",
		"scope": map[string]any{"districtCode": xuhui}, "phone": "138 1234 5678", "idNumber": idNumber,
	})
	answer.expect(t, "create", http.StatusCreated, "")
	var created staffAnswer
	answer.decode(t, &created)
	if err := CheckPasswordRules(created.TemporaryPassword, "xuhui.officer"); err != nil {
		t.Errorf("temporary password %q breaks a rule: %v", created.TemporaryPassword, err)
	}
	item := created.Staff
	if item.Username != "xuhui.officer" || item.Role != "district_admin" || item.ScopeLevel != "district" || item.DistrictCode != xuhui {
		t.Errorf("created = %+v", item)
	}
	if !item.MustChangePassword || item.TOTPEnabled || item.Status != "active" {
		t.Errorf("created account: mustChangePassword %v, totpEnabled %v, status %s; want true, false, active",
			item.MustChangePassword, item.TOTPEnabled, item.Status)
	}
	if item.Phone != "138****5678" {
		t.Errorf("phone = %q, want 138****5678", item.Phone)
	}
	if want := idNumber[:2] + strings.Repeat("*", 14) + idNumber[16:]; item.IDNumber != want {
		t.Errorf("ID number = %q, want %q", item.IDNumber, want)
	}

	list := admin.do(t, http.MethodGet, "/api/v1/staff?name=晓燕", nil)
	list.expect(t, "list", http.StatusOK, "")
	if !strings.Contains(string(list.body), `"phone":"138****5678"`) {
		t.Errorf("list %s does not show the masked phone", list.body)
	}
	for _, secret := range []string{"13812345678", idNumber, created.TemporaryPassword} {
		if strings.Contains(string(list.body), secret) {
			t.Errorf("list shows %q", secret)
		}
	}

	var stored struct {
		Phone    []byte `db:"phone"`
		IDNumber []byte `db:"id_number"`
		Index    []byte `db:"id_number_index"`
	}
	if err := e.db.Get(&stored, `SELECT phone, id_number, id_number_index FROM staff_user WHERE id = $1`, item.ID); err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(stored.Phone, []byte("13812345678")) || bytes.Contains(stored.IDNumber, []byte(idNumber)) {
		t.Errorf("phone or ID number stored in the clear")
	}
	if phone, err := e.keyring.Open(stored.Phone, "staff.phone"); err != nil || string(phone) != "13812345678" {
		t.Errorf("sealed phone opens to %q (%v), want 13812345678", phone, err)
	}
	if !bytes.Equal(stored.Index, e.keyring.Index("staff_id_number", []byte(idNumber))) {
		t.Errorf("ID number index is not the blind index of the number")
	}
	var after string
	if err := e.db.Get(&after, `SELECT after_state FROM audit_event WHERE action = 'staff.create' AND resource_id = $1`, strconv.FormatInt(item.ID, 10)); err != nil {
		t.Fatal(err)
	}
	for _, secret := range []string{"13812345678", idNumber, created.TemporaryPassword} {
		if strings.Contains(after, secret) {
			t.Errorf("audit state %s contains %q", after, secret)
		}
	}

	// The temporary password signs in to a session limited to the password
	// change.
	user, me := e.signIn(t, "xuhui.officer", created.TemporaryPassword)
	if !me.MustChangePassword {
		t.Errorf("session of a temporary password: mustChangePassword = false")
	}
	user.do(t, http.MethodGet, "/api/v1/login-log", nil).expect(t, "before the change", http.StatusForbidden, "password_change_required")

	duplicate := admin.do(t, http.MethodPost, "/api/v1/staff", map[string]any{
		"username": "xuhui.officer", "displayName": "重名", "role": "city_admin",
	})
	duplicate.expect(t, "duplicate username", http.StatusConflict, "username_taken")
	sameID := admin.do(t, http.MethodPost, "/api/v1/staff", map[string]any{
		"username": "other.officer", "displayName": "同号", "role": "city_admin", "idNumber": idNumber,
	})
	sameID.expect(t, "duplicate ID number", http.StatusConflict, "id_number_taken")
}

func TestCreateStaffValidation(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.createAccount(t, "security.admin", "security_admin")
	admin, _ := e.signIn(t, "security.admin", testPassword)
	var street, otherStreet string
	if err := e.db.Get(&street, `SELECT code FROM street WHERE district_code = $1 ORDER BY code LIMIT 1`, xuhui); err != nil {
		t.Fatal(err)
	}
	if err := e.db.Get(&otherStreet, `SELECT code FROM street WHERE district_code = $1 ORDER BY code LIMIT 1`, changning); err != nil {
		t.Fatal(err)
	}
	var kindergarten int64
	if err := e.db.Get(&kindergarten, `SELECT id FROM kindergarten ORDER BY id LIMIT 1`); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name string
		body map[string]any
		code string
	}{
		{"upper-case username", map[string]any{"username": "Alice", "displayName": "甲", "role": "city_admin"}, "invalid_username"},
		{"short username", map[string]any{"username": "ab", "displayName": "甲", "role": "city_admin"}, "invalid_username"},
		{"missing name", map[string]any{"username": "alice", "displayName": " ", "role": "city_admin"}, "invalid_display_name"},
		{"unknown role", map[string]any{"username": "alice", "displayName": "甲", "role": "root"}, "unknown_role"},
		{"level not of the role", map[string]any{"username": "alice", "displayName": "甲", "role": "district_admin",
			"scope": map[string]any{"level": "city"}}, "scope_level_not_allowed"},
		{"level of a two-level role missing", map[string]any{"username": "alice", "displayName": "甲", "role": "leader"}, "missing_scope_level"},
		{"unknown district", map[string]any{"username": "alice", "displayName": "甲", "role": "district_admin",
			"scope": map[string]any{"districtCode": "319999"}}, "unknown_district"},
		{"missing district", map[string]any{"username": "alice", "displayName": "甲", "role": "district_admin"}, "missing_district"},
		{"missing kindergarten", map[string]any{"username": "alice", "displayName": "甲", "role": "teacher"}, "missing_kindergarten"},
		{"unknown street", map[string]any{"username": "alice", "displayName": "甲", "role": "street_officer",
			"scope": map[string]any{"streetCode": "310104999"}}, "unknown_street"},
		{"street of another district", map[string]any{"username": "alice", "displayName": "甲", "role": "street_officer",
			"scope": map[string]any{"districtCode": xuhui, "streetCode": otherStreet}}, "street_not_in_district"},
		{"unknown kindergarten", map[string]any{"username": "alice", "displayName": "甲", "role": "kindergarten_admin",
			"scope": map[string]any{"kindergartenId": 999999}}, "unknown_kindergarten"},
		{"codes for a city scope", map[string]any{"username": "alice", "displayName": "甲", "role": "city_admin",
			"scope": map[string]any{"districtCode": xuhui}}, "scope_codes_not_expected"},
		{"invalid phone", map[string]any{"username": "alice", "displayName": "甲", "role": "city_admin", "phone": "12345"}, "invalid_phone"},
		{"invalid ID number", map[string]any{"username": "alice", "displayName": "甲", "role": "city_admin",
			"idNumber": "310104198503080000"}, "invalid_resident_id_checksum"},
		{"unknown field", map[string]any{"username": "alice", "displayName": "甲", "role": "city_admin", "password": "x"}, "malformed_json"},
	}
	for _, test := range cases {
		t.Run(test.name, func(t *testing.T) {
			admin.do(t, http.MethodPost, "/api/v1/staff", test.body).expect(t, test.name, http.StatusBadRequest, test.code)
		})
	}
	if n := e.count(t, `SELECT count(*) FROM staff_user WHERE username = 'alice'`); n != 0 {
		t.Errorf("a rejected account was stored")
	}

	answer := admin.do(t, http.MethodPost, "/api/v1/staff", map[string]any{
		"username": "street.officer", "displayName": "乙", "role": "street_officer", "scope": map[string]any{"streetCode": street},
	})
	answer.expect(t, "street officer", http.StatusCreated, "")
	var created staffAnswer
	answer.decode(t, &created)
	if created.Staff.DistrictCode != xuhui || created.Staff.StreetCode != street || created.Staff.StreetName == "" {
		t.Errorf("street officer scope = %+v, want street %s in %s", created.Staff, street, xuhui)
	}
	answer = admin.do(t, http.MethodPost, "/api/v1/staff", map[string]any{
		"username": "kg.admin", "displayName": "丙", "role": "kindergarten_admin", "scope": map[string]any{"kindergartenId": kindergarten},
	})
	answer.expect(t, "kindergarten admin", http.StatusCreated, "")
	answer.decode(t, &created)
	if created.Staff.KindergartenID != kindergarten || created.Staff.KindergartenName == "" || created.Staff.DistrictCode == "" {
		t.Errorf("kindergarten admin scope = %+v, want kindergarten %d with its district", created.Staff, kindergarten)
	}
}

func TestRoleAndScopeChangesEndSessions(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	id := e.createAccount(t, "xuhui.admin", "district_admin", "-district", xuhui)
	e.createAccount(t, "security.admin", "security_admin")
	admin, _ := e.signIn(t, "security.admin", testPassword)

	user, _ := e.signIn(t, "xuhui.admin", testPassword)
	answer := admin.do(t, http.MethodPatch, staffPath(id, ""), map[string]any{"scope": map[string]any{"districtCode": changning}})
	answer.expect(t, "scope change", http.StatusOK, "")
	user.do(t, http.MethodGet, "/api/v1/me", nil).expect(t, "/me after the scope change", http.StatusUnauthorized, "not_signed_in")
	_, me := e.signIn(t, "xuhui.admin", testPassword)
	if me.DistrictCode != changning {
		t.Errorf("district after the scope change = %s, want %s", me.DistrictCode, changning)
	}

	user, _ = e.signIn(t, "xuhui.admin", testPassword)
	answer = admin.do(t, http.MethodPatch, staffPath(id, ""), map[string]any{"role": "leader"})
	answer.expect(t, "role change keeping the scope", http.StatusOK, "")
	user.do(t, http.MethodGet, "/api/v1/me", nil).expect(t, "/me after the role change", http.StatusUnauthorized, "not_signed_in")
	_, me = e.signIn(t, "xuhui.admin", testPassword)
	if me.Role != "leader" {
		t.Errorf("role after the change = %s, want leader", me.Role)
	}

	user, _ = e.signIn(t, "xuhui.admin", testPassword)
	answer = admin.do(t, http.MethodPatch, staffPath(id, ""), map[string]any{"role": "auditor"})
	answer.expect(t, "role change needing a new scope", http.StatusBadRequest, "scope_required")
	answer = admin.do(t, http.MethodPatch, staffPath(id, ""), map[string]any{"displayName": "新名字"})
	answer.expect(t, "name change", http.StatusOK, "")
	user.do(t, http.MethodGet, "/api/v1/me", nil).expect(t, "/me after a name change", http.StatusOK, "")

	var before, after string
	err := e.db.QueryRow(`SELECT before_state, after_state FROM audit_event WHERE action = 'staff.update' ORDER BY id LIMIT 1`).Scan(&before, &after)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(before, `"districtCode":"310104"`) || !strings.Contains(after, `"districtCode":"310105"`) {
		t.Errorf("audit of the scope change: before %s, after %s", before, after)
	}
	if n := e.count(t, `SELECT count(*) FROM audit_event WHERE action = 'staff.update'`); n != 3 {
		t.Errorf("audited updates = %d, want 3 (scope, role, name)", n)
	}
}

func TestFailedRevocationRollsBack(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	id := e.createAccount(t, "alice", "city_admin")
	e.createAccount(t, "security.admin", "security_admin")
	admin, _ := e.signIn(t, "security.admin", testPassword)
	user, _ := e.signIn(t, "alice", testPassword)

	// The same handlers with a Redis client that is closed, so ending
	// sessions fails.
	closed, err := rueidis.NewClient(rueidis.ClientOption{InitAddress: []string{testenv.RedisAddress()}, DisableCache: true})
	if err != nil {
		t.Fatal(err)
	}
	closed.Close()
	broken := *e.handlers
	broken.Sessions = &access.SessionStore{Redis: closed, Prefix: e.sessions.Prefix, IdleTimeout: time.Minute, MaxLifetime: time.Hour, Now: time.Now}
	brokenAdmin := &client{base: e.serve(t, &broken), cookie: admin.cookie, csrf: admin.csrf}

	answer := brokenAdmin.do(t, http.MethodPatch, staffPath(id, ""), map[string]string{"status": "disabled"})
	if answer.status != http.StatusInternalServerError {
		t.Fatalf("disable without Redis: status %d %s, want 500", answer.status, answer.body)
	}
	var status string
	if err := e.db.Get(&status, `SELECT status FROM staff_user WHERE id = $1`, id); err != nil {
		t.Fatal(err)
	}
	if status != "active" {
		t.Errorf("status after a failed revocation = %s, want the change rolled back", status)
	}
	if n := e.count(t, `SELECT count(*) FROM audit_event WHERE action = 'staff.update'`); n != 0 {
		t.Errorf("audited updates after a failed revocation = %d, want 0", n)
	}
	brokenAdmin.do(t, http.MethodPost, staffPath(id, "password-reset"), nil).expect(t, "reset without Redis", http.StatusInternalServerError, "internal_error")
	user.do(t, http.MethodGet, "/api/v1/me", nil).expect(t, "/me after the failed changes", http.StatusOK, "")

	admin.do(t, http.MethodPatch, staffPath(id, ""), map[string]string{"status": "disabled"}).expect(t, "retry", http.StatusOK, "")
	user.do(t, http.MethodGet, "/api/v1/me", nil).expect(t, "/me after the retry", http.StatusUnauthorized, "not_signed_in")
}

func TestPasswordResetEndsSessions(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	id := e.createAccount(t, "alice", "city_admin")
	e.createAccount(t, "security.admin", "security_admin")
	admin, _ := e.signIn(t, "security.admin", testPassword)
	user, _ := e.signIn(t, "alice", testPassword)

	answer := admin.do(t, http.MethodPost, staffPath(id, "password-reset"), nil)
	answer.expect(t, "password reset", http.StatusOK, "")
	var reset staffAnswer
	answer.decode(t, &reset)
	if reset.TemporaryPassword == "" || !reset.Staff.MustChangePassword {
		t.Fatalf("reset answer = %s, want a temporary password and mustChangePassword", answer.body)
	}
	user.do(t, http.MethodGet, "/api/v1/me", nil).expect(t, "/me after the reset", http.StatusUnauthorized, "not_signed_in")
	login, _ := e.login(t, &client{base: e.url}, "alice", testPassword)
	login.expect(t, "old password", http.StatusUnauthorized, "invalid_credentials")
	_, me := e.signIn(t, "alice", reset.TemporaryPassword)
	if !me.MustChangePassword {
		t.Errorf("session after a reset: mustChangePassword = false")
	}
	var state string
	if err := e.db.Get(&state, `SELECT after_state FROM audit_event WHERE action = 'staff.password_reset'`); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(state, reset.TemporaryPassword) {
		t.Errorf("audit state %s contains the temporary password", state)
	}
}

func TestTOTPReset(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	id := e.createAccount(t, "alice", "city_admin")
	e.createAccount(t, "security.admin", "security_admin")
	admin, _ := e.signIn(t, "security.admin", testPassword)
	user, _ := e.signIn(t, "alice", testPassword)
	admin.do(t, http.MethodPost, staffPath(id, "totp-reset"), nil).expect(t, "TOTP reset", http.StatusOK, "")
	user.do(t, http.MethodGet, "/api/v1/me", nil).expect(t, "/me after the TOTP reset", http.StatusUnauthorized, "not_signed_in")
	answer, body := e.login(t, &client{base: e.url}, "alice", testPassword)
	answer.expect(t, "sign-in after the TOTP reset", http.StatusOK, "")
	if body.Next != "enrol_totp" || body.Enrolment == nil {
		t.Errorf("next = %s, want enrol_totp with an enrolment", body.Next)
	}
}

func TestSecurityAdminCannotChangeSelf(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	self := e.createAccount(t, "security.admin", "security_admin")
	admin, _ := e.signIn(t, "security.admin", testPassword)
	cases := []struct {
		name   string
		method string
		path   string
		body   any
		code   string
	}{
		{"own role", http.MethodPatch, staffPath(self, ""), map[string]any{"role": "auditor", "scope": map[string]any{}}, "cannot_change_own_role"},
		{"disable self", http.MethodPatch, staffPath(self, ""), map[string]any{"status": "disabled"}, "cannot_disable_self"},
		{"own password reset", http.MethodPost, staffPath(self, "password-reset"), nil, "cannot_reset_own_password"},
		{"own TOTP reset", http.MethodPost, staffPath(self, "totp-reset"), nil, "cannot_reset_own_totp"},
		{"own role's permissions", http.MethodPut, "/api/v1/roles/security_admin/permissions",
			map[string]any{"permissions": []string{"staff.read"}}, "cannot_edit_own_role"},
	}
	for _, test := range cases {
		admin.do(t, test.method, test.path, test.body).expect(t, test.name, http.StatusForbidden, test.code)
	}
	var role, status string
	if err := e.db.QueryRow(`SELECT role_code, status FROM staff_user WHERE id = $1`, self).Scan(&role, &status); err != nil {
		t.Fatal(err)
	}
	if role != "security_admin" || status != "active" {
		t.Errorf("own account after refused changes: %s %s, want security_admin active", role, status)
	}
	admin.do(t, http.MethodPatch, staffPath(self, ""), map[string]any{"displayName": "安全管理员甲"}).expect(t, "own name", http.StatusOK, "")
}

func TestRolePermissions(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.createAccount(t, "security.admin", "security_admin")
	holder := e.createAccount(t, "leader.one", "leader", "-scope", "city")
	admin, _ := e.signIn(t, "security.admin", testPassword)
	user, _ := e.signIn(t, "leader.one", testPassword)

	cases := []struct {
		name        string
		role        string
		permissions []string
		status      int
		code        string
	}{
		{"unknown permission", "leader", []string{"dashboard.read", "root"}, http.StatusBadRequest, "unknown_permission"},
		{"no permission", "leader", []string{}, http.StatusBadRequest, "missing_permissions"},
		{"business and security", "leader", []string{"dashboard.read", "staff.write"}, http.StatusBadRequest, "duties_mixed"},
		{"security and audit", "leader", []string{"staff.read", "audit.read"}, http.StatusBadRequest, "duties_mixed"},
		{"business data for the auditor", "auditor", []string{"audit.read", "enrolment.read"}, http.StatusBadRequest, "business_data_not_allowed"},
		{"unknown role", "root", []string{"org.read"}, http.StatusNotFound, "role_not_found"},
	}
	for _, test := range cases {
		answer := admin.do(t, http.MethodPut, "/api/v1/roles/"+test.role+"/permissions", map[string]any{"permissions": test.permissions})
		answer.expect(t, test.name, test.status, test.code)
	}
	user.do(t, http.MethodGet, "/api/v1/me", nil).expect(t, "/me after refused changes", http.StatusOK, "")

	answer := admin.do(t, http.MethodPut, "/api/v1/roles/leader/permissions",
		map[string]any{"permissions": []string{"org.read", "dashboard.read", "enrolment.read", "org.read"}})
	answer.expect(t, "valid change", http.StatusOK, "")
	var role struct {
		Role struct {
			Permissions []Permission `json:"permissions"`
			Holders     int          `json:"holders"`
		} `json:"role"`
	}
	answer.decode(t, &role)
	if got := joined(permissionCodes(role.Role.Permissions)); got != "enrolment.read,org.read,dashboard.read" {
		t.Errorf("permissions = %s, want enrolment.read,org.read,dashboard.read in catalogue order", got)
	}
	if role.Role.Permissions[0].Name != "查看报名登记" || role.Role.Holders != 1 {
		t.Errorf("role answer = %+v, want Chinese names and one holder", role.Role)
	}
	user.do(t, http.MethodGet, "/api/v1/me", nil).expect(t, "/me of a holder after the change", http.StatusUnauthorized, "not_signed_in")
	_, me := e.signIn(t, "leader.one", testPassword)
	if me.ID != holder || !strings.Contains(joined(me.Permissions), "enrolment.read") {
		t.Errorf("permissions of a holder after the change = %v, want enrolment.read among them", me.Permissions)
	}
	var before, after string
	if err := e.db.QueryRow(`SELECT before_state, after_state FROM audit_event WHERE action = 'role.update'`).Scan(&before, &after); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(before, "enrolment.read") || !strings.Contains(after, "enrolment.read") {
		t.Errorf("audit of the role change: before %s, after %s", before, after)
	}

	list := admin.do(t, http.MethodGet, "/api/v1/roles", nil)
	list.expect(t, "role list", http.StatusOK, "")
	if !strings.Contains(string(list.body), `"code":"security_admin"`) || !strings.Contains(string(list.body), "配置角色权限") {
		t.Errorf("role list %s lacks the security admin role or permission names", list.body)
	}
}
