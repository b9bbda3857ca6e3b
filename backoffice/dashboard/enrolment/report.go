package enrolment

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/sh-preschool/preschool/backoffice/access"
	"github.com/sh-preschool/preschool/backoffice/audit"
	"github.com/sh-preschool/preschool/backoffice/dashboard"
	"github.com/sh-preschool/preschool/backoffice/httpx"
	"github.com/sh-preschool/preschool/shared/apierror"
	enrol "github.com/sh-preschool/preschool/shared/enrolment"
)

// Statuses and their Chinese labels, per kind.
var (
	registrationStatuses = map[string]string{
		"recorded": "已入库", "verified": "已核验", "needs_manual_verification": "待人工核验",
	}
	applicationStatuses = map[string]string{
		"recorded": "已入库", "documents_verified": "验证通过", "returned": "已退回",
		"admitted": "已录取", "not_admitted": "未录取", "deleted": "已删除",
	}
	kindLabels = map[string]string{KindRegistration: "信息登记", KindApplication: "报名"}
	sexLabels  = map[string]string{"M": "男", "F": "女"}
)

// ActionExport is the audited action of a report export.
const ActionExport = "dashboard.enrolment_report.export"

// ReportFilter is the filters of the enrolment report: the stage (kind),
// statuses, category groups, categories (applications only), supplementary
// or not, and sex. Empty lists match everything.
type ReportFilter struct {
	Kind          string
	Statuses      []string
	Groups        []string
	Categories    []string
	Supplementary *bool
	Sex           string
}

// parseList reads a comma-separated parameter whose values must be keys
// of allowed.
func parseList(r *http.Request, name string, allowed func(string) bool, message string) ([]string, error) {
	value := r.URL.Query().Get(name)
	if value == "" {
		return nil, nil
	}
	values := strings.Split(value, ",")
	for _, v := range values {
		if !allowed(v) {
			return nil, apierror.Invalid(name, "invalid_"+name, message+"："+v)
		}
	}
	slices.Sort(values)
	return slices.Compact(values), nil
}

// parseReportFilter reads the report's filters. categories lists the
// known household categories by code, with their group.
func parseReportFilter(r *http.Request, categories map[string]category) (ReportFilter, error) {
	query := r.URL.Query()
	filter := ReportFilter{Kind: query.Get("kind")}
	if filter.Kind == "" {
		filter.Kind = KindRegistration
	}
	statuses, ok := map[string]map[string]string{KindRegistration: registrationStatuses, KindApplication: applicationStatuses}[filter.Kind]
	if !ok {
		return filter, apierror.Invalid("kind", "invalid_kind", "阶段应为 registration（登记）或 application（报名）。")
	}

	var err error
	filter.Statuses, err = parseList(r, "status", func(v string) bool { _, ok := statuses[v]; return ok }, "状态无效")
	if err != nil {
		return filter, err
	}
	groups := map[string]bool{}
	for _, c := range categories {
		groups[c.Group] = true
	}
	filter.Groups, err = parseList(r, "group", func(v string) bool { return groups[v] }, "户籍大类无效")
	if err != nil {
		return filter, err
	}
	filter.Categories, err = parseList(r, "category", func(v string) bool { _, ok := categories[v]; return ok }, "户籍类别无效")
	if err != nil {
		return filter, err
	}
	if len(filter.Categories) > 0 && filter.Kind == KindRegistration {
		return filter, apierror.Invalid("category", "category_needs_application", "登记数据只有户籍大类，按户籍类别筛选请选择报名阶段。")
	}

	switch value := query.Get("supplementary"); value {
	case "":
	case "true", "false":
		supplementary := value == "true"
		filter.Supplementary = &supplementary
	default:
		return filter, apierror.Invalid("supplementary", "invalid_supplementary", "是否补登记（补报名）应为 true 或 false。")
	}
	filter.Sex = query.Get("sex")
	if filter.Sex != "" && filter.Sex != "M" && filter.Sex != "F" {
		return filter, apierror.Invalid("sex", "invalid_sex", "性别应为 M（男）或 F（女）。")
	}
	return filter, nil
}

