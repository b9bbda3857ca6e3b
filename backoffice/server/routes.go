package server

import (
	"context"
	"net/http"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/go-chi/chi/v5/middleware"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/sh-preschool/preschool/backoffice/access"
	"github.com/sh-preschool/preschool/backoffice/admission"
	"github.com/sh-preschool/preschool/backoffice/audit"
	"github.com/sh-preschool/preschool/backoffice/certauth"
	attendancedashboard "github.com/sh-preschool/preschool/backoffice/dashboard/attendance"
	"github.com/sh-preschool/preschool/backoffice/dictionary"
	"github.com/sh-preschool/preschool/backoffice/enrolment"
	"github.com/sh-preschool/preschool/backoffice/entrystate"
	"github.com/sh-preschool/preschool/backoffice/feedback"
	"github.com/sh-preschool/preschool/backoffice/forms"
	"github.com/sh-preschool/preschool/backoffice/httpx"
	"github.com/sh-preschool/preschool/backoffice/matching"
	"github.com/sh-preschool/preschool/backoffice/monitoring"
	"github.com/sh-preschool/preschool/backoffice/org"
	"github.com/sh-preschool/preschool/backoffice/review"
	"github.com/sh-preschool/preschool/backoffice/sms"
	"github.com/sh-preschool/preschool/backoffice/staff"
	"github.com/sh-preschool/preschool/backoffice/supplement"
	"github.com/sh-preschool/preschool/backoffice/web"
	"github.com/sh-preschool/preschool/shared/apierror"
)

func (b *BackOffice) routes() http.Handler {
	r := chi.NewRouter()
	r.Use(middleware.RequestID, middleware.Recoverer, securityHeaders, sameOrigin)

	r.Get("/healthz", func(w http.ResponseWriter, r *http.Request) {
		httpx.WriteJSON(w, http.StatusOK, map[string]bool{"alive": true})
	})
	r.Get("/readyz", b.ready)
	r.Handle("/metrics", promhttp.HandlerFor(b.registry, promhttp.HandlerOpts{}))

	enrolmentHandlers := &enrolment.Handlers{Store: &enrolment.Store{DB: b.db}, Keyring: b.keyring, Names: b.names}
	staffHandlers := &staff.Handlers{
		DB: b.db, Keyring: b.keyring, Sessions: b.sessions, Roles: b.roles, Trail: b.trail,
		DistrictName: b.districtName, LoginAttemptsPerMinute: b.config.LoginAttemptsPerMinute,
	}
	certificateHandlers := &certauth.Handlers{
		DB: b.db, Sessions: b.sessions, Roles: b.roles, Integrity: b.integrity, Trail: b.trail, Verifier: b.gateway,
		DistrictName: b.districtName,
	}
	r.Route("/api/v1", func(r chi.Router) {
		// Every refused access is recorded in the audit trail.
		r.Use(func(next http.Handler) http.Handler {
			return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				next.ServeHTTP(w, httpx.WithDenied(r, b.trail.Denied))
			})
		})
		monitoringHandlers := &monitoring.Handlers{Store: &monitoring.Store{DB: b.db}, Trail: b.trail, Now: time.Now}
		// Kindergarten systems send attendance with an API key, not a session.
		monitoringHandlers.SystemRoutes(r)
		r.Post("/dev/sign-in", httpx.Handle(b.devSignIn.SignIn))
		r.Post("/sign-out", httpx.Handle(b.signOut))
		r.Get("/sign-in/options", httpx.Handle(b.signInOptions))
		staffHandlers.PublicRoutes(r)
		certificateHandlers.PublicRoutes(r)
		r.Group(func(r chi.Router) {
			r.Use(b.sessions.Authenticate)
			r.Get("/me", httpx.Handle(b.me))
			r.Group(func(r chi.Router) {
				r.Use(access.Require("enrolment.read"))
				enrolmentHandlers.Routes(r)
			})
			(&dictionary.Handlers{DB: b.db, Trail: b.trail, Publisher: b.publisher}).Routes(r)
			(&forms.Handlers{DB: b.db, Trail: b.trail, Publisher: b.publisher, Keyring: b.keyring, UploadDir: b.config.UploadDir}).Routes(r)
			(&org.Handlers{Store: &org.Store{DB: b.db}}).Routes(r)
			(&matching.Handlers{DB: b.db, Trail: b.trail, Keyring: b.keyring, Publisher: b.publisher}).Routes(r)
			(&review.Handlers{
				DB: b.db, Redis: b.redis, Keys: b.keys, Keyring: b.keyring, Trail: b.trail,
				DistrictName: b.districtName, Now: time.Now,
			}).Routes(r)
			(&supplement.Handlers{
				DB: b.db, Redis: b.redis, Keys: b.keys, Keyring: b.keyring, Trail: b.trail,
				DistrictName: b.districtName, ReceiptTTL: b.config.ReceiptTTL, Now: time.Now,
			}).Routes(r)
			(&sms.Handlers{DB: b.db, Trail: b.trail, DistrictName: b.districtName}).Routes(r)
			(&admission.Handlers{
				DB: b.db, Redis: b.redis, Keys: b.keys, Keyring: b.keyring, Trail: b.trail,
				DistrictName: b.districtName, Now: time.Now, Publisher: b.publisher,
			}).Routes(r)
			(&feedback.Handlers{DB: b.db, DistrictName: b.districtName}).Routes(r)
			(&entrystate.Handlers{
				DB: b.db, Trail: b.trail, Publisher: b.publisher, DistrictName: b.districtName, Now: time.Now,
			}).Routes(r)
			monitoringHandlers.Routes(r)
			attendancePanels := attendancedashboard.NewHandlers(b.db, time.Now)
			if b.config.DashboardCacheTTL > 0 {
				attendancePanels.Cache = &attendancedashboard.Cache{Redis: b.redis, Prefix: b.config.RedisPrefix, TTL: b.config.DashboardCacheTTL}
			}
			attendancePanels.Routes(r)
			b.dashboardRoutes(r)
			(&audit.Handlers{Trail: b.trail, Checkpoints: b.checkpoints}).Routes(r)
			staffHandlers.Routes(r)
			certificateHandlers.Routes(r)
		})
		r.NotFound(func(w http.ResponseWriter, r *http.Request) {
			httpx.WriteError(w, r, apierror.New(http.StatusNotFound, "route_not_found", "请求的接口不存在。"))
		})
	})
	r.Handle("/*", web.Handler())
	return r
}

