// Package certauth signs staff in with client certificates (the USB keys of
// privileged staff) verified by the security authentication gateway, as a
// sign-in method beside password and TOTP. The gateway passes the
// certificate's identity in headers it signs with SM2 (shared/gatewayauth).
// The back office accepts the identity only with a valid signature, a
// recent timestamp and an unused nonce. It signs in only an active account
// that a security admin bound the certificate to. Bindings carry an SM2
// signature like the other access-control rows.
package certauth

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/jmoiron/sqlx"
	"github.com/redis/rueidis"

	"github.com/sh-preschool/preschool/backoffice/access"
	"github.com/sh-preschool/preschool/backoffice/audit"
	"github.com/sh-preschool/preschool/backoffice/httpx"
	"github.com/sh-preschool/preschool/shared/apierror"
	"github.com/sh-preschool/preschool/shared/crypto"
	"github.com/sh-preschool/preschool/shared/gatewayauth"
)

// Errors of certificate sign-in and bindings.
var (
	errNotConfigured = apierror.New(http.StatusNotFound, "certificate_sign_in_off", "未启用证书登录。")
	errIdentity      = apierror.New(http.StatusUnauthorized, "certificate_invalid", "证书身份校验失败，请通过安全认证网关并使用有效的证书重新登录。")
	errNotBound      = apierror.New(http.StatusUnauthorized, "certificate_not_bound", "该证书尚未绑定账号，请联系安全管理员。")
	errAccountClosed = apierror.New(http.StatusForbidden, "account_unavailable", "账号已停用或已锁定，请联系安全管理员。")
	errStaffNotFound = apierror.New(http.StatusNotFound, "staff_not_found", "未找到该账号。")
	errAlreadyBound  = apierror.New(http.StatusConflict, "certificate_already_bound", "该证书已绑定其他账号，请先解除原绑定。")
	errBindingAbsent = apierror.New(http.StatusNotFound, "certificate_binding_not_found", "未找到该证书绑定。")
	errFingerprint   = apierror.Invalid("fingerprint", "invalid_fingerprint", "证书指纹格式不正确，应为 sm3: 加 64 位小写十六进制数字。")
	errSubject       = apierror.Invalid("subject", "invalid_subject", "证书主题不能为空，且不超过 512 个字符。")
)

// Login log stage and reasons of certificate sign-in.
const (
	StageCertificate    = "certificate"
	ReasonNotBound      = "certificate_not_bound"
	ReasonBadSignature  = "certificate_binding_tampered"
	ReasonAccountClosed = "account_unavailable"
	reasonOK            = "ok"
)

var fingerprintPattern = regexp.MustCompile(`^sm3:[0-9a-f]{64}$`)

// Handlers serve certificate sign-in and the binding API.
type Handlers struct {
	DB        *sqlx.DB
	Sessions  *access.SessionStore
	Roles     *access.Roles
	Integrity *access.Integrity
	Trail     *audit.Trail
	// Verifier checks the gateway's headers; nil turns certificate sign-in
	// off (404 certificate_sign_in_off).
	Verifier *gatewayauth.Verifier
	Now      func() time.Time
	// DistrictName is passed to access.MeBody; it may be nil.
	DistrictName func(code string) (string, bool)
}

func (h *Handlers) now() time.Time {
	if h.Now != nil {
		return h.Now()
	}
	return time.Now()
}

// PublicRoutes mounts the sign-in, which needs no session.
func (h *Handlers) PublicRoutes(r chi.Router) {
	r.Post("/auth/certificate", httpx.Handle(h.signIn))
}

// Routes mounts the binding API behind staff.read and staff.write.
func (h *Handlers) Routes(r chi.Router) {
	r.With(access.Require("staff.read")).Get("/staff/{id}/certificates", httpx.Handle(h.listBindings))
	r.With(access.Require("staff.write")).Post("/staff/{id}/certificates", httpx.Handle(h.bind))
	r.With(access.Require("staff.write")).Delete("/staff/{id}/certificates/{fingerprint}", httpx.Handle(h.unbind))
}

