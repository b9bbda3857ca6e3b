// Package staff manages staff accounts and their sign-in: PBKDF2-SM3
// passwords with complexity, history and expiry rules, TOTP second factor,
// lockout and per-IP limits, the sign-in log, and the security admin's APIs
// for accounts, role permissions and the sign-in log.
package staff

import (
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/jmoiron/sqlx"

	"github.com/sh-preschool/preschool/backoffice/access"
	"github.com/sh-preschool/preschool/backoffice/audit"
	"github.com/sh-preschool/preschool/backoffice/httpx"
	"github.com/sh-preschool/preschool/shared/crypto"
)

// Sign-in limits.
const (
	// MaxFailedAttempts consecutive failed passwords or codes lock an
	// account for LockDuration.
	MaxFailedAttempts = 5
	LockDuration      = 15 * time.Minute
	// DefaultLoginAttemptsPerMinute is the per-IP limit of password
	// attempts in one minute.
	DefaultLoginAttemptsPerMinute = 20
	// ChallengeTTL is how long the second step of a sign-in may wait.
	ChallengeTTL = 5 * time.Minute
	// MaxCodeAttempts wrong codes end a challenge.
	MaxCodeAttempts = 5
)

// Handlers serve sign-in, password change and the security admin's APIs.
type Handlers struct {
	DB      *sqlx.DB
	Keyring *crypto.Keyring
	// Sessions creates and revokes sessions. Its Redis client and key
	// prefix also hold the sign-in challenges and the per-IP counters.
	Sessions *access.SessionStore
	Roles    *access.Roles
	Trail    *audit.Trail
	// DistrictName returns a district's name for the /me body; it may be
	// nil.
	DistrictName func(code string) (string, bool)
	// LoginAttemptsPerMinute is the per-IP limit of password attempts;
	// zero means DefaultLoginAttemptsPerMinute.
	LoginAttemptsPerMinute int
	// LoginAttemptWindow is the window the per-IP limit counts in; zero
	// means one minute. Tests lengthen it so a slow machine cannot let the
	// window expire halfway through a run of attempts.
	LoginAttemptWindow time.Duration
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

func (h *Handlers) now() time.Time {
	if h.Now != nil {
		return h.Now()
	}
	return time.Now()
}

func (h *Handlers) loginAttemptWindow() time.Duration {
	if h.LoginAttemptWindow > 0 {
		return h.LoginAttemptWindow
	}
	return time.Minute
}

func (h *Handlers) loginAttemptsPerMinute() int {
	if h.LoginAttemptsPerMinute > 0 {
		return h.LoginAttemptsPerMinute
	}
	return DefaultLoginAttemptsPerMinute
}

// PublicRoutes mounts the two sign-in steps, which need no session:
// POST /auth/login and POST /auth/totp.
func (h *Handlers) PublicRoutes(r chi.Router) {
	r.Post("/auth/login", httpx.Handle(h.login))
	r.Post("/auth/totp", httpx.Handle(h.verifyCode))
}

// Routes mounts the routes that need a session (the caller wraps them in
// SessionStore.Authenticate): the password change for everyone, and the
// account, role and sign-in log APIs, each group behind access.Require.
func (h *Handlers) Routes(r chi.Router) {
	r.Post("/auth/password", httpx.Handle(h.changePassword))
	r.Group(func(r chi.Router) {
		r.Use(access.Require("staff.read"))
		r.Get("/staff", httpx.Handle(h.listStaff))
		r.Get("/staff/scope-options", httpx.Handle(h.listScopeOptions))
		r.Get("/staff/{id}", httpx.Handle(h.getStaff))
	})
	r.Group(func(r chi.Router) {
		r.Use(access.Require("staff.write"))
		r.Post("/staff", httpx.Handle(h.createStaff))
		r.Patch("/staff/{id}", httpx.Handle(h.updateStaff))
		r.Post("/staff/{id}/password-reset", httpx.Handle(h.resetPassword))
		r.Post("/staff/{id}/totp-reset", httpx.Handle(h.resetTOTP))
		r.Post("/staff/{id}/unlock", httpx.Handle(h.unlock))
	})
	r.Group(func(r chi.Router) {
		r.Use(access.Require("role.read"))
		r.Get("/roles", httpx.Handle(h.listRoles))
		r.Get("/permissions", httpx.Handle(h.listPermissions))
	})
	r.Group(func(r chi.Router) {
		r.Use(access.Require("role.write"))
		r.Put("/roles/{code}/permissions", httpx.Handle(h.updateRolePermissions))
	})
	r.Group(func(r chi.Router) {
		r.Use(access.Require("login_log.read"))
		r.Get("/login-log", httpx.Handle(h.listLoginLog))
		r.Get("/login-log/export", httpx.Handle(h.exportLoginLog))
	})
}