type category struct {
	Code  string `db:"code"`
	Name  string `db:"name"`
	Group string `db:"group_code"`
	// GroupName is the group's Chinese name.
	GroupName string `db:"group_name"`
}

func (s *Store) categories(ctx context.Context) (map[string]category, error) {
	var rows []category
	if err := s.DB.SelectContext(ctx, &rows, `SELECT code, name, group_code, group_name FROM household_category`); err != nil {
		return nil, fmt.Errorf("read household categories: %w", err)
	}
	categories := make(map[string]category, len(rows))
	for _, row := range rows {
		categories[row.Code] = row
	}
	return categories, nil
}

// reportSource returns the FROM clause and the WHERE conditions of the
// report's rows, and the columns of district, street, category, status,
// supplementary, sex, number and accepted time.
func reportSource(q Query, filter ReportFilter) (from string, w *dashboard.Where, columns [8]string) {
	w = &dashboard.Where{}
	if filter.Kind == KindRegistration {
		from = "registration r"
		columns = [8]string{"r.residence_district_code", "r.residence_street_code", "r.category_group", "r.status",
			"r.supplementary", "r.child_sex", "r.registration_number", "r.accepted_at"}
		w.AddValue("r.enrolment_year = %s", int16(q.Year))
		w.AddValue("r.accepted_at >= %s", q.Range.From)
		w.AddValue("r.accepted_at < %s", q.Range.To)
		w.Add(q.Scope.Filter(ResidenceColumns, w.Next()))
		w.Add(q.Area.Condition("r.residence_district_code", "r.residence_street_code", w.Next()))
	} else {
		from = `application a
			LEFT JOIN registration r ON r.registration_number = a.registration_number
			LEFT JOIN campus c ON c.id = a.campus_choices[1]`
		columns = [8]string{"a.district_code", "COALESCE(r.residence_street_code, '')", "a.category_code", "a.status",
			"a.supplementary", "COALESCE(r.child_sex, '')", "a.application_number", "a.accepted_at"}
		w.AddValue("a.enrolment_year = %s", int16(q.Year))
		w.AddValue("a.accepted_at >= %s", q.Range.From)
		w.AddValue("a.accepted_at < %s", q.Range.To)
		w.Add(q.Scope.Filter(applicationColumns, w.Next()))
		w.Add(q.Area.Condition("a.district_code", "r.residence_street_code", w.Next()))
		if len(filter.Categories) > 0 {
			w.AddValue("a.category_code = ANY(%s)", filter.Categories)
		}
		if len(filter.Groups) > 0 {
			w.AddValue("a.category_code IN (SELECT code FROM household_category WHERE group_code = ANY(%s))", filter.Groups)
		}
	}
	if filter.Kind == KindRegistration && len(filter.Groups) > 0 {
		w.AddValue("r.category_group = ANY(%s)", filter.Groups)
	}
	if len(filter.Statuses) > 0 {
		w.AddValue(columns[3]+" = ANY(%s)", filter.Statuses)
	} else if filter.Kind == KindApplication {
		// Without a status filter the report counts what the summary
		// counts. Returned and deleted applications show only when the
		// status filter names them.
		w.Add(access.Condition{SQL: liveApplication})
	}
	if filter.Supplementary != nil {
		w.AddValue(columns[4]+" = %s", *filter.Supplementary)
	}
	if filter.Sex != "" {
		w.AddValue(columns[5]+" = %s", filter.Sex)
	}
	return from, w, columns
}

// ReportRow is the count of one district, category and status.
type ReportRow struct {
	DistrictCode string `json:"districtCode" db:"district_code"`
	District     string `json:"district" db:"-"`
	Category     string `json:"category" db:"category"`
	CategoryName string `json:"categoryName" db:"-"`
	Status       string `json:"status" db:"status"`
	StatusName   string `json:"statusName" db:"-"`
	Count        int64  `json:"count" db:"count"`
}

