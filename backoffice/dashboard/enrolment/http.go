package enrolment

import (
	"context"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/redis/rueidis"

	"github.com/sh-preschool/preschool/backoffice/access"
	"github.com/sh-preschool/preschool/backoffice/audit"
	"github.com/sh-preschool/preschool/backoffice/dashboard"
	"github.com/sh-preschool/preschool/backoffice/httpx"
	"github.com/sh-preschool/preschool/shared/apierror"
	enrol "github.com/sh-preschool/preschool/shared/enrolment"
)

// Formulas shown on the enrolment pages.
const (
	FormulaPlanRate        = "登记率 = 登记数 ÷ 招生计划（小班与混龄班计划学位）"
	FormulaApplicationRate = "报名率 = 报名数 ÷ 登记数（不含已退回、已删除的报名和已删除的登记，退回后重新报名只计一次）"
	FormulaAdmissionRate   = "录取率 = 录取数 ÷ 招生计划"
	FormulaForecast        = "明年需求预测 = 本年 2 周岁常住人口 × 本年登记率（登记数 ÷ 3 周岁常住人口）；供需差 = 需求预测 − 本年招生计划"
	FormulaNursery         = "空余托位 = 托班学位 − 在托人数"
)

// Handlers serve the enrolment panels under /dashboard/enrolment.
type Handlers struct {
	Store *Store
	// Redis and Keys read the edge's sequence counters for the live
	// figure; with a nil Redis the live figure is left out.
	Redis rueidis.Client
	Keys  enrol.Keys
	// Trail, when not nil, records every export.
	Trail *audit.Trail
	Now   func() time.Time
}

// Routes mounts the handlers. The caller mounts them behind the session
// middleware and the dashboard.read permission.
func (h *Handlers) Routes(r chi.Router) {
	r.Get("/dashboard/enrolment/overview", httpx.Handle(h.overview))
	r.Get("/dashboard/enrolment/state", httpx.Handle(h.state))
	r.Get("/dashboard/enrolment/opinion", httpx.Handle(h.opinion))
	r.Get("/dashboard/enrolment/{kind}/summary", httpx.Handle(h.summary))
	r.Get("/dashboard/enrolment/{kind}/trend", httpx.Handle(h.trend))
	r.Get("/dashboard/enrolment/{kind}/history", httpx.Handle(h.history))
	r.Get("/dashboard/enrolment/nursery", httpx.Handle(h.nursery))
	r.Get("/dashboard/enrolment/report", httpx.Handle(h.report))
	r.Get("/dashboard/enrolment/report.xlsx", httpx.Handle(h.export))
}

func (h *Handlers) now() time.Time {
	if h.Now != nil {
		return h.Now()
	}
	return time.Now()
}

// parseQuery reads the year, range and area of a request.
func (h *Handlers) parseQuery(r *http.Request) (Query, error) {
	ctx := r.Context()
	staff := access.StaffFrom(ctx)
	q := Query{Scope: staff.Scope}
	var err error
	if q.Range, err = dashboard.ParseRange(r, h.now()); err != nil {
		return q, err
	}
	if q.Area, err = dashboard.ParseArea(r, staff.Scope, h.Store.Names.StreetDistrict(ctx)); err != nil {
		return q, err
	}
	if value := r.URL.Query().Get("year"); value != "" {
		year, err := strconv.Atoi(value)
		if err != nil || year < 2000 || year > 2100 {
			return q, apierror.Invalid("year", "invalid_year", "年度应为 2000 至 2100 之间的年份。")
		}
		q.Year = year
		return q, nil
	}
	q.Year, err = h.Store.CurrentYear(ctx, h.now())
	return q, err
}

func parseKind(r *http.Request) (string, error) {
	kind := chi.URLParam(r, "kind")
	switch kind {
	case KindRegistration, KindApplication, KindAdmission:
		return kind, nil
	}
	return "", apierror.New(http.StatusNotFound, "unknown_panel", "没有此类招生数据："+kind+"，应为 registration、application 或 admission。")
}

