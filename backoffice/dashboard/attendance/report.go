package attendance

import (
	"archive/zip"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/xuri/excelize/v2"

	"github.com/sh-preschool/preschool/backoffice/access"
	"github.com/sh-preschool/preschool/backoffice/monitoring"
	"github.com/sh-preschool/preschool/shared/apierror"
)

// reportOptions are the report's parameters beyond node and period: the
// statistics period of each row (day, month or year) and the row unit
// (the node's units or every kindergarten).
type reportOptions struct {
	granularity string
	by          string
	level       string
}

var granularityLabels = map[string]string{"day": "日", "month": "月", "quarter": "季度", "year": "年"}

var rangeLabels = map[string]string{"day": "日", "week": "周", "month": "月", "quarter": "季度", "year": "年", "custom": "自定义"}

func parseReportOptions(request panelRequest) (reportOptions, error) {
	options := reportOptions{granularity: request.query.Get("granularity"), by: request.query.Get("by")}
	if options.granularity == "" {
		options.granularity = "day"
	}
	if _, ok := granularities[options.granularity]; !ok {
		return options, apierror.Invalid("granularity", "invalid_granularity", "统计周期应为 day、month、quarter 或 year。")
	}
	switch options.by {
	case "", groupUnit:
		options.by, options.level = groupUnit, unitLevel(request.node)
	case groupKindergarten:
		options.level = access.LevelKindergarten
	default:
		return options, apierror.Invalid("by", "invalid_report_unit", "统计单位应为 unit（下级单位）或 kindergarten（园所）。")
	}
	return options, nil
}

// ReportRow is one row of the attendance and morning-check report.
type ReportRow struct {
	Period string `json:"period"`
	Unit
}

const maxReportPageRows = 1000

// report handles GET /dashboard/attendance/report: attendance (rate, sick
// and personal leave, sick-leave types) and morning checks (normal and
// abnormal rates, reasons) per period (granularity) and unit. It returns
// one page of at most 1,000 rows (page, from 1), and report.xlsx exports
// all rows.
func (h *Handlers) report(r *http.Request, request panelRequest) (any, error) {
	var err error
	options, err := parseReportOptions(request)
	if err != nil {
		return nil, err
	}
	page := 1
	if value := request.query.Get("page"); value != "" {
		if page, err = strconv.Atoi(value); err != nil || page < 1 {
			return nil, apierror.Invalid("page", "invalid_page", "页码应为正整数。")
		}
	}

	rows, err := countRows(r.Context(), h.DB, request.staff.Scope, request.node, request.period, granularities[options.granularity], options.by)
	if err != nil {
		return nil, err
	}
	total := len(rows)
	start := min((page-1)*maxReportPageRows, total)
	rows = rows[start:min(start+maxReportPageRows, total)]
	keys := make([]string, len(rows))
	for i, row := range rows {
		keys[i] = row.Keys[1]
	}
	names, err := h.names.resolve(r.Context(), options.level, keys)
	if err != nil {
		return nil, err
	}

	items := make([]ReportRow, len(rows))
	for i, row := range rows {
		items[i] = ReportRow{Period: row.Keys[0], Unit: Unit{Key: row.Keys[1], Name: names[row.Keys[1]], Level: options.level, Counts: row.Counts}}
	}
	return map[string]any{
		"node": request.node, "period": request.period, "granularity": options.granularity, "by": options.by,
		"total": total, "page": page, "pageSize": maxReportPageRows, "items": items,
	}, nil
}

var reportHeaders = []any{"统计周期", "单位", "应考勤", "实考勤", "出勤", "出勤率", "病假", "事假", "未考勤", "未考勤占比",
	"病假-疾病类", "病假-症状类", "病假-其他", "晨检人数", "晨检正常", "晨检正常率", "晨检异常", "晨检异常率", "异常留园", "异常返家",
	"体温异常", "口腔异常", "眼部异常", "皮肤（手部）异常", "皮肤（面部）异常", "其他异常"}

func rateCell(rate *float64) any {
	if rate == nil {
		return "—"
	}
	return strconv.FormatFloat(*rate*100, 'f', 2, 64) + "%"
}

// countingWriter counts the bytes written, to tell whether the response has
// started.
type countingWriter struct {
	w       io.Writer
	written int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.written += int64(n)
	return n, err
}

