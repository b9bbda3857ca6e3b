package staff

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/jmoiron/sqlx"

	"github.com/sh-preschool/preschool/backoffice/access"
	"github.com/sh-preschool/preschool/backoffice/audit"
	"github.com/sh-preschool/preschool/backoffice/httpx"
	"github.com/sh-preschool/preschool/shared/apierror"
)

// Duties a permission belongs to. A role may combine permissions of at most
// one of business, security and audit, the separation of duties that
// classified protection level 3 requires. So no one both handles enrolment data
// and manages accounts, or manages accounts and reviews the logs of that
// management. Shared permissions go with any duty.
const (
	DutyBusiness = "business"
	DutySecurity = "security"
	DutyAudit    = "audit"
	DutyShared   = "shared"
)

// Permission is a menu or button code the admin app checks, with its
// Chinese name and the menu it belongs to.
type Permission struct {
	Code  string `json:"code"`
	Name  string `json:"name"`
	Group string `json:"group"`
	Duty  string `json:"duty"`
	// BusinessData marks permissions that show enrolment data, which a role
	// with business_data = false must not hold.
	BusinessData bool `json:"businessData"`
}

// Permissions is the fixed catalogue of permission codes, in the order the
// admin app lists them.
var Permissions = []Permission{
	{Code: "enrolment.read", Name: "查看报名登记", Group: "招生管理", Duty: DutyBusiness, BusinessData: true},
	{Code: "enrolment.write", Name: "办理报名登记", Group: "招生管理", Duty: DutyBusiness, BusinessData: true},
	{Code: "dictionary.read", Name: "查看数据字典", Group: "基础数据", Duty: DutyShared},
	{Code: "dictionary.write", Name: "维护数据字典", Group: "基础数据", Duty: DutyBusiness},
	{Code: "org.read", Name: "查看组织机构", Group: "基础数据", Duty: DutyShared},
	{Code: "form.read", Name: "查看报名表配置", Group: "报名表配置", Duty: DutyShared},
	{Code: "form.write", Name: "配置报名表", Group: "报名表配置", Duty: DutyBusiness},
	{Code: "dashboard.read", Name: "查看数据看板", Group: "数据看板", Duty: DutyBusiness, BusinessData: true},
	{Code: "dashboard.write", Name: "配置看板预警和导入数据", Group: "数据看板", Duty: DutyBusiness, BusinessData: true},
	{Code: "attendance.write", Name: "上报和导入出勤晨检数据", Group: "数据看板", Duty: DutyBusiness, BusinessData: true},
	// masking.Permission: no built-in role holds it.
	{Code: "personal.unmask", Name: "查看完整证件号和手机号", Group: "招生管理", Duty: DutyBusiness, BusinessData: true},
	{Code: "audit.read", Name: "查看审计日志", Group: "安全审计", Duty: DutyAudit},
	{Code: "login_log.read", Name: "查看登录日志", Group: "安全审计", Duty: DutyAudit},
	{Code: "staff.read", Name: "查看账号", Group: "账号与权限", Duty: DutySecurity},
	{Code: "staff.write", Name: "管理账号", Group: "账号与权限", Duty: DutySecurity},
	{Code: "role.read", Name: "查看角色", Group: "账号与权限", Duty: DutySecurity},
	{Code: "role.write", Name: "配置角色权限", Group: "账号与权限", Duty: DutySecurity},
}

var dutyNames = map[string]string{DutyBusiness: "业务管理", DutySecurity: "安全管理", DutyAudit: "安全审计"}

func permissionOf(code string) (Permission, bool) {
	for _, permission := range Permissions {
		if permission.Code == code {
			return permission, true
		}
	}
	return Permission{}, false
}

