package staff

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/jmoiron/sqlx"

	"github.com/sh-preschool/preschool/backoffice/access"
	"github.com/sh-preschool/preschool/backoffice/audit"
	"github.com/sh-preschool/preschool/backoffice/httpx"
	"github.com/sh-preschool/preschool/shared/apierror"
)

// Errors of the account management API.
var (
	errCannotChangeOwnRole     = apierror.New(http.StatusForbidden, "cannot_change_own_role", "不能修改本人账号的角色。")
	errCannotDisableSelf       = apierror.New(http.StatusForbidden, "cannot_disable_self", "不能停用本人账号。")
	errCannotResetOwnPassword  = apierror.New(http.StatusForbidden, "cannot_reset_own_password", "不能重置本人密码，请使用“修改密码”功能。")
	errCannotResetOwnTOTP      = apierror.New(http.StatusForbidden, "cannot_reset_own_totp", "不能重置本人的动态验证码，请联系其他安全管理员。")
	errScopeRequiredForNewRole = apierror.Invalid("scope", "scope_required", "新角色不适用原数据范围，请同时选择新的数据范围。")
)

// staffItem is an account as the admin app shows it, with the phone and ID
// number masked.
type staffItem struct {
	ID                 int64      `json:"id"`
	Username           string     `json:"username"`
	DisplayName        string     `json:"displayName"`
	Role               string     `json:"role"`
	RoleName           string     `json:"roleName"`
	ScopeLevel         string     `json:"scopeLevel"`
	DistrictCode       string     `json:"districtCode,omitempty"`
	DistrictName       string     `json:"districtName,omitempty"`
	StreetCode         string     `json:"streetCode,omitempty"`
	StreetName         string     `json:"streetName,omitempty"`
	KindergartenID     int64      `json:"kindergartenId,omitempty"`
	KindergartenName   string     `json:"kindergartenName,omitempty"`
	Phone              string     `json:"phone,omitempty"`
	IDNumber           string     `json:"idNumber,omitempty"`
	Status             string     `json:"status"`
	TOTPEnabled        bool       `json:"totpEnabled"`
	Locked             bool       `json:"locked"`
	LockedUntil        *time.Time `json:"lockedUntil,omitempty"`
	FailedAttempts     int        `json:"failedAttempts"`
	MustChangePassword bool       `json:"mustChangePassword"`
	PasswordChangedAt  time.Time  `json:"passwordChangedAt"`
	PasswordExpired    bool       `json:"passwordExpired"`
	CreatedAt          time.Time  `json:"createdAt"`
	UpdatedAt          time.Time  `json:"updatedAt"`
}

// listedAccount is an account with the names of its role and scope.
type listedAccount struct {
	account
	RoleName         string         `db:"role_name"`
	DistrictName     sql.NullString `db:"district_name"`
	StreetName       sql.NullString `db:"street_name"`
	KindergartenName sql.NullString `db:"kindergarten_name"`
}

// listedSelect reads listedAccount rows; callers append WHERE and ORDER BY.
var listedSelect = func() string {
	columns := strings.Split(accountColumns, ",")
	for i, column := range columns {
		columns[i] = "s." + strings.TrimSpace(column)
	}
	return `SELECT ` + strings.Join(columns, ", ") + `, r.name AS role_name, d.name AS district_name,
		       st.name AS street_name, k.name AS kindergarten_name
		FROM staff_user s
		JOIN role r ON r.code = s.role_code
		LEFT JOIN district d ON d.code = s.district_code
		LEFT JOIN street st ON st.code = s.street_code
		LEFT JOIN kindergarten k ON k.id = s.kindergarten_id`
}()

