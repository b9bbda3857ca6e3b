// Package access identifies the signed-in staff member and the data scope
// every query of the back office is limited to: the city, one district,
// one street or one kindergarten.
package access

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/sh-preschool/preschool/shared/apierror"
	"github.com/sh-preschool/preschool/shared/session"
)

// Levels of a data scope.
const (
	LevelCity         = "city"
	LevelDistrict     = "district"
	LevelStreet       = "street"
	LevelKindergarten = "kindergarten"
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
	ID    string
	Name  string
	Role  string
	Scope Scope
}

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

// ErrOutOfScope is returned for a request for data outside the staff
// member's scope.
var ErrOutOfScope = apierror.New(http.StatusForbidden, "out_of_scope", "您无权查看本辖区以外的数据。")

// Condition is a SQL condition with its arguments, numbered from the
// placeholder index the caller passes.
type Condition struct {
	SQL  string
	Args []any
}

// Registrations returns the condition limiting the registration table
// (alias r): a registration belongs to the districts of both the child's
// hukou and home.
func (s Scope) Registrations(next int) Condition {
	switch s.Level {
	case LevelCity:
		return Condition{SQL: "TRUE"}
	case LevelDistrict:
		p := "$" + strconv.Itoa(next)
		return Condition{SQL: "(r.residence_district_code = " + p + " OR r.hukou_district_code = " + p + ")", Args: []any{s.DistrictCode}}
	case LevelStreet:
		p := "$" + strconv.Itoa(next)
		return Condition{SQL: "(r.residence_street_code = " + p + " OR r.hukou_street_code = " + p + ")", Args: []any{s.StreetCode}}
	}
	return Condition{SQL: "FALSE"}
}

// Applications returns the condition limiting the application table (alias
// a): an application belongs to the district applied to.
func (s Scope) Applications(next int) Condition {
	switch s.Level {
	case LevelCity:
		return Condition{SQL: "TRUE"}
	case LevelDistrict:
		return Condition{SQL: "a.district_code = $" + strconv.Itoa(next), Args: []any{s.DistrictCode}}
	case LevelKindergarten:
		return Condition{
			SQL:  "EXISTS (SELECT 1 FROM campus c WHERE c.id = ANY(a.campus_choices) AND c.kindergarten_id = $" + strconv.Itoa(next) + ")",
			Args: []any{s.KindergartenID},
		}
	}
	return Condition{SQL: "FALSE"}
}

// AllowsDistrict reports whether the scope covers a whole district.
func (s Scope) AllowsDistrict(code string) bool {
	return s.Level == LevelCity || s.Level == LevelDistrict && s.DistrictCode == code
}

// DevSubject encodes a development sign-in as a session subject:
// "dev:city" or "dev:district:310104".
func DevSubject(scope Scope) string {
	if scope.Level == LevelDistrict {
		return "dev:district:" + scope.DistrictCode
	}
	return "dev:city"
}

// SessionPurpose is the session purpose of staff tokens.
const SessionPurpose = "staff"

// StaffFromSession returns the staff member of a development session
// token, or nil for an invalid one.
func StaffFromSession(sealer session.Sealer, token string, now time.Time) *Staff {
	claims, err := session.Open(sealer, SessionPurpose, token, now)
	if err != nil {
		return nil
	}
	switch {
	case claims.Subject == "dev:city":
		return &Staff{ID: claims.Subject, Name: claims.Name, Role: "city_admin", Scope: Scope{Level: LevelCity}}
	case strings.HasPrefix(claims.Subject, "dev:district:"):
		code := strings.TrimPrefix(claims.Subject, "dev:district:")
		return &Staff{ID: claims.Subject, Name: claims.Name, Role: "district_admin", Scope: Scope{Level: LevelDistrict, DistrictCode: code}}
	}
	return nil
}
