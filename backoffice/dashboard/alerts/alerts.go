// Package alerts evaluates the dashboards' alert thresholds per district
// and lets city staff change them.
package alerts

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/jmoiron/sqlx"

	"github.com/sh-preschool/preschool/backoffice/access"
	"github.com/sh-preschool/preschool/backoffice/audit"
	"github.com/sh-preschool/preschool/backoffice/dashboard"
	"github.com/sh-preschool/preschool/backoffice/dashboard/development"
	"github.com/sh-preschool/preschool/backoffice/dashboard/enrolment"
	"github.com/sh-preschool/preschool/backoffice/httpx"
	"github.com/sh-preschool/preschool/shared/apierror"
)

// Codes of the thresholds the migration creates.
const (
	RegistrationPlanRate = "registration_plan_rate"
	ApplicationRate      = "application_rate"
	ClassSizeCompliance  = "class_size_compliance"
	GrossEnrolmentRate   = "gross_enrolment_rate"
	UnresolvedQuestions  = "unresolved_questions"
)

// ActionUpdate is the audited action of a threshold change.
const ActionUpdate = "dashboard.alert_threshold.update"

// Threshold is one alert threshold.
type Threshold struct {
	Code       string `json:"code" db:"code"`
	Name       string `json:"name" db:"name"`
	Comparison string `json:"comparison" db:"comparison"`
	// Unit is UnitRate (Threshold is a fraction) or UnitCount, and Max the
	// largest value a change may set, in the same unit.
	Unit      string    `json:"unit" db:"-"`
	Max       float64   `json:"max" db:"-"`
	Threshold float64   `json:"threshold" db:"threshold"`
	UpdatedAt time.Time `json:"updatedAt" db:"updated_at"`
	// UpdatedBy is the username of the last editor, or "system" for the
	// value the migration set. UpdatedByName is what the pages show: the
	// editor's display name, or 系统.
	UpdatedBy     string `json:"updatedBy" db:"updated_by"`
	UpdatedByName string `json:"updatedByName" db:"updated_by_name"`
}

// Breaches reports whether value is on the alerting side of t.
func (t Threshold) Breaches(value float64) bool {
	if t.Comparison == "above" {
		return value > t.Threshold
	}
	return value < t.Threshold
}

// Alert is one district whose indicator breaches its threshold.
type Alert struct {
	Code         string `json:"code"`
	Name         string `json:"name"`
	DistrictCode string `json:"districtCode"`
	District     string `json:"district"`
	// Unit is UnitRate (Value and Threshold are fractions) or UnitCount.
	Unit       string  `json:"unit"`
	Value      float64 `json:"value"`
	Threshold  float64 `json:"threshold"`
	Comparison string  `json:"comparison"`
}

// Handlers serve the alert list and thresholds.
type Handlers struct {
	DB          *sqlx.DB
	Enrolment   *enrolment.Store
	Development *development.Store
	Trail       *audit.Trail
	Now         func() time.Time
	// Changed, when set, runs after a threshold change is committed; the
	// server retires the cached alert lists with it.
	Changed func(ctx context.Context)
}

// ListPath is the path of the alert list.
const ListPath = "/dashboard/alerts"

// Routes mounts the handlers behind the session middleware; reading needs
// dashboard.read and changing a threshold dashboard.write.
func (h *Handlers) Routes(r chi.Router) {
	r.Group(func(r chi.Router) {
		r.Use(access.Require(dashboard.PermissionRead))
		r.Get(ListPath, httpx.Handle(h.list))
		r.Get("/dashboard/alert-thresholds", httpx.Handle(h.thresholds))
	})
	r.Group(func(r chi.Router) {
		r.Use(access.Require(dashboard.PermissionWrite))
		r.Put("/dashboard/alert-thresholds/{code}", httpx.Handle(h.update))
	})
}

