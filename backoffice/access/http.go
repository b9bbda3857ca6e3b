package access

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/http"

	"github.com/jackc/pgx/v5/pgtype"
	"github.com/jmoiron/sqlx"

	"github.com/sh-preschool/preschool/backoffice/httpx"
	"github.com/sh-preschool/preschool/shared/apierror"
)

// Role is a role's name and permissions.
type Role struct {
	Code         string
	Name         string
	Permissions  []string
	ScopeLevels  []string
	BusinessData bool
}

// Roles reads roles from the database.
type Roles struct {
	DB *sqlx.DB
	// Integrity, when set, makes Role verify the role's signature and
	// return ErrTampered for a changed row.
	Integrity *Integrity
}

// ErrUnknownRole is returned by Role for a code with no role.
var ErrUnknownRole = errors.New("unknown role")

// Role returns the role with code, or ErrUnknownRole, or ErrTampered when
// Integrity is set and the row fails its signature check.
func (r *Roles) Role(ctx context.Context, code string) (Role, error) {
	if r.Integrity != nil {
		if _, err := r.Integrity.VerifyRole(ctx, nil, r.DB, code); err != nil {
			return Role{}, err
		}
	}
	const q = `SELECT code, name, permissions, scope_levels, business_data FROM role WHERE code = $1`
	typeMap := pgtype.NewMap()
	role := Role{}
	err := r.DB.QueryRowContext(ctx, q, code).Scan(&role.Code, &role.Name,
		typeMap.SQLScanner(&role.Permissions), typeMap.SQLScanner(&role.ScopeLevels), &role.BusinessData)
	if errors.Is(err, sql.ErrNoRows) {
		return role, ErrUnknownRole
	}
	if err != nil {
		return role, fmt.Errorf("read role %s: %w", code, err)
	}
	return role, nil
}

// DevSignIn signs anyone in as a city or district admin, without a password.
// Only development and demo machines turn it on.
type DevSignIn struct {
	Enabled  bool
	Sessions *SessionStore
	Roles    *Roles
	// KnownDistrict returns a district's name.
	KnownDistrict func(code string) (name string, ok bool)
}

type devSignInRequest struct {
	Level        string `json:"level"`
	DistrictCode string `json:"districtCode"`
}

// SignIn handles POST /api/v1/dev/sign-in.
func (d *DevSignIn) SignIn(w http.ResponseWriter, r *http.Request) error {
	if !d.Enabled {
		return apierror.New(http.StatusNotFound, "route_not_found", "请求的接口不存在。")
	}
	var request devSignInRequest
	if err := httpx.DecodeJSON(r, 1<<10, &request); err != nil {
		return err
	}
	staff := Staff{Username: "dev." + request.Level}
	var roleCode string
	switch request.Level {
	case LevelCity:
		roleCode, staff.Name, staff.Scope = "city_admin", "市级管理员（开发登录）", Scope{Level: LevelCity}
	case LevelDistrict:
		name, ok := d.KnownDistrict(request.DistrictCode)
		if !ok {
			return apierror.Invalid("districtCode", "unknown_district", "所选的区不存在。")
		}
		roleCode, staff.Name = "district_admin", name+"管理员（开发登录）"
		staff.Scope = Scope{Level: LevelDistrict, DistrictCode: request.DistrictCode}
		staff.Username += "." + request.DistrictCode
	default:
		return apierror.Invalid("level", "invalid_level", "请选择市级或区级管理员。")
	}
	role, err := d.Roles.Role(r.Context(), roleCode)
	if err != nil {
		return err
	}
	staff.Role, staff.RoleName, staff.Permissions = role.Code, role.Name, role.Permissions
	created, err := d.Sessions.Create(r.Context(), w, r, staff)
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, MeBody(created, d.KnownDistrict))
	return nil
}

// Me is the signed-in staff member as GET /api/v1/me returns it.
type Me struct {
	ID                 int64    `json:"id"`
	Username           string   `json:"username"`
	Name               string   `json:"name"`
	Role               string   `json:"role"`
	RoleName           string   `json:"roleName"`
	Permissions        []string `json:"permissions"`
	ScopeLevel         string   `json:"scopeLevel"`
	DistrictCode       string   `json:"districtCode,omitempty"`
	DistrictName       string   `json:"districtName,omitempty"`
	StreetCode         string   `json:"streetCode,omitempty"`
	KindergartenID     int64    `json:"kindergartenId,omitempty"`
	MustChangePassword bool     `json:"mustChangePassword"`
	CSRFToken          string   `json:"csrfToken"`
}

// MeBody describes staff for the admin app, including the CSRF token the
// app sends back on every change.
func MeBody(staff *Staff, districtName func(string) (string, bool)) Me {
	body := Me{
		ID: staff.ID, Username: staff.Username, Name: staff.Name, Role: staff.Role, RoleName: staff.RoleName,
		Permissions: staff.Permissions, ScopeLevel: staff.Scope.Level, DistrictCode: staff.Scope.DistrictCode,
		StreetCode: staff.Scope.StreetCode, KindergartenID: staff.Scope.KindergartenID,
		MustChangePassword: staff.MustChangePassword, CSRFToken: staff.CSRFToken,
	}
	if body.Permissions == nil {
		body.Permissions = []string{}
	}
	if staff.Scope.DistrictCode != "" && districtName != nil {
		body.DistrictName, _ = districtName(staff.Scope.DistrictCode)
	}
	return body
}
