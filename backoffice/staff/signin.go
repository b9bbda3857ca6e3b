package staff

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/redis/rueidis"
	"github.com/tjfoc/gmsm/sm3"

	"github.com/sh-preschool/preschool/backoffice/access"
	"github.com/sh-preschool/preschool/backoffice/audit"
	"github.com/sh-preschool/preschool/backoffice/httpx"
	"github.com/sh-preschool/preschool/shared/apierror"
)

// Errors of the sign-in steps. An unknown user, a wrong password, a
// disabled account and a locked account all get ErrInvalidCredentials, so
// the response does not reveal which usernames exist or which accounts are
// locked. The sign-in log keeps the true reason.
var (
	ErrInvalidCredentials = apierror.New(http.StatusUnauthorized, "invalid_credentials",
		"用户名或密码不正确，或账号暂时无法登录。连续 5 次失败后账号将锁定 15 分钟。")
	ErrChallengeInvalid = apierror.New(http.StatusUnauthorized, "challenge_invalid",
		"登录验证已失效，请重新输入用户名和密码。")
	ErrWrongCode = apierror.New(http.StatusUnauthorized, "wrong_code",
		"动态验证码不正确，请输入验证器应用当前显示的 6 位数字。")
	ErrTooManyCodes = apierror.New(http.StatusUnauthorized, "too_many_codes",
		"动态验证码错误次数过多，请重新输入用户名和密码。")
	errMissingUsername = apierror.Invalid("username", "missing_username", "请输入用户名。")
	errMissingPassword = apierror.Invalid("password", "missing_password", "请输入密码。")
	errMissingCode     = apierror.Invalid("code", "missing_code", "请输入 6 位动态验证码。")
)

// Stages and reasons of the sign-in log.
const (
	stagePassword = "password"
	stageTOTP     = "totp"

	reasonOK               = "ok"
	reasonUnknownUser      = "unknown_user"
	reasonWrongPassword    = "wrong_password"
	reasonDisabled         = "disabled"
	reasonLocked           = "locked"
	reasonRateLimited      = "rate_limited"
	reasonWrongCode        = "wrong_code"
	reasonCodeReused       = "code_reused"
	reasonTooManyCodes     = "too_many_codes"
	reasonInvalidChallenge = "invalid_challenge"
)

// Next steps the password step returns.
const (
	nextTOTP      = "totp"
	nextEnrolTOTP = "enrol_totp"
)

// maxUsernameBytes bounds the username a sign-in request may carry; longer
// input cannot be a username and is not stored in full.
const maxUsernameBytes = 64

type loginRequest struct {
	Username string `json:"username"`
	Password string `json:"password"`
}

type loginResponse struct {
	Next      string     `json:"next"`
	Challenge string     `json:"challenge"`
	Enrolment *Enrolment `json:"enrolment,omitempty"`
}