// account is the part of a staff row that sign-in reads, with the binding's
// signature.
type account struct {
	ID           int64          `db:"id"`
	Username     string         `db:"username"`
	DisplayName  string         `db:"display_name"`
	RoleCode     string         `db:"role_code"`
	ScopeLevel   string         `db:"scope_level"`
	DistrictCode sql.NullString `db:"district_code"`
	StreetCode   sql.NullString `db:"street_code"`
	Kindergarten sql.NullInt64  `db:"kindergarten_id"`
	Status       string         `db:"status"`
	LockedUntil  sql.NullTime   `db:"locked_until"`
	KeyID        string         `db:"binding_key_id"`
	Signature    []byte         `db:"binding_signature"`
}

// signIn handles POST /auth/certificate. The certificate stands for both
// factors: the USB key holds the private key behind a PIN, so no password
// or TOTP code is asked.
func (h *Handlers) signIn(w http.ResponseWriter, r *http.Request) error {
	if h.Verifier == nil {
		return errNotConfigured
	}
	ctx := r.Context()
	identity, nonce, err := h.Verifier.Verify(r, h.now())
	if err != nil {
		slog.Warn("certificate sign-in with an invalid gateway identity", "error", err, "ip", access.ClientIP(r))
		return errIdentity
	}
	fresh, err := h.claimNonce(ctx, nonce)
	if err != nil {
		return err
	}
	if !fresh {
		slog.Warn("certificate sign-in replayed a gateway nonce", "fingerprint", identity.Fingerprint, "ip", access.ClientIP(r))
		return errIdentity
	}

	var row account
	err = h.DB.GetContext(ctx, &row, `
		SELECT s.id, s.username, s.display_name, s.role_code, s.scope_level, s.district_code, s.street_code,
		       s.kindergarten_id, s.status, s.locked_until, c.key_id AS binding_key_id, c.signature AS binding_signature
		FROM staff_certificate c JOIN staff_user s ON s.id = c.staff_id
		WHERE c.fingerprint = $1`, identity.Fingerprint)
	if errors.Is(err, sql.ErrNoRows) {
		h.logAttempt(ctx, r, "", 0, false, ReasonNotBound)
		return errNotBound
	}
	if err != nil {
		return fmt.Errorf("read binding of %s: %w", identity.Fingerprint, err)
	}
	signature := crypto.Signature{KeyID: row.KeyID, UserID: h.userID(), Value: row.Signature}
	if err := h.Integrity.Provider.Verify(ctx, access.CertificateBindingMessage(identity.Fingerprint, row.ID), signature); err != nil {
		slog.Error("ALERT: certificate binding failed its signature check, sign-in rejected",
			"fingerprint", identity.Fingerprint, "staff_id", row.ID, "error", err)
		if h.Integrity.Alert != nil {
			h.Integrity.Alert(ctx, r, "staff_certificate", identity.Fingerprint, err)
		}
		h.logAttempt(ctx, r, row.Username, row.ID, false, ReasonBadSignature)
		return access.RejectionError(err)
	}
	if row.Status != "active" || row.LockedUntil.Valid && row.LockedUntil.Time.After(h.now()) {
		h.logAttempt(ctx, r, row.Username, row.ID, false, ReasonAccountClosed)
		return errAccountClosed
	}
	role, err := h.Roles.Role(ctx, row.RoleCode)
	if err != nil {
		return err
	}
	if _, err := h.Integrity.VerifyStaff(ctx, r, h.DB, row.ID); err != nil {
		return err
	}
	staff := access.Staff{
		ID: row.ID, Username: row.Username, Name: row.DisplayName, Role: role.Code, RoleName: role.Name,
		Permissions: role.Permissions,
		Scope: access.Scope{Level: row.ScopeLevel, DistrictCode: row.DistrictCode.String, StreetCode: row.StreetCode.String,
			KindergartenID: row.Kindergarten.Int64},
	}
	created, err := h.Sessions.Create(ctx, w, r, staff)
	if err != nil {
		return err
	}
	h.logAttempt(ctx, r, row.Username, row.ID, true, reasonOK)
	slog.Info("staff signed in with a certificate", "staff_id", row.ID, "session_id", created.SessionID)
	httpx.WriteJSON(w, http.StatusOK, access.MeBody(created, h.DistrictName))
	return nil
}

