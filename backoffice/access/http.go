package access

import (
	"net/http"
	"strings"
	"time"

	"github.com/sh-preschool/preschool/backoffice/httpx"
	"github.com/sh-preschool/preschool/shared/apierror"
	"github.com/sh-preschool/preschool/shared/session"
)

// CookieName is the staff session cookie.
const CookieName = "bo_session"

// Sessions signs staff in (for now through the development sign-in) and
// identifies them on each request.
type Sessions struct {
	Sealer       session.Sealer
	TTL          time.Duration
	SecureCookie bool
	// DevSignIn enables POST /api/v1/dev/sign-in, which signs anyone in as
	// any district's admin. Only development and demo machines set it.
	DevSignInEnabled bool
	// KnownDistrict reports whether a district code exists.
	KnownDistrict func(code string) (name string, ok bool)
	Now           func() time.Time
}

// ErrStaffNotSignedIn is the 401 for staff pages, worded for staff.
var ErrStaffNotSignedIn = apierror.New(http.StatusUnauthorized, "not_signed_in", "尚未登录或登录已过期，请重新登录。")

// Authenticate puts the signed-in staff member into the request context,
// and answers 401 for requests without a valid session.
func (s *Sessions) Authenticate(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		cookie, err := r.Cookie(CookieName)
		if err != nil {
			httpx.WriteError(w, r, ErrStaffNotSignedIn)
			return
		}
		staff := StaffFromSession(s.Sealer, cookie.Value, s.Now())
		// A development session ends when the development sign-in is turned
		// off, even if its token has not expired.
		if staff == nil || !s.DevSignInEnabled && strings.HasPrefix(staff.ID, "dev:") {
			httpx.WriteError(w, r, ErrStaffNotSignedIn)
			return
		}
		next.ServeHTTP(w, r.WithContext(WithStaff(r.Context(), staff)))
	})
}

type devSignInRequest struct {
	Level        string `json:"level"`
	DistrictCode string `json:"districtCode"`
}

// DevSignIn handles POST /api/v1/dev/sign-in.
func (s *Sessions) DevSignIn(w http.ResponseWriter, r *http.Request) error {
	if !s.DevSignInEnabled {
		return apierror.New(http.StatusNotFound, "route_not_found", "请求的接口不存在。")
	}
	var request devSignInRequest
	if err := httpx.DecodeJSON(r, 1<<10, &request); err != nil {
		return err
	}
	var scope Scope
	name := "市级管理员（开发登录）"
	switch request.Level {
	case LevelCity:
		scope = Scope{Level: LevelCity}
	case LevelDistrict:
		districtName, ok := s.KnownDistrict(request.DistrictCode)
		if !ok {
			return apierror.Invalid("districtCode", "unknown_district", "所选的区不存在。")
		}
		scope = Scope{Level: LevelDistrict, DistrictCode: request.DistrictCode}
		name = districtName + "管理员（开发登录）"
	default:
		return apierror.Invalid("level", "invalid_level", "请选择市级或区级管理员。")
	}
	now := s.Now()
	token := session.Issue(s.Sealer, SessionPurpose, session.Claims{
		Subject: DevSubject(scope), Name: name, SessionID: session.NewSessionID(), IssuedAt: now.Unix(), ExpiresAt: now.Add(s.TTL).Unix(),
	})
	http.SetCookie(w, &http.Cookie{
		Name: CookieName, Value: token, Path: "/", HttpOnly: true, Secure: s.SecureCookie,
		SameSite: http.SameSiteStrictMode, MaxAge: int(s.TTL / time.Second),
	})
	httpx.WriteJSON(w, http.StatusOK, s.meBody(StaffFromSession(s.Sealer, token, now)))
	return nil
}

// SignOut handles POST /api/v1/sign-out.
func (s *Sessions) SignOut(w http.ResponseWriter, r *http.Request) error {
	http.SetCookie(w, &http.Cookie{Name: CookieName, Value: "", Path: "/", HttpOnly: true, Secure: s.SecureCookie,
		SameSite: http.SameSiteStrictMode, MaxAge: -1})
	httpx.WriteJSON(w, http.StatusOK, map[string]bool{"signedIn": false})
	return nil
}

// Me handles GET /api/v1/me.
func (s *Sessions) Me(w http.ResponseWriter, r *http.Request) error {
	httpx.WriteJSON(w, http.StatusOK, s.meBody(StaffFrom(r.Context())))
	return nil
}

type me struct {
	ID           string `json:"id"`
	Name         string `json:"name"`
	Role         string `json:"role"`
	ScopeLevel   string `json:"scopeLevel"`
	DistrictCode string `json:"districtCode,omitempty"`
	DistrictName string `json:"districtName,omitempty"`
}

func (s *Sessions) meBody(staff *Staff) me {
	body := me{ID: staff.ID, Name: staff.Name, Role: staff.Role, ScopeLevel: staff.Scope.Level, DistrictCode: staff.Scope.DistrictCode}
	if staff.Scope.DistrictCode != "" {
		body.DistrictName, _ = s.KnownDistrict(staff.Scope.DistrictCode)
	}
	return body
}