// login handles POST /auth/login, the password step.
func (h *Handlers) login(w http.ResponseWriter, r *http.Request) error {
	var request loginRequest
	if err := httpx.DecodeJSON(r, 4<<10, &request); err != nil {
		return err
	}
	username := strings.ToLower(strings.TrimSpace(request.Username))
	if username == "" {
		return errMissingUsername
	}
	if request.Password == "" {
		return errMissingPassword
	}
	if len(username) > maxUsernameBytes {
		username = truncateUTF8(username, maxUsernameBytes)
	}
	ctx := r.Context()
	entry := loginEntry{Username: username, Stage: stagePassword}

	if err := h.limitAttempts(ctx, w, r, entry); err != nil {
		return err
	}

	now := h.now()
	row, err := loadAccountBy(ctx, h.DB, `username = $1`, username)
	if errors.Is(err, errAccountNotFound) {
		// Verify against a dummy hash, so an unknown user takes as long as
		// a known one.
		_, _, _ = VerifyPassword(dummyPasswordHash, request.Password)
		return h.rejectAttempt(ctx, r, entry, reasonUnknownUser, ErrInvalidCredentials)
	}
	if err != nil {
		return err
	}
	entry.StaffID = row.ID
	encoded, sealed, err := openPasswordHash(h.Keyring, row.PasswordHash)
	if err != nil {
		return fmt.Errorf("open password hash of staff %d: %w", row.ID, err)
	}
	match, rehash, err := VerifyPassword(encoded, request.Password)
	if err != nil {
		return fmt.Errorf("verify password of staff %d: %w", row.ID, err)
	}
	switch {
	case row.Status != StatusActive:
		return h.rejectAttempt(ctx, r, entry, reasonDisabled, ErrInvalidCredentials)
	case row.lockedAt(now):
		return h.rejectAttempt(ctx, r, entry, reasonLocked, ErrInvalidCredentials)
	case !match:
		if err := h.countFailure(ctx, r, row.ID, row.Username); err != nil {
			slog.Error("failed sign-in not counted", "staff_id", row.ID, "error", err)
		}
		return h.rejectAttempt(ctx, r, entry, reasonWrongPassword, ErrInvalidCredentials)
	}

	if rehash || !sealed {
		h.upgradePasswordHash(ctx, row, request.Password, encoded, rehash)
	}
	response := loginResponse{Next: nextTOTP}
	if !row.TOTPEnabled {
		secret := newTOTPSecret()
		enrolment, err := newEnrolment(row.Username, secret)
		if err != nil {
			return err
		}
		_, err = h.DB.ExecContext(ctx, `UPDATE staff_user SET totp_secret = $2, key_id = $3, updated_at = now() WHERE id = $1 AND NOT totp_enabled`,
			row.ID, h.Keyring.Seal(secret, totpSecretContext), h.Keyring.ActiveKeyID())
		if err != nil {
			return fmt.Errorf("store TOTP secret of staff %d: %w", row.ID, err)
		}
		response.Next, response.Enrolment = nextEnrolTOTP, &enrolment
	}
	response.Challenge, err = h.newChallenge(ctx, row.ID, row.Username, response.Next)
	if err != nil {
		return err
	}
	entry.Success, entry.Reason = true, reasonOK
	if err := h.writeLoginLog(ctx, r, entry); err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, response)
	return nil
}

// upgradePasswordHash stores the password's hash sealed under the active
// key, hashed again when rehash reports fewer than PasswordIterations
// iterations, and seals the account's password history stored before
// hashes were sealed. A failure only delays the upgrade to the next
// sign-in.
func (h *Handlers) upgradePasswordHash(ctx context.Context, row account, password, encoded string, rehash bool) {
	var err error
	if rehash {
		encoded, err = HashPassword(password)
	}
	if err == nil {
		_, err = h.DB.ExecContext(ctx, `UPDATE staff_user SET password_hash = $2, key_id = $4 WHERE id = $1 AND password_hash = $3`,
			row.ID, sealPasswordHash(h.Keyring, encoded), row.PasswordHash, h.Keyring.ActiveKeyID())
	}
	if err == nil {
		err = sealPasswordHistory(ctx, h.DB, h.Keyring, row.ID)
	}
	if err != nil {
		slog.Error("password hash not upgraded", "staff_id", row.ID, "error", err)
		return
	}
	slog.Info("password hash upgraded", "staff_id", row.ID, "iterations", PasswordIterations, "key_id", h.Keyring.ActiveKeyID())
}

