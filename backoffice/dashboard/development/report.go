package development

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/sh-preschool/preschool/backoffice/access"
	"github.com/sh-preschool/preschool/backoffice/audit"
	"github.com/sh-preschool/preschool/backoffice/dashboard"
	"github.com/sh-preschool/preschool/backoffice/httpx"
	"github.com/sh-preschool/preschool/shared/apierror"
)

// ActionExport is the audited action of a report export.
const ActionExport = "dashboard.development_report.export"

// Labels of the codes the reports print.
var (
	levelLabels = map[string]string{
		"model": "示范园", "level1": "一级园", "level2": "二级园", "level3": "三级园", "unrated": "未定级",
	}
	ownershipLabels = map[string]string{"public": "公办", "private": "民办"}
	roleLabels      = map[string]string{
		"principal": "园长", "teacher": "专任教师", "care_worker": "保育员", "health_worker": "保健员",
		"nutrition_worker": "营养员", "other": "其他",
	}
	educationLabels   = map[string]string{"postgraduate": "研究生", "bachelor": "本科", "associate": "专科", "secondary": "高中（中专）及以下"}
	titleLabels       = map[string]string{"senior": "高级", "middle": "中级", "junior": "初级", "none": "未定职称"}
	gradeLabels       = map[string]string{"nursery": "托班", "junior": "小班", "middle": "中班", "senior": "大班", "mixed": "混龄班"}
	nationalityLabels = map[string]string{"chinese": "中国", "hmt": "港澳台", "foreign": "外籍"}
	hukouLabels       = map[string]string{
		"district": "本区户籍", "city": "本市外区户籍", "other_province": "外省市户籍", "none": "无内地户籍",
	}
)

// Ages (whole years on 31 August of the census year) the child census
// allows.
const (
	minChildAge = 0
	maxChildAge = 7
)

func ageLabel(age int) string { return strconv.Itoa(age) + " 岁" }

// Report tables.
const (
	TableInstitutions = "institutions"
	TableChildren     = "children"
	TableStaff        = "staff"
	TableQuality      = "quality"
)

var tableTitles = map[string]string{
	TableInstitutions: "幼儿园机构情况表",
	TableChildren:     "在园幼儿情况表",
	TableStaff:        "教职工情况表",
	TableQuality:      "优质均衡发展指标表（按区）",
}

// Quality standards a district meets or not in the quality table.
const (
	PublicShareStandard    = 0.5
	InclusiveStandard      = 0.85
	ClassSizeStandard      = 0.9
	ChildStaffRatioCeiling = 15.0
)

// ReportFilter is the filters of the development report: the table, the
// ownership, inclusive or not, and the grade levels, and for the children
// table the nationalities, hukou kinds and ages. Empty means all.
type ReportFilter struct {
	Table         string
	Ownership     string
	Inclusive     *bool
	Levels        []string
	Nationalities []string
	Hukou         []string
	Ages          []int
}