func (h *Handlers) staffItem(row listedAccount) staffItem {
	now := h.now()
	item := staffItem{
		ID: row.ID, Username: row.Username, DisplayName: row.DisplayName, Role: row.RoleCode, RoleName: row.RoleName,
		ScopeLevel: row.ScopeLevel, DistrictCode: row.DistrictCode.String, DistrictName: row.DistrictName.String,
		StreetCode: row.StreetCode.String, StreetName: row.StreetName.String, KindergartenID: row.KindergartenID.Int64,
		KindergartenName: row.KindergartenName.String, Status: row.Status, TOTPEnabled: row.TOTPEnabled,
		Locked: row.lockedAt(now), FailedAttempts: row.FailedAttempts, MustChangePassword: row.MustChangePassword,
		PasswordChangedAt: row.PasswordChangedAt, PasswordExpired: row.passwordExpired(now),
		CreatedAt: row.CreatedAt, UpdatedAt: row.UpdatedAt,
	}
	if item.Locked {
		item.LockedUntil = &row.LockedUntil.Time
	}
	// A value that does not open is shown as fully masked and logged, so
	// one damaged row does not break the list.
	if phone, err := openPersonal(h.Keyring, row.Phone, phoneContext); err != nil {
		slog.Error("staff phone does not open", "staff_id", row.ID, "error", err)
		item.Phone = "***"
	} else if phone != "" {
		item.Phone = maskPhone(phone)
	}
	if number, err := openPersonal(h.Keyring, row.IDNumber, idNumberContext); err != nil {
		slog.Error("staff ID number does not open", "staff_id", row.ID, "error", err)
		item.IDNumber = "***"
	} else if number != "" {
		item.IDNumber = maskIDNumber(number)
	}
	return item
}

// likePattern returns a LIKE pattern matching value anywhere, with the
// wildcards of value escaped.
func likePattern(value string) string {
	replacer := strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)
	return "%" + replacer.Replace(value) + "%"
}

// listStaff handles GET /staff with the filters username and name (both
// contain), role, status, scopeLevel and district, in pages.
func (h *Handlers) listStaff(w http.ResponseWriter, r *http.Request) error {
	page, err := httpx.ParsePage(r)
	if err != nil {
		return err
	}
	query := r.URL.Query()
	conditions := []string{"TRUE"}
	var args []any
	add := func(condition string, value any) {
		args = append(args, value)
		conditions = append(conditions, strings.ReplaceAll(condition, "?", "$"+strconv.Itoa(len(args))))
	}
	if value := strings.TrimSpace(query.Get("username")); value != "" {
		add("s.username ILIKE ?", likePattern(strings.ToLower(value)))
	}
	if value := strings.TrimSpace(query.Get("name")); value != "" {
		add("s.display_name ILIKE ?", likePattern(value))
	}
	if value := query.Get("role"); value != "" {
		add("s.role_code = ?", value)
	}
	if value := query.Get("status"); value != "" {
		if value != StatusActive && value != StatusDisabled {
			return errInvalidStatus
		}
		add("s.status = ?", value)
	}
	if value := query.Get("scopeLevel"); value != "" {
		add("s.scope_level = ?", value)
	}
	if value := query.Get("district"); value != "" {
		add("s.district_code = ?", value)
	}

	where := strings.Join(conditions, " AND ")
	ctx := r.Context()
	var total int
	if err := h.DB.GetContext(ctx, &total, `SELECT count(*) FROM staff_user s WHERE `+where, args...); err != nil {
		return fmt.Errorf("count staff: %w", err)
	}

	var rows []listedAccount
	err = h.DB.SelectContext(ctx, &rows, listedSelect+` WHERE `+where+` ORDER BY s.id LIMIT $`+strconv.Itoa(len(args)+1)+
		` OFFSET $`+strconv.Itoa(len(args)+2), append(args, page.Size, page.Offset())...)
	if err != nil {
		return fmt.Errorf("list staff: %w", err)
	}

	items := make([]staffItem, len(rows))
	for i, row := range rows {
		items[i] = h.staffItem(row)
	}
	httpx.WriteJSON(w, http.StatusOK, map[string]any{"total": total, "page": page.Number, "size": page.Size, "items": items})
	return nil
}

func (h *Handlers) loadItem(ctx context.Context, q sqlx.QueryerContext, id int64) (staffItem, error) {
	var row listedAccount
	err := sqlx.GetContext(ctx, q, &row, listedSelect+` WHERE s.id = $1`, id)
	if errors.Is(err, sql.ErrNoRows) {
		return staffItem{}, ErrStaffNotFound
	}
	if err != nil {
		return staffItem{}, fmt.Errorf("read staff %d: %w", id, err)
	}
	return h.staffItem(row), nil
}

// getStaff handles GET /staff/{id}.
func (h *Handlers) getStaff(w http.ResponseWriter, r *http.Request) error {
	id, err := parseStaffID(chi.URLParam(r, "id"))
	if err != nil {
		return err
	}
	item, err := h.loadItem(r.Context(), h.DB, id)
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, map[string]any{"staff": item})
	return nil
}