// countFailure counts a failed password or code towards the lockout. The
// MaxFailedAttempts-th failure in a row locks the account for LockDuration,
// sets the counter back to zero and is recorded in the audit trail.
func (h *Handlers) countFailure(ctx context.Context, r *http.Request, staffID int64, username string) error {
	// The count must not be lost when the client disconnects.
	ctx = context.WithoutCancel(ctx)
	lockedUntil := h.now().Add(LockDuration)
	var attempts int
	err := h.DB.GetContext(ctx, &attempts, `
		UPDATE staff_user SET
			failed_attempts = CASE WHEN failed_attempts + 1 >= $2 THEN 0 ELSE failed_attempts + 1 END,
			locked_until = CASE WHEN failed_attempts + 1 >= $2 THEN $3 ELSE locked_until END,
			updated_at = now()
		WHERE id = $1
		RETURNING failed_attempts`, staffID, MaxFailedAttempts, lockedUntil)
	if err != nil {
		return fmt.Errorf("count failed sign-in: %w", err)
	}
	if attempts != 0 {
		return nil
	}
	slog.Warn("staff account locked after failed sign-ins", "staff_id", staffID, "locked_until", lockedUntil)
	return h.Trail.Record(ctx, r, nil, audit.Event{
		Action: "staff.lock", Resource: "staff_user", ResourceID: strconv.FormatInt(staffID, 10),
		After:  map[string]any{"username": username, "lockedUntil": lockedUntil},
		Detail: "连续 " + strconv.Itoa(MaxFailedAttempts) + " 次登录失败，账号锁定至 " + lockedUntil.In(shanghai).Format("2006-01-02 15:04:05"),
	})
}

// rejectAttempt logs a failed attempt and returns the error to respond with.
func (h *Handlers) rejectAttempt(ctx context.Context, r *http.Request, entry loginEntry, reason string, answer error) error {
	h.logFailure(ctx, r, entry, reason)
	return answer
}

// logFailure writes a failed attempt to the sign-in log. A failure to
// write is logged, and the attempt is rejected all the same.
func (h *Handlers) logFailure(ctx context.Context, r *http.Request, entry loginEntry, reason string) {
	entry.Success, entry.Reason = false, reason
	if err := h.writeLoginLog(context.WithoutCancel(ctx), r, entry); err != nil {
		slog.Error("failed sign-in not logged", "username", entry.Username, "reason", reason, "error", err)
	}
}

// limitAttemptsScript counts an attempt in a window that starts with the
// first attempt, and returns the count and the window's remaining
// milliseconds. KEYS[1] is the counter, ARGV[1] the window in milliseconds.
var limitAttemptsScript = rueidis.NewLuaScript(`
local count = redis.call('INCR', KEYS[1])
local ttl = redis.call('PTTL', KEYS[1])
if ttl < 0 then
  redis.call('PEXPIRE', KEYS[1], ARGV[1])
  ttl = tonumber(ARGV[1])
end
return {count, ttl}
`)

// limitAttempts counts a password attempt from the request's IP and, over
// the per-minute limit, returns a 429 error and sets Retry-After. Only the
// first rejected attempt of each window is written to the sign-in log, so
// a flood cannot fill the table.
func (h *Handlers) limitAttempts(ctx context.Context, w http.ResponseWriter, r *http.Request, entry loginEntry) error {
	ip := access.ClientIP(r)
	key := h.Sessions.Prefix + "staff:sign-in-attempts:" + ip
	result, err := limitAttemptsScript.Exec(ctx, h.Sessions.Redis, []string{key}, []string{strconv.FormatInt(h.loginAttemptWindow().Milliseconds(), 10)}).ToArray()
	if err != nil {
		return fmt.Errorf("count sign-in attempts: %w", err)
	}
	if len(result) != 2 {
		return fmt.Errorf("count sign-in attempts: unexpected reply of %d values", len(result))
	}
	count, err := result[0].AsInt64()
	if err != nil {
		return fmt.Errorf("count sign-in attempts: %w", err)
	}
	ttl, err := result[1].AsInt64()
	if err != nil {
		return fmt.Errorf("count sign-in attempts: %w", err)
	}
	limit := int64(h.loginAttemptsPerMinute())
	if count <= limit {
		return nil
	}
	retryAfter := max(1, (ttl+999)/1000)
	if count == limit+1 {
		slog.Warn("sign-in attempts over the per-IP limit", "ip", ip, "limit_per_minute", limit)
		h.logFailure(ctx, r, entry, reasonRateLimited)
	}
	w.Header().Set("Retry-After", strconv.FormatInt(retryAfter, 10))
	return apierror.New(http.StatusTooManyRequests, "too_many_attempts",
		"登录尝试过于频繁，请 "+strconv.FormatInt(retryAfter, 10)+" 秒后再试。")
}