// Errors of the role API.
var (
	errRoleNotFound        = apierror.New(http.StatusNotFound, "role_not_found", "未找到该角色。")
	errCannotEditOwnRole   = apierror.New(http.StatusForbidden, "cannot_edit_own_role", "不能修改本人所属角色的权限，请由其他角色的安全管理员操作。")
	errMissingPermissions  = apierror.Invalid("permissions", "missing_permissions", "请至少选择一项权限。")
	errTooManyPermissions  = apierror.Invalid("permissions", "too_many_permissions", "权限项过多。")
	errDutiesMixed         = apierror.Invalid("permissions", "duties_mixed", "同一角色不能同时拥有业务管理、安全管理、安全审计中两类及以上的权限。")
	errBusinessDataBlocked = apierror.Invalid("permissions", "business_data_not_allowed", "该角色不得接触业务数据，不能授予招生或数据看板权限。")
)

// checkPermissions returns the codes deduplicated in catalogue order, or an
// error for an unknown code, mixed duties, or business data for a role
// that must not see it.
func checkPermissions(codes []string, businessData bool) ([]string, error) {
	if len(codes) == 0 {
		return nil, errMissingPermissions
	}
	if len(codes) > 4*len(Permissions) {
		return nil, errTooManyPermissions
	}
	duty := ""
	for i, code := range codes {
		permission, ok := permissionOf(code)
		if !ok {
			return nil, apierror.Invalid("permissions["+strconv.Itoa(i)+"]", "unknown_permission", "权限代码“"+code+"”不存在。")
		}
		if permission.BusinessData && !businessData {
			return nil, errBusinessDataBlocked.WithField("permissions[" + strconv.Itoa(i) + "]")
		}
		if permission.Duty == DutyShared {
			continue
		}
		if duty != "" && duty != permission.Duty {
			return nil, errDutiesMixed.WithDetail("duties", dutyNames[duty]+"、"+dutyNames[permission.Duty])
		}
		duty = permission.Duty
	}
	var ordered []string
	for _, permission := range Permissions {
		if slices.Contains(codes, permission.Code) {
			ordered = append(ordered, permission.Code)
		}
	}
	return ordered, nil
}

// roleItem is a role as the role API returns it.
type roleItem struct {
	Code         string       `json:"code"`
	Name         string       `json:"name"`
	Description  string       `json:"description"`
	Permissions  []Permission `json:"permissions"`
	ScopeLevels  []string     `json:"scopeLevels"`
	BusinessData bool         `json:"businessData"`
	BuiltIn      bool         `json:"builtIn"`
	Holders      int          `json:"holders"`
	UpdatedAt    time.Time    `json:"updatedAt"`
}

// loadRoles reads the roles that match where, with the number of accounts
// holding each. The placeholders of where start at $2, because $1 is the
// list order.
func loadRoles(ctx context.Context, q sqlx.QueryerContext, where string, args ...any) ([]roleItem, error) {
	rows, err := q.QueryContext(ctx, `
		SELECT code, name, description, permissions, scope_levels, business_data, built_in, updated_at,
		       (SELECT count(*) FROM staff_user WHERE role_code = role.code)
		FROM role WHERE `+where+` ORDER BY built_in DESC, array_position($1::text[], code), code`,
		append([]any{roleOrder}, args...)...)
	if err != nil {
		return nil, fmt.Errorf("read roles: %w", err)
	}
	defer rows.Close()
	typeMap := pgtype.NewMap()
	var roles []roleItem
	for rows.Next() {
		var role roleItem
		var codes []string
		if err := rows.Scan(&role.Code, &role.Name, &role.Description, typeMap.SQLScanner(&codes),
			typeMap.SQLScanner(&role.ScopeLevels), &role.BusinessData, &role.BuiltIn, &role.UpdatedAt, &role.Holders); err != nil {
			return nil, fmt.Errorf("read roles: %w", err)
		}
		role.Permissions = []Permission{}
		for _, code := range codes {
			permission, ok := permissionOf(code)
			if !ok {
				permission = Permission{Code: code, Name: code}
			}
			role.Permissions = append(role.Permissions, permission)
		}
		roles = append(roles, role)
	}
	return roles, rows.Err()
}