// systemEditor is the updated_by of a threshold no one has changed since
// the migration set it, and systemEditorName is how the pages show it.
const (
	systemEditor     = "system"
	systemEditorName = "系统"
)

// Thresholds returns every threshold by code, with its unit and the display
// name of its last editor: the current name in staff_user, else the name
// stored with the change, else the username.
func (h *Handlers) Thresholds(ctx context.Context) ([]Threshold, error) {
	var thresholds []Threshold
	err := h.DB.SelectContext(ctx, &thresholds, `SELECT t.code, t.name, t.comparison, CAST(t.threshold AS float8) AS threshold,
			t.updated_at, t.updated_by,
			CASE WHEN t.updated_by = $1 THEN $2 ELSE COALESCE(s.display_name, t.updated_by_name, t.updated_by) END AS updated_by_name
		FROM dashboard_alert_threshold t LEFT JOIN staff_user s ON s.username = t.updated_by
		ORDER BY t.code`, systemEditor, systemEditorName)
	if err != nil {
		return nil, fmt.Errorf("read alert thresholds: %w", err)
	}
	for i := range thresholds {
		bound := limits[thresholds[i].Code]
		thresholds[i].Unit, thresholds[i].Max = bound.Unit, bound.Max
	}
	return thresholds, nil
}

func (h *Handlers) thresholds(w http.ResponseWriter, r *http.Request) error {
	thresholds, err := h.Thresholds(r.Context())
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, map[string]any{"items": thresholds})
	return nil
}

type updateRequest struct {
	Threshold *float64 `json:"threshold"`
}

// update handles PUT /dashboard/alert-thresholds/{code}. Thresholds are
// city-wide, so only city staff may change them.
func (h *Handlers) update(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	staff := access.StaffFrom(ctx)
	if staff.Scope.Level != access.LevelCity {
		return access.ErrOutOfScope
	}
	var request updateRequest
	if err := httpx.DecodeJSON(r, 1<<10, &request); err != nil {
		return err
	}

	tx, err := h.DB.BeginTxx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	var before Threshold
	err = tx.GetContext(ctx, &before, `SELECT code, name, comparison, CAST(threshold AS float8) AS threshold, updated_at, updated_by,
			'' AS updated_by_name
		FROM dashboard_alert_threshold WHERE code = $1 FOR UPDATE`, chi.URLParam(r, "code"))
	if errors.Is(err, sql.ErrNoRows) {
		return apierror.New(http.StatusNotFound, "threshold_not_found", "预警阈值 "+chi.URLParam(r, "code")+" 不存在。")
	}
	if err != nil {
		return err
	}
	if err := validateThreshold(before, request.Threshold); err != nil {
		return err
	}
	before.Unit, before.Max = limits[before.Code].Unit, limits[before.Code].Max
	after := before
	after.Threshold, after.UpdatedBy, after.UpdatedByName, after.UpdatedAt = *request.Threshold, staff.Username, staff.Name, h.now()
	if after.UpdatedByName == "" {
		after.UpdatedByName = staff.Username
	}
	if _, err := tx.ExecContext(ctx, `UPDATE dashboard_alert_threshold
		SET threshold = $2, updated_at = $3, updated_by = $4, updated_by_name = NULLIF($5, '') WHERE code = $1`,
		after.Code, after.Threshold, after.UpdatedAt, after.UpdatedBy, after.UpdatedByName); err != nil {
		return err
	}
	event := audit.Event{
		Action: ActionUpdate, Resource: "dashboard_alert_threshold", ResourceID: after.Code, Outcome: audit.OutcomeSuccess,
		Before: map[string]any{"threshold": before.Threshold}, After: map[string]any{"threshold": after.Threshold},
		Detail: "修改预警阈值：" + after.Name,
	}
	if err := h.Trail.RecordTx(ctx, tx, r, staff, event); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return err
	}
	if h.Changed != nil {
		h.Changed(ctx)
	}
	httpx.WriteJSON(w, http.StatusOK, after)
	return nil
}

