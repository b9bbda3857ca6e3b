package staff

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/xuri/excelize/v2"

	"github.com/sh-preschool/preschool/backoffice/access"
	"github.com/sh-preschool/preschool/backoffice/audit"
	"github.com/sh-preschool/preschool/backoffice/httpx"
	"github.com/sh-preschool/preschool/shared/apierror"
)

// shanghai is the time zone of dates in filters and exports. China has had
// no daylight saving since 1991, so the fixed-offset fallback gives the same
// times where no tz database is installed.
var shanghai = func() *time.Location {
	location, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		return time.FixedZone("CST", 8*60*60)
	}
	return location
}()

// maxUserAgentBytes is how much of the User-Agent header is stored.
const maxUserAgentBytes = 200

// loginEntry is one sign-in attempt for login_log. StaffID is zero when the
// account is unknown.
type loginEntry struct {
	Username string
	StaffID  int64
	Success  bool
	Stage    string
	Reason   string
}

func (h *Handlers) writeLoginLog(ctx context.Context, r *http.Request, entry loginEntry) error {
	return h.insertLoginLog(ctx, h.DB, r, entry)
}

func (h *Handlers) insertLoginLog(ctx context.Context, db sqlx.ExecerContext, r *http.Request, entry loginEntry) error {
	staffID := sql.NullInt64{Int64: entry.StaffID, Valid: entry.StaffID != 0}
	_, err := db.ExecContext(ctx, `
		INSERT INTO login_log (at, username, staff_id, success, stage, reason, ip, user_agent)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
		h.now(), entry.Username, staffID, entry.Success, entry.Stage, entry.Reason, access.ClientIP(r),
		truncateUTF8(strings.ToValidUTF8(r.UserAgent(), "?"), maxUserAgentBytes))
	if err != nil {
		return fmt.Errorf("write sign-in log: %w", err)
	}
	return nil
}

// Chinese labels of the sign-in log's stages and reasons.
var (
	// "certificate" and its reasons are written by backoffice/certauth.
	stageLabels = map[string]string{stagePassword: "密码", stageTOTP: "动态验证码", "certificate": "数字证书"}
	// reasonLabels names every reason the sign-in steps write.
	reasonLabels = map[string]string{
		reasonOK:                       "成功",
		reasonUnknownUser:              "用户不存在",
		reasonWrongPassword:            "密码错误",
		reasonDisabled:                 "账号已停用",
		reasonLocked:                   "账号已锁定",
		reasonRateLimited:              "尝试过于频繁",
		reasonWrongCode:                "动态验证码错误",
		reasonCodeReused:               "动态验证码已使用过",
		reasonTooManyCodes:             "动态验证码错误次数过多",
		reasonInvalidChallenge:         "登录验证已失效",
		"certificate_not_bound":        "证书未绑定账号",
		"certificate_binding_tampered": "证书绑定数据校验失败",
		"account_unavailable":          "账号已停用或已锁定",
	}
)

// loginLogFilter is the parsed filter of the list and the export.
type loginLogFilter struct {
	Username string
	// Success is "", "true" or "false".
	Success string
	// From is inclusive, To exclusive; zero means no bound.
	From, To time.Time
	// FromText and ToText are the bounds as given, for the export's header.
	FromText, ToText string
}

// parseBound reads a time filter: RFC 3339, "2006-01-02T15:04" (an HTML
// datetime-local input) or "2006-01-02", the last two in Shanghai time. It
// returns the instant and the length of the period the value names, so an
// upper bound of "2025-03-01" includes the whole day.
func parseBound(value string) (time.Time, time.Duration, bool) {
	if t, err := time.Parse(time.RFC3339Nano, value); err == nil {
		return t, time.Microsecond, true
	}
	if t, err := time.ParseInLocation("2006-01-02T15:04", value, shanghai); err == nil {
		return t, time.Minute, true
	}
	if t, err := time.ParseInLocation(time.DateOnly, value, shanghai); err == nil {
		return t, 24 * time.Hour, true
	}
	return time.Time{}, 0, false
}

func parseLoginLogFilter(r *http.Request) (loginLogFilter, error) {
	query := r.URL.Query()
	filter := loginLogFilter{
		Username: strings.ToLower(strings.TrimSpace(query.Get("username"))),
		Success:  query.Get("success"),
		FromText: query.Get("from"),
		ToText:   query.Get("to"),
	}
	if filter.Success != "" && filter.Success != "true" && filter.Success != "false" {
		return filter, apierror.Invalid("success", "invalid_success_filter", "登录结果只能是 true（成功）或 false（失败）。")
	}
	if filter.FromText != "" {
		from, _, ok := parseBound(filter.FromText)
		if !ok {
			return filter, apierror.Invalid("from", "invalid_time", "起始时间格式不正确，请使用 2025-03-01 或 2025-03-01T08:00 的格式。")
		}
		filter.From = from
	}
	if filter.ToText != "" {
		to, period, ok := parseBound(filter.ToText)
		if !ok {
			return filter, apierror.Invalid("to", "invalid_time", "截止时间格式不正确，请使用 2025-03-01 或 2025-03-01T18:00 的格式。")
		}
		filter.To = to.Add(period)
	}
	if !filter.From.IsZero() && !filter.To.IsZero() && !filter.From.Before(filter.To) {
		return filter, apierror.Invalid("to", "invalid_time_range", "截止时间应晚于起始时间。")
	}
	return filter, nil
}

// sqlCondition builds the SQL condition of the filter and its arguments.
func (f loginLogFilter) sqlCondition() (string, []any) {
	conditions := []string{"TRUE"}
	var args []any
	add := func(condition string, value any) {
		args = append(args, value)
		conditions = append(conditions, strings.ReplaceAll(condition, "?", "$"+strconv.Itoa(len(args))))
	}
	if f.Username != "" {
		add("username = ?", f.Username)
	}
	if f.Success != "" {
		add("success = ?", f.Success == "true")
	}
	if !f.From.IsZero() {
		add("at >= ?", f.From)
	}
	if !f.To.IsZero() {
		add("at < ?", f.To)
	}
	return strings.Join(conditions, " AND "), args
}

// describe returns the filter in words for the export's header.
func (f loginLogFilter) describe() string {
	var parts []string
	if f.Username != "" {
		parts = append(parts, "用户名="+f.Username)
	}
	switch f.Success {
	case "true":
		parts = append(parts, "结果=成功")
	case "false":
		parts = append(parts, "结果=失败")
	}
	if f.FromText != "" {
		parts = append(parts, "起始时间="+f.FromText)
	}
	if f.ToText != "" {
		parts = append(parts, "截止时间="+f.ToText)
	}
	if len(parts) == 0 {
		return "无（全部记录）"
	}
	return strings.Join(parts, "；")
}

type loginLogRow struct {
	ID        int64         `db:"id"`
	At        time.Time     `db:"at"`
	Username  string        `db:"username"`
	StaffID   sql.NullInt64 `db:"staff_id"`
	Success   bool          `db:"success"`
	Stage     string        `db:"stage"`
	Reason    string        `db:"reason"`
	IP        string        `db:"ip"`
	UserAgent string        `db:"user_agent"`
}

type loginLogItem struct {
	ID          int64     `json:"id"`
	At          time.Time `json:"at"`
	Username    string    `json:"username"`
	StaffID     int64     `json:"staffId,omitempty"`
	Success     bool      `json:"success"`
	Stage       string    `json:"stage"`
	StageLabel  string    `json:"stageLabel"`
	Reason      string    `json:"reason"`
	ReasonLabel string    `json:"reasonLabel"`
	IP          string    `json:"ip"`
	UserAgent   string    `json:"userAgent"`
}

func labelOf(labels map[string]string, code string) string {
	if label, ok := labels[code]; ok {
		return label
	}
	return code
}

const loginLogColumns = `id, at, username, staff_id, success, stage, reason, ip, user_agent`

// listLoginLog handles GET /login-log: the newest attempts first, filtered
// by username (exact), success and a time range, in pages.
func (h *Handlers) listLoginLog(w http.ResponseWriter, r *http.Request) error {
	filter, err := parseLoginLogFilter(r)
	if err != nil {
		return err
	}
	page, err := httpx.ParsePage(r)
	if err != nil {
		return err
	}

	where, args := filter.sqlCondition()
	ctx := r.Context()
	var total int
	if err := h.DB.GetContext(ctx, &total, `SELECT count(*) FROM login_log WHERE `+where, args...); err != nil {
		return fmt.Errorf("count sign-in log: %w", err)
	}

	var rows []loginLogRow
	limit := "$" + strconv.Itoa(len(args)+1)
	offset := "$" + strconv.Itoa(len(args)+2)
	err = h.DB.SelectContext(ctx, &rows, `SELECT `+loginLogColumns+` FROM login_log WHERE `+where+
		` ORDER BY at DESC, id DESC LIMIT `+limit+` OFFSET `+offset, append(args, page.Size, page.Offset())...)
	if err != nil {
		return fmt.Errorf("list sign-in log: %w", err)
	}

	items := make([]loginLogItem, len(rows))
	for i, row := range rows {
		items[i] = loginLogItem{
			ID: row.ID, At: row.At, Username: row.Username, StaffID: row.StaffID.Int64, Success: row.Success,
			Stage: row.Stage, StageLabel: labelOf(stageLabels, row.Stage), Reason: row.Reason,
			ReasonLabel: labelOf(reasonLabels, row.Reason), IP: row.IP, UserAgent: row.UserAgent,
		}
	}
	httpx.WriteJSON(w, http.StatusOK, map[string]any{"total": total, "page": page.Number, "size": page.Size, "items": items})
	return nil
}

// MaxExportRows bounds an export below the 1,048,576 rows of an xlsx
// sheet, leaving room for the header rows.
const MaxExportRows = 1_000_000

// exportHeaderRows is the number of rows above the first data row: title,
// export time, filter, a blank row and the column headers.
const exportHeaderRows = 5

var exportColumns = []any{"时间", "用户名", "账号 ID", "结果", "阶段", "原因", "IP 地址", "浏览器标识（User-Agent）"}

// exportLoginLog handles GET /login-log/export: the filtered attempts, the
// newest first, as an xlsx file. Rows stream from PostgreSQL into an
// excelize StreamWriter, which keeps them in a temporary file once they
// outgrow its memory buffer, and the workbook is then written straight to
// the response. The export itself is recorded in the audit trail.
func (h *Handlers) exportLoginLog(w http.ResponseWriter, r *http.Request) error {
	filter, err := parseLoginLogFilter(r)
	if err != nil {
		return err
	}
	ctx := r.Context()
	book := excelize.NewFile()
	defer book.Close()
	const sheet = "登录日志"
	if err := book.SetSheetName("Sheet1", sheet); err != nil {
		return err
	}
	stream, err := book.NewStreamWriter(sheet)
	if err != nil {
		return err
	}
	for column, width := range []float64{20, 18, 10, 8, 12, 22, 18, 60} {
		if err := stream.SetColWidth(column+1, column+1, width); err != nil {
			return err
		}
	}
	exportedAt := h.now().In(shanghai).Format("2006-01-02 15:04:05")
	header := [][]any{
		{"登录日志"},
		{"导出时间：" + exportedAt + "（北京时间）"},
		{"筛选条件：" + filter.describe()},
		{},
		exportColumns,
	}
	for i, values := range header {
		if err := stream.SetRow("A"+strconv.Itoa(i+1), values); err != nil {
			return err
		}
	}

	where, args := filter.sqlCondition()
	rows, err := h.DB.QueryxContext(ctx, `SELECT `+loginLogColumns+` FROM login_log WHERE `+where+
		` ORDER BY at DESC, id DESC LIMIT `+strconv.Itoa(MaxExportRows+1), args...)
	if err != nil {
		return fmt.Errorf("export sign-in log: %w", err)
	}
	defer rows.Close()
	count := 0
	for rows.Next() {
		if count == MaxExportRows {
			note := []any{"仅导出前 " + strconv.Itoa(MaxExportRows) + " 条，请缩小时间范围后分批导出。"}
			if err := stream.SetRow("A"+strconv.Itoa(exportHeaderRows+count+1), note); err != nil {
				return err
			}
			break
		}
		var row loginLogRow
		if err := rows.StructScan(&row); err != nil {
			return fmt.Errorf("export sign-in log: %w", err)
		}
		result := "失败"
		if row.Success {
			result = "成功"
		}
		staffID := ""
		if row.StaffID.Valid {
			staffID = strconv.FormatInt(row.StaffID.Int64, 10)
		}
		values := []any{
			row.At.In(shanghai).Format("2006-01-02 15:04:05"), row.Username, staffID, result,
			labelOf(stageLabels, row.Stage), labelOf(reasonLabels, row.Reason), row.IP, row.UserAgent,
		}
		count++
		if err := stream.SetRow("A"+strconv.Itoa(exportHeaderRows+count), values); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("export sign-in log: %w", err)
	}
	rows.Close()
	if err := stream.Flush(); err != nil {
		return err
	}

	err = h.Trail.Record(ctx, r, access.StaffFrom(ctx), audit.Event{
		Action: "login_log.export", Resource: "login_log",
		Detail: "导出登录日志 " + strconv.Itoa(count) + " 条；筛选条件：" + filter.describe(),
	})
	if err != nil {
		return err
	}
	filename := "登录日志-" + h.now().In(shanghai).Format("20060102-150405") + ".xlsx"
	w.Header().Set("Content-Type", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
	w.Header().Set("Content-Disposition", mime.FormatMediaType("attachment", map[string]string{"filename": filename}))
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
	if err := book.Write(w); err != nil {
		// The status is sent, so the client sees a truncated file.
		slog.Error("sign-in log export not fully written", "rows", count, "error", err)
	}
	return nil
}