// challenge is the state between the password and the code step, kept in
// Redis under a hash of its token.
type challenge struct {
	key      string
	StaffID  int64
	Username string
	Next     string
	// Attempt is the number of this code attempt, from 1 to
	// MaxCodeAttempts.
	Attempt int64
}

func (h *Handlers) challengeKey(token string) string {
	return h.Sessions.Prefix + "staff:challenge:" + hex.EncodeToString(sm3.Sm3Sum([]byte(token)))
}

// newChallenge stores a single-use challenge for ChallengeTTL and returns
// its token.
func (h *Handlers) newChallenge(ctx context.Context, staffID int64, username, next string) (string, error) {
	buffer := make([]byte, 32)
	if _, err := rand.Read(buffer); err != nil {
		return "", err
	}
	token := base64.RawURLEncoding.EncodeToString(buffer)
	key := h.challengeKey(token)
	redis := h.Sessions.Redis
	results := redis.DoMulti(ctx,
		redis.B().Hset().Key(key).FieldValue().
			FieldValue("staff_id", strconv.FormatInt(staffID, 10)).
			FieldValue("username", username).
			FieldValue("next", next).
			FieldValue("attempts", "0").Build(),
		redis.B().Pexpire().Key(key).Milliseconds(ChallengeTTL.Milliseconds()).Build())
	for _, result := range results {
		if err := result.Error(); err != nil {
			return "", fmt.Errorf("store sign-in challenge: %w", err)
		}
	}
	return token, nil
}

// errNoChallenge is returned by claimAttempt for an unknown, expired, used
// or exhausted challenge.
var errNoChallenge = errors.New("no such sign-in challenge")

// claimAttemptScript counts a code attempt before the code is checked, so
// that concurrent requests cannot have more than ARGV[1] codes checked
// against one challenge. It deletes the challenge when the count would
// pass ARGV[1] and returns nil for a missing or exhausted challenge, else
// the staff ID, username, next step and the attempt's number.
var claimAttemptScript = rueidis.NewLuaScript(`
if redis.call('EXISTS', KEYS[1]) == 0 then return false end
local attempt = redis.call('HINCRBY', KEYS[1], 'attempts', 1)
if attempt > tonumber(ARGV[1]) then
  redis.call('DEL', KEYS[1])
  return false
end
local fields = redis.call('HMGET', KEYS[1], 'staff_id', 'username', 'next')
return {fields[1], fields[2], fields[3], attempt}
`)

// claimAttempt reads the challenge of token and counts one code attempt
// against it.
func (h *Handlers) claimAttempt(ctx context.Context, token string) (challenge, error) {
	if token == "" || len(token) > 128 {
		return challenge{}, errNoChallenge
	}
	key := h.challengeKey(token)
	values, err := claimAttemptScript.Exec(context.WithoutCancel(ctx), h.Sessions.Redis, []string{key},
		[]string{strconv.Itoa(MaxCodeAttempts)}).ToArray()
	if rueidis.IsRedisNil(err) {
		return challenge{}, errNoChallenge
	}
	if err != nil {
		return challenge{}, fmt.Errorf("read sign-in challenge: %w", err)
	}
	if len(values) != 4 {
		return challenge{}, fmt.Errorf("read sign-in challenge: unexpected reply of %d values", len(values))
	}
	pending := challenge{key: key}
	staffID, _ := values[0].ToString()
	pending.Username, _ = values[1].ToString()
	pending.Next, _ = values[2].ToString()
	pending.Attempt, err = values[3].AsInt64()
	if err != nil {
		return challenge{}, fmt.Errorf("read sign-in challenge: %w", err)
	}
	if pending.StaffID, err = strconv.ParseInt(staffID, 10, 64); err != nil {
		return challenge{}, errNoChallenge
	}
	return pending, nil
}