// auditState is an account in the audit trail: no password or TOTP secret,
// and the phone and ID number, which audit.Mask masks.
type auditState struct {
	Username           string `json:"username"`
	DisplayName        string `json:"displayName"`
	Role               string `json:"role"`
	ScopeLevel         string `json:"scopeLevel"`
	DistrictCode       string `json:"districtCode,omitempty"`
	StreetCode         string `json:"streetCode,omitempty"`
	KindergartenID     int64  `json:"kindergartenId,omitempty"`
	Phone              string `json:"phone,omitempty"`
	IDNumber           string `json:"idNumber,omitempty"`
	Status             string `json:"status"`
	TOTPEnabled        bool   `json:"totpEnabled"`
	MustChangePassword bool   `json:"mustChangePassword"`
	Locked             bool   `json:"locked"`
}

func (h *Handlers) auditStateOf(row account) (auditState, error) {
	phone, err := openPersonal(h.Keyring, row.Phone, phoneContext)
	if err != nil {
		return auditState{}, fmt.Errorf("open phone of staff %d: %w", row.ID, err)
	}
	idNumber, err := openPersonal(h.Keyring, row.IDNumber, idNumberContext)
	if err != nil {
		return auditState{}, fmt.Errorf("open ID number of staff %d: %w", row.ID, err)
	}
	return auditState{
		Username: row.Username, DisplayName: row.DisplayName, Role: row.RoleCode, ScopeLevel: row.ScopeLevel,
		DistrictCode: row.DistrictCode.String, StreetCode: row.StreetCode.String, KindergartenID: row.KindergartenID.Int64,
		Phone: phone, IDNumber: idNumber, Status: row.Status, TOTPEnabled: row.TOTPEnabled,
		MustChangePassword: row.MustChangePassword, Locked: row.lockedAt(h.now()),
	}, nil
}

// accountInput is an account to create, as the API and the command take it.
type accountInput struct {
	Username    string       `json:"username"`
	DisplayName string       `json:"displayName"`
	Role        string       `json:"role"`
	Scope       scopeRequest `json:"scope"`
	Phone       string       `json:"phone"`
	IDNumber    string       `json:"idNumber"`
}

// prepareAccount validates input and returns the account to insert, without
// its password hash.
func prepareAccount(ctx context.Context, q sqlx.QueryerContext, roles *access.Roles, input accountInput, now time.Time) (newAccount, error) {
	username := strings.TrimSpace(input.Username)
	if err := validateUsername(username); err != nil {
		return newAccount{}, err
	}
	displayName, err := normaliseDisplayName(input.DisplayName)
	if err != nil {
		return newAccount{}, err
	}
	role, err := roles.Role(ctx, input.Role)
	if errors.Is(err, access.ErrUnknownRole) {
		return newAccount{}, errUnknownRole
	}
	if err != nil {
		return newAccount{}, err
	}
	scope, err := resolveScope(ctx, q, role, input.Scope)
	if err != nil {
		return newAccount{}, err
	}

	phone, err := normalisePhone(input.Phone)
	if err != nil {
		return newAccount{}, err
	}
	idNumber, err := normaliseIDNumber(input.IDNumber, now)
	if err != nil {
		return newAccount{}, err
	}
	return newAccount{
		Username: username, DisplayName: displayName, Role: role.Code, Scope: scope, Phone: phone, IDNumber: idNumber,
	}, nil
}

// createStaff handles POST /staff. The account gets a temporary password,
// returned in this response only, that must be changed at the first sign-in.
func (h *Handlers) createStaff(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	var input accountInput
	if err := httpx.DecodeJSON(r, 8<<10, &input); err != nil {
		return err
	}
	prepared, err := prepareAccount(ctx, h.DB, h.Roles, input, h.now())
	if err != nil {
		return err
	}
	password := GenerateTemporaryPassword(prepared.Username)
	if prepared.PasswordHash, err = HashPassword(password); err != nil {
		return err
	}
	prepared.MustChangePassword = true

	tx, err := h.DB.BeginTxx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	id, err := insertAccount(ctx, tx, h.Keyring, h.Roles.Integrity, prepared)
	if err != nil {
		return err
	}
	row, err := lockAccount(ctx, tx, id)
	if err != nil {
		return err
	}
	after, err := h.auditStateOf(row)
	if err != nil {
		return err
	}
	err = h.Trail.RecordTx(ctx, tx, r, access.StaffFrom(ctx), audit.Event{
		Action: "staff.create", Resource: "staff_user", ResourceID: strconv.FormatInt(id, 10),
		DistrictCode: prepared.Scope.DistrictCode, After: after, Detail: "创建账号并生成临时密码",
	})
	if err != nil {
		return err
	}
	item, err := h.loadItem(ctx, tx, id)
	if err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusCreated, map[string]any{"staff": item, "temporaryPassword": password})
	return nil
}

