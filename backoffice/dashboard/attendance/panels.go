package attendance

import (
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/jmoiron/sqlx"

	"github.com/sh-preschool/preschool/backoffice/access"
	"github.com/sh-preschool/preschool/backoffice/httpx"
	"github.com/sh-preschool/preschool/backoffice/monitoring"
	"github.com/sh-preschool/preschool/shared/apierror"
)

// ReadPermission lets staff see the dashboards.
const ReadPermission = "dashboard.read"

// Handlers serve the attendance panels.
type Handlers struct {
	DB  *sqlx.DB
	Now func() time.Time
	// Cache, when set, keeps responses for a short time.
	Cache  *Cache
	names  *names
	latest latestDayCache
}

// NewHandlers returns the panels' handlers on db.
func NewHandlers(db *sqlx.DB, now func() time.Time) *Handlers {
	return &Handlers{DB: db, Now: now, names: &names{db: db}}
}

// Routes mounts the panels under /dashboard/attendance, behind the
// session middleware.
func (h *Handlers) Routes(r chi.Router) {
	r.Route("/dashboard/attendance", func(r chi.Router) {
		r.Use(access.Require(ReadPermission))
		r.Get("/today", h.serve("day", h.today))
		r.Get("/ranking", h.serve("day", h.ranking))
		r.Get("/morning-check", h.serve("day", h.morningCheck))
		r.Get("/morning-check/abnormal", h.serve("day", h.abnormalDetails))
		r.Get("/trend", h.serve("week", h.trend))
		r.Get("/leave-reasons", h.serve("month", h.leaveReasons))
		r.Get("/arrivals", h.serve("month", h.arrivals))
		r.Get("/report", h.serve("month", h.report))
		r.Get("/report.xlsx", httpx.Handle(h.reportWorkbook))
	})
}

// panelRequest is the parsed request common to every panel: the staff
// member, the node and the period.
type panelRequest struct {
	staff  *access.Staff
	node   Node
	period Period
	query  url.Values
}

func (h *Handlers) parse(r *http.Request, defaultRange string) (panelRequest, error) {
	query := r.URL.Query()
	if query.Get("range") == "" && defaultRange != "" {
		query.Set("range", defaultRange)
	}
	staff := access.StaffFrom(r.Context())
	node, err := parseNode(r.Context(), h.names, query, staff.Scope)
	if err != nil {
		return panelRequest{}, err
	}
	day, err := h.latestDay(r.Context())
	if err != nil {
		return panelRequest{}, err
	}
	period, err := parsePeriod(query, day)
	if err != nil {
		return panelRequest{}, err
	}
	return panelRequest{staff: staff, node: node, period: period, query: query}, nil
}

// Unit is one unit's counts with its key and name.
type Unit struct {
	Key   string `json:"key"`
	Name  string `json:"name"`
	Level string `json:"level"`
	Counts
}

// units names the rows grouped by one key of level.
func (h *Handlers) units(r *http.Request, level string, rows []Row) ([]Unit, error) {
	keys := make([]string, len(rows))
	for i, row := range rows {
		keys[i] = row.Keys[0]
	}
	names, err := h.names.resolve(r.Context(), level, keys)
	if err != nil {
		return nil, err
	}
	units := make([]Unit, len(rows))
	for i, row := range rows {
		units[i] = Unit{Key: row.Keys[0], Name: names[row.Keys[0]], Level: level, Counts: row.Counts}
	}
	return units, nil
}

func (h *Handlers) totals(r *http.Request, request panelRequest) (Counts, error) {
	rows, err := countRows(r.Context(), h.DB, request.staff.Scope, request.node, request.period)
	if err != nil || len(rows) == 0 {
		return Counts{}, err
	}
	return rows[0].Counts, nil
}

type todayResponse struct {
	Node   Node   `json:"node"`
	Period Period `json:"period"`
	Totals Counts `json:"totals"`
	Units  []Unit `json:"units"`
	Grades []Unit `json:"grades"`
}

// today handles GET /dashboard/attendance/today: expected, checked-in,
// not-checked, present, sick and personal leave of the node, of each unit
// one level down, and of each grade.
func (h *Handlers) today(r *http.Request, request panelRequest) (any, error) {
	var err error
	response := todayResponse{Node: request.node, Period: request.period}
	unitRows, err := countRows(r.Context(), h.DB, request.staff.Scope, request.node, request.period, groupUnit)
	if err != nil {
		return nil, err
	}
	if response.Units, err = h.units(r, unitLevel(request.node), unitRows); err != nil {
		return nil, err
	}
	// The units partition the node, so their sum is the node's total.
	for i := range unitRows {
		response.Totals.Add(&unitRows[i].Counts)
	}
	response.Totals.derive()
	gradeRows, err := countRows(r.Context(), h.DB, request.staff.Scope, request.node, request.period, groupGrade)
	if err != nil {
		return nil, err
	}
	if response.Grades, err = h.units(r, groupGrade, gradeRows); err != nil {
		return nil, err
	}
	return response, nil
}

