package staff

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"

	"github.com/sh-preschool/preschool/backoffice/access"
	"github.com/sh-preschool/preschool/backoffice/audit"
	"github.com/sh-preschool/preschool/backoffice/httpx"
	"github.com/sh-preschool/preschool/shared/apierror"
)

// Errors of the password change.
var (
	errMissingCurrentPassword   = apierror.Invalid("currentPassword", "missing_current_password", "请输入当前密码。")
	errMissingNewPassword       = apierror.Invalid("newPassword", "missing_new_password", "请输入新密码。")
	errWrongCurrentPassword     = apierror.Invalid("currentPassword", "wrong_current_password", "当前密码不正确。")
	errPasswordChangedMeanwhile = apierror.New(http.StatusConflict, "password_changed_meanwhile",
		"密码刚刚已被修改，请重新登录后再试。")
)

type changePasswordRequest struct {
	CurrentPassword string `json:"currentPassword"`
	NewPassword     string `json:"newPassword"`
}

// changePassword handles POST /auth/password for the signed-in staff
// member: it checks the current password (a wrong one counts towards the
// lockout), the rules and the history, stores the new hash, keeps the last
// PasswordHistorySize hashes, records the change in the audit trail and
// lifts the session's must-change-password limit. It responds with the
// /me body.
func (h *Handlers) changePassword(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	staff := access.StaffFrom(ctx)
	if staff == nil {
		return access.ErrNotSignedIn
	}
	var request changePasswordRequest
	if err := httpx.DecodeJSON(r, 4<<10, &request); err != nil {
		return err
	}
	if request.CurrentPassword == "" {
		return errMissingCurrentPassword
	}
	if request.NewPassword == "" {
		return errMissingNewPassword
	}

	// The PBKDF2 runs below take a while, so they happen before any row is
	// locked. The update then checks that the hash is still the one
	// verified.
	row, err := loadAccountBy(ctx, h.DB, `id = $1`, staff.ID)
	if errors.Is(err, errAccountNotFound) {
		return access.ErrNotSignedIn
	}
	if err != nil {
		return err
	}
	currentHash, _, err := openPasswordHash(h.Keyring, row.PasswordHash)
	if err != nil {
		return fmt.Errorf("open password hash of staff %d: %w", row.ID, err)
	}
	match, _, err := VerifyPassword(currentHash, request.CurrentPassword)
	if err != nil {
		return fmt.Errorf("verify password of staff %d: %w", row.ID, err)
	}
	if !match {
		if err := h.countFailure(ctx, r, row.ID, row.Username); err != nil {
			slog.Error("wrong current password not counted", "staff_id", row.ID, "error", err)
		}
		return errWrongCurrentPassword
	}
	if err := CheckPasswordRules(request.NewPassword, row.Username); err != nil {
		return err
	}
	history, err := passwordHistory(ctx, h.DB, h.Keyring, row.ID)
	if err != nil {
		return err
	}
	reused, err := passwordInHistory(request.NewPassword, append([]string{currentHash}, history...))
	if err != nil {
		return err
	}
	if reused {
		return ErrPasswordReused
	}
	newHash, err := HashPassword(request.NewPassword)
	if err != nil {
		return err
	}

	tx, err := h.DB.BeginTxx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	result, err := tx.ExecContext(ctx, `
		UPDATE staff_user SET password_hash = $2, password_changed_at = $4, must_change_password = false, key_id = $5,
		                      updated_at = now()
		WHERE id = $1 AND password_hash = $3`, row.ID, sealPasswordHash(h.Keyring, newHash), row.PasswordHash, h.now(), h.Keyring.ActiveKeyID())
	if err != nil {
		return fmt.Errorf("store new password of staff %d: %w", row.ID, err)
	}
	if updated, err := result.RowsAffected(); err != nil || updated != 1 {
		return errPasswordChangedMeanwhile
	}
	if err := addPasswordHistory(ctx, tx, h.Keyring, row.ID, newHash); err != nil {
		return err
	}
	err = h.Trail.RecordTx(ctx, tx, r, staff, audit.Event{
		Action: "staff.password_change", Resource: "staff_user", ResourceID: strconv.FormatInt(row.ID, 10),
		DistrictCode: row.DistrictCode.String,
		Before:       map[string]any{"username": row.Username, "mustChangePassword": row.MustChangePassword},
		After:        map[string]any{"username": row.Username, "mustChangePassword": false},
		Detail:       "本人修改密码",
	})
	if err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return err
	}
	if err := h.Sessions.ClearPasswordChange(ctx, r); err != nil {
		return fmt.Errorf("lift the password change limit of staff %d: %w", row.ID, err)
	}
	changed := *staff
	changed.MustChangePassword = false
	httpx.WriteJSON(w, http.StatusOK, access.MeBody(&changed, h.DistrictName))
	return nil
}