func parseReportFilter(r *http.Request) (ReportFilter, error) {
	query := r.URL.Query()
	filter := ReportFilter{Table: query.Get("table"), Ownership: query.Get("ownership")}
	if filter.Table == "" {
		filter.Table = TableInstitutions
	}
	if _, ok := tableTitles[filter.Table]; !ok {
		return filter, apierror.Invalid("table", "invalid_table", "报表应为 institutions、children、staff 或 quality。")
	}
	if filter.Ownership != "" && ownershipLabels[filter.Ownership] == "" {
		return filter, apierror.Invalid("ownership", "invalid_ownership", "办别应为 public（公办）或 private（民办）。")
	}
	switch value := query.Get("inclusive"); value {
	case "":
	case "true", "false":
		inclusive := value == "true"
		filter.Inclusive = &inclusive
	default:
		return filter, apierror.Invalid("inclusive", "invalid_inclusive", "是否普惠应为 true 或 false。")
	}
	if value := query.Get("level"); value != "" {
		for _, level := range strings.Split(value, ",") {
			if levelLabels[level] == "" {
				return filter, apierror.Invalid("level", "invalid_level", "等级无效："+level+"，应为 model、level1、level2、level3 或 unrated。")
			}
			filter.Levels = append(filter.Levels, level)
		}
		slices.Sort(filter.Levels)
		filter.Levels = slices.Compact(filter.Levels)
	}
	var err error
	if filter.Nationalities, err = codeList(query.Get("nationality"), nationalityLabels, "nationality", "invalid_nationality",
		"国籍无效：%s，应为 chinese（中国）、hmt（港澳台）或 foreign（外籍）。"); err != nil {
		return filter, err
	}
	if filter.Hukou, err = codeList(query.Get("hukou"), hukouLabels, "hukou", "invalid_hukou",
		"户籍无效：%s，应为 district（本区）、city（本市外区）、other_province（外省市）或 none（无内地户籍）。"); err != nil {
		return filter, err
	}
	if value := query.Get("age"); value != "" {
		for _, part := range strings.Split(value, ",") {
			age, err := strconv.Atoi(part)
			if err != nil || age < minChildAge || age > maxChildAge {
				return filter, apierror.Invalid("age", "invalid_age", fmt.Sprintf("年龄无效：%s，应为 %d 至 %d 的整岁数。", part, minChildAge, maxChildAge))
			}
			filter.Ages = append(filter.Ages, age)
		}
		slices.Sort(filter.Ages)
		filter.Ages = slices.Compact(filter.Ages)
	}
	if filter.Table != TableChildren && (len(filter.Nationalities) > 0 || len(filter.Hukou) > 0 || len(filter.Ages) > 0) {
		return filter, apierror.Invalid("table", "child_filter_needs_children_table", "国籍、户籍和年龄筛选仅适用于在园幼儿情况表（table=children）。")
	}
	return filter, nil
}

// codeList parses a comma-separated list of codes that must be keys of
// labels, sorted and without repeats. message has one %s for the invalid
// code.
func codeList(value string, labels map[string]string, field, code, message string) ([]string, error) {
	if value == "" {
		return nil, nil
	}
	var codes []string
	for _, part := range strings.Split(value, ",") {
		if labels[part] == "" {
			return nil, apierror.Invalid(field, code, fmt.Sprintf(message, part))
		}
		codes = append(codes, part)
	}
	slices.Sort(codes)
	return slices.Compact(codes), nil
}

func (f ReportFilter) apply(w *dashboard.Where) {
	if f.Ownership != "" {
		w.AddValue("k.ownership = %s", f.Ownership)
	}
	if f.Inclusive != nil {
		w.AddValue("k.inclusive = %s", *f.Inclusive)
	}
	if len(f.Levels) > 0 {
		w.AddValue("k.level = ANY(%s)", f.Levels)
	}
}

// report is a table's headers and a query whose columns match them.
type report struct {
	headers []string
	query   string
	args    []any
	// convert turns a scanned row into printable values.
	convert func(ctx context.Context, values []any) []any
}

