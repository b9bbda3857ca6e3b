// Package certificates serves the certificate-call panel (证照调用情况).
// It reads the edge's counts of certificate API calls from Redis and the
// sources of the stored certificates from their rollup. It also compares
// the certificate types each district's published forms request with the
// types the certificate API serves.
package certificates

import (
	"context"
	"log/slog"
	"net/http"

	"github.com/go-chi/chi/v5"

	"github.com/sh-preschool/preschool/backoffice/access"
	"github.com/sh-preschool/preschool/backoffice/dashboard"
	dashboardenrolment "github.com/sh-preschool/preschool/backoffice/dashboard/enrolment"
	"github.com/sh-preschool/preschool/backoffice/httpx"
	enrol "github.com/sh-preschool/preschool/shared/enrolment"
)

// Formulas shown under the panel.
var Formulas = []string{
	"证照调用用户数 = 调取过电子证照的家长账号数（按区按日去重后合并，HyperLogLog 估算，误差约 1%）",
	"实际证照调用数 = 调取成功的证照数（一次调取中的每类证照各计一次）",
	"调用成功率 = 调取成功数 ÷ 调取数（调取数含未查到和接口故障或熔断）",
	"证照预填率 = 登记中由接口调取的证照数 ÷ 登记中附上的证照数（调取 + 上传）",
	"证照调用人群覆盖率 = 至少调取一类证照的登记数 ÷ 登记数；分类型时为调取该类证照的登记数 ÷ 登记数",
	"证照上传人群覆盖率 = 至少上传一类证照的登记数（或报名数） ÷ 登记数（或报名数）",
	"所需证照类型 = 该区已发布报名入口的表单所列证照；可调取 = 其中用证接口提供的类型",
}

// Handlers serve GET /dashboard/enrolment/certificates.
type Handlers struct {
	Store *Store
	// Enrolment parses the year, range and area as the enrolment panels do.
	Enrolment *dashboardenrolment.Handlers
	// Calls reads the edge's prefill counters. With a nil Calls the call
	// figures are zero and CallsAvailable is false.
	Calls *CallReader
}

// Routes mounts the handler. The caller mounts it behind the session
// middleware and the dashboard.read permission.
func (h *Handlers) Routes(r chi.Router) {
	r.Get("/dashboard/enrolment/certificates", httpx.Handle(h.panel))
}

// Figures are the certificate figures of one area.
type Figures struct {
	// Callers is the distinct parents who called the certificate API.
	Callers int64 `json:"callers"`
	// Calls counts each requested type of each call once.
	Calls           int64   `json:"calls"`
	SuccessfulCalls int64   `json:"successfulCalls"`
	SuccessRate     float64 `json:"successRate"`
	// Registrations counts the registrations whose certificate sources are
	// known. WithFetched and WithUploaded count those with at least one
	// certificate from that source.
	Registrations  int64   `json:"registrations"`
	WithFetched    int64   `json:"withFetched"`
	WithUploaded   int64   `json:"withUploaded"`
	CallCoverage   float64 `json:"callCoverage"`
	UploadCoverage float64 `json:"uploadCoverage"`
	// FetchedCertificates and AttachedCertificates count the certificates
	// (one type on one registration) fetched, and fetched or uploaded.
	FetchedCertificates  int64   `json:"fetchedCertificates"`
	AttachedCertificates int64   `json:"attachedCertificates"`
	PrefillRate          float64 `json:"prefillRate"`
	// Applications counts the applications whose sources are known, and
	// ApplicationsWithUploaded those with at least one uploaded certificate.
	Applications              int64   `json:"applications"`
	ApplicationsWithUploaded  int64   `json:"applicationsWithUploaded"`
	ApplicationUploadCoverage float64 `json:"applicationUploadCoverage"`
}

// RequestedType is a certificate type a district's forms request.
type RequestedType struct {
	Code     string `json:"code"`
	Name     string `json:"name"`
	Required bool   `json:"required"`
	// Available is true when the certificate API serves the type.
	Available bool `json:"available"`
}

// DistrictFigures are one district's figures and requested types. The
// district "unknown" contains the calls made before the parent chose a
// residence district.
type DistrictFigures struct {
	Code string `json:"code"`
	Name string `json:"name"`
	Figures
	RequestedTypes []RequestedType `json:"requestedTypes"`
	AvailableTypes int             `json:"availableTypes"`
}