func (h *Handlers) userID() string {
	if h.Integrity.UserID != "" {
		return h.Integrity.UserID
	}
	return crypto.DefaultUserID
}

// claimNonce records a gateway nonce in Redis for twice the allowed skew
// and reports whether it was new.
func (h *Handlers) claimNonce(ctx context.Context, nonce string) (bool, error) {
	redis := h.Sessions.Redis
	ttl := 2 * h.Verifier.MaxSkew
	// SET NX returns nil, not OK, when the nonce was there already.
	_, err := redis.Do(ctx, redis.B().Set().Key(h.Sessions.Prefix+"gateway:nonce:"+nonce).Value("1").Nx().
		Ex(ttl).Build()).ToString()
	if rueidis.IsRedisNil(err) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("record gateway nonce: %w", err)
	}
	return true, nil
}

// logAttempt writes the sign-in log. A failure to write is logged and not
// returned, so the sign-in still gets its response.
func (h *Handlers) logAttempt(ctx context.Context, r *http.Request, username string, staffID int64, success bool, reason string) {
	id := sql.NullInt64{Int64: staffID, Valid: staffID != 0}
	userAgent := strings.ToValidUTF8(r.UserAgent(), "?")
	if len(userAgent) > 200 {
		userAgent = userAgent[:200]
	}
	_, err := h.DB.ExecContext(context.WithoutCancel(ctx), `
		INSERT INTO login_log (at, username, staff_id, success, stage, reason, ip, user_agent)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
		h.now(), username, id, success, StageCertificate, reason, access.ClientIP(r), strings.ToValidUTF8(userAgent, "?"))
	if err != nil {
		slog.Error("write sign-in log failed", "stage", StageCertificate, "staff_id", staffID, "error", err)
	}
}

// BindingItem is a binding as the API returns it.
type BindingItem struct {
	Fingerprint string    `json:"fingerprint" db:"fingerprint"`
	Subject     string    `json:"subject" db:"subject"`
	CreatedAt   time.Time `json:"createdAt" db:"created_at"`
}

func staffIDParam(r *http.Request) (int64, error) {
	id, err := strconv.ParseInt(chi.URLParam(r, "id"), 10, 64)
	if err != nil || id <= 0 {
		return 0, apierror.Invalid("id", "invalid_staff_id", "账号 ID 应为正整数。")
	}
	return id, nil
}

// listBindings handles GET /staff/{id}/certificates.
func (h *Handlers) listBindings(w http.ResponseWriter, r *http.Request) error {
	id, err := staffIDParam(r)
	if err != nil {
		return err
	}
	items := []BindingItem{}
	err = h.DB.SelectContext(r.Context(), &items, `
		SELECT fingerprint, subject, created_at FROM staff_certificate WHERE staff_id = $1 ORDER BY created_at`, id)
	if err != nil {
		return fmt.Errorf("list certificates of staff %d: %w", id, err)
	}
	httpx.WriteJSON(w, http.StatusOK, map[string]any{"items": items})
	return nil
}

type bindRequest struct {
	Fingerprint string `json:"fingerprint"`
	Subject     string `json:"subject"`
}

// bind handles POST /staff/{id}/certificates: binds a certificate, given by
// its fingerprint and subject as the gateway's enrolment page shows them,
// to an account, signs the binding and records it in the audit trail.
func (h *Handlers) bind(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	id, err := staffIDParam(r)
	if err != nil {
		return err
	}
	var request bindRequest
	if err := httpx.DecodeJSON(r, 4<<10, &request); err != nil {
		return err
	}
	item, err := Bind(ctx, h.DB, h.Integrity, h.Trail, r, access.StaffFrom(ctx), id, request.Fingerprint, request.Subject)
	if err != nil {
		return err
	}
	item.CreatedAt = h.now()
	httpx.WriteJSON(w, http.StatusCreated, item)
	return nil
}

// unbind handles DELETE /staff/{id}/certificates/{fingerprint}. The
// account's sessions end, as a lost USB key's sessions should.
func (h *Handlers) unbind(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	id, err := staffIDParam(r)
	if err != nil {
		return err
	}
	fingerprint := chi.URLParam(r, "fingerprint")
	if !fingerprintPattern.MatchString(fingerprint) {
		return errFingerprint
	}
	tx, err := h.DB.BeginTxx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	var subject string
	err = tx.GetContext(ctx, &subject, `DELETE FROM staff_certificate WHERE fingerprint = $1 AND staff_id = $2 RETURNING subject`, fingerprint, id)
	if errors.Is(err, sql.ErrNoRows) {
		return errBindingAbsent
	}
	if err != nil {
		return fmt.Errorf("delete certificate binding: %w", err)
	}
	err = h.Trail.RecordTx(ctx, tx, r, access.StaffFrom(ctx), audit.Event{
		Action: "staff.certificate_unbind", Resource: "staff_user", ResourceID: strconv.FormatInt(id, 10),
		Before: map[string]any{"fingerprint": fingerprint, "subject": subject},
		Detail: "解除证书绑定 " + subject + "，并结束该账号的登录会话",
	})
	if err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return err
	}
	if err := h.Sessions.RevokeStaff(ctx, id); err != nil {
		slog.Error("end sessions after unbinding a certificate failed", "staff_id", id, "error", err)
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// Bind binds a certificate to a staff account, signs the binding and
// records it in the audit trail as done by actor (nil for the system) in
// one transaction. r may be nil outside a request.
func Bind(ctx context.Context, db *sqlx.DB, integrity *access.Integrity, trail *audit.Trail, r *http.Request,
	actor *access.Staff, id int64, fingerprint, subject string) (BindingItem, error) {
	fingerprint = strings.ToLower(strings.TrimSpace(fingerprint))
	if !fingerprintPattern.MatchString(fingerprint) {
		return BindingItem{}, errFingerprint
	}
	subject = strings.TrimSpace(subject)
	if subject == "" || len([]rune(subject)) > 512 {
		return BindingItem{}, errSubject
	}
	signature, err := integrity.Provider.Sign(ctx, access.CertificateBindingMessage(fingerprint, id))
	if err != nil {
		return BindingItem{}, fmt.Errorf("sign certificate binding: %w", err)
	}

	tx, err := db.BeginTxx(ctx, nil)
	if err != nil {
		return BindingItem{}, err
	}
	defer tx.Rollback()
	var username string
	err = tx.GetContext(ctx, &username, `SELECT username FROM staff_user WHERE id = $1 FOR UPDATE`, id)
	if errors.Is(err, sql.ErrNoRows) {
		return BindingItem{}, errStaffNotFound
	}
	if err != nil {
		return BindingItem{}, fmt.Errorf("lock staff %d: %w", id, err)
	}
	var createdBy sql.NullInt64
	if actor != nil && actor.ID != 0 {
		createdBy = sql.NullInt64{Int64: actor.ID, Valid: true}
	}
	result, err := tx.ExecContext(ctx, `
		INSERT INTO staff_certificate (fingerprint, staff_id, subject, created_by, key_id, signature)
		VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (fingerprint) DO NOTHING`,
		fingerprint, id, subject, createdBy, signature.KeyID, signature.Value)
	if err != nil {
		return BindingItem{}, fmt.Errorf("store certificate binding: %w", err)
	}
	if n, _ := result.RowsAffected(); n != 1 {
		return BindingItem{}, errAlreadyBound
	}
	err = trail.RecordTx(ctx, tx, r, actor, audit.Event{
		Action: "staff.certificate_bind", Resource: "staff_user", ResourceID: strconv.FormatInt(id, 10),
		After:  map[string]any{"username": username, "fingerprint": fingerprint, "subject": subject},
		Detail: "为账号 " + username + " 绑定证书 " + subject,
	})
	if err != nil {
		return BindingItem{}, err
	}
	if err := tx.Commit(); err != nil {
		return BindingItem{}, err
	}
	return BindingItem{Fingerprint: fingerprint, Subject: subject}, nil
}