func (s *Store) buildReport(q Query, filter ReportFilter) report {
	w := q.where()
	filter.apply(w)
	year := w.Next()
	w.Args = append(w.Args, int16(q.Year))
	yearArg := "$" + strconv.Itoa(year)
	switch filter.Table {
	case TableChildren:
		if len(filter.Nationalities) > 0 {
			w.AddValue("c.nationality = ANY(%s)", filter.Nationalities)
		}
		if len(filter.Hukou) > 0 {
			w.AddValue("c.hukou = ANY(%s)", filter.Hukou)
		}
		if len(filter.Ages) > 0 {
			ages := make([]int16, len(filter.Ages))
			for i, age := range filter.Ages {
				ages[i] = int16(age)
			}
			w.AddValue("c.age = ANY(%s)", ages)
		}
		return report{
			headers: []string{"园所", "区", "街镇", "办别", "等级", "年级", "国籍", "户籍", "年龄", "男", "女", "合计"},
			query: `SELECT k.name, k.district_code, k.street_code, k.ownership, k.level, c.grade, c.nationality, c.hukou, c.age,
				       sum(c.children) FILTER (WHERE c.sex = 'male') AS boys, sum(c.children) FILTER (WHERE c.sex = 'female') AS girls,
				       sum(c.children) AS children
				FROM kindergarten k JOIN kindergarten_child_census c ON c.kindergarten_id = k.id AND c.census_year = ` + yearArg + `
				WHERE ` + w.SQL() + `
				GROUP BY k.id, c.grade, c.nationality, c.hukou, c.age
				ORDER BY k.district_code, k.street_code, k.id,
				array_position(ARRAY['nursery', 'junior', 'middle', 'senior', 'mixed'], c.grade),
				array_position(ARRAY['chinese', 'hmt', 'foreign'], c.nationality),
				array_position(ARRAY['district', 'city', 'other_province', 'none'], c.hukou), c.age`,
			args: w.Args,
			convert: func(ctx context.Context, v []any) []any {
				return []any{v[0], s.Names.District(ctx, str(v[1])), s.Names.Street(ctx, str(v[2])), ownershipLabels[str(v[3])],
					levelLabels[str(v[4])], gradeLabels[str(v[5])], nationalityLabels[str(v[6])], hukouLabels[str(v[7])],
					ageLabel(int(num(v[8]))), int64(num(v[9])), int64(num(v[10])), int64(num(v[11]))}
			},
		}
	case TableStaff:
		return report{
			headers: []string{"园所", "区", "街镇", "办别", "岗位", "学历", "职称", "人数"},
			query: `SELECT k.name, k.district_code, k.street_code, k.ownership, st.role, st.education, st.title, st.staff
				FROM kindergarten k JOIN kindergarten_staff_census st ON st.kindergarten_id = k.id AND st.census_year = ` + yearArg + `
				WHERE ` + w.SQL() + ` ORDER BY k.district_code, k.street_code, k.id, st.role, st.education, st.title`,
			args: w.Args,
			convert: func(ctx context.Context, v []any) []any {
				return []any{v[0], s.Names.District(ctx, str(v[1])), s.Names.Street(ctx, str(v[2])), ownershipLabels[str(v[3])],
					roleLabels[str(v[4])], educationLabels[str(v[5])], titleLabels[str(v[6])], v[7]}
			},
		}
	case TableQuality:
		return report{
			headers: []string{"区", "在园幼儿", "公办园幼儿占比", "达标", "普惠性覆盖率", "达标", "班额达标率", "达标",
				"本科及以上专任教师占比", "生师比（幼儿 ÷ 教职工）", "达标"},
			query: `WITH children AS (
				    SELECT k.district_code, sum(c.boys + c.girls) AS children,
				           sum(c.boys + c.girls) FILTER (WHERE k.ownership = 'public') AS public_children,
				           sum(c.boys + c.girls) FILTER (WHERE k.ownership = 'public' OR k.inclusive) AS inclusive_children,
				           sum(c.classes) AS classes, sum(c.oversized_classes) AS oversized
				    FROM kindergarten k JOIN kindergarten_class_census c ON c.kindergarten_id = k.id AND c.census_year = ` + yearArg + `
				    WHERE ` + w.SQL() + ` GROUP BY 1
				), staff AS (
				    SELECT k.district_code, sum(st.staff) AS staff,
				           sum(st.staff) FILTER (WHERE st.role = 'teacher') AS teachers,
				           sum(st.staff) FILTER (WHERE st.role = 'teacher' AND st.education IN ('postgraduate', 'bachelor')) AS bachelor
				    FROM kindergarten k JOIN kindergarten_staff_census st ON st.kindergarten_id = k.id AND st.census_year = ` + yearArg + `
				    WHERE ` + w.SQL() + ` GROUP BY 1
				)
				SELECT c.district_code, c.children, COALESCE(c.public_children, 0), COALESCE(c.inclusive_children, 0),
				       c.classes, c.oversized, COALESCE(s.staff, 0), COALESCE(s.teachers, 0), COALESCE(s.bachelor, 0)
				FROM children c LEFT JOIN staff s ON s.district_code = c.district_code ORDER BY 1`,
			args: w.Args,
			convert: func(ctx context.Context, v []any) []any {
				children, public, inclusive := num(v[1]), num(v[2]), num(v[3])
				classes, oversized, staff, teachers, bachelor := num(v[4]), num(v[5]), num(v[6]), num(v[7]), num(v[8])
				publicShare := dashboard.Rate(public, children)
				inclusiveShare := dashboard.Rate(inclusive, children)
				classSize := dashboard.Rate(classes-oversized, classes)
				ratio := dashboard.Rate(children, staff)
				return []any{s.Names.District(ctx, str(v[0])), int64(children),
					percentCell(publicShare), met(publicShare >= PublicShareStandard),
					percentCell(inclusiveShare), met(inclusiveShare >= InclusiveStandard),
					percentCell(classSize), met(classSize >= ClassSizeStandard),
					percentCell(dashboard.Rate(bachelor, teachers)),
					strconv.FormatFloat(ratio, 'f', 1, 64), met(staff > 0 && ratio <= ChildStaffRatioCeiling)}
			},
		}
	}
	return report{
		headers: []string{"园所", "组织机构代码", "区", "街镇", "办别", "普惠性", "等级", "教育集团", "计划班级数", "实际班级数",
			"托班", "小班", "中班", "大班", "混龄班", "在园幼儿", "教职工"},
		query: `SELECT k.name, k.org_code, k.district_code, k.street_code, k.ownership, k.inclusive, k.level,
			COALESCE(k.education_group, ''),
			COALESCE((SELECT sum(c.planned_classes) FROM kindergarten_class_census c WHERE c.kindergarten_id = k.id AND c.census_year = ` + yearArg + `), 0),
			COALESCE((SELECT sum(c.classes) FROM kindergarten_class_census c WHERE c.kindergarten_id = k.id AND c.census_year = ` + yearArg + `), 0),
			COALESCE((SELECT string_agg(c.grade || ':' || c.classes, ',') FROM kindergarten_class_census c WHERE c.kindergarten_id = k.id AND c.census_year = ` + yearArg + `), ''),
			COALESCE((SELECT sum(c.boys + c.girls) FROM kindergarten_class_census c WHERE c.kindergarten_id = k.id AND c.census_year = ` + yearArg + `), 0),
			COALESCE((SELECT sum(st.staff) FROM kindergarten_staff_census st WHERE st.kindergarten_id = k.id AND st.census_year = ` + yearArg + `), 0)
			FROM kindergarten k WHERE ` + w.SQL() + ` ORDER BY k.district_code, k.street_code, k.id`,
		args: w.Args,
		convert: func(ctx context.Context, v []any) []any {
			perGrade := map[string]string{}
			for _, part := range strings.Split(str(v[10]), ",") {
				if grade, classes, ok := strings.Cut(part, ":"); ok {
					perGrade[grade] = classes
				}
			}
			inclusive := "否"
			if b, _ := v[5].(bool); b {
				inclusive = "是"
			}
			return []any{v[0], strings.TrimSpace(str(v[1])), s.Names.District(ctx, str(v[2])), s.Names.Street(ctx, str(v[3])),
				ownershipLabels[str(v[4])], inclusive, levelLabels[str(v[6])], v[7], v[8], v[9],
				perGrade["nursery"], perGrade["junior"], perGrade["middle"], perGrade["senior"], perGrade["mixed"], v[11], v[12]}
		},
	}
}

