package dashboard

import (
	"archive/zip"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"time"

	"github.com/xuri/excelize/v2"

	enrol "github.com/sh-preschool/preschool/shared/enrolment"
)

// Filter is one filter of a report as its workbook's header rows print it.
type Filter struct {
	Name  string
	Value string
}

// Workbook is a report to export: a title, the filters that produced it,
// the column headers, and a function that writes each row through add in
// order.
type Workbook struct {
	// FileName is the download's name without ".xlsx", in Chinese.
	FileName string
	Title    string
	Filters  []Filter
	Headers  []string
	Rows     func(add func(values []any) error) error
}

// WriteWorkbook streams book to w as an xlsx file and returns the number
// of rows written. Rows go through excelize's StreamWriter, which keeps at
// most excelize.StreamChunkSize (16 MiB) in memory and spills the rest to a
// temporary file, and the zip is written straight to the response, so
// memory stays flat however many rows there are. An error before the
// response starts is returned for the caller to report. After that it is
// logged and the download breaks off.
func WriteWorkbook(w http.ResponseWriter, book Workbook, now time.Time) (int, error) {
	file := excelize.NewFile()
	defer func() {
		if err := file.Close(); err != nil {
			slog.Error("dashboard export: remove temporary files", "error", err)
		}
	}()
	const sheet = "报表"
	if err := file.SetSheetName("Sheet1", sheet); err != nil {
		return 0, err
	}
	stream, err := file.NewStreamWriter(sheet)
	if err != nil {
		return 0, err
	}
	if err := stream.SetColWidth(1, len(book.Headers), 18); err != nil {
		return 0, err
	}

	row := 1
	add := func(values []any) error {
		cell, err := excelize.CoordinatesToCellName(1, row)
		if err != nil {
			return err
		}
		row++
		return stream.SetRow(cell, values)
	}
	head := [][]any{{book.Title}, {"导出时间", now.In(enrol.Shanghai).Format("2006-01-02 15:04:05")}}
	for _, filter := range book.Filters {
		head = append(head, []any{filter.Name, filter.Value})
	}
	headers := make([]any, len(book.Headers))
	for i, header := range book.Headers {
		headers[i] = header
	}
	head = append(head, []any{}, headers)
	for _, values := range head {
		if err := add(values); err != nil {
			return 0, err
		}
	}
	first := row
	if err := book.Rows(add); err != nil {
		return 0, err
	}
	if err := stream.Flush(); err != nil {
		return 0, err
	}
	written := row - first

	header := w.Header()
	header.Set("Content-Type", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
	name := book.FileName + "-" + now.In(enrol.Shanghai).Format("20060102-150405") + ".xlsx"
	header.Set("Content-Disposition", `attachment; filename="report.xlsx"; filename*=UTF-8''`+url.PathEscape(name))
	header.Set("Cache-Control", "no-store")
	response := &countingWriter{w: w}
	file.SetZipWriter(func(io.Writer) excelize.ZipWriter { return zip.NewWriter(response) })
	// With the zip writer above, excelize writes the workbook to the
	// response and leaves its own buffer empty.
	if err := file.Write(io.Discard); err != nil {
		if response.written == 0 {
			header.Del("Content-Disposition")
			return 0, fmt.Errorf("dashboard export: write workbook: %w", err)
		}
		slog.Error("dashboard export broke off after the response started", "rows", written, "bytes", response.written, "error", err)
	}
	return written, nil
}

type countingWriter struct {
	w       io.Writer
	written int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.written += int64(n)
	return n, err
}