// updateRequest changes an account; a missing field stays as it is, and an
// empty phone or ID number removes it.
type updateRequest struct {
	DisplayName *string       `json:"displayName"`
	Role        *string       `json:"role"`
	Scope       *scopeRequest `json:"scope"`
	Status      *string       `json:"status"`
	Phone       *string       `json:"phone"`
	IDNumber    *string       `json:"idNumber"`
}

// updateStaff handles PATCH /staff/{id}. A change of role, scope or status
// ends the account's sessions. A staff member cannot change their own role
// or disable their own account.
func (h *Handlers) updateStaff(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	actor := access.StaffFrom(ctx)
	id, err := parseStaffID(chi.URLParam(r, "id"))
	if err != nil {
		return err
	}
	var request updateRequest
	if err := httpx.DecodeJSON(r, 8<<10, &request); err != nil {
		return err
	}

	tx, err := h.DB.BeginTxx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	row, err := lockAccount(ctx, tx, id)
	if err != nil {
		return err
	}
	self := actor != nil && actor.ID == row.ID
	updated := row

	if request.DisplayName != nil {
		if updated.DisplayName, err = normaliseDisplayName(*request.DisplayName); err != nil {
			return err
		}
	}
	if request.Role != nil && *request.Role != row.RoleCode && self {
		return errCannotChangeOwnRole
	}
	if request.Role != nil || request.Scope != nil {
		roleCode := row.RoleCode
		if request.Role != nil {
			roleCode = *request.Role
		}
		role, err := h.Roles.Role(ctx, roleCode)
		if errors.Is(err, access.ErrUnknownRole) {
			return errUnknownRole
		}
		if err != nil {
			return err
		}
		scope := row.scope()
		if request.Scope != nil {
			if scope, err = resolveScope(ctx, tx, role, *request.Scope); err != nil {
				return err
			}
		} else if !slices.Contains(role.ScopeLevels, scope.Level) {
			return errScopeRequiredForNewRole
		}
		updated.RoleCode = role.Code
		updated.ScopeLevel = scope.Level
		updated.DistrictCode = nullString(scope.DistrictCode)
		updated.StreetCode = nullString(scope.StreetCode)
		updated.KindergartenID = nullInt(scope.KindergartenID)
	}
	if request.Status != nil {
		if *request.Status != StatusActive && *request.Status != StatusDisabled {
			return errInvalidStatus
		}
		if self && *request.Status == StatusDisabled {
			return errCannotDisableSelf
		}
		updated.Status = *request.Status
	}
	var idIndex []byte
	phoneChanged, idNumberChanged := false, false
	if request.Phone != nil {
		phone, err := normalisePhone(*request.Phone)
		if err != nil {
			return err
		}
		updated.Phone, phoneChanged = nil, true
		if phone != "" {
			updated.Phone = h.Keyring.Seal([]byte(phone), phoneContext)
		}
	}
	if request.IDNumber != nil {
		number, err := normaliseIDNumber(*request.IDNumber, h.now())
		if err != nil {
			return err
		}
		updated.IDNumber, idNumberChanged = nil, true
		if number != "" {
			updated.IDNumber = h.Keyring.Seal([]byte(number), idNumberContext)
			idIndex = h.Keyring.Index(idNumberDomain, []byte(number))
			var taken bool
			err := tx.GetContext(ctx, &taken, `SELECT EXISTS (SELECT 1 FROM staff_user WHERE id_number_index = $1 AND id <> $2)`, idIndex, row.ID)
			if err != nil {
				return fmt.Errorf("check ID number: %w", err)
			}
			if taken {
				return errIDNumberTaken
			}
		}
	}

	before, err := h.auditStateOf(row)
	if err != nil {
		return err
	}
	after, err := h.auditStateOf(updated)
	if err != nil {
		return err
	}
	if before == after {
		item, err := h.loadItem(ctx, tx, row.ID)
		if err != nil {
			return err
		}
		httpx.WriteJSON(w, http.StatusOK, map[string]any{"staff": item})
		return nil
	}

	// The sealed columns are written only when they change, each with the
	// active key's ID.
	sealedSets := ""
	args := []any{row.ID, updated.DisplayName, updated.RoleCode, updated.ScopeLevel, updated.DistrictCode,
		updated.StreetCode, updated.KindergartenID, updated.Status}
	if phoneChanged || idNumberChanged {
		args = append(args, h.Keyring.ActiveKeyID())
		sealedSets += ", key_id = $" + strconv.Itoa(len(args))
	}
	if phoneChanged {
		args = append(args, updated.Phone)
		sealedSets += ", phone = $" + strconv.Itoa(len(args))
	}
	if idNumberChanged {
		args = append(args, updated.IDNumber, idIndex)
		sealedSets += ", id_number = $" + strconv.Itoa(len(args)-1) + ", id_number_index = $" + strconv.Itoa(len(args))
	}
	_, err = tx.ExecContext(ctx, `
		UPDATE staff_user SET display_name = $2, role_code = $3, scope_level = $4, district_code = $5,
		                      street_code = $6, kindergarten_id = $7, status = $8, updated_at = now()`+
		sealedSets+` WHERE id = $1`, args...)
	if err != nil {
		return fmt.Errorf("update staff %d: %w", row.ID, err)
	}
	if h.Roles.Integrity != nil {
		if err := h.Roles.Integrity.SignStaff(ctx, tx, row.ID); err != nil {
			return err
		}
	}
	err = h.Trail.RecordTx(ctx, tx, r, actor, audit.Event{
		Action: "staff.update", Resource: "staff_user", ResourceID: strconv.FormatInt(row.ID, 10),
		DistrictCode: updated.DistrictCode.String, Before: before, After: after, Detail: describeChanges(before, after),
	})
	if err != nil {
		return err
	}
	item, err := h.loadItem(ctx, tx, row.ID)
	if err != nil {
		return err
	}
	accessChanged := before.Role != after.Role || before.ScopeLevel != after.ScopeLevel ||
		before.DistrictCode != after.DistrictCode || before.StreetCode != after.StreetCode ||
		before.KindergartenID != after.KindergartenID || before.Status != after.Status
	if err := h.commitRevoking(ctx, tx, accessChanged, row.ID); err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, map[string]any{"staff": item})
	return nil
}