func str(value any) string {
	switch v := value.(type) {
	case string:
		return v
	case []byte:
		return string(v)
	}
	return fmt.Sprint(value)
}

func num(value any) float64 {
	switch v := value.(type) {
	case int64:
		return float64(v)
	case int32:
		return float64(v)
	case float64:
		return v
	}
	f, _ := strconv.ParseFloat(str(value), 64)
	return f
}

func percentCell(rate float64) string { return strconv.FormatFloat(rate*100, 'f', 1, 64) + "%" }

func met(ok bool) string {
	if ok {
		return "达标"
	}
	return "未达标"
}

// ReportRows streams the rows of the filter's table, each converted to
// printable values, to add.
func (s *Store) ReportRows(ctx context.Context, q Query, filter ReportFilter, add func([]any) error) ([]string, error) {
	built := s.buildReport(q, filter)
	rows, err := s.DB.QueryContext(ctx, built.query, built.args...)
	if err != nil {
		return nil, fmt.Errorf("development report %s: %w", filter.Table, err)
	}
	defer rows.Close()
	columns, err := rows.Columns()
	if err != nil {
		return nil, err
	}
	for rows.Next() {
		values := make([]any, len(columns))
		pointers := make([]any, len(columns))
		for i := range values {
			pointers[i] = &values[i]
		}
		if err := rows.Scan(pointers...); err != nil {
			return nil, err
		}
		if err := add(built.convert(ctx, values)); err != nil {
			return nil, err
		}
	}
	return built.headers, rows.Err()
}