type rankingResponse struct {
	Node   Node         `json:"node"`
	Period Period       `json:"period"`
	By     string       `json:"by"`
	Metric string       `json:"metric"`
	Total  int          `json:"total"`
	Items  []RankedUnit `json:"items"`
}

// RankedUnit is a unit with its place in a ranking and the ranked value.
type RankedUnit struct {
	Rank  int      `json:"rank"`
	Value *float64 `json:"value"`
	Unit
}

const maxRankingItems = 2000

// ranking handles GET /dashboard/attendance/ranking: the node's units
// (by=unit) or all its kindergartens (by=kindergarten) ranked by
// attendance rate (metric=attendance) or not-checked share
// (metric=not_checked), highest first, at most limit (default 20) items.
func (h *Handlers) ranking(r *http.Request, request panelRequest) (any, error) {
	var err error
	by, metric := request.query.Get("by"), request.query.Get("metric")
	if by == "" {
		by = groupUnit
	}
	if metric == "" {
		metric = "attendance"
	}
	if by != groupUnit && by != groupKindergarten {
		return nil, apierror.Invalid("by", "invalid_ranking_unit", "排名对象应为 unit（下级单位）或 kindergarten（园所）。")
	}
	if metric != "attendance" && metric != "not_checked" {
		return nil, apierror.Invalid("metric", "invalid_ranking_metric", "排名指标应为 attendance（出勤率）或 not_checked（未考勤占比）。")
	}
	limit := 20
	if value := request.query.Get("limit"); value != "" {
		if limit, err = strconv.Atoi(value); err != nil || limit < 1 || limit > maxRankingItems {
			return nil, apierror.Invalid("limit", "invalid_limit", "条数应为 1 至 "+strconv.Itoa(maxRankingItems)+"。")
		}
	}

	rows, err := countRows(r.Context(), h.DB, request.staff.Scope, request.node, request.period, by)
	if err != nil {
		return nil, err
	}
	level := unitLevel(request.node)
	if by == groupKindergarten {
		level = access.LevelKindergarten
	}
	value := func(c *Counts) *float64 {
		if metric == "not_checked" {
			return c.NotCheckedShare
		}
		return c.AttendanceRate
	}
	// Units without a rate (no expected children) rank last.
	slices.SortStableFunc(rows, func(a, b Row) int {
		va, vb := value(&a.Counts), value(&b.Counts)
		switch {
		case va == nil && vb == nil:
			return 0
		case va == nil:
			return 1
		case vb == nil:
			return -1
		case *va > *vb:
			return -1
		case *va < *vb:
			return 1
		}
		return 0
	})
	response := rankingResponse{Node: request.node, Period: request.period, By: by, Metric: metric, Total: len(rows), Items: []RankedUnit{}}
	units, err := h.units(r, level, rows[:min(limit, len(rows))])
	if err != nil {
		return nil, err
	}
	for i, unit := range units {
		response.Items = append(response.Items, RankedUnit{Rank: i + 1, Value: value(&unit.Counts), Unit: unit})
	}
	return response, nil
}

// Share is a category's count and its share of the total.
type Share struct {
	Code  int      `json:"code"`
	Label string   `json:"label"`
	Count int64    `json:"count"`
	Share *float64 `json:"share"`
}

func reasonShares(c *Counts) []Share {
	counts := []int64{c.ReasonTemperature, c.ReasonMouth, c.ReasonEyes, c.ReasonSkinHands, c.ReasonSkinFace, c.ReasonOther}
	shares := make([]Share, len(counts))
	for i, count := range counts {
		shares[i] = Share{Code: i + 1, Label: monitoring.ReasonLabels[i+1], Count: count, Share: ratio(count, c.MorningAbnormal)}
	}
	return shares
}

func sickShares(c *Counts) []Share {
	counts := []int64{c.SickDisease, c.SickSymptom, c.SickOther}
	shares := make([]Share, len(counts))
	for i, count := range counts {
		shares[i] = Share{Code: i + 1, Label: monitoring.SickLabels[i+1], Count: count, Share: ratio(count, c.Sick)}
	}
	return shares
}

