// Package access identifies the signed-in staff member, checks their
// permissions, and builds the data-scope condition that every query of the
// back office adds: the city, one district, one street, one kindergarten, or
// none for the roles that must not see business data.
package access

import (
	"context"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/sh-preschool/preschool/shared/apierror"
)

// Levels of a data scope.
const (
	LevelCity         = "city"
	LevelDistrict     = "district"
	LevelStreet       = "street"
	LevelKindergarten = "kindergarten"
	// LevelNone sees no business data at all: the security admin and the
	// auditor.
	LevelNone = "none"
)

// Scope limits the rows a staff member may see.
type Scope struct {
	Level          string
	DistrictCode   string
	StreetCode     string
	KindergartenID int64
}

// Staff is the signed-in staff member.
type Staff struct {
	ID          int64
	Username    string
	Name        string
	Role        string
	RoleName    string
	Permissions []string
	Scope       Scope
	// MustChangePassword limits the session to changing the password.
	MustChangePassword bool
	// SessionID names the session, for signing out.
	SessionID string
	// CSRFToken must come back in the X-CSRF-Token header of every request
	// that changes something.
	CSRFToken string
}

// Can reports whether the staff member holds a permission.
func (s *Staff) Can(permission string) bool { return slices.Contains(s.Permissions, permission) }

type contextKey struct{}

// WithStaff returns ctx carrying staff.
func WithStaff(ctx context.Context, staff *Staff) context.Context {
	return context.WithValue(ctx, contextKey{}, staff)
}

// StaffFrom returns the signed-in staff member, or nil.
func StaffFrom(ctx context.Context) *Staff {
	staff, _ := ctx.Value(contextKey{}).(*Staff)
	return staff
}

// Errors of access control.
var (
	ErrOutOfScope   = apierror.New(http.StatusForbidden, "out_of_scope", "该数据不在您的管辖范围内，您无权查看或操作。")
	ErrNoPermission = apierror.New(http.StatusForbidden, "no_permission", "您的角色没有此项操作权限。")
)

// Condition is a SQL condition with its arguments, numbered from the
// placeholder index the caller passes.
type Condition struct {
	SQL  string
	Args []any
}

// Columns names, for one table as a query aliases it, the columns that tie a
// row to a data scope. A row is in scope when any of its district (or
// street) columns matches. Kindergarten builds the condition for a
// kindergarten scope from the placeholder of the kindergarten's ID; nil
// means kindergarten staff see none of the table's rows.
type Columns struct {
	Districts    []string
	Streets      []string
	Kindergarten func(placeholder string) string
}

// Filter returns the condition limiting a table to the scope. It is the one
// place where data scope turns into SQL: every query of every module adds
// it, with the table's Columns.
//
// The condition is plain comparisons joined by OR (or the Kindergarten
// condition as it is), because PostgreSQL uses an index, counts from the
// index alone, or turns EXISTS into a join only for a plain condition. It
// is NULL rather than false for a row outside the scope whose scope
// columns are NULL, so a caller that negates it or selects it as a value
// wraps it in (…) IS TRUE first.
func (s Scope) Filter(columns Columns, next int) Condition {
	placeholder := "$" + strconv.Itoa(next)
	anyOf := func(names []string, value any) Condition {
		if len(names) == 0 {
			return Condition{SQL: "FALSE"}
		}
		parts := make([]string, len(names))
		for i, name := range names {
			parts[i] = name + " = " + placeholder
		}
		return Condition{SQL: "(" + strings.Join(parts, " OR ") + ")", Args: []any{value}}
	}
	switch s.Level {
	case LevelCity:
		return Condition{SQL: "TRUE"}
	case LevelDistrict:
		return anyOf(columns.Districts, s.DistrictCode)
	case LevelStreet:
		return anyOf(columns.Streets, s.StreetCode)
	case LevelKindergarten:
		if columns.Kindergarten == nil {
			return Condition{SQL: "FALSE"}
		}
		return Condition{SQL: "(" + columns.Kindergarten(placeholder) + ")", Args: []any{s.KindergartenID}}
	}
	return Condition{SQL: "FALSE"}
}

// AllowsDistrict reports whether the scope covers a whole district.
func (s Scope) AllowsDistrict(code string) bool {
	return s.Level == LevelCity || s.Level == LevelDistrict && s.DistrictCode == code
}