// reportWorkbook handles GET /dashboard/attendance/report.xlsx: every row
// of the report as an xlsx workbook whose first rows state the filters.
// Rows stream from the database through excelize's StreamWriter, which
// keeps at most 16 MiB in memory and spills the rest to a temporary file.
func (h *Handlers) reportWorkbook(w http.ResponseWriter, r *http.Request) error {
	request, err := h.parse(r, "month")
	if err != nil {
		return err
	}
	options, err := parseReportOptions(request)
	if err != nil {
		return err
	}
	file := excelize.NewFile()
	defer func() {
		if err := file.Close(); err != nil {
			slog.Error("attendance report: remove temporary files", "error", err)
		}
	}()
	written, err := h.writeReport(r.Context(), file, request, options)
	if err != nil {
		return err
	}

	name := "来离园监测报表-" + time.Now().In(monitoring.Shanghai).Format("20060102-150405") + ".xlsx"
	header := w.Header()
	header.Set("Content-Type", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
	header.Set("Content-Disposition", `attachment; filename="attendance-report.xlsx"; filename*=UTF-8''`+url.PathEscape(name))
	header.Set("Cache-Control", "no-store")
	response := &countingWriter{w: w}
	file.SetZipWriter(func(io.Writer) excelize.ZipWriter { return zip.NewWriter(response) })
	// With the zip writer above, excelize writes the workbook to the
	// response and leaves its own buffer empty.
	if err := file.Write(io.Discard); err != nil {
		if response.written == 0 {
			header.Del("Content-Disposition")
			return fmt.Errorf("attendance report: write workbook: %w", err)
		}
		slog.Error("attendance report broke off after the response started", "rows", written, "bytes", response.written, "error", err)
	}
	return nil
}

func (h *Handlers) writeReport(ctx context.Context, file *excelize.File, request panelRequest, options reportOptions) (int, error) {
	const sheet = "来离园监测报表"
	if err := file.SetSheetName("Sheet1", sheet); err != nil {
		return 0, err
	}
	stream, err := file.NewStreamWriter(sheet)
	if err != nil {
		return 0, err
	}
	unitLabel := map[string]string{access.LevelDistrict: "区", access.LevelStreet: "街镇", access.LevelKindergarten: "园所", groupGrade: "年级"}[options.level]
	head := [][]any{
		{"来离园监测报表（出勤率、晨检情况）"},
		{"统计对象", request.node.Name},
		{"统计范围", rangeLabels[request.period.Kind] + "：" + request.period.From.Format(time.DateOnly) + " 至 " + request.period.To.Format(time.DateOnly)},
		{"统计周期", granularityLabels[options.granularity]},
		{"统计单位", unitLabel},
		{"口径", "出勤率 = 出勤 ÷ 应考勤；未考勤占比 = 未考勤 ÷ 应考勤；晨检正常率、异常率以晨检人数为分母"},
		{"导出人", request.staff.Name + "（" + request.staff.Username + "）"},
		{"导出时间", time.Now().In(monitoring.Shanghai).Format("2006-01-02 15:04:05")},
		{},
		reportHeaders,
	}
	row := 1
	for _, values := range head {
		cell, _ := excelize.CoordinatesToCellName(1, row)
		if err := stream.SetRow(cell, values); err != nil {
			return 0, err
		}
		row++
	}

	// Names of every unit of the level under the node, looked up once.
	var names map[string]string
	written := 0
	err = eachCountRow(ctx, h.DB, request.staff.Scope, request.node, request.period,
		[]string{granularities[options.granularity], options.by}, func(result Row) error {
			if names == nil {
				var err error
				if names, err = h.allNames(ctx, request, options.level); err != nil {
					return err
				}
			}
			c := &result.Counts
			values := []any{result.Keys[0], names[result.Keys[1]], c.Expected, c.CheckedIn, c.Present, rateCell(c.AttendanceRate),
				c.Sick, c.Personal, c.NotChecked, rateCell(c.NotCheckedShare), c.SickDisease, c.SickSymptom, c.SickOther,
				c.MorningChecked, c.MorningNormal, rateCell(c.MorningNormalRate), c.MorningAbnormal, rateCell(c.MorningAbnormalRate),
				c.AbnormalStayed, c.AbnormalSentHome, c.ReasonTemperature, c.ReasonMouth, c.ReasonEyes, c.ReasonSkinHands,
				c.ReasonSkinFace, c.ReasonOther}
			cell, _ := excelize.CoordinatesToCellName(1, row)
			row++
			written++
			return stream.SetRow(cell, values)
		})
	if err != nil {
		return written, err
	}
	return written, stream.Flush()
}

// allNames returns the names of every unit of level under the request's
// node.
func (h *Handlers) allNames(ctx context.Context, request panelRequest, level string) (map[string]string, error) {
	var keys []string
	switch level {
	case access.LevelKindergarten:
		nodeSQL, args := nodeCondition(request.node, 1)
		if err := h.DB.SelectContext(ctx, &keys, `SELECT r.id::text FROM kindergarten r WHERE `+
			replaceKindergartenColumn(nodeSQL), args...); err != nil {
			return nil, err
		}
	case groupGrade:
		keys = []string{"1", "2", "3", "4", "5"}
	default:
		districts, streets, err := h.names.divisions(ctx)
		if err != nil {
			return nil, err
		}
		if level == access.LevelDistrict {
			return districts, nil
		}
		return streets, nil
	}
	return h.names.resolve(ctx, level, keys)
}

// replaceKindergartenColumn turns a node condition on a rollup (alias r)
// into one on the kindergarten table (alias r).
func replaceKindergartenColumn(condition string) string {
	if len(condition) > len("r.kindergarten_id") && condition[:len("r.kindergarten_id")] == "r.kindergarten_id" {
		return "r.id" + condition[len("r.kindergarten_id"):]
	}
	return condition
}