// consumeChallenge deletes a challenge and reports whether this call was
// the one that deleted it, so two requests cannot both use it.
func (h *Handlers) consumeChallenge(ctx context.Context, c challenge) (bool, error) {
	redis := h.Sessions.Redis
	deleted, err := redis.Do(ctx, redis.B().Del().Key(c.key).Build()).AsInt64()
	if err != nil {
		return false, fmt.Errorf("use sign-in challenge: %w", err)
	}
	return deleted == 1, nil
}

type codeRequest struct {
	Challenge string `json:"challenge"`
	Code      string `json:"code"`
}

// verifyCode handles POST /auth/totp, the second step. On success it
// enables TOTP for an enrolment, clears the failure counter and starts a
// session with a new token.
func (h *Handlers) verifyCode(w http.ResponseWriter, r *http.Request) error {
	var request codeRequest
	if err := httpx.DecodeJSON(r, 4<<10, &request); err != nil {
		return err
	}
	// Authenticator apps show the code as "123 456".
	code := strings.ReplaceAll(strings.TrimSpace(request.Code), " ", "")
	if code == "" {
		return errMissingCode
	}
	ctx := r.Context()
	entry := loginEntry{Stage: stageTOTP}
	pending, err := h.claimAttempt(ctx, request.Challenge)
	if errors.Is(err, errNoChallenge) {
		return h.rejectAttempt(ctx, r, entry, reasonInvalidChallenge, ErrChallengeInvalid)
	}
	if err != nil {
		return err
	}
	entry.Username, entry.StaffID = pending.Username, pending.StaffID

	now := h.now()
	row, err := loadAccountBy(ctx, h.DB, `id = $1`, pending.StaffID)
	if errors.Is(err, errAccountNotFound) {
		_, _ = h.consumeChallenge(ctx, pending)
		entry.StaffID = 0
		return h.rejectAttempt(ctx, r, entry, reasonUnknownUser, ErrInvalidCredentials)
	}
	if err != nil {
		return err
	}
	reason := ""
	switch {
	case row.Status != StatusActive:
		reason = reasonDisabled
	case row.lockedAt(now):
		reason = reasonLocked
	case len(row.TOTPSecret) == 0 || row.TOTPEnabled != (pending.Next == nextTOTP):
		// The TOTP was reset or enabled by another sign-in since the
		// password step.
		reason = reasonInvalidChallenge
	}
	if reason != "" {
		if _, err := h.consumeChallenge(ctx, pending); err != nil {
			return err
		}
		if reason == reasonInvalidChallenge {
			return h.rejectAttempt(ctx, r, entry, reason, ErrChallengeInvalid)
		}
		return h.rejectAttempt(ctx, r, entry, reason, ErrInvalidCredentials)
	}

	secret, err := h.Keyring.Open(row.TOTPSecret, totpSecretContext)
	if err != nil {
		return fmt.Errorf("open TOTP secret of staff %d: %w", row.ID, err)
	}
	step, ok := verifyTOTP(secret, code, now, row.TOTPLastStep)
	if !ok {
		return h.wrongCode(ctx, r, entry, pending, secret, code, now)
	}
	consumed, err := h.consumeChallenge(ctx, pending)
	if err != nil {
		return err
	}
	if !consumed {
		return h.rejectAttempt(ctx, r, entry, reasonInvalidChallenge, ErrChallengeInvalid)
	}
	signedIn, err := h.completeSignIn(ctx, r, row, pending.Next == nextEnrolTOTP, step, entry)
	if err != nil {
		return err
	}
	created, err := h.Sessions.Create(ctx, w, r, signedIn)
	if err != nil {
		return err
	}
	slog.Info("staff signed in", "staff_id", created.ID, "session_id", created.SessionID)
	httpx.WriteJSON(w, http.StatusOK, access.MeBody(created, h.DistrictName))
	return nil
}