// describeChanges names the changed fields for the audit trail's detail.
func describeChanges(before, after auditState) string {
	var changed []string
	if before.DisplayName != after.DisplayName {
		changed = append(changed, "姓名")
	}
	if before.Role != after.Role {
		changed = append(changed, "角色")
	}
	if before.ScopeLevel != after.ScopeLevel || before.DistrictCode != after.DistrictCode ||
		before.StreetCode != after.StreetCode || before.KindergartenID != after.KindergartenID {
		changed = append(changed, "数据范围")
	}
	if before.Status != after.Status {
		changed = append(changed, "状态")
	}
	if before.Phone != after.Phone {
		changed = append(changed, "手机号码")
	}
	if before.IDNumber != after.IDNumber {
		changed = append(changed, "身份证号码")
	}
	return "修改账号：" + strings.Join(changed, "、")
}

// commitRevoking commits tx and, when revoke is true, ends every session of
// the accounts. The sessions end before the commit, so a Redis failure
// rolls the change back and the admin can retry it. They end again after
// the commit, for a sign-in that read the old state in between. A failure
// there is only logged, because the change is saved.
func (h *Handlers) commitRevoking(ctx context.Context, tx *sqlx.Tx, revoke bool, staffIDs ...int64) error {
	if !revoke {
		return tx.Commit()
	}
	ctx = context.WithoutCancel(ctx)
	for _, id := range staffIDs {
		if err := h.Sessions.RevokeStaff(ctx, id); err != nil {
			return fmt.Errorf("end sessions of staff %d: %w", id, err)
		}
	}
	if err := tx.Commit(); err != nil {
		return err
	}
	for _, id := range staffIDs {
		if err := h.Sessions.RevokeStaff(ctx, id); err != nil {
			slog.Error("sessions of changed staff account not ended after the commit", "staff_id", id, "error", err)
		}
	}
	return nil
}

// accountAction is one of the admin's single-step actions on an account.
type accountAction struct {
	action string
	detail string
	// apply changes the locked row inside the transaction and returns the
	// fields to add to the response, if any.
	apply func(ctx context.Context, tx *sqlx.Tx, row account) (extra map[string]any, err error)
	// revoke ends the account's sessions (see commitRevoking).
	revoke bool
}

