package server

import (
	"context"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/sh-preschool/preschool/backoffice/access"
	"github.com/sh-preschool/preschool/backoffice/dashboard"
	"github.com/sh-preschool/preschool/backoffice/dashboard/alerts"
	"github.com/sh-preschool/preschool/backoffice/dashboard/certificates"
	"github.com/sh-preschool/preschool/backoffice/dashboard/development"
	dashboardenrolment "github.com/sh-preschool/preschool/backoffice/dashboard/enrolment"
	"github.com/sh-preschool/preschool/backoffice/dashboard/systemstate"
)

// dashboardRoutes mounts the dashboard panels, reports and alerts. The
// caller mounts them behind the session middleware.
func (b *BackOffice) dashboardRoutes(r chi.Router) {
	names := &dashboard.Names{DB: b.db}
	enrolmentStore := &dashboardenrolment.Store{DB: b.db, Names: names}
	developmentStore := &development.Store{DB: b.db, Names: names}
	alertHandlers := &alerts.Handlers{DB: b.db, Enrolment: enrolmentStore, Development: developmentStore, Trail: b.trail, Now: time.Now}
	cache := &dashboard.Cache{Redis: b.redis, Prefix: b.config.RedisPrefix, TTL: b.config.DashboardCacheTTL,
		Versioned: []string{alerts.ListPath}}
	alertHandlers.Changed = func(ctx context.Context) { cache.Bump(ctx, alerts.ListPath) }
	r.Group(func(r chi.Router) {
		r.Use(access.Require(dashboard.PermissionRead), cache.Middleware)
		enrolmentHandlers := &dashboardenrolment.Handlers{Store: enrolmentStore, Redis: b.redis, Keys: b.keys, Trail: b.trail, Now: time.Now}
		enrolmentHandlers.Routes(r)
		(&certificates.Handlers{
			Store: &certificates.Store{DB: b.db}, Enrolment: enrolmentHandlers,
			Calls: &certificates.CallReader{Redis: b.redis, Keys: b.keys},
		}).Routes(r)
		(&development.Handlers{Store: developmentStore, Trail: b.trail, Now: time.Now}).Routes(r)
		(&systemstate.Handlers{
			Store: &systemstate.Store{Redis: b.redis, Prefix: b.config.RedisPrefix}, Thresholds: alertHandlers.Thresholds, Now: time.Now,
		}).Routes(r)
	})
	r.Group(func(r chi.Router) {
		r.Use(cache.Middleware)
		alertHandlers.Routes(r)
	})
}