// wrongCode rejects a wrong code. The MaxCodeAttempts-th attempt ends the
// challenge and counts a failure towards the account's lockout.
func (h *Handlers) wrongCode(ctx context.Context, r *http.Request, entry loginEntry, pending challenge, secret []byte, code string, now time.Time) error {
	reason := reasonWrongCode
	if _, reused := verifyTOTP(secret, code, now, -1); reused {
		reason = reasonCodeReused
	}
	if pending.Attempt < MaxCodeAttempts {
		return h.rejectAttempt(ctx, r, entry, reason, ErrWrongCode)
	}
	if _, err := h.consumeChallenge(context.WithoutCancel(ctx), pending); err != nil {
		slog.Error("exhausted sign-in challenge not deleted", "staff_id", pending.StaffID, "error", err)
	}
	if err := h.countFailure(ctx, r, pending.StaffID, pending.Username); err != nil {
		slog.Error("failed sign-in not counted", "staff_id", pending.StaffID, "error", err)
	}
	return h.rejectAttempt(ctx, r, entry, reasonTooManyCodes, ErrTooManyCodes)
}

// completeSignIn records a successful code in one transaction: the step
// (so the code cannot be used again), TOTP enabled after an enrolment, the
// failure counter cleared, the sign-in log and, for an enrolment, the audit
// trail. It returns the staff member for the new session.
func (h *Handlers) completeSignIn(ctx context.Context, r *http.Request, row account, enrolling bool, step int64, entry loginEntry) (access.Staff, error) {
	role, err := h.Roles.Role(ctx, row.RoleCode)
	if err != nil {
		return access.Staff{}, fmt.Errorf("read role of staff %d: %w", row.ID, err)
	}
	if h.Roles.Integrity != nil {
		if _, err := h.Roles.Integrity.VerifyStaff(ctx, r, h.DB, row.ID); err != nil {
			return access.Staff{}, err
		}
	}
	staff := access.Staff{
		ID: row.ID, Username: row.Username, Name: row.DisplayName, Role: role.Code, RoleName: role.Name,
		Permissions: role.Permissions, Scope: row.scope(),
		MustChangePassword: row.MustChangePassword || row.passwordExpired(h.now()),
	}
	tx, err := h.DB.BeginTxx(ctx, nil)
	if err != nil {
		return access.Staff{}, err
	}
	defer tx.Rollback()
	result, err := tx.ExecContext(ctx, `
		UPDATE staff_user SET totp_last_step = $2, totp_enabled = true, failed_attempts = 0, locked_until = NULL,
		                      updated_at = now()
		WHERE id = $1 AND totp_last_step < $2 AND status = 'active' AND totp_enabled = $3`,
		row.ID, step, !enrolling)
	if err != nil {
		return access.Staff{}, fmt.Errorf("record TOTP step of staff %d: %w", row.ID, err)
	}

	updated, err := result.RowsAffected()
	if err != nil {
		return access.Staff{}, fmt.Errorf("record TOTP step of staff %d: %w", row.ID, err)
	}
	if updated != 1 {
		// Another request used a code of this step or a later one, or the
		// account changed, since the account was read. The challenge is
		// used up, so the sign-in starts again.
		tx.Rollback()
		return access.Staff{}, h.rejectAttempt(ctx, r, entry, reasonCodeReused, ErrChallengeInvalid)
	}

	entry.Success, entry.Reason = true, reasonOK
	if err := h.insertLoginLog(ctx, tx, r, entry); err != nil {
		return access.Staff{}, err
	}
	if enrolling {
		err := h.Trail.RecordTx(ctx, tx, r, &staff, audit.Event{
			Action: "staff.totp_enable", Resource: "staff_user", ResourceID: strconv.FormatInt(row.ID, 10),
			DistrictCode: row.DistrictCode.String, After: map[string]any{"username": row.Username, "totpEnabled": true},
			Detail: "首次登录时绑定动态验证码",
		})
		if err != nil {
			return access.Staff{}, err
		}
	}
	if err := tx.Commit(); err != nil {
		return access.Staff{}, err
	}
	return staff, nil
}

func truncateUTF8(s string, maxBytes int) string {
	if len(s) <= maxBytes {
		return s
	}
	s = s[:maxBytes]
	for len(s) > 0 && !utf8.ValidString(s) {
		s = s[:len(s)-1]
	}
	return s
}