// Report returns the counts per district, category and status that match
// the filter.
func (s *Store) Report(ctx context.Context, q Query, filter ReportFilter) ([]ReportRow, error) {
	from, w, columns := reportSource(q, filter)
	var rows []ReportRow
	err := s.DB.SelectContext(ctx, &rows, `SELECT `+columns[0]+` AS district_code, `+columns[2]+` AS category, `+
		columns[3]+` AS status, count(*) AS count FROM `+from+` WHERE `+w.SQL()+` GROUP BY 1, 2, 3 ORDER BY 1, 2, 3`, w.Args...)
	if err != nil {
		return nil, fmt.Errorf("enrolment report: %w", err)
	}
	categories, err := s.categories(ctx)
	if err != nil {
		return nil, err
	}
	for i := range rows {
		row := &rows[i]
		row.District = s.Names.District(ctx, row.DistrictCode)
		row.CategoryName = categoryLabel(categories, row.Category)
		row.StatusName = statusLabel(filter.Kind, row.Status)
	}
	return rows, nil
}

func categoryLabel(categories map[string]category, code string) string {
	if c, ok := categories[code]; ok {
		return c.GroupName + "／" + c.Name
	}
	for _, c := range categories {
		if c.Group == code {
			return c.GroupName
		}
	}
	return code
}

func statusLabel(kind, status string) string {
	labels := registrationStatuses
	if kind == KindApplication {
		labels = applicationStatuses
	}
	if label, ok := labels[status]; ok {
		return label
	}
	return status
}

// report handles GET /dashboard/enrolment/report.
func (h *Handlers) report(w http.ResponseWriter, r *http.Request) error {
	q, filter, err := h.parseReport(r)
	if err != nil {
		return err
	}
	rows, err := h.Store.Report(r.Context(), q, filter)
	if err != nil {
		return err
	}
	var total int64
	for _, row := range rows {
		total += row.Count
	}
	httpx.WriteJSON(w, http.StatusOK, map[string]any{"year": q.Year, "range": q.Range, "area": q.Area, "kind": filter.Kind, "rows": rows, "total": total})
	return nil
}

func (h *Handlers) parseReport(r *http.Request) (Query, ReportFilter, error) {
	q, err := h.parseQuery(r)
	if err != nil {
		return q, ReportFilter{}, err
	}
	categories, err := h.Store.categories(r.Context())
	if err != nil {
		return q, ReportFilter{}, err
	}
	filter, err := parseReportFilter(r, categories)
	return q, filter, err
}

