package feedback

import (
	"database/sql"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/jmoiron/sqlx"

	"github.com/sh-preschool/preschool/backoffice/access"
	"github.com/sh-preschool/preschool/backoffice/httpx"
	"github.com/sh-preschool/preschool/shared/apierror"
	shared "github.com/sh-preschool/preschool/shared/feedback"
)

// PermissionRead is the permission of the feedback pages: the reports
// feed the dashboards.
const PermissionRead = "dashboard.read"

// Handlers serve the feedback list and its counts.
type Handlers struct {
	DB *sqlx.DB
	// DistrictName returns a district's Chinese name.
	DistrictName func(code string) (string, bool)
}

// Routes mounts the handlers under /api/v1 behind the session middleware.
func (h *Handlers) Routes(r chi.Router) {
	r.Group(func(r chi.Router) {
		r.Use(access.Require(PermissionRead))
		r.Get("/feedback", httpx.Handle(h.list))
		r.Get("/feedback/summary", httpx.Handle(h.summary))
	})
}

// columns tie a report (alias x) to a data scope: the district of the page
// the parent was on. A report without a district is the city's only.
var columns = access.Columns{Districts: []string{"x.district_code"}}

var statusLabels = map[string]string{
	StatusPending: "待转送", StatusSending: "转送中", StatusDelivered: "已转送好差评", StatusFailed: "转送失败",
}

var triggerLabels = map[string]string{
	shared.TriggerIdle: "停留超时", shared.TriggerLeave: "中途离开", shared.TriggerManual: "主动反映",
}

// Item is one report in the list. The phone is masked.
type Item struct {
	ID             int64          `db:"id" json:"id"`
	Category       string         `db:"category" json:"category"`
	CategoryName   string         `db:"-" json:"categoryName"`
	Body           string         `db:"body" json:"body"`
	Page           string         `db:"page" json:"page"`
	Step           string         `db:"step" json:"step"`
	Trigger        string         `db:"trigger" json:"trigger"`
	TriggerLabel   string         `db:"-" json:"triggerLabel"`
	DistrictCode   sql.NullString `db:"district_code" json:"-"`
	District       string         `db:"-" json:"district"`
	PhoneMasked    sql.NullString `db:"phone_masked" json:"-"`
	Phone          string         `db:"-" json:"phone"`
	SubmittedAt    time.Time      `db:"submitted_at" json:"submittedAt"`
	Status         string         `db:"delivery_status" json:"status"`
	StatusLabel    string         `db:"-" json:"statusLabel"`
	Attempts       int            `db:"attempts" json:"attempts"`
	TicketID       sql.NullString `db:"rating_ticket_id" json:"-"`
	RatingTicketID string         `db:"-" json:"ratingTicketId"`
	LastError      sql.NullString `db:"last_error" json:"-"`
	Error          string         `db:"-" json:"lastError"`
}

// filter is the list's validated query: each condition is optional.
type filter struct {
	category string
	district string
	status   string
}

func (h *Handlers) parseFilter(r *http.Request, staff *access.Staff) (filter, error) {
	query := r.URL.Query()
	f := filter{category: query.Get("category"), district: query.Get("district"), status: query.Get("status")}
	if _, ok := shared.CategoryName(f.category); f.category != "" && !ok {
		return f, apierror.Invalid("category", "invalid_category", "问题类型筛选条件无效，请重新选择。")
	}
	if _, ok := statusLabels[f.status]; f.status != "" && !ok {
		return f, apierror.Invalid("status", "invalid_status", "转送状态筛选条件无效，请重新选择。")
	}
	if f.district != "" {
		if _, ok := h.DistrictName(f.district); !ok {
			return f, apierror.Invalid("district", "unknown_district", "所选的区不存在，请重新选择。")
		}
		if !staff.Scope.AllowsDistrict(f.district) {
			return f, access.ErrOutOfScope
		}
	}
	return f, nil
}

// where returns the WHERE clause of the scope and filter with its
// arguments. Placeholders start at $1.
func (f filter) where(scope access.Scope) (string, []any) {
	condition := scope.Filter(columns, 1)
	clause, args := condition.SQL, append([]any{}, condition.Args...)
	add := func(column, value string) {
		if value == "" {
			return
		}
		args = append(args, value)
		clause += " AND " + column + " = $" + strconv.Itoa(len(args))
	}
	add("x.category", f.category)
	add("x.district_code", f.district)
	add("x.delivery_status", f.status)
	return clause, args
}