// maxReportPageRows bounds the rows the JSON report returns; the export
// streams them all.
const maxReportPageRows = 500

// report handles GET /dashboard/development/report: the headers, the
// first maxReportPageRows rows and the total.
func (h *Handlers) report(w http.ResponseWriter, r *http.Request) error {
	q, err := h.parseQuery(r)
	if err != nil {
		return err
	}
	filter, err := parseReportFilter(r)
	if err != nil {
		return err
	}
	var rows [][]any
	total := 0
	headers, err := h.Store.ReportRows(r.Context(), q, filter, func(values []any) error {
		total++
		if len(rows) < maxReportPageRows {
			rows = append(rows, values)
		}
		return nil
	})
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, map[string]any{
		"year": q.Year, "area": q.Area, "table": filter.Table, "title": tableTitles[filter.Table],
		"headers": headers, "rows": rows, "total": total,
	})
	return nil
}

// export handles GET /dashboard/development/report.xlsx.
func (h *Handlers) export(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	q, err := h.parseQuery(r)
	if err != nil {
		return err
	}
	filter, err := parseReportFilter(r)
	if err != nil {
		return err
	}

	filters := h.describe(ctx, q, filter)
	built := h.Store.buildReport(q, filter)
	book := dashboard.Workbook{
		FileName: tableTitles[filter.Table],
		Title:    tableTitles[filter.Table] + "（" + strconv.Itoa(q.Year) + " 年度）",
		Filters:  filters,
		Headers:  built.headers,
		Rows: func(add func([]any) error) error {
			_, err := h.Store.ReportRows(ctx, q, filter, add)
			return err
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
			Action: ActionExport, Resource: "development_report", Outcome: audit.OutcomeSuccess,
			DistrictCode: q.Area.DistrictCode,
			Detail:       "导出 " + strconv.Itoa(written) + " 条；" + strings.Join(details, "；"),
		}
		if err := h.Trail.Record(context.WithoutCancel(ctx), r, access.StaffFrom(ctx), event); err != nil {
			slog.Error("development report export not recorded in the audit trail", "rows", written, "error", err)
		}
	}
	return nil
}

func (h *Handlers) describe(ctx context.Context, q Query, filter ReportFilter) []dashboard.Filter {
	area := "全市"
	switch q.Area.Level {
	case dashboard.LevelDistrict:
		area = h.Store.Names.District(ctx, q.Area.DistrictCode)
	case dashboard.LevelStreet:
		area = h.Store.Names.District(ctx, q.Area.DistrictCode) + " " + h.Store.Names.Street(ctx, q.Area.StreetCode)
	}
	ownership := "全部"
	if filter.Ownership != "" {
		ownership = ownershipLabels[filter.Ownership]
	}
	inclusive := "全部"
	if filter.Inclusive != nil {
		inclusive = map[bool]string{true: "仅普惠性", false: "仅非普惠性"}[*filter.Inclusive]
	}
	filters := []dashboard.Filter{
		{Name: "年度", Value: strconv.Itoa(q.Year)},
		{Name: "报表", Value: tableTitles[filter.Table]},
		{Name: "区域", Value: area},
		{Name: "办别", Value: ownership},
		{Name: "普惠性", Value: inclusive},
		{Name: "等级", Value: labelList(filter.Levels, levelLabels)},
	}
	if filter.Table == TableChildren {
		ages := make([]string, len(filter.Ages))
		for i, age := range filter.Ages {
			ages[i] = ageLabel(age)
		}
		filters = append(filters,
			dashboard.Filter{Name: "国籍", Value: labelList(filter.Nationalities, nationalityLabels)},
			dashboard.Filter{Name: "户籍", Value: labelList(filter.Hukou, hukouLabels)},
			dashboard.Filter{Name: "年龄（8 月 31 日整岁）", Value: allIfEmpty(strings.Join(ages, "、"))},
		)
	}
	return filters
}

// labelList returns the labels of codes joined with 、, or 全部 for none.
func labelList(codes []string, labels map[string]string) string {
	names := make([]string, len(codes))
	for i, code := range codes {
		names[i] = labels[code]
	}
	return allIfEmpty(strings.Join(names, "、"))
}

func allIfEmpty(value string) string {
	if value == "" {
		return "全部"
	}
	return value
}