// ExportRows streams the rows matching the filter, oldest first, each as
// number, stage, district, street, category, status, supplementary, sex
// and accepted time. No personal data leaves the database.
func (s *Store) ExportRows(ctx context.Context, q Query, filter ReportFilter, add func([]any) error) error {
	categories, err := s.categories(ctx)
	if err != nil {
		return err
	}
	from, w, columns := reportSource(q, filter)
	rows, err := s.DB.QueryContext(ctx, `SELECT `+columns[6]+`, `+columns[0]+`, `+columns[1]+`, `+columns[2]+`, `+
		columns[3]+`, `+columns[4]+`, `+columns[5]+`, `+columns[7]+` FROM `+from+` WHERE `+w.SQL()+
		` ORDER BY `+columns[7]+`, `+columns[6], w.Args...)
	if err != nil {
		return fmt.Errorf("enrolment export: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var number, district, street, categoryCode, status, sex string
		var supplementary bool
		var accepted time.Time
		if err := rows.Scan(&number, &district, &street, &categoryCode, &status, &supplementary, &sex, &accepted); err != nil {
			return err
		}
		supplementaryLabel := "否"
		if supplementary {
			supplementaryLabel = "是"
		}
		streetName := ""
		if street != "" {
			streetName = s.Names.Street(ctx, street)
		}
		err := add([]any{
			number, kindLabels[filter.Kind], s.Names.District(ctx, district), streetName,
			categoryLabel(categories, categoryCode), statusLabel(filter.Kind, status), supplementaryLabel,
			sexLabels[sex], accepted.In(enrol.Shanghai).Format("2006-01-02 15:04:05"),
		})
		if err != nil {
			return err
		}
	}
	return rows.Err()
}

// describe returns the filters as the workbook's header prints them.
func (h *Handlers) describe(ctx context.Context, q Query, filter ReportFilter) []dashboard.Filter {
	all := func(values []string, label func(string) string) string {
		if len(values) == 0 {
			return "全部"
		}
		labels := make([]string, len(values))
		for i, v := range values {
			labels[i] = label(v)
		}
		return strings.Join(labels, "、")
	}
	categories, _ := h.Store.categories(ctx)
	area := "全市"
	switch q.Area.Level {
	case dashboard.LevelDistrict:
		area = h.Store.Names.District(ctx, q.Area.DistrictCode)
	case dashboard.LevelStreet:
		area = h.Store.Names.District(ctx, q.Area.DistrictCode) + " " + h.Store.Names.Street(ctx, q.Area.StreetCode)
	}
	period := "全部时间"
	if q.Range.Period != dashboard.PeriodAll {
		period = q.Range.From.Format(time.DateOnly) + " 至 " + q.Range.To.AddDate(0, 0, -1).Format(time.DateOnly)
	}
	supplementary := "全部"
	if filter.Supplementary != nil {
		supplementary = map[bool]string{true: "仅补登记（补报名）", false: "不含补登记（补报名）"}[*filter.Supplementary]
	}
	sex := "全部"
	if filter.Sex != "" {
		sex = sexLabels[filter.Sex]
	}
	return []dashboard.Filter{
		{Name: "年度", Value: strconv.Itoa(q.Year)},
		{Name: "阶段", Value: kindLabels[filter.Kind]},
		{Name: "区域", Value: area},
		{Name: "时间", Value: period},
		{Name: "状态", Value: all(filter.Statuses, func(v string) string { return statusLabel(filter.Kind, v) })},
		{Name: "户籍大类", Value: all(filter.Groups, func(v string) string { return categoryLabel(categories, v) })},
		{Name: "户籍类别", Value: all(filter.Categories, func(v string) string { return categoryLabel(categories, v) })},
		{Name: "补登记（补报名）", Value: supplementary},
		{Name: "性别", Value: sex},
	}
}

// export handles GET /dashboard/enrolment/report.xlsx: every row matching
// the report's filters, streamed, with the filters in the header rows.
func (h *Handlers) export(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	q, filter, err := h.parseReport(r)
	if err != nil {
		return err
	}
	filters := h.describe(ctx, q, filter)
	book := dashboard.Workbook{
		FileName: "招生数据报表",
		Title:    "适龄幼儿入园招生数据报表（" + kindLabels[filter.Kind] + "）",
		Filters:  filters,
		Headers:  []string{"编号", "阶段", "区", "居住街镇", "户籍类别", "状态", "补登记（补报名）", "性别", "提交时间"},
		Rows: func(add func([]any) error) error {
			return h.Store.ExportRows(ctx, q, filter, add)
		},
	}
	written, err := dashboard.WriteWorkbook(w, book, h.now())
	if err != nil {
		return err
	}
	if h.Trail != nil {
		details := make([]string, len(filters))
		for i, f := range filters {
			details[i] = f.Name + "：" + f.Value
		}
		event := audit.Event{
			Action: ActionExport, Resource: "enrolment_report", Outcome: audit.OutcomeSuccess,
			DistrictCode: q.Area.DistrictCode,
			Detail:       "导出 " + strconv.Itoa(written) + " 条；" + strings.Join(details, "；"),
		}
		if err := h.Trail.Record(context.WithoutCancel(ctx), r, access.StaffFrom(ctx), event); err != nil {
			slog.Error("enrolment report export not recorded in the audit trail", "rows", written, "error", err)
		}
	}
	return nil
}
