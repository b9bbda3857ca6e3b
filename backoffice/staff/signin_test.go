package staff

import (
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestSignInEnrolsTOTPAndStartsSession(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	id := e.createAccount(t, "xuhui.admin", "district_admin", "-district", xuhui)
	c := &client{base: e.url}

	answer, body := e.login(t, c, "xuhui.admin", testPassword)
	answer.expect(t, "password step", http.StatusOK, "")
	if body.Next != "enrol_totp" {
		t.Fatalf("next = %q, want enrol_totp", body.Next)
	}
	if body.Challenge == "" || body.Enrolment == nil {
		t.Fatalf("answer %s has no challenge or enrolment", answer.body)
	}
	if !strings.HasPrefix(body.Enrolment.OTPAuthURI, "otpauth://totp/") || !strings.HasPrefix(body.Enrolment.QRCode, "data:image/png;base64,") {
		t.Errorf("enrolment = %+v, want an otpauth URI and a PNG data URL", body.Enrolment)
	}
	if c.cookie != "" {
		t.Errorf("the password step set a session cookie")
	}
	var enabled bool
	if err := e.db.Get(&enabled, `SELECT totp_enabled FROM staff_user WHERE id = $1`, id); err != nil {
		t.Fatal(err)
	}
	if enabled {
		t.Errorf("TOTP is enabled before the first code")
	}

	// The code comes from the secret in the response, as an authenticator
	// app computes it.
	secret, err := base32NoPadding.DecodeString(body.Enrolment.Secret)
	if err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(totpPeriod * time.Second)
	code := totpCode(secret, e.clock.Now(), 6)
	answer = c.do(t, http.MethodPost, "/api/v1/auth/totp", map[string]string{"challenge": body.Challenge, "code": code})
	answer.expect(t, "code step", http.StatusOK, "")
	var me struct {
		ID                 int64    `json:"id"`
		Username           string   `json:"username"`
		Role               string   `json:"role"`
		RoleName           string   `json:"roleName"`
		Permissions        []string `json:"permissions"`
		ScopeLevel         string   `json:"scopeLevel"`
		DistrictCode       string   `json:"districtCode"`
		DistrictName       string   `json:"districtName"`
		MustChangePassword bool     `json:"mustChangePassword"`
		CSRFToken          string   `json:"csrfToken"`
	}
	answer.decode(t, &me)
	if me.ID != id || me.Username != "xuhui.admin" || me.Role != "district_admin" || me.RoleName != "区级管理员" {
		t.Errorf("me = %+v, want xuhui.admin, district_admin", me)
	}
	if me.ScopeLevel != "district" || me.DistrictCode != xuhui || me.DistrictName != "徐汇区" {
		t.Errorf("scope = %s %s %s, want district 310104 徐汇区", me.ScopeLevel, me.DistrictCode, me.DistrictName)
	}
	if !slices.Contains(me.Permissions, "enrolment.read") {
		t.Errorf("permissions = %v, want the role's", me.Permissions)
	}
	if me.MustChangePassword {
		t.Errorf("mustChangePassword is true for an account with a chosen password")
	}
	if me.CSRFToken == "" || c.cookie == "" {
		t.Fatalf("no session: cookie %q, CSRF token %q", c.cookie, me.CSRFToken)
	}

	answer = c.do(t, http.MethodGet, "/api/v1/me", nil)
	answer.expect(t, "GET /me", http.StatusOK, "")
	if !strings.Contains(string(answer.body), `"username":"xuhui.admin"`) {
		t.Errorf("/me = %s, want xuhui.admin", answer.body)
	}
	var state struct {
		Enabled  bool  `db:"totp_enabled"`
		LastStep int64 `db:"totp_last_step"`
		Failed   int   `db:"failed_attempts"`
	}
	if err := e.db.Get(&state, `SELECT totp_enabled, totp_last_step, failed_attempts FROM staff_user WHERE id = $1`, id); err != nil {
		t.Fatal(err)
	}
	if !state.Enabled || state.LastStep != totpStep(e.clock.Now()) || state.Failed != 0 {
		t.Errorf("account after sign-in = %+v, want TOTP enabled at step %d and no failures", state, totpStep(e.clock.Now()))
	}
	if got := joined(e.loginLog(t, "xuhui.admin")); got != "password:ok,totp:ok" {
		t.Errorf("sign-in log = %s, want password:ok,totp:ok", got)
	}
	if n := e.count(t, `SELECT count(*) FROM audit_event WHERE action = 'staff.totp_enable' AND resource_id = $1`, strconv.FormatInt(id, 10)); n != 1 {
		t.Errorf("audit events of the enrolment = %d, want 1", n)
	}

	// The next sign-in requests a code without a new enrolment.
	answer, body = e.login(t, &client{base: e.url}, "xuhui.admin", testPassword)
	answer.expect(t, "second password step", http.StatusOK, "")
	if body.Next != "totp" || body.Enrolment != nil {
		t.Errorf("second sign-in: next = %q, enrolment = %v, want totp and none", body.Next, body.Enrolment)
	}
}

func TestSignInLogEntries(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	id := e.createAccount(t, "alice", "city_admin")
	e.login(t, &client{base: e.url}, "alice", "Wrong#Password1")
	e.login(t, &client{base: e.url}, "nobody", testPassword)
	var row struct {
		StaffID   *int64 `db:"staff_id"`
		Success   bool   `db:"success"`
		IP        string `db:"ip"`
		UserAgent string `db:"user_agent"`
	}
	if err := e.db.Get(&row, `SELECT staff_id, success, ip, user_agent FROM login_log WHERE username = 'alice'`); err != nil {
		t.Fatal(err)
	}
	if row.StaffID == nil || *row.StaffID != id || row.Success || row.IP != "127.0.0.1" || row.UserAgent != "staff-test/1.0" {
		t.Errorf("log of a wrong password = %+v, want staff %d, failed, 127.0.0.1, staff-test/1.0", row, id)
	}
	if got := joined(e.loginLog(t, "alice")); got != "password:wrong_password" {
		t.Errorf("log of alice = %s, want password:wrong_password", got)
	}
	if got := joined(e.loginLog(t, "nobody")); got != "password:unknown_user" {
		t.Errorf("log of an unknown user = %s, want password:unknown_user", got)
	}
	if n := e.count(t, `SELECT count(*) FROM login_log WHERE username = 'nobody' AND staff_id IS NULL`); n != 1 {
		t.Errorf("log rows of an unknown user without a staff ID = %d, want 1", n)
	}
}

func TestSignInSameAnswerForEveryFailure(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.createAccount(t, "active.user", "city_admin")
	disabled := e.createAccount(t, "disabled.user", "city_admin")
	locked := e.createAccount(t, "locked.user", "city_admin")
	if _, err := e.db.Exec(`UPDATE staff_user SET status = 'disabled' WHERE id = $1`, disabled); err != nil {
		t.Fatal(err)
	}
	if _, err := e.db.Exec(`UPDATE staff_user SET locked_until = $2 WHERE id = $1`, locked, e.clock.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	cases := []struct{ name, username, password, reason string }{
		{"unknown user", "no.such.user", testPassword, "unknown_user"},
		{"wrong password", "active.user", "Wrong#Password1", "wrong_password"},
		{"disabled account", "disabled.user", testPassword, "disabled"},
		{"locked account", "locked.user", testPassword, "locked"},
	}
	var bodies []string
	for _, test := range cases {
		answer, _ := e.login(t, &client{base: e.url}, test.username, test.password)
		answer.expect(t, test.name, http.StatusUnauthorized, "invalid_credentials")
		bodies = append(bodies, string(answer.body))
		if got := joined(e.loginLog(t, test.username)); got != "password:"+test.reason {
			t.Errorf("%s: log = %s, want password:%s", test.name, got, test.reason)
		}
	}
	for i := 1; i < len(bodies); i++ {
		if bodies[i] != bodies[0] {
			t.Errorf("response of %s = %s, differs from %s", cases[i].name, bodies[i], bodies[0])
		}
	}
}

func TestLockoutAfterFiveFailures(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	id := e.createAccount(t, "xuhui.admin", "district_admin", "-district", xuhui)
	e.createAccount(t, "security.admin", "security_admin")
	admin, _ := e.signIn(t, "security.admin", testPassword)

	for i := 1; i <= MaxFailedAttempts; i++ {
		answer, _ := e.login(t, &client{base: e.url}, "xuhui.admin", "Wrong#Password"+strconv.Itoa(i))
		answer.expect(t, "wrong password "+strconv.Itoa(i), http.StatusUnauthorized, "invalid_credentials")
	}
	answer, _ := e.login(t, &client{base: e.url}, "xuhui.admin", testPassword)
	answer.expect(t, "right password while locked", http.StatusUnauthorized, "invalid_credentials")
	want := "password:wrong_password,password:wrong_password,password:wrong_password,password:wrong_password," +
		"password:wrong_password,password:locked"
	if got := joined(e.loginLog(t, "xuhui.admin")); got != want {
		t.Errorf("sign-in log = %s, want %s", got, want)
	}
	var lockedUntil time.Time
	if err := e.db.Get(&lockedUntil, `SELECT locked_until FROM staff_user WHERE id = $1`, id); err != nil {
		t.Fatal(err)
	}
	if wait := lockedUntil.Sub(e.clock.Now()); wait < 14*time.Minute || wait > LockDuration {
		t.Errorf("locked for %s more, want about 15 minutes", wait)
	}
	if n := e.count(t, `SELECT count(*) FROM audit_event WHERE action = 'staff.lock' AND resource_id = $1`, strconv.FormatInt(id, 10)); n != 1 {
		t.Errorf("audit events of the lock = %d, want 1", n)
	}

	list := admin.do(t, http.MethodGet, "/api/v1/staff?username=xuhui.admin", nil)
	list.expect(t, "staff list", http.StatusOK, "")
	if !strings.Contains(string(list.body), `"locked":true`) {
		t.Errorf("staff list %s does not show the lock", list.body)
	}

	unlock := admin.do(t, http.MethodPost, "/api/v1/staff/"+strconv.FormatInt(id, 10)+"/unlock", nil)
	unlock.expect(t, "unlock", http.StatusOK, "")
	if n := e.count(t, `SELECT count(*) FROM audit_event WHERE action = 'staff.unlock' AND resource_id = $1`, strconv.FormatInt(id, 10)); n != 1 {
		t.Errorf("audit events of the unlock = %d, want 1", n)
	}
	e.signIn(t, "xuhui.admin", testPassword)
}

func TestLockoutExpires(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.createAccount(t, "alice", "city_admin")
	for i := 1; i <= MaxFailedAttempts; i++ {
		e.login(t, &client{base: e.url}, "alice", "Wrong#Password1")
	}
	answer, _ := e.login(t, &client{base: e.url}, "alice", testPassword)
	answer.expect(t, "right password while locked", http.StatusUnauthorized, "invalid_credentials")
	e.clock.Advance(LockDuration + time.Second)
	e.signIn(t, "alice", testPassword)
}

func TestSuccessClearsFailures(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	id := e.createAccount(t, "alice", "city_admin")
	for range MaxFailedAttempts - 1 {
		e.login(t, &client{base: e.url}, "alice", "Wrong#Password1")
	}
	e.signIn(t, "alice", testPassword)
	if n := e.count(t, `SELECT failed_attempts FROM staff_user WHERE id = $1`, id); n != 0 {
		t.Errorf("failed attempts after a sign-in = %d, want 0", n)
	}
	answer, _ := e.login(t, &client{base: e.url}, "alice", "Wrong#Password1")
	answer.expect(t, "one more wrong password", http.StatusUnauthorized, "invalid_credentials")
	e.signIn(t, "alice", testPassword)
}

func TestPerIPLimit(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	// Under the race detector on a busy machine the attempts below can take
	// longer than a minute; a longer window keeps them all in one.
	const window = 10 * time.Minute
	e.handlers.LoginAttemptWindow = window
	for i := 1; i <= DefaultLoginAttemptsPerMinute; i++ {
		answer, _ := e.login(t, &client{base: e.url}, "guess"+strconv.Itoa(i), testPassword)
		answer.expect(t, "attempt "+strconv.Itoa(i), http.StatusUnauthorized, "invalid_credentials")
	}
	answer, _ := e.login(t, &client{base: e.url}, "guess21", testPassword)
	answer.expect(t, "attempt 21", http.StatusTooManyRequests, "too_many_attempts")
	retryAfter, err := strconv.Atoi(answer.header.Get("Retry-After"))
	if err != nil || retryAfter < 1 || retryAfter > int(window.Seconds()) {
		t.Errorf("Retry-After = %q, want 1 to %d seconds", answer.header.Get("Retry-After"), int(window.Seconds()))
	}
	answer, _ = e.login(t, &client{base: e.url}, "guess22", testPassword)
	answer.expect(t, "attempt 22", http.StatusTooManyRequests, "too_many_attempts")
	if n := e.count(t, `SELECT count(*) FROM login_log WHERE reason = 'rate_limited'`); n != 1 {
		t.Errorf("rate-limited log rows = %d, want 1 per window", n)
	}
	if n := e.count(t, `SELECT count(*) FROM login_log WHERE reason = 'unknown_user'`); n != DefaultLoginAttemptsPerMinute {
		t.Errorf("checked attempts = %d, want %d", n, DefaultLoginAttemptsPerMinute)
	}
}

func TestCodeCannotBeReused(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.createAccount(t, "alice", "city_admin")
	e.signIn(t, "alice", testPassword)

	c := &client{base: e.url}
	_, first := e.login(t, c, "alice", testPassword)
	code := e.code(t, "alice")
	answer := c.do(t, http.MethodPost, "/api/v1/auth/totp", map[string]string{"challenge": first.Challenge, "code": code})
	answer.expect(t, "first use", http.StatusOK, "")

	other := &client{base: e.url}
	_, second := e.login(t, other, "alice", testPassword)
	answer = other.do(t, http.MethodPost, "/api/v1/auth/totp", map[string]string{"challenge": second.Challenge, "code": code})
	answer.expect(t, "second use", http.StatusUnauthorized, "wrong_code")
	log := e.loginLog(t, "alice")
	if got := log[len(log)-1]; got != "totp:code_reused" {
		t.Errorf("last log entry = %s, want totp:code_reused", got)
	}
	// The challenge survives a wrong code, and the next step's code works.
	answer = other.do(t, http.MethodPost, "/api/v1/auth/totp", map[string]string{"challenge": second.Challenge, "code": e.code(t, "alice")})
	answer.expect(t, "next step's code", http.StatusOK, "")
}

func TestWrongCodesEndChallenge(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	id := e.createAccount(t, "alice", "city_admin")
	e.signIn(t, "alice", testPassword)
	c := &client{base: e.url}
	_, body := e.login(t, c, "alice", testPassword)
	right := e.code(t, "alice")
	wrong := "000000"
	if wrong == right {
		wrong = "111111"
	}

	for i := 1; i < MaxCodeAttempts; i++ {
		answer := c.do(t, http.MethodPost, "/api/v1/auth/totp", map[string]string{"challenge": body.Challenge, "code": wrong})
		answer.expect(t, "wrong code "+strconv.Itoa(i), http.StatusUnauthorized, "wrong_code")
	}
	answer := c.do(t, http.MethodPost, "/api/v1/auth/totp", map[string]string{"challenge": body.Challenge, "code": wrong})
	answer.expect(t, "last wrong code", http.StatusUnauthorized, "too_many_codes")
	answer = c.do(t, http.MethodPost, "/api/v1/auth/totp", map[string]string{"challenge": body.Challenge, "code": right})
	answer.expect(t, "right code after the challenge ended", http.StatusUnauthorized, "challenge_invalid")
	if n := e.count(t, `SELECT failed_attempts FROM staff_user WHERE id = $1`, id); n != 1 {
		t.Errorf("failed attempts = %d, want 1 for the ended challenge", n)
	}
	log := e.loginLog(t, "alice")
	if got := log[len(log)-1]; got != "totp:too_many_codes" {
		t.Errorf("last log entry of alice = %s, want totp:too_many_codes", got)
	}
	// The ended challenge no longer names its account.
	if got := joined(e.loginLog(t, "")); got != "totp:invalid_challenge" {
		t.Errorf("log entries without a username = %s, want totp:invalid_challenge", got)
	}
}

func TestConcurrentCodesBounded(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.createAccount(t, "alice", "city_admin")
	e.signIn(t, "alice", testPassword)
	_, body := e.login(t, &client{base: e.url}, "alice", testPassword)
	right := e.code(t, "alice")
	wrong := "000000"
	if wrong == right {
		wrong = "111111"
	}

	// Twelve guesses at once: only MaxCodeAttempts of them may be checked.
	const guesses = 12
	payload := `{"challenge":"` + body.Challenge + `","code":"` + wrong + `"}`
	var wait sync.WaitGroup
	statuses := make([]int, guesses)
	for i := range guesses {
		wait.Add(1)
		go func() {
			defer wait.Done()
			answer, err := http.Post(e.url+"/api/v1/auth/totp", "application/json", strings.NewReader(payload))
			if err != nil {
				t.Errorf("guess %d: %v", i, err)
				return
			}
			answer.Body.Close()
			statuses[i] = answer.StatusCode
		}()
	}
	wait.Wait()
	for i, status := range statuses {
		if status != http.StatusUnauthorized {
			t.Errorf("guess %d: status %d, want 401", i, status)
		}
	}
	checked := e.count(t, `SELECT count(*) FROM login_log WHERE username = 'alice' AND reason IN ('wrong_code', 'too_many_codes')`)
	if checked != MaxCodeAttempts {
		t.Errorf("codes checked = %d, want %d", checked, MaxCodeAttempts)
	}
	if n := e.count(t, `SELECT count(*) FROM login_log WHERE username = '' AND reason = 'invalid_challenge'`); n != guesses-MaxCodeAttempts {
		t.Errorf("guesses rejected without a check = %d, want %d", n, guesses-MaxCodeAttempts)
	}
	c := &client{base: e.url}
	c.do(t, http.MethodPost, "/api/v1/auth/totp", map[string]string{"challenge": body.Challenge, "code": right}).
		expect(t, "right code after the guesses", http.StatusUnauthorized, "challenge_invalid")
}

func TestChallengeIsSingleUse(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.createAccount(t, "alice", "city_admin")
	e.signIn(t, "alice", testPassword)
	c := &client{base: e.url}
	_, body := e.login(t, c, "alice", testPassword)
	// Typed as the authenticator app shows it.
	code := e.code(t, "alice")
	answer := c.do(t, http.MethodPost, "/api/v1/auth/totp", map[string]string{"challenge": body.Challenge, "code": code[:3] + " " + code[3:]})
	answer.expect(t, "first use", http.StatusOK, "")
	answer = c.do(t, http.MethodPost, "/api/v1/auth/totp", map[string]string{"challenge": body.Challenge, "code": e.code(t, "alice")})
	answer.expect(t, "second use", http.StatusUnauthorized, "challenge_invalid")
	answer = c.do(t, http.MethodPost, "/api/v1/auth/totp", map[string]string{"challenge": "made-up", "code": "123456"})
	answer.expect(t, "made-up challenge", http.StatusUnauthorized, "challenge_invalid")
}

func TestSessionFixation(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.createAccount(t, "alice", "city_admin")
	e.createAccount(t, "mallory", "city_admin")
	// An attacker plants a session token of their own in the victim's
	// browser before the victim signs in.
	attacker, _ := e.signIn(t, "mallory", testPassword)
	planted := attacker.cookie

	victim := &client{base: e.url, cookie: planted}
	_, body := e.login(t, victim, "alice", testPassword)
	answer := victim.do(t, http.MethodPost, "/api/v1/auth/totp", map[string]string{"challenge": body.Challenge, "code": e.code(t, "alice")})
	answer.expect(t, "victim's sign-in", http.StatusOK, "")
	if victim.cookie == planted {
		t.Fatalf("the sign-in kept the planted session token")
	}
	me := victim.do(t, http.MethodGet, "/api/v1/me", nil)
	if !strings.Contains(string(me.body), `"username":"alice"`) {
		t.Errorf("victim's /me = %s, want alice", me.body)
	}
	me = attacker.do(t, http.MethodGet, "/api/v1/me", nil)
	if strings.Contains(string(me.body), `"username":"alice"`) {
		t.Errorf("the planted token is alice's session: %s", me.body)
	}

	// A made-up token is not turned into a session either.
	guessed := &client{base: e.url, cookie: "planted-before-sign-in"}
	_, body = e.login(t, guessed, "alice", testPassword)
	guessed.do(t, http.MethodPost, "/api/v1/auth/totp", map[string]string{"challenge": body.Challenge, "code": e.code(t, "alice")}).
		expect(t, "sign-in with a made-up cookie", http.StatusOK, "")
	if guessed.cookie == "planted-before-sign-in" {
		t.Fatalf("the sign-in kept the made-up session token")
	}
	(&client{base: e.url, cookie: "planted-before-sign-in"}).do(t, http.MethodGet, "/api/v1/me", nil).
		expect(t, "/me with the made-up token", http.StatusUnauthorized, "not_signed_in")
}

func TestPasswordHashUpgradedAtSignIn(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	id := e.createAccount(t, "alice", "city_admin")
	old, err := hashPassword(testPassword, 1000)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.db.Exec(`UPDATE staff_user SET password_hash = $2 WHERE id = $1`, id, old); err != nil {
		t.Fatal(err)
	}
	answer, _ := e.login(t, &client{base: e.url}, "alice", testPassword)
	answer.expect(t, "sign-in with an old hash", http.StatusOK, "")
	var stored string
	if err := e.db.Get(&stored, `SELECT password_hash FROM staff_user WHERE id = $1`, id); err != nil {
		t.Fatal(err)
	}
	encoded, sealed, err := openPasswordHash(e.keyring, stored)
	if err != nil || !sealed {
		t.Fatalf("stored hash %.20s… opens = %v, sealed %v, want a sealed hash", stored, err, sealed)
	}
	if !strings.HasPrefix(encoded, "pbkdf2-sm3$100000$") {
		t.Errorf("stored hash = %.30s…, want 100000 iterations", encoded)
	}
	if match, _, err := VerifyPassword(encoded, testPassword); err != nil || !match {
		t.Errorf("the upgraded hash does not match the password: %v", err)
	}
}

func TestDisabledAccountEndsSessionsAndSignIn(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	id := e.createAccount(t, "alice", "city_admin")
	e.createAccount(t, "security.admin", "security_admin")
	admin, _ := e.signIn(t, "security.admin", testPassword)
	user, _ := e.signIn(t, "alice", testPassword)

	answer := admin.do(t, http.MethodPatch, "/api/v1/staff/"+strconv.FormatInt(id, 10), map[string]string{"status": "disabled"})
	answer.expect(t, "disable", http.StatusOK, "")
	user.do(t, http.MethodGet, "/api/v1/me", nil).expect(t, "/me of a disabled account", http.StatusUnauthorized, "not_signed_in")
	login, _ := e.login(t, &client{base: e.url}, "alice", testPassword)
	login.expect(t, "sign-in of a disabled account", http.StatusUnauthorized, "invalid_credentials")
	log := e.loginLog(t, "alice")
	if got := log[len(log)-1]; got != "password:disabled" {
		t.Errorf("last log entry = %s, want password:disabled", got)
	}

	admin.do(t, http.MethodPatch, "/api/v1/staff/"+strconv.FormatInt(id, 10), map[string]string{"status": "active"}).
		expect(t, "enable", http.StatusOK, "")
	e.signIn(t, "alice", testPassword)
}

func TestAccountDisabledBetweenSteps(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	id := e.createAccount(t, "alice", "city_admin")
	e.signIn(t, "alice", testPassword)
	c := &client{base: e.url}
	_, body := e.login(t, c, "alice", testPassword)
	if _, err := e.db.Exec(`UPDATE staff_user SET status = 'disabled' WHERE id = $1`, id); err != nil {
		t.Fatal(err)
	}
	answer := c.do(t, http.MethodPost, "/api/v1/auth/totp", map[string]string{"challenge": body.Challenge, "code": e.code(t, "alice")})
	answer.expect(t, "code of an account disabled meanwhile", http.StatusUnauthorized, "invalid_credentials")
	if c.cookie != "" {
		t.Errorf("a disabled account got a session")
	}
}