// AreaFigure is one area's figure with its plan and rate.
type AreaFigure struct {
	Code  string  `json:"code"`
	Name  string  `json:"name"`
	Count int64   `json:"count"`
	Base  int64   `json:"base"`
	Rate  float64 `json:"rate"`
}

// Summary is the response of the summary panel of one kind.
type Summary struct {
	Kind          string          `json:"kind"`
	Year          int             `json:"year"`
	Range         dashboard.Range `json:"range"`
	Area          dashboard.Area  `json:"area"`
	Total         int64           `json:"total"`
	Live          *int64          `json:"live"`
	Supplementary int64           `json:"supplementary"`
	// Base is the divisor of Rate: the seat plan for registrations and
	// admissions, the registrations for applications.
	Base       int64        `json:"base"`
	Rate       float64      `json:"rate"`
	ByArea     []AreaFigure `json:"byArea"`
	ByCategory []Count      `json:"byCategory"`
	Forecast   *Forecast    `json:"forecast,omitempty"`
	Formulas   []string     `json:"formulas"`
}

// Forecast is next year's demand for junior-class seats.
type Forecast struct {
	PopulationAge3   int64   `json:"populationAge3"`
	PopulationAge2   int64   `json:"populationAge2"`
	Demand           int64   `json:"demand"`
	Plan             int64   `json:"plan"`
	Gap              int64   `json:"gap"`
	RegistrationRate float64 `json:"registrationRate"`
}

// summary handles GET /dashboard/enrolment/{kind}/summary.
func (h *Handlers) summary(w http.ResponseWriter, r *http.Request) error {
	kind, err := parseKind(r)
	if err != nil {
		return err
	}
	q, err := h.parseQuery(r)
	if err != nil {
		return err
	}
	summary, err := h.Summarise(r.Context(), kind, q)
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, summary)
	return nil
}

// Summarise computes the summary panel of kind.
func (h *Handlers) Summarise(ctx context.Context, kind string, q Query) (Summary, error) {
	summary := Summary{Kind: kind, Year: q.Year, Range: q.Range, Area: q.Area}
	var counts []Count
	var err error
	if kind == KindAdmission {
		counts, err = h.Store.Admissions(ctx, q)
	} else {
		counts, err = h.Store.ByArea(ctx, kind, q)
	}
	if err != nil {
		return summary, err
	}

	var baseByArea map[string]int64
	switch kind {
	case KindRegistration, KindAdmission:
		baseByArea, summary.Base, err = h.Store.Plan(ctx, q)
		summary.Formulas = []string{FormulaPlanRate}
		if kind == KindAdmission {
			summary.Formulas = []string{FormulaAdmissionRate}
		}
	case KindApplication:
		var registrations []Count
		registrations, err = h.Store.ByArea(ctx, KindRegistration, q)
		baseByArea = map[string]int64{}
		for _, c := range registrations {
			baseByArea[c.Code] = c.Count
			summary.Base += c.Count
		}
		summary.Formulas = []string{FormulaApplicationRate}
	}
	if err != nil {
		return summary, err
	}

	summary.ByArea = make([]AreaFigure, len(counts))
	for i, c := range counts {
		summary.Total += c.Count
		base := baseByArea[c.Code]
		summary.ByArea[i] = AreaFigure{Code: c.Code, Name: c.Name, Count: c.Count, Base: base, Rate: dashboard.Rate(float64(c.Count), float64(base))}
	}
	summary.Rate = dashboard.Rate(float64(summary.Total), float64(summary.Base))
	if kind == KindAdmission {
		if summary.ByCategory, err = h.Store.AdmissionsByCategory(ctx, q); err != nil {
			return summary, err
		}
		summary.Supplementary, err = h.Store.SupplementaryPlacements(ctx, q)
		return summary, err
	}

	if summary.ByCategory, err = h.Store.ByCategory(ctx, kind, q); err != nil {
		return summary, err
	}
	if summary.Supplementary, err = h.Store.Supplementary(ctx, kind, q); err != nil {
		return summary, err
	}
	summary.Live = h.live(ctx, kind, q, summary.Total)
	if kind == KindRegistration {
		if summary.Forecast, err = h.forecast(ctx, q, summary.Total, summary.Base); err != nil {
			return summary, err
		}
		summary.Formulas = append(summary.Formulas, FormulaForecast)
	}
	return summary, nil
}