func (h *Handlers) now() time.Time {
	if h.Now != nil {
		return h.Now()
	}
	return time.Now()
}

// list handles GET /dashboard/alerts: the districts in the viewer's scope
// whose indicators breach a threshold.
func (h *Handlers) list(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	staff := access.StaffFrom(ctx)
	alerts, err := h.Evaluate(ctx, staff.Scope)
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, map[string]any{"items": alerts})
	return nil
}

// Evaluate computes every indicator per district within scope (the
// current enrolment year and the latest census) and returns the breaches.
// Street and kindergarten staff get none, because the indicators are
// district figures.
func (h *Handlers) Evaluate(ctx context.Context, scope access.Scope) ([]Alert, error) {
	alerts := []Alert{}
	var area dashboard.Area
	switch scope.Level {
	case access.LevelCity:
		area = dashboard.Area{Level: dashboard.LevelCity}
	case access.LevelDistrict:
		// A district's own figure is its row of the city breakdown.
		area = dashboard.Area{Level: dashboard.LevelCity}
	default:
		return alerts, nil
	}
	thresholds, err := h.Thresholds(ctx)
	if err != nil {
		return nil, err
	}
	byCode := map[string]Threshold{}
	for _, t := range thresholds {
		byCode[t.Code] = t
	}
	add := func(code, district, name string, value float64) {
		t, ok := byCode[code]
		if ok && t.Breaches(value) {
			alerts = append(alerts, Alert{Code: code, Name: t.Name, DistrictCode: district, District: name,
				Unit: t.Unit, Value: value, Threshold: t.Threshold, Comparison: t.Comparison})
		}
	}

	year, err := h.Enrolment.CurrentYear(ctx, h.now())
	if err != nil {
		return nil, err
	}
	q := enrolment.Query{Year: year, Area: area, Scope: scope, Range: dashboard.Range{
		Period: dashboard.PeriodAll, From: time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC), To: time.Date(2100, 1, 1, 0, 0, 0, 0, time.UTC),
	}}
	registrations, err := h.Enrolment.ByArea(ctx, enrolment.KindRegistration, q)
	if err != nil {
		return nil, err
	}
	applications, err := h.Enrolment.ByArea(ctx, enrolment.KindApplication, q)
	if err != nil {
		return nil, err
	}
	plan, _, err := h.Enrolment.Plan(ctx, q)
	if err != nil {
		return nil, err
	}
	applied := map[string]int64{}
	for _, c := range applications {
		applied[c.Code] = c.Count
	}
	for _, c := range registrations {
		if plan[c.Code] > 0 {
			add(RegistrationPlanRate, c.Code, c.Name, dashboard.Rate(float64(c.Count), float64(plan[c.Code])))
		}
		add(ApplicationRate, c.Code, c.Name, dashboard.Rate(float64(applied[c.Code]), float64(c.Count)))
	}

	unresolved, err := h.Enrolment.UnresolvedQuestionsByDistrict(ctx, q)
	if err != nil {
		return nil, err
	}
	for _, c := range unresolved {
		add(UnresolvedQuestions, c.Code, c.Name, float64(c.Count))
	}

	censusYear, err := h.Development.LatestYear(ctx)
	if err != nil || censusYear == 0 {
		return alerts, err
	}
	d := development.Query{Year: censusYear, Area: area, Scope: scope}
	classSizes, err := h.Development.ClassSizes(ctx, d)
	if err != nil {
		return nil, err
	}
	for _, c := range classSizes {
		add(ClassSizeCompliance, c.Code, c.Name, c.ComplianceRate)
	}
	coverages, err := h.Development.Coverages(ctx, d)
	if err != nil {
		return nil, err
	}
	for _, c := range coverages {
		if c.GrossEnrolmentRate != nil {
			add(GrossEnrolmentRate, c.Code, c.Name, *c.GrossEnrolmentRate)
		}
	}
	return alerts, nil
}
