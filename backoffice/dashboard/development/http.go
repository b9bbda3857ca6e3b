package development

import (
	"net/http"
	"strconv"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/sh-preschool/preschool/backoffice/access"
	"github.com/sh-preschool/preschool/backoffice/audit"
	"github.com/sh-preschool/preschool/backoffice/dashboard"
	"github.com/sh-preschool/preschool/backoffice/httpx"
	"github.com/sh-preschool/preschool/shared/apierror"
)

// Formulas shown on the development pages.
var (
	FormulaClassSize = "班额达标率 = 未超班额的班级数 ÷ 班级总数（班额上限：托班 20、小班 25、中班 30、大班 35、混龄班 30 人）"
	FormulaGross     = "毛入园率 = 在园幼儿数（小班、中班、大班、混龄班） ÷ 3 至 5 周岁常住人口"
	FormulaPublic    = "公办园在园幼儿占比 = 公办园在园幼儿数 ÷ 在园幼儿总数"
	FormulaInclusive = "普惠性幼儿园覆盖率 = 公办园与普惠性民办园在园幼儿数 ÷ 在园幼儿总数"
	FormulaWorkforce = "学历达标：本科及以上专任教师占比 ≥ " + percent(EducationStandard) +
		"；职称达标：中级及以上职称专任教师占比 ≥ " + percent(TitleStandard) +
		"；高级教师覆盖率 = 有高级职称专任教师的公办园数 ÷ 公办园数"
)

func percent(value float64) string { return strconv.Itoa(int(value*100+0.5)) + "%" }

// Handlers serve the development panels under /dashboard/development.
type Handlers struct {
	Store *Store
	// Trail, when not nil, records every export.
	Trail *audit.Trail
	Now   func() time.Time
}

// Routes mounts the handlers. The caller mounts them behind the session
// middleware and the dashboard.read permission.
func (h *Handlers) Routes(r chi.Router) {
	r.Get("/dashboard/development/kindergartens", httpx.Handle(h.kindergartens))
	r.Get("/dashboard/development/children", httpx.Handle(h.children))
	r.Get("/dashboard/development/class-sizes", httpx.Handle(h.classSizes))
	r.Get("/dashboard/development/coverage", httpx.Handle(h.coverage))
	r.Get("/dashboard/development/workforce", httpx.Handle(h.workforce))
	r.Get("/dashboard/development/report", httpx.Handle(h.report))
	r.Get("/dashboard/development/report.xlsx", httpx.Handle(h.export))
}

func (h *Handlers) now() time.Time {
	if h.Now != nil {
		return h.Now()
	}
	return time.Now()
}

// parseQuery reads the census year (default the latest) and the area.
func (h *Handlers) parseQuery(r *http.Request) (Query, error) {
	ctx := r.Context()
	staff := access.StaffFrom(ctx)
	q := Query{Scope: staff.Scope}
	var err error
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
	q.Year, err = h.Store.LatestYear(ctx)
	return q, err
}

// kindergartens handles GET /dashboard/development/kindergartens: the
// kindergartens per area and level, and their points for the map.
func (h *Handlers) kindergartens(w http.ResponseWriter, r *http.Request) error {
	q, err := h.parseQuery(r)
	if err != nil {
		return err
	}
	levels, err := h.Store.Levels(r.Context(), q)
	if err != nil {
		return err
	}
	points, err := h.Store.Points(r.Context(), q)
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, map[string]any{"year": q.Year, "area": q.Area, "levels": levels, "points": points})
	return nil
}

// children handles GET /dashboard/development/children: the children per
// grade and sex, and the staff per role.
func (h *Handlers) children(w http.ResponseWriter, r *http.Request) error {
	q, err := h.parseQuery(r)
	if err != nil {
		return err
	}
	children, err := h.Store.Children(r.Context(), q)
	if err != nil {
		return err
	}
	staff, err := h.Store.Staff(r.Context(), q)
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, map[string]any{"year": q.Year, "area": q.Area, "children": children, "staff": staff})
	return nil
}

// classSizes handles GET /dashboard/development/class-sizes.
func (h *Handlers) classSizes(w http.ResponseWriter, r *http.Request) error {
	q, err := h.parseQuery(r)
	if err != nil {
		return err
	}
	byArea, err := h.Store.ClassSizes(r.Context(), q)
	if err != nil {
		return err
	}
	oversized, err := h.Store.Oversized(r.Context(), q)
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, map[string]any{
		"year": q.Year, "area": q.Area, "byArea": byArea, "oversized": oversized, "formulas": []string{FormulaClassSize},
	})
	return nil
}

// coverage handles GET /dashboard/development/coverage.
func (h *Handlers) coverage(w http.ResponseWriter, r *http.Request) error {
	q, err := h.parseQuery(r)
	if err != nil {
		return err
	}
	byArea, err := h.Store.Coverages(r.Context(), q)
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, map[string]any{
		"year": q.Year, "area": q.Area, "byArea": byArea, "formulas": []string{FormulaGross, FormulaPublic, FormulaInclusive},
	})
	return nil
}

// workforce handles GET /dashboard/development/workforce.
func (h *Handlers) workforce(w http.ResponseWriter, r *http.Request) error {
	q, err := h.parseQuery(r)
	if err != nil {
		return err
	}
	byArea, err := h.Store.Workforces(r.Context(), q)
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, map[string]any{
		"year": q.Year, "area": q.Area, "byArea": byArea, "formulas": []string{FormulaWorkforce},
		"standards": map[string]float64{"education": EducationStandard, "title": TitleStandard},
	})
	return nil
}