func (h *Handlers) forecast(ctx context.Context, q Query, registrations, plan int64) (*Forecast, error) {
	_, age3, err := h.Store.Population(ctx, q, 3)
	if err != nil {
		return nil, err
	}
	_, age2, err := h.Store.Population(ctx, q, 2)
	if err != nil {
		return nil, err
	}
	rate := dashboard.Rate(float64(registrations), float64(age3))
	demand := int64(float64(age2)*rate + 0.5)
	return &Forecast{PopulationAge3: age3, PopulationAge2: age2, Demand: demand, Plan: plan, Gap: demand - plan, RegistrationRate: rate}, nil
}

// live returns the submissions the edge has accepted so far, drained or
// not, from its sequence counters: city-wide for registrations, per
// district for applications. It returns nil where no counter matches the
// area and scope, when the counters are below the stored figure, or when
// Redis fails.
func (h *Handlers) live(ctx context.Context, kind string, q Query, stored int64) *int64 {
	if h.Redis == nil || q.Range.Period != dashboard.PeriodAll {
		return nil
	}
	var keys []string
	switch {
	case kind == KindRegistration && q.Area.Level == dashboard.LevelCity && q.Scope.Level == access.LevelCity:
		keys = []string{h.Keys.RegistrationSequence(q.Year)}
	case kind == KindApplication && q.Area.Level == dashboard.LevelDistrict:
		keys = []string{h.Keys.ApplicationSequence(q.Year, q.Area.DistrictCode)}
	case kind == KindApplication && q.Area.Level == dashboard.LevelCity && q.Scope.Level == access.LevelCity:
		codes, err := h.districtCodes(ctx)
		if err != nil {
			slog.Warn("read district codes for the live figure", "error", err)
			return nil
		}
		for _, code := range codes {
			keys = append(keys, h.Keys.ApplicationSequence(q.Year, code))
		}
	default:
		return nil
	}
	values, err := h.Redis.Do(ctx, h.Redis.B().Mget().Key(keys...).Build()).ToArray()
	if err != nil {
		slog.Warn("read the live enrolment counters", "kind", kind, "year", q.Year, "error", err)
		return nil
	}
	var total int64
	for _, value := range values {
		n, err := value.AsInt64()
		if err == nil {
			total += n
		}
	}
	if total < stored {
		// The counters count only what came through the edge, so rows
		// generated or imported directly, or a Redis that lost its keys,
		// leave them behind the table. The page then shows the stored
		// figure alone.
		return nil
	}
	return &total
}

func (h *Handlers) districtCodes(ctx context.Context) ([]string, error) {
	var codes []string
	err := h.Store.DB.SelectContext(ctx, &codes, `SELECT code FROM district ORDER BY code`)
	return codes, err
}

// trend handles GET /dashboard/enrolment/{kind}/trend: submissions (or
// admissions) per bucket of the range, and the milestones of the kind.
func (h *Handlers) trend(w http.ResponseWriter, r *http.Request) error {
	kind, err := parseKind(r)
	if err != nil {
		return err
	}
	q, err := h.parseQuery(r)
	if err != nil {
		return err
	}
	var points []Point
	if kind == KindAdmission {
		points, err = h.Store.AdmissionTrend(r.Context(), q)
	} else {
		points, err = h.Store.Trend(r.Context(), kind, q)
	}
	if err != nil {
		return err
	}
	milestones, err := h.Store.Milestones(r.Context(), kind, q)
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, map[string]any{
		"kind": kind, "year": q.Year, "range": q.Range, "area": q.Area, "points": points, "milestones": milestones,
	})
	return nil
}

