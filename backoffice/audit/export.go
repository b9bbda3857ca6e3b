package audit

import (
	"archive/zip"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/xuri/excelize/v2"

	"github.com/sh-preschool/preschool/backoffice/access"
	"github.com/sh-preschool/preschool/shared/apierror"
)

// MaxExportRows is the most events one export holds, below the worksheet
// limit of 1,048,576 rows.
const MaxExportRows = 1_000_000

// ActionExport is the audited action of an export.
const ActionExport = "audit.export"

const exportSheet = "审计日志"

var exportHeaders = []any{"编号", "时间", "操作人", "角色", "IP 地址", "操作", "对象类型", "对象编号", "所属区", "结果", "变更前", "变更后", "说明"}

// exportColumnWidths are the widths of the columns above, in characters.
var exportColumnWidths = []float64{10, 20, 28, 18, 16, 36, 18, 16, 10, 8, 50, 50, 30}

// maxCellRunes keeps a cell below the 32,767 characters a worksheet cell
// holds, with room for the truncation mark.
const maxCellRunes = 32_000

// describe returns the filter in Chinese for the head of the export.
func (f Filter) describe() string {
	var parts []string
	if !f.From.IsZero() {
		parts = append(parts, "起始时间："+f.From.In(shanghai).Format("2006-01-02 15:04:05"))
	}
	if !f.To.IsZero() {
		parts = append(parts, "结束时间（不含）："+f.To.In(shanghai).Format("2006-01-02 15:04:05.999999"))
	}
	if f.Actor != "" {
		parts = append(parts, "操作人包含："+f.Actor)
	}
	if f.Action != "" {
		parts = append(parts, "操作包含："+f.Action)
	}
	if f.Resource != "" {
		parts = append(parts, "对象类型："+f.Resource)
	}
	if f.ResourceID != "" {
		parts = append(parts, "对象编号："+f.ResourceID)
	}
	if f.Outcome != "" {
		parts = append(parts, "结果："+outcomeLabels[f.Outcome])
	}
	if f.DistrictCode != "" {
		parts = append(parts, "所属区："+f.DistrictCode)
	}
	if len(parts) == 0 {
		return "无（全部记录）"
	}
	return strings.Join(parts, "；")
}

func truncateCell(text string) string {
	if len(text) <= maxCellRunes {
		return text
	}
	runes := []rune(text)
	if len(runes) <= maxCellRunes {
		return text
	}
	return string(runes[:maxCellRunes]) + "…（已截断）"
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

// export handles GET /api/v1/audit-events/export: the events that match the
// filter, newest first, as an xlsx workbook whose first rows state the
// filter. Rows go through excelize's StreamWriter, which keeps at most
// excelize.StreamChunkSize (16 MiB) in memory and spills the rest to a
// temporary file, and the workbook's zip is written straight to the response.
func (h *Handlers) export(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	staff := access.StaffFrom(ctx)
	filter, err := ParseFilter(r)
	if err != nil {
		return err
	}
	where := filter.where()
	var total int
	if err := h.Trail.DB.GetContext(ctx, &total, `SELECT count(*) FROM audit_event e WHERE `+where.sql(), where.args...); err != nil {
		return err
	}
	if total > MaxExportRows {
		return apierror.Invalid("", "export_too_large",
			fmt.Sprintf("符合条件的记录有 %d 条，超过单次导出上限 %d 条，请缩小时间范围后再导出。", total, MaxExportRows))
	}

	file := excelize.NewFile()
	defer func() {
		if err := file.Close(); err != nil {
			slog.Error("audit export: remove temporary files", "error", err)
		}
	}()
	written, err := h.writeWorkbook(ctx, file, filter, where, total, staff)
	if err != nil {
		return err
	}

	name := "审计日志-" + time.Now().In(shanghai).Format("20060102-150405") + ".xlsx"
	header := w.Header()
	header.Set("Content-Type", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
	header.Set("Content-Disposition", `attachment; filename="audit-events.xlsx"; filename*=UTF-8''`+url.PathEscape(name))
	header.Set("Cache-Control", "no-store")
	response := &countingWriter{w: w}
	file.SetZipWriter(func(io.Writer) excelize.ZipWriter { return zip.NewWriter(response) })
	// With the zip writer above, excelize writes the workbook to the response
	// and leaves its own buffer empty, so nothing is copied to io.Discard.
	if err := file.Write(io.Discard); err != nil {
		if response.written == 0 {
			header.Del("Content-Disposition")
			return fmt.Errorf("audit export: write workbook: %w", err)
		}
		slog.Error("audit export broke off after the response started", "rows", written, "bytes", response.written, "error", err)
		return nil
	}

	event := Event{
		Action: ActionExport, Resource: "audit_event", Detail: "导出 " + strconv.Itoa(written) + " 条；筛选条件：" + filter.describe(),
	}
	if err := h.Trail.Record(context.WithoutCancel(ctx), r, staff, event); err != nil {
		slog.Error("audit export not recorded in the trail", "rows", written, "error", err)
	}
	return nil
}

// writeWorkbook writes the head rows and every matching event to the
// workbook's stream writer and returns the number of events written.
func (h *Handlers) writeWorkbook(ctx context.Context, file *excelize.File, filter Filter, where *where, total int,
	staff *access.Staff) (int, error) {
	if err := file.SetSheetName("Sheet1", exportSheet); err != nil {
		return 0, err
	}
	stream, err := file.NewStreamWriter(exportSheet)
	if err != nil {
		return 0, err
	}
	for i, width := range exportColumnWidths {
		if err := stream.SetColWidth(i+1, i+1, width); err != nil {
			return 0, err
		}
	}
	exporter := "（未知）"
	if staff != nil {
		exporter = staff.Name + "（" + staff.Username + "）"
	}
	head := [][]any{
		{"审计日志导出"},
		{"导出时间", time.Now().In(shanghai).Format("2006-01-02 15:04:05")},
		{"导出人", exporter},
		{"筛选条件", filter.describe()},
		{"记录条数", total},
		{},
		exportHeaders,
	}
	row := 1
	for _, values := range head {
		if err := setRow(stream, row, values); err != nil {
			return 0, err
		}
		row++
	}

	q := `SELECT ` + eventColumns + ` FROM audit_event e WHERE ` + where.sql() + ` ORDER BY e.at DESC, e.id DESC`
	rows, err := h.Trail.DB.QueryContext(ctx, q, where.args...)
	if err != nil {
		return 0, err
	}
	defer rows.Close()
	written := 0
	for rows.Next() {
		event, err := scanEvent(rows)
		if err != nil {
			return 0, err
		}
		values := []any{
			event.ID, event.At.In(shanghai).Format("2006-01-02 15:04:05"), event.ActorName, event.ActorRole, event.IP,
			event.Action, event.Resource, event.ResourceID, event.DistrictCode, event.OutcomeLabel,
			stateCell(event.Before), stateCell(event.After), truncateCell(event.Detail),
		}
		if err := setRow(stream, row, values); err != nil {
			return 0, err
		}
		row++
		written++
		if written > MaxExportRows {
			return 0, fmt.Errorf("audit export: more than %d rows arrived after the count of %d", MaxExportRows, total)
		}
	}
	if err := rows.Err(); err != nil {
		return 0, err
	}
	return written, stream.Flush()
}

func setRow(stream *excelize.StreamWriter, row int, values []any) error {
	cell, err := excelize.CoordinatesToCellName(1, row)
	if err != nil {
		return err
	}
	return stream.SetRow(cell, values)
}

func stateCell(state []byte) string {
	if string(state) == "null" {
		return ""
	}
	return truncateCell(string(state))
}