// me handles GET /api/v1/me.
func (b *BackOffice) me(w http.ResponseWriter, r *http.Request) error {
	httpx.WriteJSON(w, http.StatusOK, access.MeBody(access.StaffFrom(r.Context()), b.districtName))
	return nil
}

// signOut handles POST /api/v1/sign-out. It needs no CSRF token: a forged
// sign-out only ends a session.
func (b *BackOffice) signOut(w http.ResponseWriter, r *http.Request) error {
	if err := b.sessions.Destroy(r.Context(), w, r); err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, map[string]bool{"signedIn": false})
	return nil
}

type districtOption struct {
	Code string `json:"code"`
	Name string `json:"name"`
}

// signInOptions tells the sign-in page whether the development sign-in is
// on and which districts it offers.
func (b *BackOffice) signInOptions(w http.ResponseWriter, r *http.Request) error {
	var districts []districtOption
	if err := b.db.SelectContext(r.Context(), &districts, `SELECT code, name FROM district ORDER BY sort_order`); err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, map[string]any{"devSignIn": b.config.DevSignIn, "districts": districts})
	return nil
}

func (b *BackOffice) ready(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), time.Second)
	defer cancel()
	problems := []string{}
	if err := b.db.PingContext(ctx); err != nil {
		problems = append(problems, "postgresql: "+err.Error())
	}
	if err := b.redis.Do(ctx, b.redis.B().Ping().Build()).Error(); err != nil {
		problems = append(problems, "redis: "+err.Error())
	}
	if len(problems) > 0 {
		httpx.WriteJSON(w, http.StatusServiceUnavailable, map[string]any{"ready": false, "problems": problems})
		return
	}
	httpx.WriteJSON(w, http.StatusOK, map[string]bool{"ready": true})
}

// apiContentSecurityPolicy lets a response load and run nothing, so an
// API response opened as a page cannot run a script stored in its data.
// The admin app's handler replaces it with the app's own policy.
const apiContentSecurityPolicy = "default-src 'none'; frame-ancestors 'none'"

func securityHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		header := w.Header()
		header.Set("Content-Security-Policy", apiContentSecurityPolicy)
		header.Set("X-Content-Type-Options", "nosniff")
		header.Set("X-Frame-Options", "DENY")
		header.Set("Referrer-Policy", "same-origin")
		// JSON responses may load and run nothing; the admin app's pages
		// replace this with their own policy (backoffice/web).
		header.Set("Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'")
		// Browsers ignore HSTS over plain HTTP; it takes effect behind HTTPS.
		header.Set("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
		next.ServeHTTP(w, r)
	})
}

// sameOrigin rejects state-changing requests whose Origin header names
// another site; the SameSite=Strict session cookie is the second line.
func sameOrigin(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			origin := r.Header.Get("Origin")
			if origin != "" && origin != "http://"+r.Host && origin != "https://"+r.Host {
				httpx.WriteError(w, r, apierror.New(http.StatusForbidden, "cross_site_request", "请求来源无效，请从管理端页面重新操作。"))
				return
			}
		}
		next.ServeHTTP(w, r)
	})
}