// roleOrder is the order of the built-in roles in lists.
var roleOrder = []string{"city_admin", "district_admin", "street_officer", "kindergarten_admin", "teacher", "leader",
	"auditor", "security_admin"}

// listRoles handles GET /roles.
func (h *Handlers) listRoles(w http.ResponseWriter, r *http.Request) error {
	roles, err := loadRoles(r.Context(), h.DB, "TRUE")
	if err != nil {
		return err
	}
	if roles == nil {
		roles = []roleItem{}
	}
	httpx.WriteJSON(w, http.StatusOK, map[string]any{"items": roles})
	return nil
}

// listPermissions handles GET /permissions: the catalogue for the role
// editor.
func (h *Handlers) listPermissions(w http.ResponseWriter, r *http.Request) error {
	httpx.WriteJSON(w, http.StatusOK, map[string]any{"items": Permissions})
	return nil
}

type rolePermissionsRequest struct {
	Permissions []string `json:"permissions"`
}

// updateRolePermissions handles PUT /roles/{code}/permissions. It checks
// the new permissions against the catalogue and the separation of duties
// and records the change in the audit trail. The sessions of the role's
// holders end, so they get the new permissions at their next sign-in. A
// staff member cannot edit their own role.
func (h *Handlers) updateRolePermissions(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	actor := access.StaffFrom(ctx)
	code := chi.URLParam(r, "code")
	var request rolePermissionsRequest
	if err := httpx.DecodeJSON(r, 8<<10, &request); err != nil {
		return err
	}
	if actor != nil && actor.Role == code {
		return errCannotEditOwnRole
	}

	tx, err := h.DB.BeginTxx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	var businessData bool
	err = tx.GetContext(ctx, &businessData, `SELECT business_data FROM role WHERE code = $1 FOR UPDATE`, code)
	if errors.Is(err, sql.ErrNoRows) {
		return errRoleNotFound
	}
	if err != nil {
		return fmt.Errorf("lock role %s: %w", code, err)
	}
	permissions, err := checkPermissions(request.Permissions, businessData)
	if err != nil {
		return err
	}
	roles, err := loadRoles(ctx, tx, "code = $2", code)
	if err != nil {
		return err
	}
	before := permissionCodes(roles[0].Permissions)
	if slices.Equal(before, permissions) {
		httpx.WriteJSON(w, http.StatusOK, map[string]any{"role": roles[0]})
		return nil
	}
	if _, err := tx.ExecContext(ctx, `UPDATE role SET permissions = $2, updated_at = now() WHERE code = $1`, code, permissions); err != nil {
		return fmt.Errorf("update role %s: %w", code, err)
	}
	if h.Roles.Integrity != nil {
		if err := h.Roles.Integrity.SignRole(ctx, tx, code); err != nil {
			return err
		}
	}
	var holders []int64
	if err := tx.SelectContext(ctx, &holders, `SELECT id FROM staff_user WHERE role_code = $1`, code); err != nil {
		return fmt.Errorf("read holders of role %s: %w", code, err)
	}
	err = h.Trail.RecordTx(ctx, tx, r, actor, audit.Event{
		Action: "role.update", Resource: "role", ResourceID: code,
		Before: map[string]any{"permissions": before}, After: map[string]any{"permissions": permissions},
		Detail: "修改角色“" + roles[0].Name + "”的权限：" + strings.Join(permissions, ", ") +
			"；结束 " + strconv.Itoa(len(holders)) + " 个账号的登录会话",
	})
	if err != nil {
		return err
	}
	roles, err = loadRoles(ctx, tx, "code = $2", code)
	if err != nil {
		return err
	}
	if err := h.commitRevoking(ctx, tx, true, holders...); err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, map[string]any{"role": roles[0]})
	return nil
}

func permissionCodes(permissions []Permission) []string {
	codes := make([]string, len(permissions))
	for i, permission := range permissions {
		codes[i] = permission.Code
	}
	return codes
}