// history handles GET /dashboard/enrolment/{kind}/history: the totals of
// every enrolment year.
func (h *Handlers) history(w http.ResponseWriter, r *http.Request) error {
	kind, err := parseKind(r)
	if err != nil {
		return err
	}
	if kind == KindAdmission {
		return apierror.New(http.StatusNotFound, "no_admission_history", "往年录取数据不在汇总表中。")
	}
	q, err := h.parseQuery(r)
	if err != nil {
		return err
	}
	years, err := h.Store.History(r.Context(), kind, q)
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, map[string]any{"kind": kind, "area": q.Area, "years": years})
	return nil
}

// nursery handles GET /dashboard/enrolment/nursery.
func (h *Handlers) nursery(w http.ResponseWriter, r *http.Request) error {
	q, err := h.parseQuery(r)
	if err != nil {
		return err
	}
	byArea, byYear, err := h.Store.Nursery(r.Context(), q)
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, map[string]any{
		"year": q.Year, "area": q.Area, "byArea": byArea, "byYear": byYear, "formulas": []string{FormulaNursery},
	})
	return nil
}

// Overview is the cockpit's enrolment figures.
type Overview struct {
	Year          int     `json:"year"`
	Registrations Summary `json:"registrations"`
	Applications  Summary `json:"applications"`
	Admissions    Summary `json:"admissions"`
	Today         []Point `json:"today"`
	// Milestones are the registration milestones.
	Milestones            []Milestone `json:"milestones"`
	ApplicationMilestones []Milestone `json:"applicationMilestones"`
	AdmissionMilestones   []Milestone `json:"admissionMilestones"`
	// AdmissionTrend is the admissions per bucket of the request's range
	// (per day by default).
	AdmissionTrend []Point      `json:"admissionTrend"`
	Nursery        []NurseryRow `json:"nursery"`
}

// overview handles GET /dashboard/enrolment/overview: the summaries of
// all kinds by district, today's hourly registrations, the admission
// trend and the milestones of every kind.
func (h *Handlers) overview(w http.ResponseWriter, r *http.Request) error {
	q, err := h.parseQuery(r)
	if err != nil {
		return err
	}
	ctx := r.Context()
	overview := Overview{Year: q.Year}

	if overview.Registrations, err = h.Summarise(ctx, KindRegistration, q); err != nil {
		return err
	}
	if overview.Applications, err = h.Summarise(ctx, KindApplication, q); err != nil {
		return err
	}
	if overview.Admissions, err = h.Summarise(ctx, KindAdmission, q); err != nil {
		return err
	}

	today := q
	today.Range = dashboard.Range{Period: dashboard.PeriodDay, Bucket: dashboard.BucketHour}
	now := h.now().In(enrol.Shanghai)
	today.Range.From = time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, enrol.Shanghai)
	today.Range.To = today.Range.From.AddDate(0, 0, 1)
	if overview.Today, err = h.Store.Trend(ctx, KindRegistration, today); err != nil {
		return err
	}
	if overview.AdmissionTrend, err = h.Store.AdmissionTrend(ctx, q); err != nil {
		return err
	}
	if overview.Milestones, err = h.Store.Milestones(ctx, KindRegistration, q); err != nil {
		return err
	}
	if overview.ApplicationMilestones, err = h.Store.Milestones(ctx, KindApplication, q); err != nil {
		return err
	}
	if overview.AdmissionMilestones, err = h.Store.Milestones(ctx, KindAdmission, q); err != nil {
		return err
	}
	if _, overview.Nursery, err = h.Store.Nursery(ctx, q); err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, overview)
	return nil
}