// list handles GET /api/v1/feedback?category=&district=&status=&page=&size=,
// newest first.
func (h *Handlers) list(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	staff := access.StaffFrom(ctx)
	page, err := httpx.ParsePage(r)
	if err != nil {
		return err
	}
	f, err := h.parseFilter(r, staff)
	if err != nil {
		return err
	}

	clause, args := f.where(staff.Scope)
	var total int
	if err := h.DB.GetContext(ctx, &total, `SELECT count(*) FROM service_feedback x WHERE `+clause, args...); err != nil {
		return err
	}

	args = append(args, page.Size, page.Offset())
	items := []Item{}
	err = h.DB.SelectContext(ctx, &items, `
		SELECT x.id, x.category, x.body, x.page, x.step, x.trigger, x.district_code, x.phone_masked, x.submitted_at,
		       x.delivery_status, x.attempts, x.rating_ticket_id, x.last_error
		FROM service_feedback x
		WHERE `+clause+`
		ORDER BY x.submitted_at DESC, x.id DESC
		LIMIT $`+strconv.Itoa(len(args)-1)+` OFFSET $`+strconv.Itoa(len(args)), args...)
	if err != nil {
		return err
	}

	for i := range items {
		item := &items[i]
		item.CategoryName, _ = shared.CategoryName(item.Category)
		item.TriggerLabel = triggerLabels[item.Trigger]
		item.District = h.districtLabel(item.DistrictCode)
		item.Phone = item.PhoneMasked.String
		item.StatusLabel = statusLabels[item.Status]
		item.RatingTicketID = item.TicketID.String
		item.Error = item.LastError.String
	}
	httpx.WriteJSON(w, http.StatusOK, map[string]any{"total": total, "page": page.Number, "size": page.Size, "items": items})
	return nil
}

func (h *Handlers) districtLabel(code sql.NullString) string {
	if !code.Valid {
		return "未选择区"
	}
	if name, ok := h.DistrictName(code.String); ok {
		return name
	}
	return code.String
}

// Count is one group of the summary.
type Count struct {
	Code  string `json:"code"`
	Name  string `json:"name"`
	Count int    `json:"count"`
}

// Summary is the response of GET /api/v1/feedback/summary.
type Summary struct {
	Total      int     `json:"total"`
	Categories []Count `json:"categories"`
	Districts  []Count `json:"districts"`
	Statuses   []Count `json:"statuses"`
}

// summary handles GET /api/v1/feedback/summary?category=&district=&status=:
// the number of reports by category, by district and by delivery status
// within the scope and filter.
func (h *Handlers) summary(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	staff := access.StaffFrom(ctx)
	f, err := h.parseFilter(r, staff)
	if err != nil {
		return err
	}
	clause, args := f.where(staff.Scope)
	body := Summary{Categories: []Count{}, Districts: []Count{}, Statuses: []Count{}}
	counts := map[string]map[string]int{}
	for _, column := range []string{"category", "district_code", "delivery_status"} {
		rows, err := h.DB.QueryContext(ctx, `
			SELECT COALESCE(x.`+column+`, ''), count(*) FROM service_feedback x WHERE `+clause+` GROUP BY 1`, args...)
		if err != nil {
			return err
		}
		counts[column] = map[string]int{}
		for rows.Next() {
			var code string
			var n int
			if err := rows.Scan(&code, &n); err != nil {
				rows.Close()
				return err
			}
			counts[column][code] = n
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
	}

	for _, category := range shared.Categories {
		body.Categories = append(body.Categories, Count{Code: category.Code, Name: category.Name, Count: counts["category"][category.Code]})
		body.Total += counts["category"][category.Code]
	}
	for code, n := range counts["district_code"] {
		body.Districts = append(body.Districts, Count{Code: code, Name: h.districtLabel(sql.NullString{String: code, Valid: code != ""}), Count: n})
	}
	sortCounts(body.Districts)
	for _, status := range []string{StatusPending, StatusSending, StatusDelivered, StatusFailed} {
		body.Statuses = append(body.Statuses, Count{Code: status, Name: statusLabels[status], Count: counts["delivery_status"][status]})
	}
	httpx.WriteJSON(w, http.StatusOK, body)
	return nil
}

// sortCounts orders groups by count, largest first, then by code.
func sortCounts(list []Count) {
	slices.SortFunc(list, func(a, b Count) int {
		if a.Count != b.Count {
			return b.Count - a.Count
		}
		return strings.Compare(a.Code, b.Code)
	})
}