// runAction locks the account of the {id} path parameter, applies action,
// records it in the audit trail in the same transaction and responds with
// the changed account.
func (h *Handlers) runAction(w http.ResponseWriter, r *http.Request, action accountAction) error {
	ctx := r.Context()
	id, err := parseStaffID(chi.URLParam(r, "id"))
	if err != nil {
		return err
	}
	tx, err := h.DB.BeginTxx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	row, err := lockAccount(ctx, tx, id)
	if err != nil {
		return err
	}

	before, err := h.auditStateOf(row)
	if err != nil {
		return err
	}
	answer, err := action.apply(ctx, tx, row)
	if err != nil {
		return err
	}
	changed, err := loadAccountBy(ctx, tx, `id = $1`, id)
	if err != nil {
		return err
	}
	after, err := h.auditStateOf(changed)
	if err != nil {
		return err
	}

	err = h.Trail.RecordTx(ctx, tx, r, access.StaffFrom(ctx), audit.Event{
		Action: action.action, Resource: "staff_user", ResourceID: strconv.FormatInt(id, 10),
		DistrictCode: row.DistrictCode.String, Before: before, After: after, Detail: action.detail,
	})
	if err != nil {
		return err
	}
	item, err := h.loadItem(ctx, tx, id)
	if err != nil {
		return err
	}
	if err := h.commitRevoking(ctx, tx, action.revoke, id); err != nil {
		return err
	}

	if answer == nil {
		answer = map[string]any{}
	}
	answer["staff"] = item
	httpx.WriteJSON(w, http.StatusOK, answer)
	return nil
}

// resetPassword handles POST /staff/{id}/password-reset: a new temporary
// password, returned once, that must be changed at the next sign-in. The
// account's sessions end.
func (h *Handlers) resetPassword(w http.ResponseWriter, r *http.Request) error {
	actor := access.StaffFrom(r.Context())
	return h.runAction(w, r, accountAction{
		action: "staff.password_reset", detail: "重置密码（生成临时密码）", revoke: true,
		apply: func(ctx context.Context, tx *sqlx.Tx, row account) (map[string]any, error) {
			if actor != nil && actor.ID == row.ID {
				return nil, errCannotResetOwnPassword
			}
			password := GenerateTemporaryPassword(row.Username)
			encoded, err := HashPassword(password)
			if err != nil {
				return nil, err
			}
			_, err = tx.ExecContext(ctx, `
				UPDATE staff_user SET password_hash = $2, password_changed_at = $3, must_change_password = true,
				                      key_id = $4, updated_at = now()
				WHERE id = $1`, row.ID, sealPasswordHash(h.Keyring, encoded), h.now(), h.Keyring.ActiveKeyID())
			if err != nil {
				return nil, fmt.Errorf("reset password of staff %d: %w", row.ID, err)
			}
			if err := addPasswordHistory(ctx, tx, h.Keyring, row.ID, encoded); err != nil {
				return nil, err
			}
			return map[string]any{"temporaryPassword": password}, nil
		},
	})
}

// resetTOTP handles POST /staff/{id}/totp-reset: the secret is removed, so
// the next sign-in enrols a new authenticator. The account's sessions end.
func (h *Handlers) resetTOTP(w http.ResponseWriter, r *http.Request) error {
	actor := access.StaffFrom(r.Context())
	return h.runAction(w, r, accountAction{
		action: "staff.totp_reset", detail: "重置动态验证码，下次登录时重新绑定", revoke: true,
		apply: func(ctx context.Context, tx *sqlx.Tx, row account) (map[string]any, error) {
			if actor != nil && actor.ID == row.ID {
				return nil, errCannotResetOwnTOTP
			}
			_, err := tx.ExecContext(ctx, `
				UPDATE staff_user SET totp_secret = NULL, totp_enabled = false, totp_last_step = 0, updated_at = now()
				WHERE id = $1`, row.ID)
			if err != nil {
				return nil, fmt.Errorf("reset TOTP of staff %d: %w", row.ID, err)
			}
			return nil, nil
		},
	})
}

// unlock handles POST /staff/{id}/unlock: the lockout ends and the failure
// counter starts again from zero.
func (h *Handlers) unlock(w http.ResponseWriter, r *http.Request) error {
	return h.runAction(w, r, accountAction{
		action: "staff.unlock", detail: "解除账号锁定",
		apply: func(ctx context.Context, tx *sqlx.Tx, row account) (map[string]any, error) {
			_, err := tx.ExecContext(ctx, `
				UPDATE staff_user SET failed_attempts = 0, locked_until = NULL, updated_at = now() WHERE id = $1`, row.ID)
			if err != nil {
				return nil, fmt.Errorf("unlock staff %d: %w", row.ID, err)
			}
			return nil, nil
		},
	})
}