type morningCheckResponse struct {
	Node          Node    `json:"node"`
	Period        Period  `json:"period"`
	Totals        Counts  `json:"totals"`
	Reasons       []Share `json:"reasons"`
	Units         []Unit  `json:"units"`
	Kindergartens []Unit  `json:"kindergartens"`
}

const abnormalKindergartens = 20

// morningCheck handles GET /dashboard/attendance/morning-check. It returns
// the children checked, normal, abnormal, stayed and sent home, the shares
// of the abnormal reasons, the counts per unit, and the kindergartens with
// the most abnormal results.
func (h *Handlers) morningCheck(r *http.Request, request panelRequest) (any, error) {
	var err error
	response := morningCheckResponse{Node: request.node, Period: request.period}
	if response.Totals, err = h.totals(r, request); err != nil {
		return nil, err
	}
	response.Reasons = reasonShares(&response.Totals)
	unitRows, err := countRows(r.Context(), h.DB, request.staff.Scope, request.node, request.period, groupUnit)
	if err != nil {
		return nil, err
	}
	if response.Units, err = h.units(r, unitLevel(request.node), unitRows); err != nil {
		return nil, err
	}
	kindergartenRows, err := countRows(r.Context(), h.DB, request.staff.Scope, request.node, request.period, groupKindergarten)
	if err != nil {
		return nil, err
	}
	kindergartenRows = slices.DeleteFunc(kindergartenRows, func(row Row) bool { return row.MorningAbnormal == 0 })
	slices.SortStableFunc(kindergartenRows, func(a, b Row) int { return int(b.MorningAbnormal - a.MorningAbnormal) })
	if response.Kindergartens, err = h.units(r, access.LevelKindergarten, kindergartenRows[:min(abnormalKindergartens, len(kindergartenRows))]); err != nil {
		return nil, err
	}
	return response, nil
}

// AbnormalCheck is one abnormal morning check.
type AbnormalCheck struct {
	Day        string `json:"date" db:"day"`
	ChildKey   string `json:"childKey" db:"child_key"`
	ClassName  string `json:"className" db:"class_name"`
	Grade      int    `json:"grade" db:"grade"`
	GradeName  string `json:"gradeName" db:"-"`
	Reason     int    `json:"reason" db:"reason"`
	ReasonName string `json:"reasonName" db:"-"`
	SentHome   bool   `json:"sentHome" db:"sent_home"`
	Note       string `json:"note" db:"note"`
}

const maxAbnormalDetails = 500

// abnormalDetails handles GET /dashboard/attendance/morning-check/abnormal
// for one kindergarten: each abnormal check of the period, newest first,
// at most 500.
func (h *Handlers) abnormalDetails(r *http.Request, request panelRequest) (any, error) {
	if request.node.Level != access.LevelKindergarten {
		return nil, apierror.Invalid("kindergarten", "kindergarten_required", "请选择园所后查看晨检异常明细。")
	}
	scopeCondition := request.staff.Scope.Filter(access.Columns{
		Districts:    []string{"k.district_code"},
		Streets:      []string{"k.street_code"},
		Kindergarten: func(placeholder string) string { return "m.kindergarten_id = " + placeholder },
	}, 4)
	query := `
		SELECT to_char(m.day, 'YYYY-MM-DD') AS day, c.child_key, c.class_name, a.grade, m.reason, m.sent_home, m.note
		FROM morning_check_abnormal m
		JOIN kindergarten k ON k.id = m.kindergarten_id
		JOIN monitoring_child c ON c.id = m.child_id
		JOIN attendance_day a ON a.kindergarten_id = m.kindergarten_id AND a.day = m.day AND a.child_id = m.child_id
		WHERE m.kindergarten_id = $1 AND m.day BETWEEN $2 AND $3 AND ` + scopeCondition.SQL + `
		ORDER BY m.day DESC, c.class_name, c.child_key
		LIMIT ` + strconv.Itoa(maxAbnormalDetails)
	details := []AbnormalCheck{}
	args := append([]any{request.node.KindergartenID, request.period.From, request.period.To}, scopeCondition.Args...)
	if err := h.DB.SelectContext(r.Context(), &details, query, args...); err != nil {
		return nil, err
	}
	for i := range details {
		details[i].GradeName = monitoring.GradeLabels[details[i].Grade]
		details[i].ReasonName = monitoring.ReasonLabels[details[i].Reason]
	}
	return map[string]any{"node": request.node, "period": request.period, "items": details}, nil
}