// TypeFigures are the figures of one certificate type.
type TypeFigures struct {
	Code      string `json:"code"`
	Name      string `json:"name"`
	Available bool   `json:"available"`
	Calls     int64  `json:"calls"`
	Successes int64  `json:"successes"`
	NotFound  int64  `json:"notFound"`
	Failures  int64  `json:"failures"`
	// SuccessRate is Successes ÷ Calls.
	SuccessRate float64 `json:"successRate"`
	// Fetched and Uploaded count the registrations with the type from that
	// source, ApplicationsUploaded the applications.
	Fetched              int64   `json:"fetched"`
	Uploaded             int64   `json:"uploaded"`
	ApplicationsUploaded int64   `json:"applicationsUploaded"`
	CallCoverage         float64 `json:"callCoverage"`
	UploadCoverage       float64 `json:"uploadCoverage"`
}

// Panel is the response of the certificate-call panel.
type Panel struct {
	Year  int             `json:"year"`
	Range dashboard.Range `json:"range"`
	Area  dashboard.Area  `json:"area"`
	// CallsAvailable is false when the prefill counters could not be read,
	// so the call figures are zero without meaning none.
	CallsAvailable bool                       `json:"callsAvailable"`
	Totals         Figures                    `json:"totals"`
	ByDistrict     []DistrictFigures          `json:"byDistrict"`
	ByType         []TypeFigures              `json:"byType"`
	APITypes       []enrol.CertificateAPIType `json:"apiTypes"`
	Formulas       []string                   `json:"formulas"`
}

// panel handles GET /dashboard/enrolment/certificates.
func (h *Handlers) panel(w http.ResponseWriter, r *http.Request) error {
	q, err := h.Enrolment.ParseQuery(r)
	if err != nil {
		return err
	}
	// The figures are counted by district only, so a street or
	// kindergarten scope has nothing it may see.
	if q.Scope.Level != access.LevelCity && q.Scope.Level != access.LevelDistrict {
		return access.ErrOutOfScope
	}
	panel, err := h.Build(r.Context(), q)
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, panel)
	return nil
}

// Build computes the panel of the year's range within the scope and area.
func (h *Handlers) Build(ctx context.Context, q dashboardenrolment.Query) (Panel, error) {
	panel := Panel{Year: q.Year, Range: q.Range, Area: q.Area, APITypes: enrol.CertificateAPITypes, Formulas: Formulas}
	districts, err := h.Store.districts(ctx, q)
	if err != nil {
		return panel, err
	}
	rollup, err := h.Store.rollup(ctx, q)
	if err != nil {
		return panel, err
	}
	requirements, err := h.Store.requirements(ctx, q)
	if err != nil {
		return panel, err
	}
	names, err := h.Store.libraryNames(ctx)
	if err != nil {
		return panel, err
	}
	calls, available := h.readCalls(ctx, q, districts)
	panel.CallsAvailable = available

	b := newBuilder(names)
	for _, d := range districts {
		b.district(d.Code, d.Name)
	}
	if q.Area.Level == dashboard.LevelCity && q.Scope.Level == access.LevelCity {
		b.district(enrol.UnknownDistrict, "未选择区")
	}
	b.addCalls(calls)
	b.addRollup(rollup)
	b.addRequirements(requirements)
	panel.Totals, panel.ByDistrict, panel.ByType = b.finish()
	return panel, nil
}

// readCalls returns the prefill counters of the range inside the year's
// enrolment window, and false when Redis cannot be read.
func (h *Handlers) readCalls(ctx context.Context, q dashboardenrolment.Query, districts []district) (callCounts, bool) {
	if h.Calls == nil || h.Calls.Redis == nil {
		return callCounts{}, false
	}
	first, end, err := h.Store.callWindow(ctx, q.Year)
	if err != nil {
		slog.Warn("read the enrolment window for the prefill counters", "year", q.Year, "error", err)
		return callCounts{}, false
	}
	first = max(first, shanghaiDay(q.Range.From))
	end = min(end, shanghaiDay(q.Range.To))
	codes := make([]string, 0, len(districts)+1)
	for _, d := range districts {
		codes = append(codes, d.Code)
	}
	if q.Area.Level == dashboard.LevelCity && q.Scope.Level == access.LevelCity {
		codes = append(codes, enrol.UnknownDistrict)
	}
	calls, err := h.Calls.read(ctx, first, end, codes)
	if err != nil {
		slog.Warn("read the prefill counters", "year", q.Year, "error", err)
		return callCounts{}, false
	}
	return calls, true
}
